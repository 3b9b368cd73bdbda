/* Uses the installed headers and library: the version, a config error
 * that names the key, and a sink of its own found by name
 * (airdust_plugin.h). Exit 0 when all are as expected. */
#include <stdio.h>
#include <string.h>

#include <airdust.h>
#include <airdust_plugin.h>

static const ad_config_key_t no_keys[] = {{NULL}};

/* Says it ran, and refuses to go on: enough to show it was found. */
static int mine_init(ad_sink_t *sink, const void *config, void **ctx,
                     char *err, size_t errlen) {
  (void)sink;
  (void)config;
  (void)ctx;
  snprintf(err, errlen, "init ran");
  return AD_ECONFIG;
}

static const ad_sink_plugin_t mine = {
    .name = "mine", .keys = no_keys, .init = mine_init};

int main(void) {
  static const ad_sink_plugin_t *const sinks[] = {&mine, NULL};
  uv_loop_t loop;
  ad_sync_t *sync = NULL;
  ad_sync_options_t opts = {0};
  char err[256], err2[256] = "";
  const char *config = "{\"source\":{}}"; /* no sink: named */
  const char *own = "{\"source\":{\"type\":\"jsonl\",\"path\":\"/x\"},"
                    "\"sink\":{\"type\":\"mine\"}}";
  int rc, rc2;

  uv_loop_init(&loop);
  rc = ad_sync_new(&sync, &loop, config, strlen(config), NULL, err,
                   sizeof(err));
  uv_run(&loop, UV_RUN_DEFAULT);
  printf("airdust %s: %s\n", ad_version(), err);
  opts.sinks = sinks;
  opts.log_level = -1;
  rc2 = ad_sync_new(&sync, &loop, own, strlen(own), &opts, err2,
                    sizeof(err2));
  uv_run(&loop, UV_RUN_DEFAULT);
  printf("own sink: %s\n", err2);
  uv_loop_close(&loop);
  return rc == AD_ECONFIG && strstr(err, "sink") && rc2 == AD_ECONFIG &&
                 strcmp(err2, "sink (mine): init ran") == 0
             ? 0
             : 1;
}
