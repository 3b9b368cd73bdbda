/* The store of a recurring sync (state/store.h): create and reopen,
 * refusals (another source or destination, the old JSON resume file,
 * garbage, a newer schema, a store in use), runs and their resume, records
 * (put, del, commit, get, count, iteration), forgetting a table, meta,
 * uncommitted work lost in a crash and nothing else, the default path, and
 * 100 000 records in one transaction. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "store.h"
#include "testutil.h"

#define SRC "{\"origin\":\"airtable\",\"bases\":[\"appA\",\"appB\"]}"
#define DST                                                                  \
  "{\"url\":\"https://dust.tt\",\"workspace_id\":\"w\",\"space_id\":\"s\","  \
  "\"data_source_id\":\"d\"}"
/* DST with other key order and spacing: the same destination. */
#define DST_SAME                                                             \
  "{ \"data_source_id\": \"d\", \"space_id\": \"s\", \"workspace_id\": "     \
  "\"w\", \"url\": \"https://dust.tt\" }"
#define DST_OTHER                                                            \
  "{\"url\":\"https://dust.tt\",\"workspace_id\":\"w\",\"space_id\":\"s\","  \
  "\"data_source_id\":\"other\"}"

static char dir[64], path[128];

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/ad_store_%d", (int)getpid());
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  snprintf(path, sizeof(path), "%s/sync.db", dir);
}

static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char file[512];
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
    unlink(file);
  }
  if (d != NULL)
    closedir(d);
  rmdir(dir);
}

/* A store at path for SRC and DST, which must open. */
static ad_store_t *open_ok(int *created) {
  ad_store_t *st = NULL;
  char err[1024];
  int rc = ad_store_open(&st, path, SRC, DST, created, err, sizeof(err));
  ck_assert_msg(rc == 0, "open: %d %s", rc, err);
  ck_assert_ptr_nonnull(st);
  return st;
}

/* A distinct non-zero hash per n. */
static ad_store_hash_t hash_of(unsigned n) {
  ad_store_hash_t h;
  int i;
  for (i = 0; i < 16; i++)
    h.b[i] = (unsigned char)((n >> ((i % 4) * 8)) ^ (unsigned)(i * 37 + 1));
  return h;
}

static void write_file(const char *file, const char *text, size_t len) {
  FILE *f = fopen(file, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(text, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* Runs one SQL text on the file, outside the store (what another program,
 * or a newer airdust, might have done). */
static void raw_sql(const char *file, const char *sql) {
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(file, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

/* What ad_store_records gave. */
typedef struct seen {
  int n;
  char ids[8][32];
  ad_store_hash_t h[8];
  int stop_at; /* return 7 at this record (1-based); 0: never */
} seen_t;

static int collect(const char *id, const ad_store_hash_t *h, void *data) {
  seen_t *s = data;
  if (s->n < 8) {
    snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
    s->h[s->n] = *h;
  }
  s->n++;
  return s->n == s->stop_at ? 7 : 0;
}

START_TEST(test_create_and_reopen) {
  ad_store_t *st;
  ad_store_hash_t h, zero;
  seen_t seen;
  struct stat sb;
  int created = -1;

  memset(&zero, 0, sizeof(zero));
  st = open_ok(&created);
  ck_assert_int_eq(created, 1);
  ck_assert_str_eq(ad_store_path(st), path);
  ck_assert_str_eq(ad_store_error(st), "");
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  h = hash_of(1);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "rec1", &h), 0);
  h = hash_of(2);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "rec2", &h), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "rec0", &zero), 0);
  ck_assert_int_eq(ad_store_commit(st), 0);
  ad_store_close(st);

  st = open_ok(&created);
  ck_assert_int_eq(created, 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 3);
  memset(&seen, 0, sizeof(seen));
  ck_assert_int_eq(ad_store_records(st, "appA", "tblA", collect, &seen), 0);
  ck_assert_int_eq(seen.n, 3);
  ck_assert_str_eq(seen.ids[0], "rec0");
  ck_assert_str_eq(seen.ids[1], "rec1");
  ck_assert_str_eq(seen.ids[2], "rec2");
  ck_assert_mem_eq(seen.h[0].b, zero.b, 16);
  h = hash_of(1);
  ck_assert_mem_eq(seen.h[1].b, h.b, 16);
  h = hash_of(2);
  ck_assert_mem_eq(seen.h[2].b, h.b, 16);
  ck_assert_int_eq(ad_store_record_get(st, "appA", "tblA", "rec2", &h), 1);
  ck_assert_mem_eq(h.b, hash_of(2).b, 16);
  ad_store_close(st);

  /* The same destination written otherwise (key order, spaces) is it. */
  ck_assert_int_eq(ad_store_open(&st, path, SRC, DST_SAME, &created, NULL, 0),
                   0);
  ck_assert_int_eq(created, 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 3);
  ad_store_close(st);
  ad_store_close(NULL);
}
END_TEST

START_TEST(test_other_destination_or_source) {
  ad_store_t *st = open_ok(NULL);
  char err[2048];
  ad_store_hash_t h = hash_of(5);

  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "rec1", &h), 0);
  ad_store_close(st);
  st = (ad_store_t *)1;
  ck_assert_int_eq(
      ad_store_open(&st, path, SRC, DST_OTHER, NULL, err, sizeof(err)),
      AD_ECONFIG);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "another destination"));
  ck_assert_ptr_nonnull(strstr(err, DST));       /* what it was made for */
  ck_assert_ptr_nonnull(strstr(err, DST_OTHER)); /* what this run wants */
  ck_assert_int_eq(ad_store_open(&st, path, "{\"origin\":\"jsonl\"}", DST,
                                 NULL, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err, "another source"));
  ck_assert_ptr_nonnull(strstr(err, SRC));
  ck_assert_ptr_nonnull(strstr(err, "{\"origin\":\"jsonl\"}"));
  /* Refusing left the store as it was. */
  st = open_ok(NULL);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 1);
  ad_store_close(st);
}
END_TEST

START_TEST(test_old_json_refused) {
  static const char old[] =
      "{\n  \"version\":1,\n  \"destination\":{\"url\":\"https://dust.tt\"},\n"
      "  \"tables\":{\"appA/tblA\":{\"records\":3,\"finished_at\":"
      "\"2026-11-22T10:00:00Z\"}}\n}\n";
  ad_store_t *st;
  char err[1024], *after;

  write_file(path, old, strlen(old));
  ck_assert_int_eq(ad_store_open(&st, path, SRC, DST, NULL, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(
      strstr(err, "an airdust resume file of an older version: remove it "
                  "(the next run rewrites everything once)"));
  after = ad_test_read_file(path);
  ck_assert_str_eq(after, old); /* untouched */
  free(after);
}
END_TEST

START_TEST(test_garbage_refused) {
  static const char junk[] = "this is not a database, and not JSON either\n"
                             "...................................................."
                             "....................................................";
  ad_store_t *st;
  char err[1024], other[160], *after;

  write_file(path, junk, strlen(junk));
  ck_assert_int_eq(ad_store_open(&st, path, SRC, DST, NULL, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "not an airdust store"));
  after = ad_test_read_file(path);
  ck_assert_str_eq(after, junk);
  free(after);

  /* Another program's SQLite database. */
  snprintf(other, sizeof(other), "%s/other.db", dir);
  raw_sql(other, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('a')");
  ck_assert_int_eq(
      ad_store_open(&st, other, SRC, DST, NULL, err, sizeof(err)), AD_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err, other));
  ck_assert_ptr_nonnull(strstr(err, "not an airdust store"));
}
END_TEST

START_TEST(test_newer_schema_refused) {
  ad_store_t *st = open_ok(NULL);
  char err[1024];
  ad_store_close(st);
  raw_sql(path, "PRAGMA user_version = 2");
  ck_assert_int_eq(ad_store_open(&st, path, SRC, DST, NULL, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "newer airdust"));
  ck_assert_ptr_nonnull(strstr(err, "schema 2"));
}
END_TEST

/* A missing folder is an I/O error naming the path; nothing is made. */
START_TEST(test_missing_folder) {
  ad_store_t *st;
  char err[1024], bad[200];
  snprintf(bad, sizeof(bad), "%s/no/such/sync.db", dir);
  ck_assert_int_eq(ad_store_open(&st, bad, SRC, DST, NULL, err, sizeof(err)),
                   AD_EIO);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, bad));
  ck_assert_int_eq(access(bad, F_OK), -1);
}
END_TEST

/* Tries to open path in a child process: 0 opened, 1 refused in use,
 * 2 refused otherwise. */
static int open_in_child(void) {
  int status;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    ad_store_t *st;
    char err[1024];
    int rc = ad_store_open(&st, path, SRC, DST, NULL, err, sizeof(err));
    if (rc == 0) {
      ad_store_close(st);
      _exit(0);
    }
    _exit(rc == AD_ECONFIG && strstr(err, "in use by another run") &&
                  strstr(err, path)
              ? 1
              : 2);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  return WEXITSTATUS(status);
}

START_TEST(test_in_use_refused) {
  ad_store_t *st = open_ok(NULL), *second;
  ad_store_hash_t h = hash_of(9);
  char err[1024];
  int toparent[2], tochild[2], status;
  pid_t pid;
  char c = 0;

  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "rec1", &h), 0);
  ck_assert_int_eq(ad_store_commit(st), 0);
  /* In this process, and in another. */
  ck_assert_int_eq(
      ad_store_open(&second, path, SRC, DST, NULL, err, sizeof(err)),
      AD_ECONFIG);
  ck_assert_ptr_null(second);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "in use by another run"));
  ck_assert_int_eq(open_in_child(), 1);
  /* The holder goes on, unharmed by the refusals. */
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "rec2", &h), 0);
  ck_assert_int_eq(ad_store_commit(st), 0);
  ad_store_close(st);
  ck_assert_int_eq(open_in_child(), 0);

  /* Another process holds it; killed, it leaves no lock behind. */
  ck_assert_int_eq(pipe(toparent), 0);
  ck_assert_int_eq(pipe(tochild), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    ad_store_t *mine;
    close(toparent[0]);
    close(tochild[1]);
    c = ad_store_open(&mine, path, SRC, DST, NULL, err, sizeof(err)) == 0
            ? 'o'
            : 'x';
    if (write(toparent[1], &c, 1) != 1)
      _exit(3);
    for (;;)
      pause();
  }
  close(toparent[1]);
  close(tochild[0]);
  ck_assert_int_eq(read(toparent[0], &c, 1), 1);
  ck_assert_int_eq(c, 'o');
  ck_assert_int_eq(
      ad_store_open(&second, path, SRC, DST, NULL, err, sizeof(err)),
      AD_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err, "in use by another run"));
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  close(toparent[0]);
  close(tochild[1]);
  st = open_ok(NULL);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 2);
  ad_store_close(st);
}
END_TEST

/* tables(): each into a text line "g/t origin name records finished". */
static int list_tables(const ad_store_table_t *t, void *data) {
  char *out = data;
  size_t len = strlen(out);
  snprintf(out + len, 1024 - len, "%s/%s %s %s %llu %d\n", t->group_id,
           t->table_id, t->origin ? t->origin : "-", t->name ? t->name : "-",
           (unsigned long long)t->records, t->finished);
  return 0;
}

START_TEST(test_runs_resume) {
  ad_store_t *st = open_ok(NULL);
  char list[1024];
  int resumed = -1;

  /* No run open: nothing is finished. */
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_run_begin(st, &resumed), 0);
  ck_assert_int_eq(resumed, 0);
  ck_assert_int_eq(ad_store_table_note(st, "appA", "tblA", "airtable", "A"), 0);
  ck_assert_int_eq(ad_store_table_note(st, "appA", "tblB", "airtable", "B"), 0);
  ck_assert_int_eq(ad_store_table_finish(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 1);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblB"), 0);
  ck_assert_int_eq(ad_store_table_finished(st, "appX", "tblX"), 0);
  ck_assert_int_eq(ad_store_run_end(st, 0), 0); /* interrupted */
  ad_store_close(st);

  /* Resumed: tblA stays finished. */
  st = open_ok(NULL);
  ck_assert_int_eq(ad_store_run_begin(st, &resumed), 0);
  ck_assert_int_eq(resumed, 1);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 1);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblB"), 0);
  ck_assert_int_eq(ad_store_table_finish(st, "appA", "tblB"), 0);
  /* The process dies without ending the run: resumed again. */
  ad_store_close(st);
  st = open_ok(NULL);
  ck_assert_int_eq(ad_store_run_begin(st, &resumed), 0);
  ck_assert_int_eq(resumed, 1);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 1);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblB"), 1);
  list[0] = '\0';
  ck_assert_int_eq(ad_store_tables(st, list_tables, list), 0);
  ck_assert_str_eq(list, "appA/tblA airtable A 0 1\nappA/tblB airtable B 0 1\n");
  ck_assert_int_eq(ad_store_run_end(st, 1), 0); /* complete */
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 0);
  ad_store_close(st);

  /* After a complete run, a new one: nothing finished. */
  st = open_ok(NULL);
  ck_assert_int_eq(ad_store_run_begin(st, &resumed), 0);
  ck_assert_int_eq(resumed, 0);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblB"), 0);
  list[0] = '\0';
  ck_assert_int_eq(ad_store_tables(st, list_tables, list), 0);
  ck_assert_str_eq(list, "appA/tblA airtable A 0 0\nappA/tblB airtable B 0 0\n");
  ck_assert_int_eq(ad_store_run_end(st, 1), 0);
  ck_assert_int_eq(ad_store_run_begin(st, &resumed), 0);
  ck_assert_int_eq(resumed, 0);
  ck_assert_int_eq(ad_store_run_end(st, 1), 0);
  ad_store_close(st);
}
END_TEST

START_TEST(test_tables_listing) {
  ad_store_t *st = open_ok(NULL);
  ad_store_hash_t h = hash_of(3);
  char list[1024];

  ck_assert_int_eq(ad_store_table_note(st, "appB", "tblZ", "airtable", "Zed"),
                   0);
  ck_assert_int_eq(ad_store_table_note(st, "appA", "tblA", "airtable", "Old"),
                   0);
  /* Known: the name changes, a NULL origin keeps the stored one. */
  ck_assert_int_eq(ad_store_table_note(st, "appA", "tblA", NULL, "New"), 0);
  /* put notes an unknown table. */
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblC", "r1", &h), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblC", "r2", &h), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appB", "tblZ", "r1", &h), 0);
  ck_assert_int_eq(ad_store_commit(st), 0);
  ad_store_close(st);
  st = open_ok(NULL);
  list[0] = '\0';
  ck_assert_int_eq(ad_store_tables(st, list_tables, list), 0);
  ck_assert_str_eq(list, "appA/tblA airtable New 0 0\n"
                         "appA/tblC - - 2 0\n"
                         "appB/tblZ airtable Zed 1 0\n");
  ad_store_close(st);
}
END_TEST

static int stop_first(const ad_store_table_t *t, void *data) {
  ++*(int *)data;
  return 42;
}

START_TEST(test_put_del_commit) {
  ad_store_t *st = open_ok(NULL);
  ad_store_hash_t a = hash_of(10), b = hash_of(11), c = hash_of(12), got;
  int calls = 0;

  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "recA", &a), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "recB", &b), 0);
  /* Visible to this store before the commit. */
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 2);
  ck_assert_int_eq(ad_store_commit(st), 0);
  ck_assert_int_eq(ad_store_commit(st), 0); /* nothing pending: fine */
  ck_assert_int_eq(ad_store_record_del(st, "appA", "tblA", "recA"), 0);
  ck_assert_int_eq(ad_store_record_del(st, "appA", "tblA", "absent"), 0);
  ck_assert_int_eq(ad_store_record_del(st, "appQ", "tblQ", "absent"), 0);
  /* put replaces. */
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "recB", &c), 0);
  ck_assert_int_eq(ad_store_commit(st), 0);
  ad_store_close(st);

  st = open_ok(NULL);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 1);
  ck_assert_uint_eq(ad_store_record_count(st, "appQ", "tblQ"), 0);
  ck_assert_int_eq(ad_store_record_get(st, "appA", "tblA", "recA", &got), 0);
  ck_assert_int_eq(ad_store_record_get(st, "appA", "tblA", "recB", &got), 1);
  ck_assert_mem_eq(got.b, c.b, 16);
  ck_assert_int_eq(ad_store_record_get(st, "appQ", "tblQ", "recB", &got), 0);
  /* A nonzero return stops tables() and is returned. */
  ck_assert_int_eq(ad_store_tables(st, stop_first, &calls), 42);
  ck_assert_int_eq(calls, 1);
  ad_store_close(st);
}
END_TEST

START_TEST(test_forget) {
  ad_store_t *st = open_ok(NULL);
  ad_store_hash_t h = hash_of(4);
  char list[1024];
  int resumed;

  ck_assert_int_eq(ad_store_run_begin(st, &resumed), 0);
  ck_assert_int_eq(ad_store_table_note(st, "appA", "tblA", "airtable", "A"), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "r1", &h), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", "r2", &h), 0);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblB", "r1", &h), 0);
  ck_assert_int_eq(ad_store_table_finish(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_table_forget(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_table_forget(st, "appN", "tblN"), 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_table_finished(st, "appA", "tblA"), 0);
  ck_assert_int_eq(ad_store_run_end(st, 0), 0);
  ad_store_close(st);

  st = open_ok(NULL);
  list[0] = '\0';
  ck_assert_int_eq(ad_store_tables(st, list_tables, list), 0);
  ck_assert_str_eq(list, "appA/tblB - - 1 0\n");
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 0);
  /* A table noted again after being forgotten starts empty. */
  ck_assert_int_eq(ad_store_table_note(st, "appA", "tblA", "airtable", "A"), 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblB"), 1);
  ad_store_close(st);
}
END_TEST

/* Deletes every record it is given, committing each time. */
static int delete_each(const char *id, const ad_store_hash_t *h, void *data) {
  ad_store_t *st = data;
  if (ad_store_record_del(st, "appA", "tblA", id) != 0)
    return -100;
  return ad_store_commit(st) != 0 ? -101 : 0;
}

START_TEST(test_records_iteration) {
  ad_store_t *st = open_ok(NULL);
  ad_store_hash_t h;
  seen_t seen;
  char id[16];
  int i;

  for (i = 4; i >= 0; i--) { /* put out of order, read in order */
    snprintf(id, sizeof(id), "rec%d", i);
    h = hash_of((unsigned)i);
    ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", id, &h), 0);
  }
  h = hash_of(99);
  ck_assert_int_eq(ad_store_record_put(st, "appA", "tblB", "other", &h), 0);
  ck_assert_int_eq(ad_store_commit(st), 0);
  memset(&seen, 0, sizeof(seen));
  ck_assert_int_eq(ad_store_records(st, "appA", "tblA", collect, &seen), 0);
  ck_assert_int_eq(seen.n, 5);
  for (i = 0; i < 5; i++) {
    snprintf(id, sizeof(id), "rec%d", i);
    ck_assert_str_eq(seen.ids[i], id);
    ck_assert_mem_eq(seen.h[i].b, hash_of((unsigned)i).b, 16);
  }
  /* Stopping returns the callback's value. */
  memset(&seen, 0, sizeof(seen));
  seen.stop_at = 2;
  ck_assert_int_eq(ad_store_records(st, "appA", "tblA", collect, &seen), 7);
  ck_assert_int_eq(seen.n, 2);
  /* An unknown table has none. */
  memset(&seen, 0, sizeof(seen));
  ck_assert_int_eq(ad_store_records(st, "appZ", "tblZ", collect, &seen), 0);
  ck_assert_int_eq(seen.n, 0);
  /* Deleting (and committing) from inside the iteration. */
  ck_assert_int_eq(ad_store_records(st, "appA", "tblA", delete_each, st), 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblB"), 1);
  ad_store_close(st);
}
END_TEST

START_TEST(test_meta) {
  ad_store_t *st = open_ok(NULL);
  char v[16], small[4];

  ck_assert_int_eq(ad_store_meta_get(st, "listed", v, sizeof(v)), 0);
  ck_assert_str_eq(v, "");
  ck_assert_int_eq(ad_store_meta_set(st, "listed", "2026-01-02"), 0);
  ck_assert_int_eq(ad_store_meta_set(st, "other", "x"), 0);
  ck_assert_int_eq(ad_store_meta_get(st, "listed", small, sizeof(small)),
                   AD_EINVAL);
  ck_assert_ptr_nonnull(strstr(ad_store_error(st), path));
  ck_assert_ptr_nonnull(strstr(ad_store_error(st), "listed"));
  ad_store_close(st);
  st = open_ok(NULL);
  ck_assert_int_eq(ad_store_meta_get(st, "listed", v, sizeof(v)), 1);
  ck_assert_str_eq(v, "2026-01-02");
  ck_assert_int_eq(ad_store_meta_set(st, "listed", NULL), 0);
  ck_assert_int_eq(ad_store_meta_get(st, "listed", v, sizeof(v)), 0);
  ck_assert_int_eq(ad_store_meta_get(st, "other", v, sizeof(v)), 1);
  ck_assert_str_eq(v, "x");
  ad_store_close(st);
}
END_TEST

/* The child commits c0..c9, then puts u0..u9 and deletes c0 without
 * committing, then dies (_exit, or SIGKILL after a large uncommitted
 * batch that spills into the WAL). */
static void crash_child(int how, int ready) {
  ad_store_t *st;
  ad_store_hash_t h = hash_of(1);
  char id[32], err[1024];
  int i, n = how == 0 ? 10 : 50000;

  if (ad_store_open(&st, path, SRC, DST, NULL, err, sizeof(err)) != 0)
    _exit(2);
  for (i = 0; i < 10; i++) {
    snprintf(id, sizeof(id), "c%d", i);
    if (ad_store_record_put(st, "appA", "tblA", id, &h) != 0)
      _exit(3);
  }
  if (ad_store_commit(st) != 0)
    _exit(4);
  for (i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "u%d", i);
    if (ad_store_record_put(st, "appA", "tblA", id, &h) != 0)
      _exit(5);
  }
  if (ad_store_record_del(st, "appA", "tblA", "c0") != 0)
    _exit(6);
  if (how == 0)
    _exit(0);
  if (write(ready, "r", 1) != 1)
    _exit(7);
  for (;;)
    pause();
}

START_TEST(test_crash_keeps_only_committed) {
  int how = _i, fds[2], status;
  ad_store_t *st;
  ad_store_hash_t h;
  pid_t pid;
  char c;

  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    crash_child(how, fds[1]);
  }
  close(fds[1]);
  if (how == 1) {
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  close(fds[0]);
  if (how == 0)
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %d", status);
  else
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  st = open_ok(NULL);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), 10);
  ck_assert_int_eq(ad_store_record_get(st, "appA", "tblA", "c0", &h), 1);
  ck_assert_mem_eq(h.b, hash_of(1).b, 16);
  ck_assert_int_eq(ad_store_record_get(st, "appA", "tblA", "u0", &h), 0);
  ad_store_close(st);
}
END_TEST

START_TEST(test_default_path) {
  char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
  size_t i, len;

  ck_assert_int_eq(ad_store_default_path("/state", SRC, DST, NULL, &a), 0);
  ck_assert_int_eq(ad_store_default_path("/state", SRC, DST, NULL, &b), 0);
  ck_assert_int_eq(
      ad_store_default_path("/state", SRC, DST_OTHER, NULL, &c), 0);
  ck_assert_int_eq(ad_store_default_path("/state", "{}", DST, NULL, &d), 0);
  ck_assert_int_eq(ad_store_default_path("/state", SRC, DST, "patB", &e), 0);
  ck_assert_str_eq(a, b);
  ck_assert_str_ne(a, c);
  ck_assert_str_ne(a, d);
  ck_assert_str_ne(a, e); /* another account's token: another memory */
  ck_assert_ptr_null(strstr(e, "patB"));
  len = strlen(a);
  ck_assert_uint_eq(len, strlen("/state/sync-") + 16 + strlen(".db"));
  ck_assert_int_eq(strncmp(a, "/state/sync-", 12), 0);
  ck_assert_str_eq(a + len - 3, ".db");
  for (i = 12; i < 28; i++)
    ck_assert_ptr_nonnull(strchr("0123456789abcdef", a[i]));
  free(a);
  free(b);
  free(c);
  free(d);
  free(e);
}
END_TEST

typedef struct many {
  unsigned n;
  int bad;
} many_t;

static int check_many(const char *id, const ad_store_hash_t *h, void *data) {
  many_t *m = data;
  unsigned k;
  /* ids are rec + 12 digits, so text order is numeric order. */
  if (sscanf(id, "recAAAAA%012u", &k) != 1 || k != m->n ||
      memcmp(h->b, hash_of(k).b, 16) != 0)
    m->bad++;
  m->n++;
  return 0;
}

START_TEST(test_many_records) {
  enum { N = 100000 };
  ad_store_t *st = open_ok(NULL);
  ad_store_hash_t h;
  many_t m = {0, 0};
  char id[32];
  unsigned i;

  for (i = 0; i < N; i++) {
    snprintf(id, sizeof(id), "recAAAAA%012u", i); /* 20 chars */
    h = hash_of(i);
    ck_assert_int_eq(ad_store_record_put(st, "appA", "tblA", id, &h), 0);
  }
  ck_assert_int_eq(ad_store_commit(st), 0);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), N);
  ck_assert_int_eq(ad_store_records(st, "appA", "tblA", check_many, &m), 0);
  ck_assert_uint_eq(m.n, N);
  ck_assert_int_eq(m.bad, 0);
  ad_store_close(st);
  st = open_ok(NULL);
  ck_assert_uint_eq(ad_store_record_count(st, "appA", "tblA"), N);
  ad_store_close(st);
}
END_TEST

static Suite *store_suite(void) {
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_create_and_reopen);
  tcase_add_test(tc, test_other_destination_or_source);
  tcase_add_test(tc, test_old_json_refused);
  tcase_add_test(tc, test_garbage_refused);
  tcase_add_test(tc, test_newer_schema_refused);
  tcase_add_test(tc, test_missing_folder);
  tcase_add_test(tc, test_in_use_refused);
  tcase_add_test(tc, test_runs_resume);
  tcase_add_test(tc, test_tables_listing);
  tcase_add_test(tc, test_put_del_commit);
  tcase_add_test(tc, test_forget);
  tcase_add_test(tc, test_records_iteration);
  tcase_add_test(tc, test_meta);
  tcase_add_loop_test(tc, test_crash_keeps_only_committed, 0, 2);
  tcase_add_test(tc, test_default_path);
  tcase_add_test(tc, test_many_records);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(store_suite()); }
