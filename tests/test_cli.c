/* The airdust binary against the fakes: exit codes, --stats-json against
 * the fakes' counters, config errors naming the key, refused keys, a
 * graceful SIGINT, JSON logs, check, demo and the fakes through
 * airdust-fakes (and without it), and no API key in any output. */
#include <check.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fake_airtable.h"
#include "fake_dust.h"
#include "testutil.h"

extern char **environ;

#define DUST_KEY "sk-fake0123456789"

typedef struct harness {
  ad_fake_airtable_t *at;
  ad_fake_airtable_opts_t ao;
  ad_fake_dust_t *dust;
  ad_fake_dust_opts_t dop;
  char dir[64], config[128], stats[128], out_path[128], err_path[128];
  char *out, *err; /* what the last run printed */
  int kill_signal;  /* what run_bin sends after its delay; 0: SIGINT */
  json_object *stats_json;
} harness_t;

static harness_t h;

static void setup(void) {
  memset(&h, 0, sizeof(h));
  ad_fake_airtable_opts_default(&h.ao);
  ad_fake_dust_opts_default(&h.dop);
  h.ao.bases = 2;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = 120;
  snprintf(h.dir, sizeof(h.dir), "/tmp/ad_cli_%d", (int)getpid());
  ck_assert_int_eq(mkdir(h.dir, 0700) == 0 || access(h.dir, W_OK) == 0, 1);
  snprintf(h.config, sizeof(h.config), "%s/config.json", h.dir);
  snprintf(h.stats, sizeof(h.stats), "%s/stats.json", h.dir);
  snprintf(h.out_path, sizeof(h.out_path), "%s/out", h.dir);
  snprintf(h.err_path, sizeof(h.err_path), "%s/err", h.dir);
}

static void teardown(void) {
  free(h.out);
  free(h.err);
  json_object_put(h.stats_json);
  ad_fake_airtable_stop(h.at);
  ad_fake_dust_stop(h.dust);
  unlink(h.config);
  unlink(h.stats);
  unlink(h.out_path);
  unlink(h.err_path);
  rmdir(h.dir);
}

static void start_fakes(void) {
  h.at = ad_fake_airtable_start(&h.ao);
  h.dust = ad_fake_dust_start(&h.dop);
  ck_assert_ptr_nonnull(h.at);
  ck_assert_ptr_nonnull(h.dust);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* A config for the fakes; dust_key and sink_extra vary per test. */
static void write_config(const char *at_key, const char *dust_key,
                         const char *extra) {
  char text[2048];
  snprintf(text, sizeof(text),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\",\"index_all\":true},"
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"%s\",\"base_url\":\"%s\","
           "\"workspace_id\":\"wFake\",\"space_id\":\"vltFake\","
           "\"data_source_id\":\"dsFake\"}%s}",
           at_key, ad_fake_airtable_url(h.at), dust_key,
           ad_fake_dust_url(h.dust), extra);
  write_file(h.config, text);
}

/* Runs airdust with args (NULL-terminated); signal_after_ms > 0 sends
 * SIGINT then. Returns the exit code; h.out, h.err, h.stats_json hold
 * what it left. */
static int run_bin(const char *bin, const char *const *args,
                   int signal_after_ms) {
  char *argv[16];
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int i, status = 0, waited = 0;

  argv[0] = (char *)bin;
  for (i = 0; args[i] != NULL && i < 14; i++)
    argv[i + 1] = (char *)args[i];
  argv[i + 1] = NULL;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, h.out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, h.err_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  unlink(h.stats);
  ck_assert_int_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  if (signal_after_ms > 0) {
    usleep((useconds_t)signal_after_ms * 1000);
    kill(pid, h.kill_signal ? h.kill_signal : SIGINT);
  }
  while (waitpid(pid, &status, WNOHANG) == 0 && waited < 120000) {
    usleep(10000);
    waited += 10;
  }
  ck_assert_msg(waited < 120000, "airdust did not exit");
  free(h.out);
  free(h.err);
  h.out = ad_test_read_file(h.out_path);
  h.err = ad_test_read_file(h.err_path);
  json_object_put(h.stats_json);
  h.stats_json = json_object_from_file(h.stats);
  /* No output ever holds a key. */
  ck_assert_ptr_null(strstr(h.out, DUST_KEY));
  ck_assert_ptr_null(strstr(h.err, DUST_KEY));
  ck_assert_ptr_null(strstr(h.err, h.ao.token));
  ck_assert_ptr_null(strstr(h.out, h.ao.token));
  if (h.kill_signal == SIGKILL && WIFSIGNALED(status) &&
      WTERMSIG(status) == SIGKILL)
    return -SIGKILL;
  ck_assert_msg(WIFEXITED(status), "airdust died: %s", h.err);
  return WEXITSTATUS(status);
}

static int run_cli(const char *const *args, int signal_after_ms) {
  return run_bin(AD_CLI_PATH, args, signal_after_ms);
}

static uint64_t stat_u64(const char *key) {
  return (uint64_t)json_object_get_int64(
      json_object_object_get(h.stats_json, key));
}

static uint64_t stat_pair(const char *key, const char *side) {
  return (uint64_t)json_object_get_int64(json_object_object_get(
      json_object_object_get(h.stats_json, key), side));
}

static void assert_accounted(void) {
  ck_assert_ptr_nonnull(h.stats_json);
  ck_assert_uint_eq(stat_u64("records_read"),
                    stat_u64("rows_written") + stat_u64("documents_written") +
                        stat_u64("records_failed") +
                        stat_u64("records_unchanged"));
}

START_TEST(test_sync_ok_matches_the_fakes) {
  const char *args[] = {"sync", "--config", h.config, "--stats-json", h.stats,
                        NULL};
  ad_fake_dust_counters_t dc;
  ad_fake_airtable_counters_t ac;
  json_object *rl;

  start_fakes();
  write_config(h.ao.token, DUST_KEY, "");
  ck_assert_int_eq(run_cli(args, 0), 0);
  assert_accounted();
  ad_fake_dust_counters(h.dust, &dc);
  ad_fake_airtable_counters(h.at, &ac);
  ck_assert_int_eq(json_object_get_boolean(
                       json_object_object_get(h.stats_json, "ok")), 1);
  ck_assert_uint_eq(stat_u64("rows_written"), (uint64_t)dc.rows_stored);
  ck_assert_uint_eq(stat_u64("rows_written"), 480);
  /* A first run with no memory lists the data source's tables first
   * (docs/mirror.md: a lost memory is not a lost mirror). */
  ck_assert_int_eq(dc.requests_tables_get, 1);
  ck_assert_uint_eq(stat_pair("requests", "dust"),
                    (uint64_t)(dc.requests_tables_post + dc.requests_rows_post +
                               dc.requests_tables_get));
  ck_assert_uint_eq(stat_pair("requests", "airtable"),
                    (uint64_t)(ac.requests_bases + ac.requests_schema +
                               ac.requests_records));
  ck_assert_ptr_nonnull(strstr(h.out, "480 records read"));
  /* Not a terminal: no progress line. */
  ck_assert_ptr_null(strstr(h.err, "\r["));
  /* The limits were shared through the state folder's file, at the
   * default margin, which no 429 widened. */
  rl = json_object_object_get(h.stats_json, "rate_limits");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(rl, "shared")),
                   "file");
  ck_assert_double_eq(
      json_object_get_double(json_object_object_get(rl, "safety_margin_ms")),
      20);
  ck_assert_int_eq(
      json_object_get_int(json_object_object_get(rl, "margin_widened")), 0);
}
END_TEST

START_TEST(test_partial_names_the_table) {
  const char *args[] = {"sync",     "--config",   h.config, "--stats-json",
                        h.stats,    "--progress", "on",     NULL};
  char id[64];

  start_fakes();
  snprintf(id, sizeof(id), "airtable_%s_%s", ad_fake_airtable_base_id(h.at, 0),
           ad_fake_airtable_table_id(h.at, 0, 1));
  ad_fake_dust_reject_table(h.dust, id);
  write_config(h.ao.token, DUST_KEY, "");
  ck_assert_int_eq(run_cli(args, 0), 3);
  assert_accounted();
  ck_assert_uint_eq(stat_u64("tables_failed"), 1);
  ck_assert_ptr_nonnull(strstr(h.out, ad_fake_airtable_table_id(h.at, 0, 1)));
  ck_assert_ptr_nonnull(strstr(h.err, "\r[")); /* --progress on: drawn */
}
END_TEST

/* Each bad config exits 1 naming the key (or the JSON position). */
static const struct {
  const char *text;
  const char *named;
} bad_configs[] = {
    {"{\"source\":{\"type\":\"airtable\",\"api_key\":\"patX.y\","
     "\"colour\":1},\"sink\":{}}", "source.colour"},
    {"{\"source\":{\"type\":\"airtable\",\"api_key\":\"patX.y\"},"
     "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-abc\","
     "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\","
     "\"batch_size\":\"x\"}}", "sink.batch_size"},
    {"{\"source\":{\"type\":\"airtable\",\"api_key\":\"patX.y\"},"
     "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-abc\","
     "\"space_id\":\"s\",\"data_source_id\":\"d\"}}", "sink.workspace_id"},
    {"{\"source\":{\n  \"type\": airtable}}", "line 2"},
};

START_TEST(test_bad_config_names_the_key) {
  const char *args[] = {"sync", "--config", h.config, NULL};
  write_file(h.config, bad_configs[_i].text);
  ck_assert_int_eq(run_cli(args, 0), 1);
  ck_assert_msg(strstr(h.err, bad_configs[_i].named) != NULL,
                "stderr does not name %s: %s", bad_configs[_i].named, h.err);
}
END_TEST

START_TEST(test_bad_keys_are_fatal) {
  const char *args[] = {"sync", "--config", h.config, "--stats-json", h.stats,
                        NULL};
  start_fakes();
  write_config(_i == 0 ? "patWrong.key" : h.ao.token,
               _i == 0 ? DUST_KEY : "sk-wrongkey", "");
  ck_assert_int_eq(run_cli(args, 0), 1);
  ck_assert_ptr_nonnull(strstr(h.err, "401"));
  ck_assert_ptr_null(strstr(h.err, _i == 0 ? "patWrong.key" : "sk-wrongkey"));
  assert_accounted();
}
END_TEST

/* SIGINT mid-sync: exit 130, and the stats account every record read. */
START_TEST(test_sigint_is_graceful) {
  const char *args[] = {"sync", "--config", h.config, "--stats-json", h.stats,
                        NULL};
  h.ao.records_per_table = 600;
  h.dop.latency_ms = 100;
  start_fakes();
  write_config(h.ao.token, DUST_KEY,
               ",\"engine\":{\"sink_concurrency\":1}");
  ck_assert_int_eq(run_cli(args, 700), 130);
  assert_accounted();
  ck_assert_uint_gt(stat_u64("records_read"), 0);
  ck_assert_uint_lt(stat_u64("records_read"), 2400);
  ck_assert_ptr_nonnull(strstr(h.err, "interrupted"));
}
END_TEST

/* The records the sync's memory (state/store.h) holds, over every table:
 * what it knows Dust acknowledged. Read with SQLite itself, once the run
 * that held it is gone. */
static long store_records(const char *path) {
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  long n = -1;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1,
                                      &s, NULL),
                   SQLITE_OK);
  if (sqlite3_step(s) == SQLITE_ROW)
    n = (long)sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

/* sync --state, killed (SIGKILL) at random moments — between a batch
 * Dust acknowledged and the memory's next commit among them —, then run
 * again until a run completes: every record ends in Dust exactly once,
 * the memory holds each of them, and one more run reads everything,
 * sends nothing and deletes nothing. Both formats. */
START_TEST(test_resume_after_sigkill) {
  char state[160], text[2048];
  const char *args[] = {"sync",    "--config", h.config,     "--state",
                        state,     "--stats-json", h.stats, NULL};
  const char *format = _i == 0 ? "tables" : "documents";
  ad_fake_dust_counters_t dc;
  json_object *dump, *tables;
  uint64_t rng = 0x5EEDu + (uint64_t)_i;
  long posts, total = _i == 0 ? 9 * 600 : 9 * 40;
  int run, rc = -1, killed = 0;

  snprintf(state, sizeof(state), "%s/state.db", h.dir);
  unlink(state);
  h.ao.bases = 3;
  h.ao.tables_per_base = 3;
  /* Long enough (about 4 s) that a kill in the first 2 s lands mid-run. */
  h.ao.records_per_table = _i == 0 ? 600 : 40;
  h.dop.latency_ms = _i == 0 ? 20 : 80;
  h.dop.documents_per_minute = 0;
  start_fakes();
  snprintf(text, sizeof(text),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\"},"
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"%s\",\"base_url\":\"%s\","
           "\"workspace_id\":\"wFake\",\"space_id\":\"vltFake\","
           "\"data_source_id\":\"dsFake\",\"data_format\":\"%s\","
           "\"batch_size\":50},"
           "\"rate_limits\":{\"dust_documents_per_minute\":100000}}",
           h.ao.token, ad_fake_airtable_url(h.at), DUST_KEY,
           ad_fake_dust_url(h.dust), format);
  write_file(h.config, text);
  h.kill_signal = SIGKILL;
  for (run = 0; run < 12 && rc != 0; run++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    /* Three runs die somewhere in their first 2 s; then one may finish. */
    rc = run_cli(args, run < 3 ? 150 + (int)((rng >> 33) % 1850) : 0);
    killed += rc == -SIGKILL;
    ck_assert_msg(rc == 0 || rc == -SIGKILL, "run %d: exit %d: %s", run, rc,
                  h.err);
  }
  ck_assert_int_eq(rc, 0);
  ck_assert_int_ge(killed, 1);
  assert_accounted();
  ck_assert_uint_eq(stat_u64("records_failed"), 0);
  /* Every record once, whatever was rewritten on the way. */
  ad_fake_dust_counters(h.dust, &dc);
  dump = ad_fake_dust_dump(h.dust);
  if (_i == 0) {
    ck_assert_int_eq(dc.rows_stored, total);
    tables = json_object_object_get(dump, "tables");
    ck_assert_int_eq((int)json_object_array_length(tables), 9);
  } else {
    ck_assert_int_eq(
        json_object_object_length(json_object_object_get(dump, "documents")),
        total);
  }
  json_object_put(dump);
  ck_assert_int_eq(dc.rows_deleted + dc.documents_deleted +
                       dc.tables_deleted,
                   0);
  ck_assert_int_eq(store_records(state), total);
  /* Once more: everything is read, nothing is sent. */
  posts = dc.requests_tables_post + dc.requests_rows_post +
          dc.requests_documents_post;
  ck_assert_int_eq(run_cli(args, 0), 0);
  ck_assert_uint_eq(stat_u64("tables_skipped"), 0);
  ck_assert_uint_eq(stat_u64("records_read"), (uint64_t)total);
  ck_assert_uint_eq(stat_u64("records_unchanged"), (uint64_t)total);
  ad_fake_dust_counters(h.dust, &dc);
  ck_assert_int_eq(dc.requests_tables_post + dc.requests_rows_post +
                       dc.requests_documents_post,
                   posts);
  ck_assert_ptr_nonnull(strstr(h.out, "records unchanged (not sent)"));
  unlink(state);
}
END_TEST

/* A --state file that cannot be made stops the run before anything is
 * read, naming it: the user asked for that memory. */
START_TEST(test_state_unwritable_refused) {
  char state[160];
  ad_fake_airtable_counters_t ac;
  const char *args[] = {"sync", "--config", h.config, "--state", state,
                        "--stats-json", h.stats, NULL};
  snprintf(state, sizeof(state), "%s/no/such/dir/state.db", h.dir);
  start_fakes();
  write_config(h.ao.token, DUST_KEY, "");
  ck_assert_int_eq(run_cli(args, 0), 1);
  ck_assert_ptr_nonnull(strstr(h.err, state));
  ad_fake_airtable_counters(h.at, &ac);
  ck_assert_int_eq(ac.requests_bases + ac.requests_records, 0);
}
END_TEST

/* A state file for another destination, a resume file of an older
 * version, or one that is not a sync's memory stops the run before
 * anything is read, naming the file. */
START_TEST(test_state_file_refused) {
  static const char *const why[] = {"made for another destination",
                                    "resume file of an older version",
                                    "not an airdust store"};
  char state[160], text[1024];
  const char *args[] = {"sync", "--config", h.config, "--state", state, NULL};
  snprintf(state, sizeof(state), "%s/state.db", h.dir);
  unlink(state);
  start_fakes();
  if (_i == 0) { /* made by a run into another data source */
    write_config(h.ao.token, DUST_KEY, "");
    ck_assert_int_eq(run_cli(args, 0), 0);
    snprintf(text, sizeof(text),
             "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
             "\"base_url\":\"%s\"},\"sink\":{\"type\":\"dust\","
             "\"api_key\":\"%s\",\"base_url\":\"%s\",\"workspace_id\":"
             "\"wFake\",\"space_id\":\"vltFake\",\"data_source_id\":"
             "\"dsOther\"}}",
             h.ao.token, ad_fake_airtable_url(h.at), DUST_KEY,
             ad_fake_dust_url(h.dust));
    write_file(h.config, text);
  } else {
    write_config(h.ao.token, DUST_KEY, "");
    write_file(state, _i == 1 ? "{\"version\":1,\"destination\":{\"dust_url\":"
                                "\"https://dust.tt\"},\"tables\":{}}"
                              : "not json, not sqlite");
  }
  ck_assert_int_eq(run_cli(args, 0), 1);
  ck_assert_ptr_nonnull(strstr(h.err, state));
  ck_assert_msg(strstr(h.err, why[_i]) != NULL, "%s", h.err);
  unlink(state);
}
END_TEST

START_TEST(test_json_logs_parse) {
  const char *args[] = {"sync", "--config", h.config, "--log-format", "json",
                        "--log-level", "debug", NULL};
  char *line, *save = NULL;
  json_object *o;
  int lines = 0;

  start_fakes();
  write_config(h.ao.token, DUST_KEY, "");
  ck_assert_int_eq(run_cli(args, 0), 0);
  for (line = strtok_r(h.err, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    o = json_tokener_parse(line);
    ck_assert_msg(o != NULL, "not JSON: %s", line);
    ck_assert_ptr_nonnull(json_object_object_get(o, "level"));
    json_object_put(o);
    lines++;
  }
  ck_assert_int_gt(lines, 0);
}
END_TEST

START_TEST(test_check) {
  const char *args[] = {"check", "--config", h.config, NULL};
  if (_i == 1)
    h.dop.data_source_id = "dsOther";
  start_fakes();
  write_config(h.ao.token, DUST_KEY, "");
  ck_assert_int_eq(run_cli(args, 0), _i == 0 ? 0 : 1);
  ck_assert_ptr_nonnull(strstr(h.out, "airtable: 2 bases visible"));
  ck_assert_ptr_nonnull(
      strstr(h.out, _i == 0 ? "is reachable" : "data_source_not_found"));
}
END_TEST

/* check names what it could not reach, on each side. */
START_TEST(test_check_unreachable) {
  const char *args[] = {"check", "--config", h.config, NULL};
  const char *line;
  int port = ad_test_free_port();
  char text[1024];
  snprintf(text, sizeof(text),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"patA.b\","
           "\"base_url\":\"http://127.0.0.1:%d\",\"index_all\":true},"
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-abc\","
           "\"base_url\":\"http://127.0.0.1:%d\",\"workspace_id\":\"w\","
           "\"space_id\":\"s\",\"data_source_id\":\"d\"},"
           "\"engine\":{\"max_retries\":1}}", port, port);
  write_file(h.config, text);
  ck_assert_int_eq(run_cli(args, 0), 1);
  ck_assert_ptr_nonnull(strstr(h.out, "airtable: list of bases: connection "
                                      "refused"));
  ck_assert_ptr_nonnull(strstr(h.out, "dust: reading the Dust data source's "
                                      "tables: connection refused"));
  /* Logged once, by the side that decided it stops the run. */
  line = strstr(h.err, "[source:airtable] list of bases");
  ck_assert_ptr_nonnull(line);
  ck_assert_ptr_null(strstr(line + 1, "[source:airtable] list of bases"));
}
END_TEST

/* Plain http to a host that is not loopback: refused by default, and with
 * engine.allow_insecure_http a warning says the key travels in clear.
 * (192.0.2.1 is TEST-NET-1, never routed.) */
START_TEST(test_insecure_http) {
  const char *args[] = {"check", "--config", h.config, NULL};
#define INSECURE_CFG(extra)                                                   \
  "{\"source\":{\"type\":\"airtable\",\"api_key\":\"patA.b\","                \
  "\"base_url\":\"http://192.0.2.1:9\",\"index_all\":true},"                  \
  "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-abc\","                       \
  "\"base_url\":\"http://127.0.0.1:9\",\"workspace_id\":\"w\","               \
  "\"space_id\":\"s\",\"data_source_id\":\"d\"},"                              \
  "\"engine\":{\"max_retries\":0,\"connect_timeout_s\":1" extra "}}"
  char text[1024];

  snprintf(text, sizeof(text), "%s", INSECURE_CFG(""));
  write_file(h.config, text);
  ck_assert_int_eq(run_cli(args, 0), 1);
  ck_assert_ptr_nonnull(strstr(h.err, "source.base_url: plain http:// is "
                                      "allowed only to loopback"));
  snprintf(text, sizeof(text), "%s",
           INSECURE_CFG(",\"allow_insecure_http\":true"));
  write_file(h.config, text);
  ck_assert_int_eq(run_cli(args, 0), 1); /* nothing answers there */
  ck_assert_ptr_nonnull(strstr(h.err, "source.base_url is plain http:// to a "
                                      "host that is not loopback"));
  ck_assert_ptr_null(strstr(h.err, "sink.base_url is plain"));
}
END_TEST

START_TEST(test_usage_errors) {
  const char *none[] = {NULL};
  const char *unknown[] = {"frobnicate", NULL};
  const char *no_config[] = {"sync", NULL};
  const char *bad_progress[] = {"sync", "--config", "x", "--progress", "maybe",
                                NULL};
  const char *help[] = {"sync", "--help", NULL};
  const char *check_state[] = {"check", "--config", "x", "--state", "s", NULL};
  ck_assert_int_eq(run_cli(check_state, 0), 2);
  ck_assert_ptr_nonnull(strstr(h.err, "are sync options"));
  ck_assert_int_eq(run_cli(none, 0), 2);
  ck_assert_int_eq(run_cli(unknown, 0), 2);
  ck_assert_ptr_nonnull(strstr(h.err, "--help"));
  ck_assert_int_eq(run_cli(no_config, 0), 2);
  ck_assert_int_eq(run_cli(bad_progress, 0), 2);
  ck_assert_int_eq(run_cli(help, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "--stats-json"));
  ck_assert_ptr_nonnull(strstr(h.out, "--state FILE"));
}
END_TEST

/* demo, fake-airtable and fake-dust exec airdust-fakes from airdust's own
 * folder: the demo prints what landed, and options, usage errors and help
 * are those the commands had inside airdust. */
START_TEST(test_demo_through_airdust_fakes) {
  const char *demo[] = {"demo",      "--bases",      "1",       "--tables",
                        "2",         "--records",    "30",      "--progress",
                        "off",       "--stats-json", h.stats,   NULL};
  const char *bad[] = {"demo", "--config", "x", NULL};
  const char *help[] = {"demo", "--help", NULL};
  /* (fake-dust's help shows its default key, which no output may hold) */
  const char *fake_help[] = {"fake-airtable", "--help", NULL};
  const char *fake_bad[] = {"fake-airtable", "--stamp", "gateway", NULL};

  ck_assert_int_eq(run_cli(demo, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "airdust demo: fake Airtable at "));
  ck_assert_ptr_nonnull(strstr(h.out, "In the fake Dust data source: 2 "
                                      "tables"));
  ck_assert_ptr_nonnull(h.stats_json);
  ck_assert_uint_eq(stat_u64("rows_written"), 60);
  ck_assert_int_eq(run_cli(bad, 0), 2);
  ck_assert_ptr_nonnull(strstr(h.err, "airdust: demo takes no --config"));
  ck_assert_int_eq(run_cli(help, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "usage: airdust demo"));
  ck_assert_int_eq(run_cli(fake_help, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "usage: airdust fake-airtable "
                                      "[options]"));
  ck_assert_int_eq(run_cli(fake_bad, 0), 2);
  ck_assert_ptr_nonnull(strstr(h.err, "airdust fake-airtable: --stamp"));
}
END_TEST

/* An airdust without airdust-fakes beside it (what `cmake --install`
 * ships) still lists the commands, and says why it cannot run them. */
START_TEST(test_no_fakes_beside_airdust) {
  const char *demo[] = {"demo", NULL};
  const char *fake[] = {"fake-dust", "--port", "0", NULL};
  const char *help[] = {"--help", NULL};
  char copy[160], *bytes;
  FILE *in, *out;
  long n;

  /* A copy of the binary alone in a folder of its own. */
  snprintf(copy, sizeof(copy), "%s/airdust", h.dir);
  in = fopen(AD_CLI_PATH, "rb");
  out = fopen(copy, "wb");
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  ck_assert_int_eq(fseek(in, 0, SEEK_END), 0);
  n = ftell(in);
  rewind(in);
  bytes = malloc((size_t)n);
  ck_assert_ptr_nonnull(bytes);
  ck_assert_uint_eq(fread(bytes, 1, (size_t)n, in), (size_t)n);
  ck_assert_uint_eq(fwrite(bytes, 1, (size_t)n, out), (size_t)n);
  free(bytes);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
  ck_assert_int_eq(chmod(copy, 0700), 0);

  ck_assert_int_eq(run_bin(copy, demo, 0), 2);
  ck_assert_ptr_nonnull(strstr(h.err, "airdust demo: this build has no fakes "
                                      "(configure with -DAD_WITH_FAKES=ON, "
                                      "or run `make demo`)"));
  ck_assert_int_eq(run_bin(copy, fake, 0), 2);
  ck_assert_ptr_nonnull(strstr(h.err, "airdust fake-dust: this build has no "
                                      "fakes"));
  ck_assert_int_eq(run_bin(copy, help, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "  demo  "));
  ck_assert_ptr_nonnull(strstr(h.out, "  fake-airtable  "));
  unlink(copy);
}
END_TEST

/* The embedding example: a sync on the program's own loop, beside its own
 * timer, which keeps ticking. */
START_TEST(test_embedding_example) {
  const char *args[] = {h.config, NULL};
  int beats = 0, calls = 0;
  const char *line;

  start_fakes();
  write_config(h.ao.token, DUST_KEY, "");
  ck_assert_int_eq(run_bin(AD_EMBED_PATH, args, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "sync done: 480 records read, 480 "
                                      "written, 0 failed"));
  line = strstr(h.out, "heartbeat: ");
  ck_assert_ptr_nonnull(line);
  ck_assert_int_eq(sscanf(line, "heartbeat: %d beats, %d progress", &beats,
                          &calls), 2);
  ck_assert_int_gt(beats, 0);
  ck_assert_int_gt(calls, 0);
}
END_TEST

/* The plugins example: its own source and sink, registered by name, run
 * by the engine with its accounting; and its sink behind the Airtable
 * source. */
START_TEST(test_plugins_example) {
  const char *none[] = {NULL};
  const char *args[] = {h.config, NULL};
  char text[1024];

  ck_assert_int_eq(run_bin(AD_PLUGINS_PATH, none, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "count: gen/t1 \"Table 1\": 1000 "
                                      "records\n"));
  ck_assert_ptr_nonnull(strstr(h.out, "count: gen/t3 \"Table 3\": 1000 "
                                      "records\n"));
  ck_assert_ptr_nonnull(strstr(h.out, "done: 3000 records read, 3000 "
                                      "written, 0 failed"));
  start_fakes();
  snprintf(text, sizeof(text),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\"},\"sink\":{\"type\":\"count\"}}",
           h.ao.token, ad_fake_airtable_url(h.at));
  write_file(h.config, text);
  ck_assert_int_eq(run_bin(AD_PLUGINS_PATH, args, 0), 0);
  ck_assert_ptr_nonnull(strstr(h.out, "done: 480 records read, 480 "
                                      "written, 0 failed"));
}
END_TEST

static Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("binary");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 150);
  tcase_add_test(tc, test_sync_ok_matches_the_fakes);
  tcase_add_test(tc, test_partial_names_the_table);
  tcase_add_loop_test(tc, test_bad_config_names_the_key, 0,
                      (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
  tcase_add_loop_test(tc, test_bad_keys_are_fatal, 0, 2);
  tcase_add_test(tc, test_sigint_is_graceful);
  tcase_add_test(tc, test_json_logs_parse);
  tcase_add_loop_test(tc, test_resume_after_sigkill, 0, 2);
  tcase_add_loop_test(tc, test_state_file_refused, 0, 3);
  tcase_add_test(tc, test_state_unwritable_refused);
  tcase_add_loop_test(tc, test_check, 0, 2);
  tcase_add_test(tc, test_check_unreachable);
  tcase_add_test(tc, test_usage_errors);
  tcase_add_test(tc, test_insecure_http);
  tcase_add_test(tc, test_embedding_example);
  tcase_add_test(tc, test_plugins_example);
  tcase_add_test(tc, test_demo_through_airdust_fakes);
  tcase_add_test(tc, test_no_fakes_beside_airdust);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(cli_suite()); }
