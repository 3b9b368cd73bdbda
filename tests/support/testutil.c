#include "testutil.h"

#include <netinet/in.h>
#include <stdlib.h>
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

/* Runs before each poll: once the flag is up, uv_stop makes the poll not
 * block, so a flag raised in a timer callback (which libuv 1.44 runs
 * before the poll) does not leave uv_run asleep until the next timer. */
static void ad_test_watch_flag(uv_prepare_t *p) {
  if (*(const int *)p->data)
    uv_stop(p->loop);
}

int ad_test_run_until(uv_loop_t *loop, const int *flag, uint64_t timeout_ms) {
  uv_timer_t timer;
  uv_prepare_t watch;

  uv_timer_init(loop, &timer);
  uv_timer_start(&timer, ad_test_deadline, timeout_ms, 0);
  uv_prepare_init(loop, &watch);
  watch.data = (void *)flag;
  uv_prepare_start(&watch, ad_test_watch_flag);
  uv_unref((uv_handle_t *)&watch);
  while (!*flag && uv_is_active((uv_handle_t *)&timer))
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&watch, NULL);
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

static void ad_test_on_reply(ad_http_req_t *req, const ad_http_response_t *res,
                             void *data) {
  ad_test_reply_t *r = data;
  (void)req;
  r->done = 1;
  r->error = res->error;
  r->status = res->status;
  r->retry_after_s = res->retry_after_s;
  r->body = strdup(res->body != NULL ? res->body : "");
  r->len = res->body_len;
}

ad_test_reply_t ad_test_http(uv_loop_t *loop, ad_http_t *http,
                             const char *method, const char *url,
                             const char *const *headers, const char *body) {
  ad_http_request_t rq;
  ad_test_reply_t r;

  memset(&rq, 0, sizeof(rq));
  memset(&r, 0, sizeof(r));
  rq.method = method;
  rq.url = url;
  rq.headers = headers;
  rq.body = body;
  rq.body_len = body ? strlen(body) : 0;
  ck_assert_int_eq(ad_http_send(http, &rq, ad_test_on_reply, &r, NULL), 0);
  ck_assert(ad_test_run_until(loop, &r.done, 20000));
  return r;
}

char *ad_test_read_file(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf;
  long n;

  if (f == NULL)
    return strdup("");
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = calloc(1, n > 0 ? (size_t)n + 1 : 1);
  ck_assert_ptr_nonnull(buf);
  if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
    buf[0] = '\0';
  fclose(f);
  return buf;
}
