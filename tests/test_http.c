/* ad_http against a local libmicrohttpd server and raw loopback sockets. */
#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "testserver.h"
#include "testutil.h"

static uv_loop_t loop;
static ad_testserver_t server;

static void setup(void) {
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(ad_testserver_start(&server), 0);
}

static void teardown(void) {
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
  ad_testserver_stop(&server);
}

typedef struct result {
  int done;
  int error;
  long status;
  long retry_after_s;
  char body[128];
  size_t body_len;
} result_t;

static void on_result(ad_http_req_t *req, const ad_http_response_t *res,
                      void *data) {
  result_t *r = data;
  (void)req;
  r->done = 1;
  r->error = res->error;
  r->status = res->status;
  r->retry_after_s = res->retry_after_s;
  r->body_len = res->body_len;
  snprintf(r->body, sizeof(r->body), "%s", res->body);
}

static int closed;
static void on_closed(ad_http_t *http) {
  (void)http;
  closed = 1;
}

/* Sends one request and runs the loop until it completes. */
static void fetch(ad_http_t *http, const char *method, const char *url,
                  const char *body, long timeout_ms, result_t *r) {
  ad_http_request_t rq = {0};
  memset(r, 0, sizeof(*r));
  rq.method = method;
  rq.url = url;
  rq.body = body;
  rq.body_len = body ? strlen(body) : 0;
  rq.timeout_ms = timeout_ms;
  ck_assert_int_eq(ad_http_send(http, &rq, on_result, r, NULL), 0);
  ck_assert(ad_test_run_until(&loop, &r->done, 20000));
}

static void close_http(ad_http_t *http) {
  closed = 0;
  ad_http_close(http, on_closed);
  ck_assert(ad_test_run_until(&loop, &closed, 5000));
}

typedef struct many {
  int done;
  int ok;
  int target;
  int errors;
  char expect[600][32];
} many_t;

typedef struct many_req {
  many_t *m;
  int id;
} many_req_t;

static void on_many(ad_http_req_t *req, const ad_http_response_t *res,
                    void *data) {
  many_req_t *mr = data;
  many_t *m = mr->m;
  (void)req;
  if (res->error == 0 && res->status == 200 &&
      strcmp(res->body, m->expect[mr->id]) == 0)
    m->ok++;
  else
    m->errors++;
  if (m->ok + m->errors == m->target)
    m->done = 1;
}

START_TEST(test_500_requests_at_200_concurrency) {
  static many_t m;
  static many_req_t reqs[500];
  ad_http_opts_t opts;
  ad_http_t http;
  char url[128];
  int i;

  memset(&m, 0, sizeof(m));
  m.target = 500;
  ad_http_opts_default(&opts);
  opts.max_connections = 200;
  ck_assert_int_eq(ad_http_init(&http, &loop, &opts), 0);
  for (i = 0; i < 500; i++) {
    ad_http_request_t rq = {0};
    reqs[i].m = &m;
    reqs[i].id = i;
    snprintf(m.expect[i], sizeof(m.expect[i]), "id=%d", i);
    snprintf(url, sizeof(url), "%s/echo?id=%d", server.url, i);
    rq.method = "GET";
    rq.url = url;
    ck_assert_int_eq(ad_http_send(&http, &rq, on_many, &reqs[i], NULL), 0);
  }
  ck_assert(ad_test_run_until(&loop, &m.done, 60000));
  ck_assert_int_eq(m.ok, 500);
  ck_assert_int_eq(m.errors, 0);
  ck_assert_int_eq(http.peak_inflight, 200);
  ck_assert_uint_eq(http.requests_done, 500);
  ck_assert_uint_gt(http.bytes_received, 500 * 5);
  close_http(&http);
}
END_TEST

START_TEST(test_connection_limit_respected) {
  static many_t m;
  static many_req_t reqs[100];
  ad_http_opts_t opts;
  ad_http_t http;
  char url[128];
  long peak, accepted;
  int i;

  memset(&m, 0, sizeof(m));
  m.target = 100;
  ad_http_opts_default(&opts);
  opts.max_connections = 8;
  ck_assert_int_eq(ad_http_init(&http, &loop, &opts), 0);
  snprintf(url, sizeof(url), "%s/slow?ms=10", server.url);
  for (i = 0; i < 100; i++) {
    ad_http_request_t rq = {0};
    reqs[i].m = &m;
    reqs[i].id = i;
    snprintf(m.expect[i], sizeof(m.expect[i]), "slow");
    rq.method = "GET";
    rq.url = url;
    ck_assert_int_eq(ad_http_send(&http, &rq, on_many, &reqs[i], NULL), 0);
  }
  ck_assert(ad_test_run_until(&loop, &m.done, 60000));
  ck_assert_int_eq(m.ok, 100);
  ad_testserver_counts(&server, &peak, &accepted, NULL);
  ck_assert_int_le(peak, 8);
  /* Keep-alive: 100 requests over the 8 connections, none reopened. */
  ck_assert_int_le(accepted, 8);
  close_http(&http);
}
END_TEST

typedef struct wire {
  int calls;
  int calls_at_result; /* on_wire calls seen when the response came */
  result_t r;
} wire_t;

static void on_wire(void *data) { ((wire_t *)data)->calls++; }

static void on_wire_result(ad_http_req_t *req, const ad_http_response_t *res,
                           void *data) {
  wire_t *w = data;
  w->calls_at_result = w->calls;
  on_result(req, res, &w->r);
}

/* on_wire runs once per request, when it is written: before its answer,
 * on a new connection and on a reused one alike (on a reused one, already
 * inside ad_http_send: admitted requests start at once). */
START_TEST(test_on_wire) {
  ad_http_t http;
  ad_http_request_t rq = {0};
  char url[128];
  wire_t w;
  int i;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/echo?id=w", server.url);
  rq.method = "GET";
  rq.url = url;
  rq.on_wire = on_wire;
  for (i = 0; i < 2; i++) {
    memset(&w, 0, sizeof(w));
    rq.wire_data = &w;
    ck_assert_int_eq(ad_http_send(&http, &rq, on_wire_result, &w, NULL), 0);
    /* Started at once (the request may already be written), but its
     * callback never runs inside ad_http_send. */
    ck_assert_int_le(w.calls, 1);
    ck_assert_int_eq(w.r.done, 0);
    ck_assert(ad_test_run_until(&loop, &w.r.done, 20000));
    ck_assert_int_eq(w.r.status, 200);
    ck_assert_int_eq(w.calls, 1);
    ck_assert_int_eq(w.calls_at_result, 1);
  }
  close_http(&http);
}
END_TEST

/* on_wire comes after the write: the server already holds the request's
 * bytes. (A stamp taken before the write would be early by however long
 * the process was paused in between.) A plain socket stands in for the
 * server, so the test can look at its receive queue from the callback. */
typedef struct peek {
  int listen_fd, conn_fd, calls;
  ssize_t held[2];
} peek_t;

static void on_wire_peek(void *data) {
  static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  peek_t *p = data;
  char buf[4096];

  if (p->conn_fd < 0) /* connected by now: the request was written */
    p->conn_fd = accept(p->listen_fd, NULL, NULL);
  ck_assert_int_ge(p->conn_fd, 0);
  p->held[p->calls++] = recv(p->conn_fd, buf, sizeof(buf), MSG_DONTWAIT);
  ck_assert_int_eq(send(p->conn_fd, answer, sizeof(answer) - 1, 0),
                   (ssize_t)sizeof(answer) - 1);
}

START_TEST(test_on_wire_after_the_write) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  peek_t p = {-1, -1, 0, {0, 0}};
  ad_http_request_t rq = {0};
  ad_http_t http;
  char url[128];
  result_t r;
  int i;

  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  p.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_eq(bind(p.listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  ck_assert_int_eq(listen(p.listen_fd, 4), 0);
  getsockname(p.listen_fd, (struct sockaddr *)&addr, &len);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(addr.sin_port));
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  rq.method = "GET";
  rq.url = url;
  rq.on_wire = on_wire_peek;
  rq.wire_data = &p;
  for (i = 0; i < 2; i++) { /* a new connection, then the same one */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(ad_http_send(&http, &rq, on_result, &r, NULL), 0);
    ck_assert(ad_test_run_until(&loop, &r.done, 20000));
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(p.calls, i + 1);
    ck_assert_int_gt(p.held[i], 0);
  }
  close_http(&http);
  close(p.conn_fd);
  close(p.listen_fd);
}
END_TEST

START_TEST(test_post_body_and_headers) {
  ad_http_t http;
  ad_http_request_t rq = {0};
  const char *headers[] = {"X-Test: hello", "Content-Type: application/json",
                           NULL};
  char url[128];
  result_t r;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/body", server.url);
  fetch(&http, "POST", url, "{\"rows\":[1,2,3]}", 0, &r);
  ck_assert_int_eq(r.error, 0);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "{\"rows\":[1,2,3]}");

  memset(&r, 0, sizeof(r));
  snprintf(url, sizeof(url), "%s/header?name=X-Test", server.url);
  rq.method = "GET";
  rq.url = url;
  rq.headers = headers;
  ck_assert_int_eq(ad_http_send(&http, &rq, on_result, &r, NULL), 0);
  ck_assert(ad_test_run_until(&loop, &r.done, 10000));
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "hello");
  close_http(&http);
}
END_TEST

START_TEST(test_status_and_retry_after) {
  ad_http_t http;
  char url[256];
  result_t r;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/status?code=429&retry_after=7", server.url);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.error, 0);
  ck_assert_int_eq(r.status, 429);
  ck_assert_int_eq(r.retry_after_s, 7);
  ck_assert_str_eq(r.body, "{\"error\":{\"type\":\"TEST\"}}");

  snprintf(url, sizeof(url), "%s/status?code=503", server.url);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.status, 503);
  ck_assert_int_eq(r.retry_after_s, -1);

  snprintf(url, sizeof(url), "%s/status?code=503&retry_after=%s", server.url,
           "Wed,%2021%20Oct%202015%2007:28:00%20GMT");
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.retry_after_s, 0); /* a date in the past: retry now */
  close_http(&http);
}
END_TEST

START_TEST(test_timeout) {
  ad_http_t http;
  char url[128];
  result_t r;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/slow?ms=3000", server.url);
  fetch(&http, "GET", url, NULL, 200, &r);
  ck_assert_int_eq(r.error, AD_ETIMEDOUT);
  ck_assert_int_eq(r.status, 0);
  close_http(&http);
}
END_TEST

START_TEST(test_connection_refused) {
  ad_http_t http;
  char url[128];
  result_t r;
  int port = ad_test_free_port();

  ck_assert_int_gt(port, 0);
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.error, AD_ECONNREFUSED);
  close_http(&http);
}
END_TEST

/* ---- TLS: certificates are always verified -------------------------- */

static long tls_requests;

static enum MHD_Result tls_handler(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version, const char *data,
                                   size_t *size, void **ctx) {
  struct MHD_Response *res =
      MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result r;
  (void)cls, (void)url, (void)method, (void)version, (void)data, (void)size;
  (void)ctx;
  __atomic_add_fetch(&tls_requests, 1, __ATOMIC_SEQ_CST);
  r = MHD_queue_response(conn, 200, res);
  MHD_destroy_response(res);
  return r;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *text = calloc(1, 65536);
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_gt(fread(text, 1, 65535, f), 0);
  fclose(f);
  return text;
}

/* An https server whose certificate no trusted authority signed: the
 * request fails on verification and never reaches the handler. */
START_TEST(test_tls_certificate_verified) {
  char *key = read_file(AD_TEST_TLS_DIR "/selfsigned-key.pem");
  char *cert = read_file(AD_TEST_TLS_DIR "/selfsigned-cert.pem");
  const union MHD_DaemonInfo *info;
  struct MHD_Daemon *d;
  ad_http_t http;
  char url[128];
  result_t r;

  tls_requests = 0;
  d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL,
                       NULL, tls_handler, NULL, MHD_OPTION_HTTPS_MEM_KEY, key,
                       MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
  ck_assert_ptr_nonnull(d);
  info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", (unsigned)info->port);
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  fetch(&http, "GET", url, NULL, 10000, &r);
  ck_assert_int_eq(r.error, AD_ETLS);
  ck_assert_int_eq(r.status, 0);
  ck_assert_int_eq(__atomic_load_n(&tls_requests, __ATOMIC_SEQ_CST), 0);
  close_http(&http);
  MHD_stop_daemon(d);
  free(key);
  free(cert);
}
END_TEST

START_TEST(test_dropped_connection) {
  ad_http_t http;
  char url[128];
  result_t r;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/drop", server.url);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.error, AD_ECONNRESET);
  close_http(&http);
}
END_TEST

/* A raw loopback server that answers every connection with a TCP RST. */
typedef struct rst_server {
  uv_tcp_t listener;
  uv_tcp_t conn;
} rst_server_t;

static void rst_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char scratch[4096];
  (void)h;
  (void)size;
  *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void rst_on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n != 0) /* the request arrived (or EOF): reset instead of answering */
    uv_tcp_close_reset((uv_tcp_t *)stream, NULL);
}

static void rst_on_connection(uv_stream_t *listener, int status) {
  rst_server_t *s = listener->data;
  ck_assert_int_eq(status, 0);
  uv_tcp_init(listener->loop, &s->conn);
  ck_assert_int_eq(uv_accept(listener, (uv_stream_t *)&s->conn), 0);
  uv_read_start((uv_stream_t *)&s->conn, rst_alloc, rst_on_read);
}

/* Listens on 127.0.0.1 (any port) with cb; url gets the URL of /x. */
static void raw_listen(uv_tcp_t *listener, void *data, uv_connection_cb cb,
                       char *url, size_t len) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int n = sizeof(bound);

  uv_tcp_init(&loop, listener);
  listener->data = data;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ck_assert_int_eq(uv_tcp_bind(listener, (struct sockaddr *)&addr, 0), 0);
  ck_assert_int_eq(uv_listen((uv_stream_t *)listener, 8, cb), 0);
  uv_tcp_getsockname(listener, (struct sockaddr *)&bound, &n);
  snprintf(url, len, "http://127.0.0.1:%d/x",
           ntohs(((struct sockaddr_in *)&bound)->sin_port));
}

START_TEST(test_connection_reset) {
  rst_server_t rst;
  ad_http_t http;
  char url[128];
  result_t r;

  raw_listen(&rst.listener, &rst, rst_on_connection, url, sizeof(url));
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.error, AD_ECONNRESET);
  close_http(&http);
  uv_close((uv_handle_t *)&rst.listener, NULL);
  if (!uv_is_closing((uv_handle_t *)&rst.conn))
    uv_close((uv_handle_t *)&rst.conn, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
}
END_TEST

static void on_pause_timer(uv_timer_t *t) { *(int *)t->data = 1; }

/* Runs the loop for ms. */
static void pause_loop(uint64_t ms) {
  uv_timer_t t;
  int done = 0;
  uv_timer_init(&loop, &t);
  t.data = &done;
  uv_timer_start(&t, on_pause_timer, ms, 0);
  ck_assert(ad_test_run_until(&loop, &done, ms + 5000));
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

/* Between two transfers on a kept-alive connection the socket's poll is
 * left as it is: restarting it costs epoll_ctl calls, several per request
 * (2 per request here before). */
START_TEST(test_keepalive_keeps_the_poll) {
  ad_http_t http;
  char url[128];
  result_t r;
  long accepted;
  int i;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/echo", server.url);
  for (i = 0; i < 50; i++) {
    fetch(&http, "GET", url, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
  }
  ad_testserver_counts(&server, NULL, &accepted, NULL);
  ck_assert_int_eq(accepted, 1);
  ck_assert_uint_eq(http.connections_opened, 1);
  ck_assert_uint_le(http.poll_updates, 10);
  close_http(&http);
}
END_TEST

/* ---- No answer waits for an unrelated wake-up ------------------------ */

/* Watches for the stall the harness's 20 s deadline used to end: a loop
 * iteration about to sleep in its poll although the answer has already
 * been handed over, so that uv_run(UV_RUN_ONCE) would return only when
 * something else (the deadline) woke the loop. A prepare callback runs
 * just before the poll and sees what the poll's timeout will be; uv_stop
 * then lets that poll return at once, so a failure costs no wait. */
typedef struct stall_probe {
  uv_prepare_t prepare;
  const int *done;
  int stalls;
} stall_probe_t;

static void on_probe(uv_prepare_t *prepare) {
  stall_probe_t *probe = prepare->data;
  if (probe->done != NULL && *probe->done &&
      uv_backend_timeout(prepare->loop) != 0) {
    probe->stalls++;
    uv_stop(prepare->loop);
  }
}

static void probe_start(stall_probe_t *probe) {
  memset(probe, 0, sizeof(*probe));
  ck_assert_int_eq(uv_prepare_init(&loop, &probe->prepare), 0);
  probe->prepare.data = probe;
  ck_assert_int_eq(uv_prepare_start(&probe->prepare, on_probe), 0);
}

static void on_deadline(uv_timer_t *timer) { (void)timer; }

/* fetch(), sent from a caller that kept the loop's cached clock 2 ms
 * behind (as a busy machine does between two uv_run calls), with the
 * loop run as ad_test_run_until does: one iteration at a time, with an
 * unrelated timer (the deadline) pending. */
static void fetch_probed(ad_http_t *http, const char *url, result_t *r,
                         stall_probe_t *probe) {
  ad_http_request_t rq = {0};
  uv_timer_t deadline;

  memset(r, 0, sizeof(*r));
  rq.method = "GET";
  rq.url = url;
  uv_timer_init(&loop, &deadline);
  uv_timer_start(&deadline, on_deadline, 20000, 0);
  probe->done = &r->done;
  uv_sleep(2);
  ck_assert_int_eq(ad_http_send(http, &rq, on_result, r, NULL), 0);
  while (!r->done && uv_is_active((uv_handle_t *)&deadline))
    uv_run(&loop, UV_RUN_ONCE);
  probe->done = NULL;
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  ck_assert(r->done);
}

/* On a kept-alive connection the answer is often in before curl, still
 * inside ad_http_send, looks for it: the transfer ends there. It must be
 * handed over by the next uv_run(UV_RUN_ONCE) without that call sleeping
 * first (it used to come from a 1 ms timer that libuv 1.44 runs before
 * the poll, and the poll then slept until the deadline). */
START_TEST(test_keepalive_answers_wake_the_caller) {
  stall_probe_t probe;
  ad_http_t http;
  char url[128];
  result_t r;
  int i;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/echo?id=k", server.url);
  probe_start(&probe);
  for (i = 0; i < 100 && probe.stalls == 0; i++) {
    fetch_probed(&http, url, &r, &probe);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "id=k");
  }
  ck_assert_msg(probe.stalls == 0,
                "request %d was handed over, then the loop slept", i);
  ck_assert_uint_eq(http.connections_opened, 1);
  uv_close((uv_handle_t *)&probe.prepare, NULL);
  close_http(&http);
}
END_TEST

/* The same without a race: curl refuses the scheme while the request is
 * started inside ad_http_send, so the transfer always ends there. */
START_TEST(test_request_ended_at_once_wakes_the_caller) {
  stall_probe_t probe;
  ad_http_t http;
  result_t r;
  int i;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  probe_start(&probe);
  for (i = 0; i < 3; i++) {
    fetch_probed(&http, "ftp://127.0.0.1:1/x", &r, &probe);
    ck_assert_int_eq(r.error, AD_ETRANSPORT);
    ck_assert_int_eq(probe.stalls, 0);
  }
  uv_close((uv_handle_t *)&probe.prepare, NULL);
  close_http(&http);
}
END_TEST

/* A raw loopback server that answers each request on a connection, then
 * closes the connection: to curl it is a kept-alive connection that dies
 * while idle. */
typedef struct close_server {
  uv_tcp_t listener;
  uv_tcp_t conns[4];
  uv_write_t writes[4];
  int accepted;
} close_server_t;

static void close_after_write(uv_write_t *w, int status) {
  (void)status;
  uv_close((uv_handle_t *)w->handle, NULL);
}

static void close_on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  static char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  close_server_t *s = stream->data;
  uv_buf_t b = uv_buf_init(answer, sizeof(answer) - 1);
  (void)buf;
  if (n <= 0 || uv_is_closing((uv_handle_t *)stream))
    return;
  uv_read_stop(stream);
  uv_write(&s->writes[(uv_tcp_t *)stream - s->conns], stream, &b, 1,
           close_after_write);
}

static void close_on_connection(uv_stream_t *listener, int status) {
  close_server_t *s = listener->data;
  uv_tcp_t *c = &s->conns[s->accepted++];
  ck_assert_int_eq(status, 0);
  ck_assert_int_le(s->accepted, 4);
  uv_tcp_init(listener->loop, c);
  c->data = s;
  ck_assert_int_eq(uv_accept(listener, (uv_stream_t *)c), 0);
  uv_read_start((uv_stream_t *)c, rst_alloc, close_on_read);
}

/* The dead idle connection is noticed, closed and replaced; the new socket
 * usually gets the old one's fd number, which must not inherit its poll. */
START_TEST(test_idle_connection_closed_by_server) {
  close_server_t cs;
  int i, polls = 0;
  ad_http_t http;
  ad_list_t *n;
  char url[128];
  result_t r;

  memset(&cs, 0, sizeof(cs));
  raw_listen(&cs.listener, &cs, close_on_connection, url, sizeof(url));
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  for (i = 0; i < 3; i++) {
    fetch(&http, "GET", url, NULL, 5000, &r);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok");
    pause_loop(50); /* the server's close arrives while idle */
  }
  ck_assert_int_eq(cs.accepted, 3);
  ck_assert_uint_eq(http.connections_opened, 3);
  for (n = http.sockets.next; n != &http.sockets; n = n->next)
    polls++;
  ck_assert_int_le(polls, 1); /* the closed ones' polls went with them */
  close_http(&http);
  uv_close((uv_handle_t *)&cs.listener, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
}
END_TEST

static void on_take_body(ad_http_req_t *req, const ad_http_response_t *res,
                         void *data) {
  result_t *r = data;
  size_t len = 0;
  char *body = ad_http_take_body(req, &len);

  ck_assert_ptr_eq(body, res->body); /* the same bytes, now ours */
  ck_assert_uint_eq(len, res->body_len);
  ck_assert_uint_eq(body[len], '\0');
  on_result(req, res, r);
  free(body); /* the request must not free it again (ASan would tell) */
}

/* A callback may take the body instead of copying it. */
START_TEST(test_take_body) {
  ad_http_request_t rq = {0};
  ad_http_t http;
  char url[128];
  result_t r;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/echo?id=t", server.url);
  rq.method = "GET";
  rq.url = url;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(ad_http_send(&http, &rq, on_take_body, &r, NULL), 0);
  ck_assert(ad_test_run_until(&loop, &r.done, 20000));
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "id=t");
  close_http(&http);
}
END_TEST

START_TEST(test_response_size_cap) {
  ad_http_opts_t opts;
  ad_http_t http;
  char url[128];
  result_t r;

  ad_http_opts_default(&opts);
  opts.max_response_bytes = 1000;
  ck_assert_int_eq(ad_http_init(&http, &loop, &opts), 0);
  snprintf(url, sizeof(url), "%s/big?bytes=1000", server.url);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.error, 0);
  ck_assert_uint_eq(r.body_len, 1000);
  snprintf(url, sizeof(url), "%s/big?bytes=200000", server.url);
  fetch(&http, "GET", url, NULL, 0, &r);
  ck_assert_int_eq(r.error, AD_ETOOBIG);
  close_http(&http);
}
END_TEST

START_TEST(test_cancel) {
  ad_http_t http;
  ad_http_req_t *req;
  ad_http_request_t rq = {0};
  char url[128];
  result_t r, r2;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/slow?ms=2000", server.url);
  rq.method = "GET";
  rq.url = url;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(ad_http_send(&http, &rq, on_result, &r, &req), 0);
  uv_run(&loop, UV_RUN_NOWAIT); /* let it connect */
  ad_http_cancel(req);
  ck_assert_int_eq(r.done, 1);
  ck_assert_int_eq(r.error, AD_ECANCELED);
  ck_assert_int_eq(http.inflight, 0);
  /* The client is still usable afterwards. */
  snprintf(url, sizeof(url), "%s/echo?id=after", server.url);
  fetch(&http, "GET", url, NULL, 0, &r2);
  ck_assert_str_eq(r2.body, "id=after");
  close_http(&http);
}
END_TEST

typedef struct count_cb {
  int calls;
  int canceled;
} count_cb_t;

static void on_count(ad_http_req_t *req, const ad_http_response_t *res,
                     void *data) {
  count_cb_t *c = data;
  (void)req;
  c->calls++;
  if (res->error == AD_ECANCELED)
    c->canceled++;
}

START_TEST(test_close_with_requests_in_flight) {
  ad_http_opts_t opts;
  ad_http_t http;
  ad_http_request_t rq = {0};
  count_cb_t c = {0, 0};
  char url[128];
  int i;

  ad_http_opts_default(&opts);
  opts.max_connections = 10; /* 10 in flight, 40 waiting in our FIFO */
  ck_assert_int_eq(ad_http_init(&http, &loop, &opts), 0);
  snprintf(url, sizeof(url), "%s/slow?ms=1000", server.url);
  rq.method = "GET";
  rq.url = url;
  for (i = 0; i < 50; i++)
    ck_assert_int_eq(ad_http_send(&http, &rq, on_count, &c, NULL), 0);
  for (i = 0; i < 20; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(http.inflight, 10);
  close_http(&http);
  ck_assert_int_eq(c.calls, 50);
  ck_assert_int_eq(c.canceled, 50);
  ck_assert_int_eq(ad_http_send(&http, &rq, on_count, &c, NULL), AD_ECLOSING);
  ck_assert_int_eq(c.calls, 50);
}
END_TEST

typedef struct closer {
  ad_http_t *http;
  count_cb_t *others;
  int status;
} closer_t;

static void on_close_inside(ad_http_req_t *req, const ad_http_response_t *res,
                            void *data) {
  closer_t *c = data;
  (void)req;
  c->status = (int)res->status;
  ad_http_close(c->http, on_closed); /* from inside the drain loop */
}

START_TEST(test_close_from_callback) {
  ad_http_t http;
  ad_http_request_t rq = {0};
  count_cb_t others = {0, 0};
  closer_t c = {&http, &others, 0};
  char fast[128], slow[128];
  int i;

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(fast, sizeof(fast), "%s/echo?id=1", server.url);
  snprintf(slow, sizeof(slow), "%s/slow?ms=3000", server.url);
  rq.method = "GET";
  rq.url = slow;
  for (i = 0; i < 5; i++)
    ck_assert_int_eq(ad_http_send(&http, &rq, on_count, &others, NULL), 0);
  rq.url = fast;
  ck_assert_int_eq(ad_http_send(&http, &rq, on_close_inside, &c, NULL), 0);
  closed = 0;
  ck_assert(ad_test_run_until(&loop, &closed, 10000));
  ck_assert_int_eq(c.status, 200);
  ck_assert_int_eq(others.calls, 5);
  ck_assert_int_eq(others.canceled, 5);
}
END_TEST

START_TEST(test_rejects_header_injection) {
  ad_http_t http;
  ad_http_request_t rq = {0};
  const char *headers[] = {"Authorization: Bearer x\r\nX-Evil: 1", NULL};
  count_cb_t c = {0, 0};
  char url[128];

  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  snprintf(url, sizeof(url), "%s/echo?id=1", server.url);
  rq.method = "GET";
  rq.url = url;
  rq.headers = headers;
  ck_assert_int_eq(ad_http_send(&http, &rq, on_count, &c, NULL), AD_EINVAL);
  rq.headers = NULL;
  rq.url = NULL;
  ck_assert_int_eq(ad_http_send(&http, &rq, on_count, &c, NULL), AD_EINVAL);
  close_http(&http);
  ck_assert_int_eq(c.calls, 0); /* an error return never calls back */
}
END_TEST

static Suite *http_suite(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_500_requests_at_200_concurrency);
  tcase_add_test(tc, test_connection_limit_respected);
  tcase_add_test(tc, test_post_body_and_headers);
  tcase_add_test(tc, test_on_wire);
  tcase_add_test(tc, test_on_wire_after_the_write);
  tcase_add_test(tc, test_status_and_retry_after);
  tcase_add_test(tc, test_timeout);
  tcase_add_test(tc, test_connection_refused);
  tcase_add_test(tc, test_tls_certificate_verified);
  tcase_add_test(tc, test_dropped_connection);
  tcase_add_test(tc, test_connection_reset);
  tcase_add_test(tc, test_response_size_cap);
  tcase_add_test(tc, test_take_body);
  tcase_add_test(tc, test_keepalive_keeps_the_poll);
  tcase_add_test(tc, test_keepalive_answers_wake_the_caller);
  tcase_add_test(tc, test_request_ended_at_once_wakes_the_caller);
  tcase_add_test(tc, test_idle_connection_closed_by_server);
  tcase_add_test(tc, test_cancel);
  tcase_add_test(tc, test_close_with_requests_in_flight);
  tcase_add_test(tc, test_close_from_callback);
  tcase_add_test(tc, test_rejects_header_injection);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(http_suite()); }
