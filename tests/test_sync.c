/* End to end: the pipeline (Airtable source -> queue -> Dust sink) over
 * real HTTP to both fakes. Every run checks the accounting invariant:
 * each record read is written or failed, never lost. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "error.h"
#include "fake_airtable.h"
#include "fake_dust.h"
#include "pipeline.h"
#include "slug.h"
#include "stats.h"
#include "sync_harness.h"
#include "testutil.h"

static ad_th_t h;

static void setup(void) { ad_th_setup(&h); }
static void teardown(void) { ad_th_teardown(&h); }
static void run(void) { ad_th_run(&h); }
static void start_fakes(void) { ad_th_start_fakes(&h); }
static void assert_all_landed(void) { ad_th_assert_all_landed(&h); }

static void dust_table_id(char *out, size_t len, int b, int t) {
  ad_th_dust_table_id(&h, out, len, b, t);
}
static json_object *stored_table(json_object *dump, int b, int t) {
  return ad_th_stored_table(&h, dump, b, t);
}
static long stored_rows(json_object *dump, int b, int t) {
  return ad_th_stored_rows(&h, dump, b, t);
}

static const char *column_type(json_object *table, const char *column) {
  json_object *schema = json_object_object_get(table, "schema"), *c;
  size_t i;
  for (i = 0; schema != NULL && i < json_object_array_length(schema); i++) {
    c = json_object_array_get_idx(schema, i);
    if (strcmp(json_object_get_string(json_object_object_get(c, "name")),
               column) == 0)
      return json_object_get_string(json_object_object_get(c, "value_type"));
  }
  return "";
}

/* Dust found nothing to refuse. */
static void assert_all_valid(void) {
  ad_fake_dust_counters_t c;
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_eq(c.validation_failures, 0);
}

/* ---- exactly once, both formats ----------------------------------------- */

static const struct {
  int bases, tables, records;
  uint64_t seed;
  const char *format;
  long batch, concurrency;
} datasets[] = {
    {2, 2, 230, 1, "tables", 500, 8},     {3, 1, 120, 2, "tables", 37, 3},
    {1, 3, 0, 3, "tables", 500, 8}, /* empty tables are still made */
    {2, 2, 150, 4, "documents", 500, 16}, {1, 1, 101, 5, "documents", 500, 1},
};

START_TEST(test_exactly_once) {
  json_object *dump, *table;
  ad_fake_dust_counters_t c;

  h.ao.bases = datasets[_i].bases;
  h.ao.tables_per_base = datasets[_i].tables;
  h.ao.records_per_table = datasets[_i].records;
  h.ao.seed = datasets[_i].seed;
  h.format = datasets[_i].format;
  snprintf(h.sink_extra, sizeof(h.sink_extra), ",\"batch_size\":%ld",
           datasets[_i].batch);
  snprintf(h.engine_extra, sizeof(h.engine_extra), ",\"sink_concurrency\":%ld",
           datasets[_i].concurrency);
  run();
  assert_all_landed();
  assert_all_valid();
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
  ck_assert_uint_eq(h.st.tables_failed, 0);
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_eq(c.duplicate_rows, 0);
  ck_assert_int_le(c.max_concurrent, datasets[_i].concurrency);
  ck_assert_uint_eq(h.st.requests_sink,
                    (uint64_t)(c.requests_tables_post + c.requests_rows_post +
                               c.requests_documents_post));
  if (strcmp(h.format, "tables") != 0)
    return;
  /* One upsert per table, rows cut at batch_size. */
  ck_assert_int_eq(c.requests_tables_post,
                   datasets[_i].bases * datasets[_i].tables);
  ck_assert_int_eq(c.type_conflicts, 0);
  if (datasets[_i].records == 0)
    return;
  ck_assert_int_ge(c.requests_rows_post,
                   (datasets[_i].records + datasets[_i].batch - 1) /
                       datasets[_i].batch * datasets[_i].bases *
                       datasets[_i].tables);
  /* Cells typed as Dust infers them from the Airtable field types. */
  dump = ad_fake_dust_dump(h.dust);
  table = stored_table(dump, 0, 0);
  ck_assert_ptr_nonnull(table);
  ck_assert_str_eq(column_type(table, "name"), "text");
  ck_assert_str_eq(column_type(table, "name_3"), "int");
  ck_assert_str_eq(column_type(table, "done"), "bool");
  ck_assert_str_eq(column_type(table, "due"), "datetime");
  ck_assert_str_eq(column_type(table, "created"), "datetime");
  ck_assert_str_eq(column_type(table, "stars"), "int");
  json_object_put(dump);
}
END_TEST

/* The demo bases land whole in both formats. */
START_TEST(test_demo) {
  h.ao.demo = 1;
  h.format = _i == 0 ? "tables" : "documents";
  run();
  assert_all_landed();
  assert_all_valid();
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
  ck_assert_uint_eq(h.st.bases, 2);
  ck_assert_uint_eq(h.st.tables, 8);
}
END_TEST

/* ---- backpressure -------------------------------------------------------- */

/* Dust slower than Airtable: the queue fills, the readers wait, memory
 * stays at the bound, and the sync still completes. */
START_TEST(test_slow_dust_fills_the_queue) {
  ad_fake_dust_counters_t c;

  h.ao.bases = 1;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = 500;
  h.dop.latency_ms = 150;
  snprintf(h.sink_extra, sizeof(h.sink_extra), ",\"batch_size\":50");
  snprintf(h.engine_extra, sizeof(h.engine_extra),
           ",\"sink_concurrency\":1,\"queue_rows\":300");
  run();
  assert_all_landed();
  assert_all_valid();
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_eq(c.max_concurrent, 1);
  ck_assert_uint_le(h.st.peak_queue_rows, 300);
  ck_assert_uint_ge(h.st.peak_queue_rows, 200); /* it did fill */
  /* The sink held one batch in flight and one page more, at most. */
  ck_assert_uint_eq(h.sink_max, 50 * 1 + 100);
  ck_assert_uint_le(h.sink_peak, h.sink_max + 100);
}
END_TEST

/* ---- Dust faults --------------------------------------------------------- */

/* 5xx answers, dropped connections and a request-rate limit: all retried
 * to completion in both formats. */
START_TEST(test_dust_faults_retried) {
  ad_fake_dust_counters_t c;

  h.ao.bases = 2;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = _i == 0 ? 250 : 60;
  h.format = _i == 0 ? "tables" : "documents";
  h.dop.fail_5xx = 0.15;
  h.dop.drop = 0.05;
  h.dop.max_rps = 40;
  h.dop.seed = 7;
  snprintf(h.sink_extra, sizeof(h.sink_extra), ",\"batch_size\":40");
  snprintf(h.engine_extra, sizeof(h.engine_extra), ",\"sink_concurrency\":8");
  run();
  assert_all_landed();
  assert_all_valid();
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_gt(c.sent_5xx + c.dropped + c.sent_429, 0);
  ck_assert_uint_ge(h.st.retries, (uint64_t)(c.sent_5xx + c.sent_429));
  ck_assert_uint_eq(h.st.http429_sink, (uint64_t)c.sent_429);
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
}
END_TEST

/* A table whose rows Dust refuses fails alone; the others land. */
START_TEST(test_rejected_table_fails_alone) {
  char id[64];
  json_object *dump, *f;
  const char *err;
  int b, t;

  h.ao.bases = 2;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = 130;
  start_fakes();
  dust_table_id(id, sizeof(id), 1, 0);
  ad_fake_dust_reject_table(h.dust, id);
  run();
  ck_assert_int_eq(ad_stats_ok(&h.st), 0);
  ck_assert_uint_eq(h.st.tables_failed, 1);
  ck_assert_uint_eq(h.st.records_failed, 130);
  ck_assert_uint_eq(h.st.rows_written, 3 * 130);
  dump = ad_fake_dust_dump(h.dust);
  for (b = 0; b < 2; b++)
    for (t = 0; t < 2; t++)
      ck_assert_int_eq(stored_rows(dump, b, t), b == 1 && t == 0 ? 0 : 130);
  json_object_put(dump);
  f = json_object_array_get_idx(json_object_object_get(h.stats, "failures"), 0);
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(f, "table")),
                   ad_fake_airtable_table_id(h.at, 1, 0));
  err = json_object_get_string(json_object_object_get(f, "error"));
  ck_assert_ptr_nonnull(strstr(err, "HTTP 400"));
  ck_assert_ptr_nonnull(strstr(err, "rejected for this table"));
  /* Per base: the failed table is counted with its own base only. */
  for (b = 0; b < 2; b++) {
    json_object *pb = json_object_array_get_idx(
        json_object_object_get(h.stats, "per_base"), (size_t)b);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(pb, "base")),
                     ad_fake_airtable_base_id(h.at, b));
    ck_assert_int_eq(json_object_get_int(json_object_object_get(pb, "tables")),
                     2);
    ck_assert_int_eq(
        json_object_get_int(json_object_object_get(pb, "records_read")), 260);
    ck_assert_int_eq(json_object_get_int(json_object_object_get(pb, "written")),
                     b == 1 ? 130 : 260);
    ck_assert_int_eq(
        json_object_get_int(json_object_object_get(pb, "records_failed")),
        b == 1 ? 130 : 0);
    ck_assert_int_eq(
        json_object_get_int(json_object_object_get(pb, "tables_failed")),
        b == 1);
  }
}
END_TEST

/* Batches over Dust's body limit (413) are split until they pass. */
START_TEST(test_413_splits_batches) {
  ad_fake_dust_counters_t c;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 300;
  h.dop.max_body = 40000;
  run();
  assert_all_landed();
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_gt(c.validation_failures, 0); /* the 413s */
  ck_assert_int_gt(c.requests_rows_post, 3);  /* 300 rows in >= 3 pages */
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
}
END_TEST

/* A row alone over the limit fails by itself, named, and nothing hangs. */
START_TEST(test_413_single_rows_fail_named) {
  json_object *f;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 20;
  h.dop.max_body = 300;
  run();
  ck_assert_uint_eq(h.st.records_read, 20);
  ck_assert_uint_eq(h.st.records_failed, 20);
  ck_assert_uint_eq(h.st.rows_written, 0);
  f = json_object_array_get_idx(json_object_object_get(h.stats, "failures"), 0);
  ck_assert_ptr_nonnull(json_object_object_get(f, "record"));
  ck_assert_ptr_nonnull(strstr(
      json_object_get_string(json_object_object_get(f, "error")), "413"));
}
END_TEST

static long dropped_rows = -1;

/* Drops table (0, 0) once its first rows are stored. */
static void drop_after_first_rows(ad_th_t *th) {
  ad_fake_dust_counters_t c;
  char id[64];
  (void)th;
  if (dropped_rows >= 0)
    return;
  ad_fake_dust_counters(h.dust, &c);
  if (c.rows_stored == 0)
    return;
  dust_table_id(id, sizeof(id), 0, 0);
  dropped_rows = ad_fake_dust_drop_table(h.dust, id);
}

/* The table goes away mid-sync: the next batch's 500 re-upserts it and
 * the rows after that land. */
START_TEST(test_500_reupserts_the_table) {
  ad_fake_dust_counters_t c;
  json_object *dump;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 600;
  h.dop.latency_ms = 30;
  dropped_rows = -1;
  h.tick = drop_after_first_rows;
  snprintf(h.sink_extra, sizeof(h.sink_extra), ",\"batch_size\":100");
  snprintf(h.engine_extra, sizeof(h.engine_extra), ",\"sink_concurrency\":1");
  run();
  ck_assert_int_gt(dropped_rows, 0);
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
  ck_assert_uint_eq(h.st.rows_written, 600);
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_eq(c.requests_tables_post, 2);
  dump = ad_fake_dust_dump(h.dust);
  /* What Dust held when the table went is gone with it; the rest is there. */
  ck_assert_int_eq(stored_rows(dump, 0, 0), 600 - dropped_rows);
  json_object_put(dump);
}
END_TEST

/* A name another table holds: the upsert is retried once under the
 * fallback name, and the other table is left alone. */
START_TEST(test_name_clash_uses_fallback) {
  char name[AD_SLUG_MAX + 1], full[256], expect[200], slug[AD_SLUG_MAX + 1];
  json_object *dump, *table;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 10;
  start_fakes();
  snprintf(full, sizeof(full), "%s %s", ad_fake_airtable_base_name(h.at, 0),
           ad_fake_airtable_table_name(h.at, 0, 0));
  ad_slug(full, name, sizeof(name));
  ad_fake_dust_add_table(h.dust, "someone_elses", name);
  run();
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
  assert_all_landed();
  ad_slug(ad_fake_airtable_table_id(h.at, 0, 0), slug, sizeof(slug));
  snprintf(expect, sizeof(expect), "%s_%s", name, slug);
  dump = ad_fake_dust_dump(h.dust);
  table = stored_table(dump, 0, 0);
  ck_assert_str_eq(
      json_object_get_string(json_object_object_get(table, "name")), expect);
  json_object_put(dump);
}
END_TEST

/* truncate: a re-sync of a smaller table leaves exactly its rows, each
 * table truncated once, though its batches were written concurrently. */
START_TEST(test_truncate_replaces_rows) {
  ad_fake_dust_counters_t c;
  json_object *dump;

  h.ao.bases = 1;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = 300;
  h.ao.seed = 11;
  run();
  assert_all_landed();
  assert_all_valid();
  ad_fake_airtable_stop(h.at); /* the same ids, fewer records */
  h.ao.records_per_table = 200;
  h.at = NULL;
  snprintf(h.sink_extra, sizeof(h.sink_extra),
           ",\"batch_size\":25,\"truncate\":true");
  snprintf(h.engine_extra, sizeof(h.engine_extra), ",\"sink_concurrency\":8");
  run();
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_eq(c.truncates, 2);
  dump = ad_fake_dust_dump(h.dust);
  ck_assert_int_eq(stored_rows(dump, 0, 0), 200);
  ck_assert_int_eq(stored_rows(dump, 0, 1), 200);
  json_object_put(dump);
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
}
END_TEST

/* Documents are paced by the workspace limit: none refused. */
START_TEST(test_documents_paced) {
  ad_fake_dust_counters_t c;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 60;
  h.format = "documents";
  h.dop.documents_per_minute = 20; /* per 1 s window here */
  h.dop.documents_window_ms = 1000;
  h.documents_window_ms = 1000;
  /* The pacing is under test, not the margin: under ctest -j2 beside the
   * sanitized fault matrix, the sync was once held more than the default
   * 20 ms between a request's stamp and its write (4 x 429). */
  snprintf(h.rate_extra, sizeof(h.rate_extra),
           ",\"dust_documents_per_minute\":20,\"safety_margin_ms\":100");
  snprintf(h.engine_extra, sizeof(h.engine_extra), ",\"sink_concurrency\":50");
  run();
  assert_all_landed();
  assert_all_valid();
  ad_fake_dust_counters(h.dust, &c);
  ck_assert_int_eq(c.sent_429, 0);
  ck_assert_uint_gt(h.st.rate_limit_wait_us, 0);
}
END_TEST

/* Dust answers too late every time: each request times out, is retried,
 * and the table fails with a message saying so; nothing hangs or leaks. */
START_TEST(test_dust_timeouts_fail_the_table) {
  const char *err;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 10;
  h.dop.latency_ms = 1500;
  snprintf(h.engine_extra, sizeof(h.engine_extra),
           ",\"request_timeout_s\":1");
  h.max_retries = 1;
  run();
  ck_assert_int_eq(ad_stats_ok(&h.st), 0);
  ck_assert_ptr_null(json_object_object_get(h.stats, "error")); /* not fatal */
  ck_assert_uint_eq(h.st.tables_failed, 1);
  ck_assert_uint_eq(h.st.records_failed, 10);
  ck_assert_uint_eq(h.st.retries, 1);
  err = json_object_get_string(json_object_object_get(
      json_object_array_get_idx(json_object_object_get(h.stats, "failures"), 0),
      "error"));
  ck_assert_ptr_nonnull(strstr(err, "timed out"));
  ck_assert_ptr_nonnull(strstr(err, "gave up after 2 attempts"));
}
END_TEST

/* A key Dust refuses stops the run: fatal, every record read failed, the
 * key nowhere in the stats. */
START_TEST(test_dust_401_is_fatal) {
  const char *fatal;

  h.ao.bases = 2;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = 300;
  h.dust_key = "sk-wrongkey42";
  run();
  ck_assert_int_eq(ad_stats_ok(&h.st), 0);
  fatal = json_object_get_string(json_object_object_get(h.stats, "error"));
  ck_assert_ptr_nonnull(fatal);
  ck_assert_ptr_nonnull(strstr(fatal, "HTTP 401"));
  ck_assert_ptr_nonnull(
      strstr(fatal, "the Dust workspace API key (sk-…) was refused"));
  ck_assert_uint_eq(h.st.rows_written, 0);
  ck_assert_uint_eq(h.st.records_failed, h.st.records_read);
  ck_assert_ptr_null(strstr(json_object_to_json_string(h.stats), "wrongkey42"));
}
END_TEST

/* An OAuth access token goes out as the Bearer value too; the fake Dust
 * takes only its workspace key, so it refuses this one: the run stops
 * saying an OAuth token was refused, and never shows it (the warnings
 * printed here go through the secrets check as well). */
START_TEST(test_dust_oauth_token_refused) {
  const char *fatal;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 50;
  h.dust_key = "eyJoauthTOKEN.refused-7Qx_z";
  h.log_level = AD_LOG_WARN;
  run();
  fatal = json_object_get_string(json_object_object_get(h.stats, "error"));
  ck_assert_ptr_nonnull(fatal);
  ck_assert_ptr_nonnull(strstr(fatal, "the Dust OAuth access token was refused"));
  ck_assert_ptr_nonnull(strstr(fatal, "HTTP 401"));
  ck_assert_ptr_null(strstr(fatal, "sk-"));
  ck_assert_uint_eq(h.st.records_failed, h.st.records_read);
  ck_assert_ptr_null(strstr(json_object_to_json_string(h.stats), "oauthTOKEN"));
}
END_TEST

/* An unknown data source is fatal too, named as Dust names it. */
START_TEST(test_dust_unknown_data_source_is_fatal) {
  const char *fatal;

  h.ao.bases = 1;
  h.ao.tables_per_base = 1;
  h.ao.records_per_table = 50;
  h.dop.data_source_id = "dsOther";
  run();
  fatal = json_object_get_string(json_object_object_get(h.stats, "error"));
  ck_assert_ptr_nonnull(fatal);
  ck_assert_ptr_nonnull(strstr(fatal, "data_source_not_found"));
  ck_assert_uint_eq(h.st.records_failed, h.st.records_read);
}
END_TEST

static Suite *sync_suite(void) {
  Suite *s = suite_create("sync");
  TCase *tc = tcase_create("end_to_end");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 150);
  tcase_add_loop_test(tc, test_exactly_once, 0,
                      (int)(sizeof(datasets) / sizeof(datasets[0])));
  tcase_add_loop_test(tc, test_demo, 0, 2);
  tcase_add_test(tc, test_slow_dust_fills_the_queue);
  tcase_add_loop_test(tc, test_dust_faults_retried, 0, 2);
  tcase_add_test(tc, test_rejected_table_fails_alone);
  tcase_add_test(tc, test_413_splits_batches);
  tcase_add_test(tc, test_413_single_rows_fail_named);
  tcase_add_test(tc, test_500_reupserts_the_table);
  tcase_add_test(tc, test_name_clash_uses_fallback);
  tcase_add_test(tc, test_truncate_replaces_rows);
  tcase_add_test(tc, test_documents_paced);
  tcase_add_test(tc, test_dust_timeouts_fail_the_table);
  tcase_add_test(tc, test_dust_401_is_fatal);
  tcase_add_test(tc, test_dust_oauth_token_refused);
  tcase_add_test(tc, test_dust_unknown_data_source_is_fatal);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(sync_suite()); }
