/* Helpers shared by the Check suites. */
#ifndef AD_TESTUTIL_H
#define AD_TESTUTIL_H

#include <check.h>
#include <uv.h>

#include "http.h"

/* Closes every handle still open on loop, runs it until the close callbacks
 * are done and closes it. Returns uv_loop_close's result: 0 means nothing
 * was leaked on the loop (libuv's test/task.h pattern). */
int ad_test_loop_close(uv_loop_t *loop);

/* A loopback port with nothing listening (bound, then closed). */
int ad_test_free_port(void);

/* Runs loop until *flag becomes non-zero or timeout_ms passes (the loop
 * stops either way). Returns *flag. */
int ad_test_run_until(uv_loop_t *loop, const int *flag, uint64_t timeout_ms);

/* One HTTP answer, as ad_test_http got it; body is malloc'd (the caller
 * frees it), "" when there was none. */
typedef struct ad_test_reply {
  int done;
  int error;
  long status;
  long retry_after_s; /* -1 when absent */
  char *body;
  size_t len;
} ad_test_reply_t;

/* Sends one request through http (headers NULL-terminated, body may be
 * NULL) and runs loop until it is answered; fails the test after 20 s. */
ad_test_reply_t ad_test_http(uv_loop_t *loop, ad_http_t *http,
                             const char *method, const char *url,
                             const char *const *headers, const char *body);

/* The whole file as a NUL-terminated string (the caller frees it); ""
 * when it cannot be read. */
char *ad_test_read_file(const char *path);

/* Runs every test of s (forked, as Check does by default) and returns the
 * process exit status: 0 only when all passed. */
int ad_test_run_suite(Suite *s);

#endif
