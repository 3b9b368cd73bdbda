#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airdust.h"
#include "progress.h"

/* In-flight requests get this long to finish after the first signal. */
#define AD_CLI_STOP_DEADLINE_MS 10000

typedef struct ad_cli_run {
  uv_loop_t loop;
  ad_sync_t *sync;
  ad_cli_progress_t progress;
  uv_signal_t sigint, sigterm;
  int signals, done;
} ad_cli_run_t;

void ad_cli_opts_default(ad_cli_opts_t *o) {
  memset(o, 0, sizeof(*o));
  o->progress = -1;
  o->log_level = 2;
  o->summary = 1;
}

static void ad_cli_on_log(int level, const char *line, void *data) {
  ad_cli_run_t *r = data;
  (void)level;
  ad_cli_progress_clear(&r->progress);
  fprintf(stderr, "%s\n", line);
}

static void ad_cli_on_progress(ad_sync_t *s, const ad_sync_progress_t *p,
                               void *data) {
  ad_cli_run_t *r = data;
  (void)s;
  ad_cli_progress_draw(&r->progress, p);
}

static void ad_cli_on_done(ad_sync_t *s, void *data) {
  ad_cli_run_t *r = data;
  (void)s;
  r->done = 1;
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  uv_stop(&r->loop); /* kept-alive connections would hold the loop */
}

/* First signal: stop reading, write what was read. Second: at once. */
static void ad_cli_on_signal(uv_signal_t *h, int signum) {
  ad_cli_run_t *r = h->data;
  ad_cli_progress_clear(&r->progress);
  if (r->signals++ == 0) {
    fprintf(stderr,
            "airdust: %s: stopping (writing what was read; a second signal "
            "stops at once)\n",
            signum == SIGINT ? "interrupted" : "terminated");
    ad_sync_stop(r->sync, AD_CLI_STOP_DEADLINE_MS);
  } else {
    fprintf(stderr, "airdust: stopping now\n");
    ad_sync_abort(r->sync);
  }
}

static int ad_cli_write_stats(const ad_cli_opts_t *o, const char *json) {
  FILE *f;
  if (o->stats_path == NULL)
    return 0;
  f = fopen(o->stats_path, "w");
  if (f == NULL || fputs(json, f) == EOF || fputc('\n', f) == EOF) {
    if (f != NULL)
      fclose(f);
    fprintf(stderr, "airdust: cannot write --stats-json %s\n", o->stats_path);
    return -1;
  }
  return fclose(f) == 0 ? 0 : -1;
}

static int ad_cli_new(ad_cli_run_t *r, const ad_cli_opts_t *o) {
  ad_sync_options_t so;
  char err[512];
  int rc;

  memset(&so, 0, sizeof(so));
  so.check = o->check;
  so.state_path = o->state_path;
  so.state_default = o->state_path == NULL && !o->no_state;
  so.allow_mass_delete = o->allow_mass_delete;
  so.log_level = o->log_level;
  so.log_json = o->log_json;
  so.log_cb = ad_cli_on_log;
  so.log_data = r;
  so.on_progress = ad_cli_on_progress;
  so.progress_data = r;
  so.progress_interval_ms = 100; /* at most 10 redraws a second */
  err[0] = '\0';
  rc = o->config_text != NULL
           ? ad_sync_new(&r->sync, &r->loop, o->config_text,
                         strlen(o->config_text), &so, err, sizeof(err))
           : ad_sync_new_file(&r->sync, &r->loop, o->config_path, &so, err,
                              sizeof(err));
  if (rc != 0)
    fprintf(stderr, "airdust: %s\n", err[0] ? err : ad_strerror(rc));
  return rc;
}

/* What the run ended with, as an exit code, after the report. */
static int ad_cli_finish(ad_cli_run_t *r, const ad_cli_opts_t *o) {
  ad_sync_progress_t p;
  char *json = ad_sync_stats_json(r->sync);
  int code = ad_sync_result(r->sync);

  ad_cli_progress_clear(&r->progress);
  ad_sync_progress(r->sync, &p);
  if (o->check) {
    printf("%s\n", ad_sync_check_report(r->sync));
  } else if (o->summary) {
    ad_cli_summary(stdout, &p, json);
  }
  if (ad_sync_error(r->sync) != NULL)
    fprintf(stderr, "airdust: %s\n", ad_sync_error(r->sync));
  if (json == NULL || ad_cli_write_stats(o, json) != 0)
    code = code == AD_SYNC_OK ? AD_SYNC_FATAL : code;
  free(json);
  return r->signals > 0 ? AD_CLI_EXIT_INTERRUPTED : code;
}

int ad_cli_run(const ad_cli_opts_t *o) {
  ad_cli_run_t r;
  int code;

  memset(&r, 0, sizeof(r));
  ad_cli_progress_init(&r.progress, stderr,
                       o->progress < 0 ? isatty(STDERR_FILENO) : o->progress);
  if (uv_loop_init(&r.loop) != 0)
    return AD_SYNC_FATAL;
  if (ad_cli_new(&r, o) != 0) {
    uv_run(&r.loop, UV_RUN_DEFAULT); /* lets a half-made sync close */
    uv_loop_close(&r.loop);
    return AD_SYNC_FATAL;
  }
  uv_signal_init(&r.loop, &r.sigint);
  uv_signal_init(&r.loop, &r.sigterm);
  r.sigint.data = r.sigterm.data = &r;
  uv_signal_start(&r.sigint, ad_cli_on_signal, SIGINT);
  uv_signal_start(&r.sigterm, ad_cli_on_signal, SIGTERM);
  if (ad_sync_start(r.sync, ad_cli_on_done, &r) != 0) {
    fprintf(stderr, "airdust: cannot start the sync\n");
    ad_cli_on_done(r.sync, &r);
    ad_sync_close(r.sync, NULL, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    return AD_SYNC_FATAL;
  }
  uv_run(&r.loop, UV_RUN_DEFAULT);
  code = ad_cli_finish(&r, o);
  ad_sync_close(r.sync, NULL, NULL);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_loop_close(&r.loop);
  return code;
}
