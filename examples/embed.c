/* Embedding airdust: a program that already runs a libuv loop (here, a
 * heartbeat timer of its own) runs a sync on it, watches its progress,
 * and carries on. Only the public header is used.
 *
 *   embed CONFIG.json     exit status: the sync's result (0, 1 or 3) */
#include <stdio.h>

#include <airdust.h>

typedef struct app {
  uv_timer_t heartbeat;
  int beats, progress_calls, result;
} app_t;

static void on_beat(uv_timer_t *t) {
  app_t *app = t->data;
  app->beats++;
}

static void on_progress(ad_sync_t *s, const ad_sync_progress_t *p,
                        void *data) {
  app_t *app = data;
  (void)s;
  (void)p;
  app->progress_calls++;
}

static void on_done(ad_sync_t *s, void *data) {
  app_t *app = data;
  ad_sync_progress_t p;
  ad_sync_progress(s, &p);
  app->result = ad_sync_result(s);
  printf("sync done: %llu records read, %llu written, %llu failed\n",
         (unsigned long long)p.records_read,
         (unsigned long long)(p.rows_written + p.documents_written),
         (unsigned long long)p.records_failed);
  ad_sync_close(s, NULL, NULL);
  uv_close((uv_handle_t *)&app->heartbeat, NULL); /* the app is done too */
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  ad_sync_options_t opts = {0};
  ad_sync_t *sync;
  app_t app = {0};
  char err[512];

  if (argc != 2) {
    fprintf(stderr, "usage: embed CONFIG.json\n");
    return 2;
  }
  uv_timer_init(loop, &app.heartbeat);
  app.heartbeat.data = &app;
  uv_timer_start(&app.heartbeat, on_beat, 10, 10);
  opts.log_level = 1; /* warnings and errors */
  opts.on_progress = on_progress;
  opts.progress_data = &app;
  if (ad_sync_new_file(&sync, loop, argv[1], &opts, err, sizeof(err)) != 0) {
    fprintf(stderr, "embed: %s\n", err);
    uv_close((uv_handle_t *)&app.heartbeat, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }
  if (ad_sync_start(sync, on_done, &app) != 0) {
    fprintf(stderr, "embed: cannot start\n");
    return 1;
  }
  uv_run(loop, UV_RUN_DEFAULT); /* returns once the sync and timer close */
  printf("heartbeat: %d beats, %d progress calls, airdust %s\n", app.beats,
         app.progress_calls, ad_version());
  uv_loop_close(loop);
  return app.result;
}
