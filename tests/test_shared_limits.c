/* Several airdust processes on one token (or one Dust workspace), as
 * separate programs: back to back, side by side, one killed mid-run. They
 * share their rate limits through the budget file in one state folder
 * (and through Redis in test_shared_redis), so the fakes must see no 429,
 * no second with more than the limits allow, and every record delivered.
 *
 * The processes are the real `airdust sync`; the fakes run in this
 * process, so their counters see every process's requests. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fake_airtable.h"
#include "fake_dust.h"
#include "redis_server.h"
#include "shared_runs.h"
#include "testutil.h"

static ad_runs_t R;
static ad_test_redis_t redis;
static char redis_shared[256];

/* AD_TEST_SHARED='{"type":"none"}' runs the file case unshared: the
 * side-by-side tests then fail, as they must. */
static void setup(void) {
  ad_runs_setup(&R, "shared");
  R.shared = getenv("AD_TEST_SHARED");
}

static void teardown(void) { ad_runs_teardown(&R); }

static void setup_redis(void) {
  ad_runs_setup(&R, "redis");
  memset(&redis, 0, sizeof(redis));
  ad_test_redis_start(&redis, NULL);
  snprintf(redis_shared, sizeof(redis_shared),
           "{\"type\":\"redis\",\"url\":\"%s\",\"outage_timeout_s\":20}",
           redis.url);
  R.shared = redis_shared;
}

static void teardown_redis(void) {
  ad_runs_teardown(&R);
  ad_test_redis_free(&redis);
}

/* airdust check, then two syncs, each started the moment the last one
 * ended: a new process starts where the last one's budget left off. */
START_TEST(test_back_to_back) {
  int i;
  R.ao.bases = 20;
  R.ao.tables_per_base = 2;
  R.ao.records_per_table = 100;
  ad_runs_start_fakes(&R);
  ad_runs_config(&R, 0, "");
  ck_assert_int_eq(ad_runs_check(&R, 0), 0);
  for (i = 0; i < 2; i++) {
    ad_runs_spawn(&R, 0);
    ck_assert_int_eq(ad_runs_wait(&R, 0), 0);
    ad_runs_assert_delivered(&R, 0, 20 * 2 * 100);
  }
  ad_runs_assert_limits_held(&R);
}
END_TEST

static void side_by_side(int n) {
  int i;
  R.ao.bases = 40;
  R.ao.tables_per_base = 1;
  R.ao.records_per_table = 100;
  ad_runs_start_fakes(&R);
  for (i = 0; i < n; i++) {
    ad_runs_config(&R, i, "");
    ad_runs_spawn(&R, i);
  }
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(ad_runs_wait(&R, i), 0);
    ad_runs_assert_delivered(&R, i, 40 * 100);
  }
  ad_runs_assert_limits_held(&R);
  /* Sharing, not luck: the token was at its limit, so n processes took
   * about n times as long as one (81 requests each, 50 a second). */
  ck_assert_int_ge(ad_runs_token_busy_ms(&R), (long)(n * 81 - 50) * 20 - 500);
}

START_TEST(test_two_processes_one_token) { side_by_side(2); }
END_TEST

START_TEST(test_four_processes_one_token) { side_by_side(4); }
END_TEST

/* One of two processes is killed mid-run: the other ends cleanly within
 * the limits, and a rerun of the killed one delivers everything. */
START_TEST(test_process_killed_mid_run) {
  R.ao.bases = 40;
  R.ao.tables_per_base = 2;
  R.ao.records_per_table = 200;
  ad_runs_start_fakes(&R);
  ad_runs_config(&R, 0, "");
  ad_runs_config(&R, 1, "");
  ad_runs_spawn(&R, 0);
  ad_runs_spawn(&R, 1);
  usleep(2500 * 1000);
  ck_assert_int_eq(ad_runs_kill(&R, 1), 0); /* still running when killed */
  ck_assert_int_eq(ad_runs_wait(&R, 0), 0);
  ad_runs_assert_delivered(&R, 0, 40 * 2 * 200);
  ad_runs_spawn(&R, 1);
  ck_assert_int_eq(ad_runs_wait(&R, 1), 0);
  ad_runs_assert_delivered(&R, 1, 40 * 2 * 200);
  ad_runs_assert_limits_held(&R);
}
END_TEST

/* Two document syncs into one Dust workspace (different tables) share
 * its documents budget: the fake Dust, scaled to 2 documents in any
 * second, refuses none while each sync alone paces at 110 a minute. */
START_TEST(test_two_document_syncs_one_workspace) {
  char extra[512];
  int i;
  R.ao.bases = 2;
  R.ao.tables_per_base = 1;
  R.ao.records_per_table = 8;
  R.dop.documents_per_minute = 2;
  R.dop.documents_window_ms = 1000;
  ad_runs_start_fakes(&R);
  for (i = 0; i < 2; i++) {
    snprintf(extra, sizeof(extra),
             ",\"index_all\":false,\"base_id\":\"%s\","
             "\"table_name_or_id\":\"%s\"",
             ad_fake_airtable_base_id(R.at, i),
             ad_fake_airtable_table_id(R.at, i, 0));
    R.source_extra = extra;
    R.format = "documents";
    R.rate_extra = ",\"dust_documents_per_minute\":110";
    ad_runs_config(&R, i, "");
    ad_runs_spawn(&R, i);
  }
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(ad_runs_wait(&R, i), 0);
    ck_assert_int_eq(ad_runs_stat(&R, i, "documents_written"), 8);
  }
  ad_runs_assert_limits_held(&R);
}
END_TEST

/* ---- the same through Redis ---------------------------------------------- */

START_TEST(test_four_processes_through_redis) { side_by_side(4); }
END_TEST

/* Redis restarts (and forgets everything) while two syncs run: both
 * pause, say so, resume when it is back, and the limits still hold. */
START_TEST(test_redis_restarted_mid_run) {
  char path[160];
  char *log;
  int i;

  R.ao.bases = 40;
  R.ao.tables_per_base = 2;
  R.ao.records_per_table = 200;
  ad_runs_start_fakes(&R);
  for (i = 0; i < 2; i++) {
    ad_runs_config(&R, i, "");
    ad_runs_spawn(&R, i);
  }
  usleep(2000 * 1000);
  ad_test_redis_stop(&redis);
  usleep(1500 * 1000);
  ad_test_redis_restart(&redis);
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(ad_runs_wait(&R, i), 0);
    ad_runs_assert_delivered(&R, i, 40 * 2 * 200);
  }
  ad_runs_assert_limits_held(&R);
  snprintf(path, sizeof(path), "%s/log-0", R.dir);
  log = ad_test_read_file(path);
  ck_assert_msg(strstr(log, "lost Redis at redis://127.0.0.1:") != NULL, "%s",
                log);
  ck_assert_msg(strstr(log, "is back after") != NULL, "%s", log);
  free(log);
}
END_TEST

/* Redis not there at the start: the run does not begin, and says where
 * it looked. */
START_TEST(test_redis_unreachable_at_start) {
  char path[160], *text;

  R.ao.bases = 2;
  ad_runs_start_fakes(&R);
  ad_test_redis_stop(&redis);
  ad_runs_config(&R, 0, "");
  ad_runs_spawn(&R, 0);
  ck_assert_int_eq(ad_runs_wait(&R, 0), 1);
  snprintf(path, sizeof(path), "%s/log-0", R.dir);
  text = ad_test_read_file(path);
  ck_assert_msg(strstr(text, redis.url + strlen("redis://")) != NULL, "%s",
                text);
  free(text);
  ad_runs_assert_limits_held(&R);
}
END_TEST

static Suite *shared_limits_suite(void) {
  Suite *s = suite_create("shared_limits");
  TCase *tc = tcase_create("file");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 180);
  tcase_add_test(tc, test_back_to_back);
  tcase_add_test(tc, test_two_processes_one_token);
  tcase_add_test(tc, test_four_processes_one_token);
  tcase_add_test(tc, test_process_killed_mid_run);
  tcase_add_test(tc, test_two_document_syncs_one_workspace);
  suite_add_tcase(s, tc);
  tc = tcase_create("redis");
  tcase_add_checked_fixture(tc, setup_redis, teardown_redis);
  tcase_set_timeout(tc, 180);
  tcase_add_test(tc, test_four_processes_through_redis);
  tcase_add_test(tc, test_redis_restarted_mid_run);
  tcase_add_test(tc, test_redis_unreachable_at_start);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(shared_limits_suite()); }
