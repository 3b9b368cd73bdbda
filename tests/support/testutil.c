#include "testutil.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void ad_test_close_walk(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, NULL);
}

int ad_test_loop_close(uv_loop_t *loop) {
  uv_walk(loop, ad_test_close_walk, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop);
}

int ad_test_free_port(void) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;

  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

static void ad_test_deadline(uv_timer_t *timer) { (void)timer; }

int ad_test_run_until(uv_loop_t *loop, const int *flag, uint64_t timeout_ms) {
  uv_timer_t timer;

  uv_timer_init(loop, &timer);
  uv_timer_start(&timer, ad_test_deadline, timeout_ms, 0);
  while (!*flag && uv_is_active((uv_handle_t *)&timer))
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *flag;
}

int ad_test_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
