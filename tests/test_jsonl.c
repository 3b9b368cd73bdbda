/* The jsonl sink and source end to end, through the public API
 * (ad_sync) and the fakes: an Airtable export read back into Dust lands
 * exactly as the direct sync does, in both formats; an export copies to
 * the same bytes; every line that cannot be read is counted and named;
 * nothing is lost when the folder cannot be written. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <uv.h>

#include "airdust.h"
#include "fake_airtable.h"
#include "fake_dust.h"
#include "testutil.h"

#define DUST_KEY "sk-fake0123456789"

typedef struct run {
  int result;
  ad_sync_progress_t p;
  json_object *stats;
  char report[1024];
} run_t;

static ad_fake_airtable_t *at;
static ad_fake_airtable_opts_t ao;
static ad_fake_dust_t *dust_a, *dust_b;
static char dir[64], out[96], out2[96];

static void rm_tree(const char *path) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
  ck_assert_int_eq(system(cmd), 0);
}

static void setup(void) {
  ad_fake_dust_opts_t dop;
  ad_fake_airtable_opts_default(&ao);
  ao.bases = 2;
  ao.tables_per_base = 2;
  ao.records_per_table = 230;
  at = ad_fake_airtable_start(&ao);
  ad_fake_dust_opts_default(&dop);
  dop.documents_per_minute = 0;
  dust_a = ad_fake_dust_start(&dop);
  dust_b = ad_fake_dust_start(&dop);
  ck_assert_ptr_nonnull(at);
  ck_assert_ptr_nonnull(dust_a);
  ck_assert_ptr_nonnull(dust_b);
  snprintf(dir, sizeof(dir), "/tmp/ad_jsonl.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(out, sizeof(out), "%s/export", dir);
  snprintf(out2, sizeof(out2), "%s/copy", dir);
}

static void teardown(void) {
  ad_fake_airtable_stop(at);
  ad_fake_dust_stop(dust_a);
  ad_fake_dust_stop(dust_b);
  rm_tree(dir);
}

static void on_done(ad_sync_t *s, void *data) {
  (void)s;
  *(int *)data = 1;
}

static void on_closed(ad_sync_t *s, void *data) {
  (void)s;
  *(int *)data = 1;
}

/* One sync of config to its end; what it reported into r. */
static void run_sync(const char *config, int check, run_t *r) {
  uv_loop_t loop;
  ad_sync_options_t o;
  ad_sync_t *s;
  char err[512], *json;
  int done = 0, closed = 0;

  memset(r, 0, sizeof(*r));
  memset(&o, 0, sizeof(o));
  o.log_level = 1;
  o.check = check;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_msg(ad_sync_new(&s, &loop, config, strlen(config), &o, err,
                            sizeof(err)) == 0,
                "%s", err);
  ck_assert_int_eq(ad_sync_start(s, on_done, &done), 0);
  ck_assert_msg(ad_test_run_until(&loop, &done, 120000), "the sync hung");
  r->result = ad_sync_result(s);
  ad_sync_progress(s, &r->p);
  json = ad_sync_stats_json(s);
  r->stats = json_tokener_parse(json);
  free(json);
  snprintf(r->report, sizeof(r->report), "%s", ad_sync_check_report(s));
  ad_sync_close(s, on_closed, &closed);
  ck_assert(ad_test_run_until(&loop, &closed, 10000));
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
}

static void run_free(run_t *r) { json_object_put(r->stats); }

static void airtable_section(char *buf, size_t len) {
  snprintf(buf, len,
           "\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\"}",
           ao.token, ad_fake_airtable_url(at));
}

static void dust_section(char *buf, size_t len, ad_fake_dust_t *d,
                         const char *format) {
  snprintf(buf, len,
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"" DUST_KEY "\","
           "\"base_url\":\"%s\",\"workspace_id\":\"wFake\",\"space_id\":"
           "\"vltFake\",\"data_source_id\":\"dsFake\",\"data_format\":\"%s\"}",
           ad_fake_dust_url(d), format);
}

static void jsonl_section(char *buf, size_t len, const char *side,
                          const char *path) {
  snprintf(buf, len, "\"%s\":{\"type\":\"jsonl\",\"path\":\"%s\"}", side,
           path);
}

static void config(char *buf, size_t len, const char *source,
                   const char *sink) {
  snprintf(buf, len,
           "{%s,%s,\"rate_limits\":{\"dust_documents_per_minute\":100000,"
           "\"backoff_on_429_s\":2}}",
           source, sink);
}

static long total_records(void) {
  long n = 0;
  int b, t;
  for (b = 0; b < ad_fake_airtable_nbases(at); b++)
    for (t = 0; t < ad_fake_airtable_ntables(at, b); t++)
      n += ad_fake_airtable_nrecords(at, b, t);
  return n;
}

/* What a fake Dust holds, with its tables keyed by id (their order is
 * the order their upserts came in). */
static json_object *stored(ad_fake_dust_t *d) {
  json_object *dump = ad_fake_dust_dump(d), *tables, *keyed, *t;
  size_t i;
  keyed = json_object_new_object();
  tables = json_object_object_get(dump, "tables");
  for (i = 0; i < json_object_array_length(tables); i++) {
    t = json_object_array_get_idx(tables, i);
    json_object_object_add(
        keyed, json_object_get_string(json_object_object_get(t, "table_id")),
        json_object_get(t));
  }
  json_object_object_add(dump, "tables", keyed);
  return dump;
}

static void assert_clean(const run_t *r, long records) {
  ck_assert_int_eq(r->result, AD_SYNC_OK);
  ck_assert_uint_eq(r->p.records_read, (uint64_t)records);
  ck_assert_uint_eq(r->p.records_failed, 0);
  ck_assert_uint_eq(r->p.rows_written + r->p.documents_written,
                    (uint64_t)records);
}

/* The fake account exported to `out`, cleanly. */
static void export_account(void) {
  char src[512], jl[256], cfg[2048];
  run_t r;
  airtable_section(src, sizeof(src));
  jsonl_section(jl, sizeof(jl), "sink", out);
  config(cfg, sizeof(cfg), src, jl);
  run_sync(cfg, 0, &r);
  assert_clean(&r, total_records());
  ck_assert_str_eq(r.p.sink_type, "jsonl");
  ck_assert_uint_eq(r.p.rows_written, (uint64_t)total_records());
  ck_assert_str_eq(
      json_object_get_string(json_object_object_get(r.stats, "sink")),
      "jsonl");
  run_free(&r);
}

/* Airtable -> Dust, and Airtable -> jsonl -> Dust: the same tables, ids,
 * names, columns, cell types, rows and documents. */
START_TEST(test_export_then_load_equals_direct) {
  const char *format = _i == 0 ? "tables" : "documents";
  char src[512], snk[512], cfg[2048], jl[256];
  json_object *a, *b;
  run_t r;

  airtable_section(src, sizeof(src));
  dust_section(snk, sizeof(snk), dust_a, format);
  config(cfg, sizeof(cfg), src, snk);
  run_sync(cfg, 0, &r);
  assert_clean(&r, total_records());
  run_free(&r);

  export_account();
  jsonl_section(jl, sizeof(jl), "source", out);
  dust_section(snk, sizeof(snk), dust_b, format);
  config(cfg, sizeof(cfg), jl, snk);
  run_sync(cfg, 0, &r);
  assert_clean(&r, total_records());
  ck_assert_uint_eq(r.p.bases, 2);
  ck_assert_uint_eq(r.p.tables_total, 4);
  ck_assert_uint_eq(r.p.requests_source, 0); /* files, not an API */
  run_free(&r);

  a = stored(dust_a);
  b = stored(dust_b);
  ck_assert_msg(json_object_equal(a, b),
                "the export loaded differs from the direct sync");
  ck_assert_int_gt(
      json_object_object_length(json_object_object_get(a, _i == 0 ? "tables"
                                                                  : "documents")),
      0);
  json_object_put(a);
  json_object_put(b);
}
END_TEST

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  ck_assert_msg(f != NULL, "%s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Every file of every group folder of a, byte for byte in b. */
static int compare_exports(const char *a, const char *b) {
  DIR *top = opendir(a), *grp;
  struct dirent *g, *f;
  char pa[1200], pb[1200], da[600];
  size_t la, lb;
  char *xa, *xb;
  int files = 0;

  ck_assert_ptr_nonnull(top);
  while ((g = readdir(top)) != NULL) {
    if (g->d_name[0] == '.')
      continue;
    snprintf(da, sizeof(da), "%s/%s", a, g->d_name);
    ck_assert_ptr_nonnull(grp = opendir(da));
    while ((f = readdir(grp)) != NULL) {
      if (f->d_name[0] == '.')
        continue;
      snprintf(pa, sizeof(pa), "%s/%s", da, f->d_name);
      snprintf(pb, sizeof(pb), "%s/%s/%s", b, g->d_name, f->d_name);
      xa = slurp(pa, &la);
      xb = slurp(pb, &lb);
      ck_assert_msg(la == lb && memcmp(xa, xb, la) == 0, "%s differs", pb);
      free(xa);
      free(xb);
      files++;
    }
    closedir(grp);
  }
  closedir(top);
  return files;
}

/* jsonl -> jsonl copies an export to the same bytes. */
START_TEST(test_copy_is_identical) {
  char cfg[2048], jl[256], jl2[256];
  run_t r;

  export_account();
  jsonl_section(jl, sizeof(jl), "source", out);
  jsonl_section(jl2, sizeof(jl2), "sink", out2);
  config(cfg, sizeof(cfg), jl, jl2);
  run_sync(cfg, 0, &r);
  assert_clean(&r, total_records());
  /* Both sides one plugin: the stats key their requests by side. */
  ck_assert_ptr_nonnull(json_object_object_get(
      json_object_object_get(r.stats, "requests"), "source"));
  run_free(&r);
  ck_assert_int_eq(compare_exports(out, out2), 8); /* 4 schemas, 4 data */
}
END_TEST

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  fclose(f);
}

#define SCHEMA(table)                                                         \
  "{\"format\":\"airdust-jsonl\",\"version\":1,\"origin\":\"test\","         \
  "\"group\":{\"id\":\"grp\",\"name\":\"G\"},\"table\":{\"id\":\"" table     \
  "\",\"name\":\"T\",\"description\":\"\"},\"columns\":[{\"id\":\"f1\","     \
  "\"name\":\"Name\",\"kind\":\"text\",\"primary\":true}]}\n"

/* Lines that cannot be read are failed one by one, named by file and line;
 * a table whose export did not finish, or that lacks its schema, fails
 * whole; the rest is written. */
START_TEST(test_bad_lines_are_counted) {
  char grp[128], path[192], cfg[2048], jl[256], jl2[256];
  json_object *failures, *f;
  size_t i;
  int seen_line3 = 0, seen_line5 = 0, seen_part = 0, seen_noschema = 0,
      seen_cut = 0;
  run_t r;

  ck_assert_int_eq(mkdir(out, 0700), 0);
  snprintf(grp, sizeof(grp), "%s/grp", out);
  ck_assert_int_eq(mkdir(grp, 0700), 0);
  snprintf(path, sizeof(path), "%s/tblA.schema.json", grp);
  write_text(path, SCHEMA("tblA"));
  snprintf(path, sizeof(path), "%s/tblA.jsonl", grp);
  write_text(path, "{\"id\":\"r1\",\"fields\":{\"f1\":\"one\"}}\n"
                   "\n"
                   "this is not JSON\n"
                   "{\"id\":\"r2\",\"fields\":{\"f1\":\"two\"}}\n"
                   "{\"id\":\"r3\",\"fields\":{\"f9\":\"lost?\"}}\n"
                   "{\"id\":\"r4\",\"fields\":{\"f1\":\"four\"}}");
  snprintf(path, sizeof(path), "%s/tblB.schema.json", grp);
  write_text(path, SCHEMA("tblB"));
  snprintf(path, sizeof(path), "%s/tblB.jsonl.part", grp);
  write_text(path, "{\"id\":\"r1\",\"fields\":{}}\n");
  snprintf(path, sizeof(path), "%s/tblC.jsonl", grp);
  write_text(path, "{\"id\":\"r1\",\"fields\":{}}\n");
  snprintf(path, sizeof(path), "%s/tblD.schema.json.part", grp);
  write_text(path, SCHEMA("tblD"));
  snprintf(path, sizeof(path), "%s/tblD.jsonl.part", grp);
  write_text(path, "{\"id\":\"r1\",\"fields\":{}}\n");

  jsonl_section(jl, sizeof(jl), "source", out);
  jsonl_section(jl2, sizeof(jl2), "sink", out2);
  config(cfg, sizeof(cfg), jl, jl2);
  run_sync(cfg, 0, &r);
  ck_assert_int_eq(r.result, AD_SYNC_PARTIAL);
  ck_assert_uint_eq(r.p.records_read, 5);   /* 5 lines that are not blank */
  ck_assert_uint_eq(r.p.rows_written, 3);
  ck_assert_uint_eq(r.p.records_failed, 2);
  /* tblB (its .part), tblC (no schema), tblD (its first export cut) */
  ck_assert_uint_eq(r.p.tables_failed, 3);
  failures = json_object_object_get(r.stats, "failures");
  for (i = 0; i < json_object_array_length(failures); i++) {
    const char *e;
    f = json_object_array_get_idx(failures, i);
    e = json_object_get_string(json_object_object_get(f, "error"));
    seen_line3 |= strstr(e, "tblA.jsonl line 3: not JSON") != NULL;
    seen_line5 |= strstr(e, "line 5: field \"f9\" is not a column") !=
                  NULL;
    seen_part |= strstr(e, "did not finish") != NULL;
    seen_noschema |= strstr(e, "tblC.jsonl: no schema file") != NULL;
    seen_cut |= strstr(e, "tblD.jsonl.part: the export of this table did "
                          "not finish") != NULL;
  }
  ck_assert(seen_line3 && seen_line5 && seen_part && seen_noschema &&
            seen_cut);
  run_free(&r);
}
END_TEST

/* A folder that cannot be written: every record read is counted failed,
 * with the path and why, and check says so first. */
START_TEST(test_unwritable_folder) {
  char src[512], cfg[2048], jl[256], blocker[128];
  run_t r;

  snprintf(blocker, sizeof(blocker), "%s/file", dir);
  write_text(blocker, "in the way\n");
  airtable_section(src, sizeof(src));
  snprintf(jl, sizeof(jl), "\"sink\":{\"type\":\"jsonl\",\"path\":\"%s/x\"}",
           blocker);
  config(cfg, sizeof(cfg), src, jl);
  run_sync(cfg, 1, &r);
  ck_assert_int_eq(r.result, AD_SYNC_FATAL);
  ck_assert_msg(strstr(r.report, "jsonl: ") != NULL &&
                    strstr(r.report, blocker) != NULL,
                "%s", r.report);
  run_free(&r);
  run_sync(cfg, 0, &r);
  ck_assert_int_eq(r.result, AD_SYNC_PARTIAL);
  ck_assert_uint_eq(r.p.records_read, (uint64_t)total_records());
  ck_assert_uint_eq(r.p.rows_written, 0);
  ck_assert_uint_eq(r.p.records_failed, (uint64_t)total_records());
  ck_assert_uint_eq(r.p.tables_failed, 4);
  run_free(&r);
}
END_TEST

/* check reads nothing and names what it found on each side. */
START_TEST(test_check_reports_both_sides) {
  char cfg[2048], jl[256], jl2[256], want[512];
  run_t r;

  export_account();
  jsonl_section(jl, sizeof(jl), "source", out);
  jsonl_section(jl2, sizeof(jl2), "sink", out2);
  config(cfg, sizeof(cfg), jl, jl2);
  run_sync(cfg, 1, &r);
  ck_assert_int_eq(r.result, AD_SYNC_OK);
  snprintf(want, sizeof(want), "jsonl: 4 tables in %s\njsonl: folder %s can "
                               "be made (in %s)", out, out2, dir);
  ck_assert_str_eq(r.report, want);
  ck_assert_uint_eq(r.p.records_read, 0);
  run_free(&r);
}
END_TEST

/* Hundreds of tables read and written side by side under a limit of 64
 * open files: a table's file is open only while a page of it is read or
 * written. */
START_TEST(test_many_tables_few_descriptors) {
  struct rlimit lim = {64, 64};
  char grp[128], path[192], cfg[2048], jl[256], jl2[256], line[96];
  char schema[512];
  FILE *f;
  run_t r;
  int t, i;

  ck_assert_int_eq(mkdir(out, 0700), 0);
  snprintf(grp, sizeof(grp), "%s/grp", out);
  ck_assert_int_eq(mkdir(grp, 0700), 0);
  for (t = 0; t < 300; t++) {
    snprintf(path, sizeof(path), "%s/t%03d.schema.json", grp, t);
    snprintf(schema, sizeof(schema), SCHEMA("t%03d"), t);
    write_text(path, schema);
    snprintf(path, sizeof(path), "%s/t%03d.jsonl", grp, t);
    ck_assert_ptr_nonnull(f = fopen(path, "wb"));
    for (i = 0; i < 150; i++) {
      snprintf(line, sizeof(line),
               "{\"id\":\"r%d\",\"fields\":{\"f1\":\"v%d\"}}\n", i, i);
      fputs(line, f);
    }
    fclose(f);
  }
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
  jsonl_section(jl, sizeof(jl), "source", out);
  jsonl_section(jl2, sizeof(jl2), "sink", out2);
  config(cfg, sizeof(cfg), jl, jl2);
  run_sync(cfg, 0, &r);
  assert_clean(&r, 300 * 150);
  ck_assert_uint_eq(r.p.tables_total, 300);
  run_free(&r);
}
END_TEST

/* A folder with no export in it is a mistake in the config. */
START_TEST(test_empty_folder_is_fatal) {
  char cfg[2048], jl[256], jl2[256];
  run_t r;
  ck_assert_int_eq(mkdir(out, 0700), 0);
  jsonl_section(jl, sizeof(jl), "source", out);
  jsonl_section(jl2, sizeof(jl2), "sink", out2);
  config(cfg, sizeof(cfg), jl, jl2);
  run_sync(cfg, 0, &r);
  ck_assert_int_eq(r.result, AD_SYNC_FATAL);
  ck_assert_ptr_nonnull(strstr(
      json_object_get_string(json_object_object_get(r.stats, "error")),
      "holds no exported table"));
  run_free(&r);
}
END_TEST

static Suite *jsonl_suite(void) {
  Suite *s = suite_create("jsonl");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 240);
  tcase_add_loop_test(tc, test_export_then_load_equals_direct, 0, 2);
  tcase_add_test(tc, test_copy_is_identical);
  tcase_add_test(tc, test_bad_lines_are_counted);
  tcase_add_test(tc, test_unwritable_folder);
  tcase_add_test(tc, test_check_reports_both_sides);
  tcase_add_test(tc, test_empty_folder_is_fatal);
  tcase_add_test(tc, test_many_tables_few_descriptors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(jsonl_suite()); }
