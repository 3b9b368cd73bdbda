#include "shared_runs.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

static void ad_runs_path(const ad_runs_t *r, char *out, size_t len,
                         const char *what, int i) {
  snprintf(out, len, "%s/%s-%d", r->dir, what, i);
}

void ad_runs_setup(ad_runs_t *r, const char *name) {
  char state[128];
  memset(r, 0, sizeof(*r));
  ad_fake_airtable_opts_default(&r->ao);
  ad_fake_dust_opts_default(&r->dop);
  r->format = "tables";
  r->source_extra = ",\"index_all\":true";
  r->rate_extra = "";
  snprintf(r->dir, sizeof(r->dir), "/tmp/ad_runs_%s.XXXXXX", name);
  ck_assert_ptr_nonnull(mkdtemp(r->dir));
  snprintf(state, sizeof(state), "%s/state", r->dir);
  ck_assert_int_eq(mkdir(state, 0700), 0);
}

static void ad_runs_rm(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

void ad_runs_teardown(ad_runs_t *r) {
  int i;
  for (i = 0; i < AD_RUNS_MAX; i++) {
    if (r->pid[i] > 0) {
      kill(r->pid[i], SIGKILL);
      waitpid(r->pid[i], NULL, 0);
    }
    json_object_put(r->stats[i]);
  }
  ad_fake_airtable_stop(r->at);
  ad_fake_dust_stop(r->dust);
  ad_runs_rm(r->dir);
}

void ad_runs_start_fakes(ad_runs_t *r) {
  r->at = ad_fake_airtable_start(&r->ao);
  r->dust = ad_fake_dust_start(&r->dop);
  ck_assert_ptr_nonnull(r->at);
  ck_assert_ptr_nonnull(r->dust);
}

void ad_runs_config(ad_runs_t *r, int i, const char *engine_extra) {
  char path[128], shared[512];
  FILE *f;

  ad_runs_path(r, path, sizeof(path), "config", i);
  shared[0] = '\0';
  if (r->shared != NULL)
    snprintf(shared, sizeof(shared), ",\"shared\":%s", r->shared);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  /* A 429 fails the test anyway; a short pause lets it end sooner. */
  fprintf(f,
          "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
          "\"base_url\":\"%s\"%s},"
          "\"sink\":{\"type\":\"dust\",\"api_key\":\"%s\",\"base_url\":\"%s\","
          "\"workspace_id\":\"wFake\",\"space_id\":\"vltFake\","
          "\"data_source_id\":\"dsFake\",\"data_format\":\"%s\"},"
          "\"rate_limits\":{\"backoff_on_429_s\":2%s%s},"
          "\"engine\":{\"state_dir\":\"%s/state\"%s}}",
          r->ao.token, ad_fake_airtable_url(r->at), r->source_extra,
          AD_RUNS_DUST_KEY, ad_fake_dust_url(r->dust), r->format,
          r->rate_extra, shared, r->dir, engine_extra);
  fclose(f);
}

static pid_t ad_runs_start(ad_runs_t *r, int i, const char *cmd) {
  char config[128], stats[128], log[128];
  /* The processes are one sync run several times at once, to share a
   * token's budget: without a memory, which would let only one of them
   * run (docs/mirror.md) and the next ones write nothing. */
  const char *argv[] = {AD_CLI_PATH, cmd,     "--config",   config,
                        "--stats-json", stats, "--progress", "off",
                        "--no-state",   NULL};
  posix_spawn_file_actions_t fa;
  pid_t pid;

  ad_runs_path(r, config, sizeof(config), "config", i);
  ad_runs_path(r, stats, sizeof(stats), "stats", i);
  ad_runs_path(r, log, sizeof(log), "log", i);
  if (strcmp(cmd, "check") == 0)
    argv[4] = NULL; /* check writes no stats, and keeps no memory */
  unlink(stats);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  ck_assert_int_eq(posix_spawn(&pid, AD_CLI_PATH, &fa, NULL,
                               (char *const *)argv, environ),
                   0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/* Waits for pid; its exit code. The log must hold no key. */
static int ad_runs_reap(ad_runs_t *r, int i, pid_t pid) {
  char path[128], *log;
  int status = 0, waited = 0;

  while (waitpid(pid, &status, WNOHANG) == 0 && waited < 150000) {
    usleep(20000);
    waited += 20;
  }
  ck_assert_msg(waited < 150000, "airdust %d did not exit", i);
  ad_runs_path(r, path, sizeof(path), "log", i);
  log = ad_test_read_file(path);
  ck_assert_ptr_null(strstr(log, r->ao.token));
  ck_assert_ptr_null(strstr(log, AD_RUNS_DUST_KEY));
  ck_assert_msg(WIFEXITED(status), "airdust %d died: %s", i, log);
  free(log);
  return WEXITSTATUS(status);
}

int ad_runs_check(ad_runs_t *r, int i) {
  return ad_runs_reap(r, i, ad_runs_start(r, i, "check"));
}

void ad_runs_spawn(ad_runs_t *r, int i) {
  ck_assert_int_lt(i, AD_RUNS_MAX);
  r->pid[i] = ad_runs_start(r, i, "sync");
}

int ad_runs_wait(ad_runs_t *r, int i) {
  char path[128];
  int rc = ad_runs_reap(r, i, r->pid[i]);
  r->pid[i] = 0;
  ad_runs_path(r, path, sizeof(path), "stats", i);
  json_object_put(r->stats[i]);
  r->stats[i] = json_object_from_file(path);
  return rc;
}

int ad_runs_kill(ad_runs_t *r, int i) {
  int status = 0;
  kill(r->pid[i], SIGKILL);
  ck_assert_int_eq(waitpid(r->pid[i], &status, 0), r->pid[i]);
  r->pid[i] = 0;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

long ad_runs_stat(ad_runs_t *r, int i, const char *key) {
  ck_assert_ptr_nonnull(r->stats[i]);
  return (long)json_object_get_int64(json_object_object_get(r->stats[i], key));
}

void ad_runs_assert_delivered(ad_runs_t *r, int i, long records) {
  json_object *h429;
  ck_assert_int_eq(ad_runs_stat(r, i, "records_read"), records);
  ck_assert_int_eq(ad_runs_stat(r, i, "rows_written") +
                       ad_runs_stat(r, i, "documents_written"),
                   records);
  ck_assert_int_eq(ad_runs_stat(r, i, "records_failed"), 0);
  h429 = json_object_object_get(r->stats[i], "http_429");
  ck_assert_int_eq(
      json_object_get_int64(json_object_object_get(h429, "airtable")), 0);
  ck_assert_int_eq(json_object_get_int64(json_object_object_get(h429, "dust")),
                   0);
}

void ad_runs_assert_limits_held(ad_runs_t *r) {
  ad_fake_airtable_counters_t a;
  ad_fake_dust_counters_t d;

  ad_fake_airtable_counters(r->at, &a);
  ad_fake_dust_counters(r->dust, &d);
  ck_assert_int_eq(a.sent_429, 0);
  ck_assert_int_le(a.max_per_base_window, 5);
  ck_assert_int_le(a.max_per_token_window, 50);
  /* -1: never that many within the fake's memory (a slow run). */
  ck_assert(a.tightest_base_span_ms == -1 || a.tightest_base_span_ms >= 1000);
  ck_assert(a.tightest_token_span_ms == -1 ||
            a.tightest_token_span_ms >= 1000);
  ck_assert_int_eq(d.sent_429, 0);
}

long ad_runs_token_busy_ms(ad_runs_t *r) {
  ad_fake_airtable_counters_t a;
  ad_fake_airtable_counters(r->at, &a);
  return a.last_arrival_ms - a.first_arrival_ms;
}
