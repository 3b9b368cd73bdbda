/* Uses the installed header and library: the version, and a config error
 * that names the key. Exit 0 when both are as expected. */
#include <stdio.h>
#include <string.h>

#include <airdust.h>

int main(void) {
  uv_loop_t loop;
  ad_sync_t *sync = NULL;
  char err[256];
  const char *config = "{\"source\":{}}"; /* no sink: named */
  int rc;

  uv_loop_init(&loop);
  rc = ad_sync_new(&sync, &loop, config, strlen(config), NULL, err,
                   sizeof(err));
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  printf("airdust %s: %s\n", ad_version(), err);
  return rc == AD_ECONFIG && sync == NULL && strstr(err, "sink") ? 0 : 1;
}
