/* ad_apicall on its own, against the local test server and a limiter:
 * each class of answer, retries counted and given up, Retry-After, the
 * penalty path through the limiter, the classify hook, the shared budget
 * lost, a cancel in every state, no callback after a cancel or from a
 * start that failed, and the states named in the debug log. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apicall.h"
#include "error.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "testserver.h"
#include "testutil.h"
#include "timers.h"

static uv_loop_t loop;
static ad_testserver_t server;
static ad_http_t http;
static ad_timers_t timers;
static ad_limiter_t limiter;
static ad_limiter_key_t key; /* never binds: 1 000 a second */
static ad_apicall_api_t api;
static ad_log_t log_;
static int http_closed, limiter_closed, api_open;
static char lines[16384]; /* the debug log, one line after another */
static uint64_t requests, retries, penalties, sent, received;
static int never; /* a flag nothing raises: run for a while */

/* What a call's callbacks saw. */
typedef struct seen {
  int oks, fails;
  int bad_parses; /* on_ok says "bad" this many more times */
  int take;       /* on_ok takes the body */
  char *taken;
  size_t taken_len;
  char body[128];
  int error, fatal, outcome;
  long status;
  char type[64];
  char message[512];
  int done;
} seen_t;

static void on_log(int level, const char *line, void *data) {
  (void)level;
  (void)data;
  strncat(lines, line, sizeof(lines) - strlen(lines) - 2);
  strcat(lines, "\n");
}

/* Reads {"error":{"type":T,"message":M}}, as the test server answers. */
static void error_parse(const char *body, size_t len, char *type,
                        size_t typelen, char *msg, size_t msglen) {
  json_object *root = json_tokener_parse(body), *e, *v;
  (void)len;
  type[0] = msg[0] = '\0';
  if (root != NULL && json_object_object_get_ex(root, "error", &e)) {
    if (json_object_object_get_ex(e, "type", &v))
      snprintf(type, typelen, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(e, "message", &v))
      snprintf(msg, msglen, "%s", json_object_get_string(v));
  }
  json_object_put(root);
}

static void setup(void) {
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(ad_testserver_start(&server), 0);
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  ck_assert_int_eq(ad_timers_init(&timers, &loop), 0);
  ck_assert_int_eq(ad_limiter_init(&limiter, &loop, NULL), 0);
  ck_assert_int_eq(
      ad_limiter_key_init(&limiter, &key, NULL, 1000, 1000000, NULL), 0);
  ad_log_init(&log_, NULL, AD_LOG_DEBUG, AD_LOG_TEXT);
  log_.fn = on_log;
  lines[0] = '\0';
  requests = retries = penalties = sent = received = 0;
  http_closed = limiter_closed = api_open = 0;
}

static void teardown(void) {
  if (api_open)
    ad_apicall_api_close(&api);
  ad_limiter_key_close(&key);
  if (!limiter_closed)
    ad_limiter_close(&limiter, NULL);
  ad_timers_close(&timers, NULL);
  if (!http_closed)
    ad_http_close(&http, NULL);
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
  ad_testserver_stop(&server);
  ad_log_close(&log_);
}

/* The API under test: quick retries (1-5 ms) unless a test says. */
static void api_opts(ad_apicall_opts_t *o, const ad_apicall_rule_t *rules,
                     size_t nrules) {
  memset(o, 0, sizeof(*o));
  o->name = "test";
  o->api_key = "tok-apicall-test-7f3e";
  o->max_retries = 2;
  o->max_penalties = -1;
  o->backoff_base_ms = 1;
  o->backoff_cap_ms = 5;
  o->http = &http;
  o->timers = &timers;
  o->log = &log_;
  o->rules = rules;
  o->nrules = nrules;
  o->error_parse = error_parse;
  o->counts.requests = &requests;
  o->counts.retries = &retries;
  o->counts.penalties = &penalties;
  o->counts.bytes_sent = &sent;
  o->counts.bytes_received = &received;
}

static void api_start(const ad_apicall_opts_t *o) {
  ck_assert_int_eq(ad_apicall_api_init(&api, o), 0);
  api_open = 1;
}

static int on_ok(ad_apicall_t *call, const char *body, size_t len, char *err,
                 size_t errlen, void *data) {
  seen_t *s = data;
  ck_assert_int_eq(call->state, AD_APICALL_IDLE);
  snprintf(s->body, sizeof(s->body), "%.*s", (int)len, body);
  if (s->bad_parses > 0) {
    s->bad_parses--;
    snprintf(err, errlen, "bad");
    return AD_EPARSE;
  }
  if (s->take) {
    s->taken = ad_apicall_take_body(call, &s->taken_len);
    ck_assert_ptr_eq(s->taken, body); /* no copy */
  }
  s->oks++;
  s->done = 1;
  return 0;
}

static void on_fail(ad_apicall_t *call, const ad_apicall_failure_t *f,
                    void *data) {
  seen_t *s = data;
  ck_assert_int_eq(call->state, AD_APICALL_IDLE);
  s->fails++;
  s->error = f->error;
  s->fatal = f->fatal;
  s->outcome = f->outcome;
  s->status = f->status;
  snprintf(s->type, sizeof(s->type), "%s", f->type);
  snprintf(s->message, sizeof(s->message), "%s", f->message);
  s->done = 1;
}

static void call_init(ad_apicall_t *call, seen_t *s, const char *path) {
  ad_apicall_init(call, &api);
  call->data = s;
  call->what = "t";
  memset(s, 0, sizeof(*s));
  ck_assert_int_eq(ad_buf_printf(&call->url, "%s%s", server.url, path), 0);
}

/* Starts a call and runs the loop until it ends. */
static void run_call(ad_apicall_t *call, seen_t *s, ad_limiter_key_t *k,
                     const char *body) {
  ck_assert_int_eq(ad_apicall_start(call, k, body, body ? strlen(body) : 0,
                                    on_ok, on_fail),
                   0);
  ck_assert_msg(ad_test_run_until(&loop, &s->done, 20000), "no end");
  ck_assert_int_eq(s->oks + s->fails, 1);
}

/* Runs the loop until the call is in state (or 5 s). */
static ad_apicall_t *watched;
static int watched_state, reached;
static void on_watch(uv_check_t *c) {
  (void)c;
  if (watched->state == watched_state)
    reached = 1;
}
static void run_until_state(ad_apicall_t *call, int state) {
  uv_check_t check;
  watched = call;
  watched_state = state;
  reached = call->state == state;
  uv_check_init(&loop, &check);
  uv_check_start(&check, on_watch);
  ck_assert_msg(ad_test_run_until(&loop, &reached, 5000), "never %s",
                ad_apicall_state_name(state));
  uv_close((uv_handle_t *)&check, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static double seconds_since(uint64_t t0) {
  return (double)(uv_hrtime() - t0) / 1e9;
}

/* ---- ok ---------------------------------------------------------------- */

START_TEST(test_ok_get_and_post) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, NULL, 0);
  api_start(&o);
  call_init(&call, &s, "/echo?id=7");
  run_call(&call, &s, &key, NULL);
  ck_assert_int_eq(s.oks, 1);
  ck_assert_str_eq(s.body, "id=7");
  ck_assert_int_eq(call.status, 200);
  ck_assert_uint_eq(requests, 1);
  ck_assert_uint_eq(retries, 0);
  ck_assert_uint_gt(sent, 0);
  ck_assert_uint_gt(received, 0);
  ck_assert_uint_eq(key.grants, 1);
  ck_assert_int_eq(ad_apicall_busy(&call), 0);

  /* The same call again, as a POST without a key. */
  ad_buf_reset(&call.url);
  ad_buf_printf(&call.url, "%s/body", server.url);
  memset(&s, 0, sizeof(s));
  run_call(&call, &s, NULL, "{\"a\":1}");
  ck_assert_str_eq(s.body, "{\"a\":1}");
  ck_assert_uint_eq(key.grants, 1);
  ad_apicall_free(&call);
}
END_TEST

/* The body taken in on_ok, found malformed later: retried, then ok. */
START_TEST(test_take_body_then_malformed) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, NULL, 0);
  api_start(&o);
  call_init(&call, &s, "/echo?id=9");
  s.take = 1;
  run_call(&call, &s, &key, NULL);
  ck_assert_ptr_nonnull(s.taken);
  ck_assert_str_eq(s.taken, "id=9");
  free(s.taken);
  s.taken = NULL;
  s.done = 0;
  ad_apicall_malformed(&call, "cut short");
  ck_assert_int_eq(call.state, AD_APICALL_WAIT);
  ck_assert(ad_test_run_until(&loop, &s.done, 20000));
  ck_assert_int_eq(s.oks, 2);
  ck_assert_uint_eq(retries, 1);
  ck_assert_uint_eq(requests, 2);
  free(s.taken);
  ad_apicall_free(&call);
}
END_TEST

/* on_ok asks for a retry: once (then ok), or past max_retries (fail). */
START_TEST(test_parse_hook_retries_and_gives_up) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, NULL, 0);
  api_start(&o);
  call_init(&call, &s, "/echo?id=1");
  s.bad_parses = 1;
  run_call(&call, &s, &key, NULL);
  ck_assert_int_eq(s.oks, 1);
  ck_assert_uint_eq(requests, 2);
  ck_assert_uint_eq(retries, 1);

  memset(&s, 0, sizeof(s));
  s.bad_parses = 10;
  run_call(&call, &s, &key, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_int_eq(s.error, AD_EPARSE);
  ck_assert_int_eq(s.fatal, 0);
  ck_assert_str_eq(s.message, "t: malformed answer (HTTP 200): bad (gave up "
                              "after 3 attempts)");
  ck_assert_uint_eq(requests, 2 + 3);
  ck_assert_uint_eq(retries, 1 + 2);
  ad_apicall_free(&call);
}
END_TEST

/* ---- retry ------------------------------------------------------------- */

START_TEST(test_5xx_retried_then_given_up) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, NULL, 0);
  api_start(&o);
  call_init(&call, &s, "/status?code=503");
  run_call(&call, &s, &key, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_int_eq(s.error, 0);
  ck_assert_int_eq(s.fatal, 0);
  ck_assert_int_eq(s.status, 503);
  ck_assert_str_eq(s.type, "TEST");
  ck_assert_str_eq(s.message, "t: HTTP 503 TEST (gave up after 3 attempts)");
  ck_assert_uint_eq(requests, 3); /* max_retries 2 */
  ck_assert_uint_eq(retries, 2);
  ck_assert_uint_eq(key.grants, 3);
  ad_apicall_free(&call);
}
END_TEST

START_TEST(test_transport_failures_retried) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, NULL, 0);
  o.max_retries = 1;
  api_start(&o);
  ad_apicall_init(&call, &api);
  call.data = &s;
  call.what = "t";
  memset(&s, 0, sizeof(s));
  ad_buf_printf(&call.url, "http://127.0.0.1:%d/x", ad_test_free_port());
  run_call(&call, &s, NULL, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_int_eq(s.error, AD_ECONNREFUSED);
  ck_assert_int_eq(s.status, 0);
  ck_assert_ptr_nonnull(strstr(s.message, "(gave up after 2 attempts)"));
  ck_assert_uint_eq(requests, 2);
  ck_assert_uint_eq(retries, 1);

  /* A connection closed with no answer: reset, retried as well. */
  ad_buf_reset(&call.url);
  ad_buf_printf(&call.url, "%s/drop", server.url);
  memset(&s, 0, sizeof(s));
  run_call(&call, &s, NULL, NULL);
  ck_assert_int_eq(s.error, AD_ECONNRESET);
  ck_assert_uint_eq(requests, 4);
  ad_apicall_free(&call);
}
END_TEST

/* A 503 saying "after 1 s" is not retried before then, whatever the
 * backoff (1-5 ms here). */
START_TEST(test_retry_after_respected) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;
  uint64_t t0;

  api_opts(&o, NULL, 0);
  o.max_retries = 1;
  api_start(&o);
  call_init(&call, &s, "/status?code=503&retry_after=1");
  t0 = uv_hrtime();
  run_call(&call, &s, NULL, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_uint_eq(requests, 2);
  ck_assert_double_ge(seconds_since(t0), 1.0);
  ck_assert_ptr_nonnull(strstr(lines, "t: HTTP 503 TEST; retry 1 in 1000 ms"));
  ad_apicall_free(&call);
}
END_TEST

/* ---- fail, fatal, rules, the hook ---------------------------------------- */

static const ad_apicall_rule_t rules[] = {
    {401, NULL, AD_APICALL_FATAL, 0},
    {403, "OTHER", AD_APICALL_FATAL, 0}, /* the type does not match */
    {403, "TEST", AD_APICALL_FAIL, 7},
    {503, NULL, AD_APICALL_FAIL, 8}, /* a rule beats the 5xx default */
    {429, NULL, AD_APICALL_PENALTY, 0},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

START_TEST(test_fail_and_fatal_by_rule) {
  static const struct {
    int code, fatal, outcome;
  } cases[] = {{404, 0, 0}, {400, 0, 0}, {401, 1, 0}, {403, 0, 7}, {503, 0, 8}};
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;
  char path[64], msg[64];
  size_t i;

  api_opts(&o, rules, NRULES);
  api_start(&o);
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(path, sizeof(path), "/status?code=%d", cases[i].code);
    call_init(&call, &s, path);
    run_call(&call, &s, &key, NULL);
    ck_assert_int_eq(s.fails, 1);
    ck_assert_int_eq(s.fatal, cases[i].fatal);
    ck_assert_int_eq(s.outcome, cases[i].outcome);
    ck_assert_int_eq(s.status, cases[i].code);
    snprintf(msg, sizeof(msg), "t: HTTP %d TEST", cases[i].code);
    ck_assert_str_eq(s.message, msg);
    ad_apicall_free(&call);
  }
  ck_assert_uint_eq(requests, 5); /* none retried */
  ck_assert_uint_eq(retries, 0);
}
END_TEST

/* What a table cannot say: the hook turns a 404 into a retry with its own
 * message, and a 200 into a failure with its code. */
static int hook_calls;
static void classify(ad_apicall_t *call, const ad_http_response_t *res,
                     ad_apicall_verdict_t *v, void *data) {
  ck_assert_ptr_eq(data, &hook_calls);
  hook_calls++;
  if (res->status == 404) {
    v->cls = AD_APICALL_RETRY;
    snprintf(call->msg, sizeof(call->msg), "%s: gone for now", call->what);
  } else if (res->status == 200) {
    v->cls = AD_APICALL_FAIL;
    v->outcome = 9;
  }
}

START_TEST(test_classify_hook) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, rules, NRULES);
  o.classify = classify;
  o.data = &hook_calls;
  api_start(&o);
  hook_calls = 0;
  call_init(&call, &s, "/status?code=404");
  run_call(&call, &s, &key, NULL);
  ck_assert_str_eq(s.message, "t: gone for now (gave up after 3 attempts)");
  ck_assert_int_eq(hook_calls, 3);
  ad_apicall_free(&call);

  call_init(&call, &s, "/echo?id=2");
  run_call(&call, &s, &key, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_int_eq(s.outcome, 9);
  ck_assert_int_eq(s.status, 200);
  ad_apicall_free(&call);
}
END_TEST

/* ---- penalty ------------------------------------------------------------- */

static int penalty_calls;
static uint64_t penalty_wait_ms; /* what on_penalty returns */

/* Pauses the call's key for 300 ms, as an API pauses an offender. */
static uint64_t on_penalty(ad_apicall_t *call, const ad_http_response_t *res,
                           void *data) {
  (void)data;
  ck_assert_int_eq(res->status, 429);
  penalty_calls++;
  if (call->key != NULL)
    ad_limiter_penalize(call->key, 300000);
  return penalty_wait_ms;
}

/* A 429 pauses the key; the call queues for a grant at once and gets it
 * once the pause is over; penalties are counted apart and given up. */
START_TEST(test_penalty_requeues_for_a_grant) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;
  uint64_t t0;

  api_opts(&o, rules, NRULES);
  o.max_penalties = 2;
  o.max_retries = 0; /* penalties are not retries here */
  o.on_penalty = on_penalty;
  api_start(&o);
  penalty_calls = 0;
  penalty_wait_ms = 0;
  call_init(&call, &s, "/status?code=429");
  t0 = uv_hrtime();
  run_call(&call, &s, &key, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_int_eq(s.fatal, 0);
  ck_assert_str_eq(s.message, "t: HTTP 429 TEST (gave up after 3 attempts)");
  ck_assert_int_eq(penalty_calls, 3);
  ck_assert_uint_eq(penalties, 3);
  ck_assert_uint_eq(requests, 3);
  ck_assert_uint_eq(retries, 2);
  ck_assert_uint_eq(key.penalties, 3);
  ck_assert_double_ge(seconds_since(t0), 0.6); /* two pauses waited out */
  ck_assert_ptr_nonnull(strstr(lines, "t: http → grant"));
  ck_assert_ptr_nonnull(strstr(lines, "t: grant → http"));
  ck_assert_ptr_null(strstr(lines, "t: http → wait"));
  ad_apicall_free(&call);
}
END_TEST

/* max_penalties < 0: a penalty counts as a retry; and the call itself
 * waits what on_penalty says (no key here). */
START_TEST(test_penalty_as_retry_and_wait) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;
  uint64_t t0;

  api_opts(&o, rules, NRULES);
  o.max_retries = 1;
  o.on_penalty = on_penalty;
  api_start(&o);
  penalty_calls = 0;
  penalty_wait_ms = 200;
  call_init(&call, &s, "/status?code=429");
  t0 = uv_hrtime();
  run_call(&call, &s, NULL, NULL);
  ck_assert_str_eq(s.message, "t: HTTP 429 TEST (gave up after 2 attempts)");
  ck_assert_int_eq(penalty_calls, 2);
  ck_assert_uint_eq(retries, 1);
  ck_assert_double_ge(seconds_since(t0), 0.2);
  ck_assert_ptr_nonnull(strstr(lines, "t: http → wait"));
  ck_assert_ptr_nonnull(strstr(lines, "t: HTTP 429 TEST; retry 1 in 200 ms"));
  ad_apicall_free(&call);
}
END_TEST

/* Grants count from the wire, and one held at its limit counts in
 * at_limit: eight calls at once on a key of 5 per 100 ms. */
START_TEST(test_on_wire_reports_sent_and_at_limit) {
  ad_apicall_opts_t o;
  ad_apicall_t calls[8];
  seen_t s[8];
  ad_limiter_key_t tight;
  int i, all;

  ck_assert_int_eq(ad_limiter_key_init(&limiter, &tight, NULL, 5, 100000,
                                       NULL), 0);
  api_opts(&o, NULL, 0);
  api_start(&o);
  for (i = 0; i < 8; i++) {
    call_init(&calls[i], &s[i], "/echo?id=3");
    ck_assert_int_eq(ad_apicall_start(&calls[i], &tight, NULL, 0, on_ok,
                                      on_fail), 0);
  }
  for (i = 0; i < 8; i++)
    ck_assert(ad_test_run_until(&loop, &s[i].done, 20000));
  for (all = 0, i = 0; i < 8; i++)
    all += s[i].oks;
  ck_assert_int_eq(all, 8);
  ck_assert_uint_eq(tight.grants, 8);
  ck_assert_uint_gt(api.at_limit, 0);
  ck_assert_uint_lt(api.at_limit, 8);
  for (i = 0; i < 8; i++)
    ck_assert_int_eq(calls[i].lreq.sent, 1);
  for (i = 0; i < 8; i++)
    ad_apicall_free(&calls[i]);
  ad_limiter_key_close(&tight);
}
END_TEST

/* ---- cancel, and starts that fail ------------------------------------------ */

START_TEST(test_cancel_in_every_state) {
  ad_apicall_opts_t o;
  ad_apicall_t first, call;
  seen_t s0, s;
  ad_limiter_key_t slow;

  api_opts(&o, NULL, 0);
  api_start(&o);

  /* idle */
  call_init(&call, &s, "/echo?id=1");
  ad_apicall_cancel(&call);
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);

  /* grant: a key of one request per 10 s, taken by the first call */
  ck_assert_int_eq(ad_limiter_key_init(&limiter, &slow, NULL, 1, 10000000,
                                       NULL), 0);
  call_init(&first, &s0, "/echo?id=0");
  run_call(&first, &s0, &slow, NULL);
  ck_assert_int_eq(ad_apicall_start(&call, &slow, NULL, 0, on_ok, on_fail), 0);
  ck_assert_int_eq(call.state, AD_APICALL_GRANT);
  ad_apicall_cancel(&call);
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);
  ck_assert(ad_list_empty(&slow.waiting));

  /* http: the answer takes 300 ms; canceled while it is out */
  ad_buf_reset(&call.url);
  ad_buf_printf(&call.url, "%s/slow?ms=300", server.url);
  ck_assert_int_eq(ad_apicall_start(&call, &key, NULL, 0, on_ok, on_fail), 0);
  ck_assert_int_eq(call.state, AD_APICALL_HTTP);
  ck_assert_int_eq(ad_test_run_until(&loop, &never, 50), 0);
  ad_apicall_cancel(&call);
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);

  /* wait: a 503 that says come back in 10 s */
  ad_buf_reset(&call.url);
  ad_buf_printf(&call.url, "%s/status?code=503&retry_after=10", server.url);
  ck_assert_int_eq(ad_apicall_start(&call, &key, NULL, 0, on_ok, on_fail), 0);
  run_until_state(&call, AD_APICALL_WAIT);
  ck_assert(ad_timers_pending(&call.timer));
  ad_apicall_cancel(&call);
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);
  ck_assert(!ad_timers_pending(&call.timer));

  /* Nothing of them ever calls back. */
  ck_assert_int_eq(ad_test_run_until(&loop, &never, 500), 0);
  ck_assert_int_eq(s.oks + s.fails, 0);
  ck_assert_uint_eq(requests, 2); /* the first, and the 503 */
  ad_apicall_free(&call);
  ad_apicall_free(&first);
  ad_limiter_key_close(&slow);
}
END_TEST

/* A cancel from inside on_fail's neighbour: two calls, the first's
 * callback cancels the second while its request is out. */
static ad_apicall_t *victim;
static void on_fail_cancel(ad_apicall_t *call, const ad_apicall_failure_t *f,
                           void *data) {
  on_fail(call, f, data);
  ad_apicall_cancel(victim);
}

START_TEST(test_cancel_from_a_callback) {
  ad_apicall_opts_t o;
  ad_apicall_t a, b;
  seen_t sa, sb;

  api_opts(&o, rules, NRULES);
  api_start(&o);
  call_init(&a, &sa, "/status?code=404");
  call_init(&b, &sb, "/slow?ms=300");
  victim = &b;
  ck_assert_int_eq(ad_apicall_start(&b, NULL, NULL, 0, on_ok, on_fail), 0);
  ck_assert_int_eq(ad_apicall_start(&a, NULL, NULL, 0, on_ok, on_fail_cancel),
                   0);
  ck_assert(ad_test_run_until(&loop, &sa.done, 20000));
  ck_assert_int_eq(b.state, AD_APICALL_IDLE);
  ck_assert_int_eq(ad_test_run_until(&loop, &never, 500), 0);
  ck_assert_int_eq(sb.oks + sb.fails, 0);
  ad_apicall_free(&a);
  ad_apicall_free(&b);
}
END_TEST

START_TEST(test_failed_start_never_calls_back) {
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  api_opts(&o, NULL, 0);
  api_start(&o);
  call_init(&call, &s, "");
  ad_buf_reset(&call.url);
  ck_assert_int_eq(ad_apicall_start(&call, &key, NULL, 0, on_ok, on_fail),
                   AD_EINVAL); /* no URL */
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);
  ad_buf_printf(&call.url, "%s/echo?id=1", server.url);

  ad_limiter_close(&limiter, NULL); /* a key of a closing limiter */
  limiter_closed = 1;
  ck_assert_int_eq(ad_apicall_start(&call, &key, NULL, 0, on_ok, on_fail),
                   AD_ECLOSING);
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);

  ad_http_close(&http, NULL); /* a closing HTTP client */
  http_closed = 1;
  ck_assert_int_eq(ad_apicall_start(&call, NULL, NULL, 0, on_ok, on_fail),
                   AD_ECLOSING);
  ck_assert_int_eq(call.state, AD_APICALL_IDLE);

  ck_assert_int_eq(ad_test_run_until(&loop, &never, 100), 0);
  ck_assert_int_eq(s.oks + s.fails, 0);
  ck_assert_uint_eq(requests, 0);
  ad_apicall_free(&call);
}
END_TEST

/* ---- the shared budget lost ------------------------------------------------ */

static int broken_take(ad_budget_t *b, ad_budget_take_t *t) {
  (void)t;
  snprintf(b->error, sizeof(b->error), "the budget's Redis is gone");
  return AD_EBUDGET;
}
static void broken_cancel(ad_budget_t *b, ad_budget_take_t *t) {
  (void)b, (void)t;
}
static void broken_sent(ad_budget_t *b, const ad_budget_take_t *t,
                        uint64_t now) {
  (void)b, (void)t, (void)now;
}
static void broken_block(ad_budget_t *b, ad_budget_key_t *k, uint64_t d) {
  (void)b, (void)k, (void)d;
}
static void broken_close(ad_budget_t *b, void (*done)(ad_budget_t *b)) {
  if (done != NULL)
    done(b);
}
static const ad_budget_ops_t broken_ops = {
    "broken", 0, broken_take, broken_cancel, broken_sent, broken_block,
    broken_close};

/* Lost while a call waits: fatal, with the budget's reason. Lost before a
 * call starts: the start succeeds and the call fails, fatal, from the
 * loop; canceled in that wait, it never calls back. */
START_TEST(test_budget_lost_is_fatal) {
  static ad_budget_t broken; /* the limiter's timer closes after the test */
  static ad_limiter_t lim;
  static ad_limiter_key_t k;
  ad_apicall_opts_t o;
  ad_apicall_t call;
  seen_t s;

  memset(&broken, 0, sizeof(broken));
  broken.ops = &broken_ops;
  broken.clock = ad_budget_hrclock;
  ck_assert_int_eq(ad_limiter_init(&lim, &loop, &broken), 0);
  ck_assert_int_eq(ad_limiter_key_init(&lim, &k, "x", 10, 1000000, NULL), 0);
  api_opts(&o, NULL, 0);
  api_start(&o);

  call_init(&call, &s, "/echo?id=1");
  run_call(&call, &s, &k, NULL);
  ck_assert_int_eq(s.fails, 1);
  ck_assert_int_eq(s.fatal, 1);
  ck_assert_int_eq(s.error, AD_EBUDGET);
  ck_assert_str_eq(s.message, "t: the budget's Redis is gone");

  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(ad_apicall_start(&call, &k, NULL, 0, on_ok, on_fail), 0);
  ck_assert_int_eq(s.fails, 0); /* not from inside the start */
  ck_assert_int_eq(call.state, AD_APICALL_WAIT);
  ck_assert(ad_test_run_until(&loop, &s.done, 5000));
  ck_assert_int_eq(s.fatal, 1);
  ck_assert_int_eq(s.error, AD_EBUDGET);

  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(ad_apicall_start(&call, &k, NULL, 0, on_ok, on_fail), 0);
  ad_apicall_cancel(&call);
  ck_assert_int_eq(ad_test_run_until(&loop, &never, 100), 0);
  ck_assert_int_eq(s.oks + s.fails, 0);
  ck_assert_uint_eq(requests, 0);
  ad_apicall_free(&call);
  ad_limiter_key_close(&k);
  ad_limiter_close(&lim, NULL);
}
END_TEST

/* ---- the debug log ---------------------------------------------------------- */

START_TEST(test_debug_log_names_states) {
  ad_apicall_opts_t o;
  ad_apicall_t first, call;
  seen_t s0, s;
  ad_limiter_key_t slow;

  api_opts(&o, NULL, 0);
  api_start(&o);
  call_init(&call, &s, "/echo?id=1");
  call.what = "records of appX/tblY";
  s.bad_parses = 1;
  run_call(&call, &s, &key, NULL);
  ck_assert_ptr_nonnull(strstr(lines, "records of appX/tblY: idle → http"));
  ck_assert_ptr_nonnull(strstr(lines, "records of appX/tblY: http → idle"));
  ck_assert_ptr_nonnull(strstr(lines, "records of appX/tblY: idle → wait"));
  ck_assert_ptr_nonnull(strstr(lines, "records of appX/tblY: wait → http"));
  ck_assert_ptr_nonnull(strstr(lines, "test"));         /* the component */
  ck_assert_ptr_null(strstr(lines, "tok-apicall-test")); /* never the key */

  /* A key that makes the call wait for its grant. */
  ck_assert_int_eq(ad_limiter_key_init(&limiter, &slow, NULL, 5, 1000000,
                                       NULL), 0);
  call_init(&first, &s0, "/echo?id=0");
  run_call(&first, &s0, &slow, NULL);
  lines[0] = '\0';
  memset(&s, 0, sizeof(s));
  run_call(&call, &s, &slow, NULL);
  ck_assert_ptr_nonnull(strstr(lines, "records of appX/tblY: idle → grant"));
  ck_assert_ptr_nonnull(strstr(lines, "records of appX/tblY: grant → http"));

  /* And at info level, none of it. */
  lines[0] = '\0';
  log_.level = AD_LOG_INFO;
  memset(&s, 0, sizeof(s));
  s.bad_parses = 1;
  run_call(&call, &s, &key, NULL);
  ck_assert_str_eq(lines, "");
  ck_assert_str_eq(ad_apicall_state_name(AD_APICALL_GRANT), "grant");
  ad_apicall_free(&call);
  ad_apicall_free(&first);
  ad_limiter_key_close(&slow);
}
END_TEST

static Suite *apicall_suite(void) {
  Suite *s = suite_create("apicall");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_ok_get_and_post);
  tcase_add_test(tc, test_take_body_then_malformed);
  tcase_add_test(tc, test_parse_hook_retries_and_gives_up);
  tcase_add_test(tc, test_5xx_retried_then_given_up);
  tcase_add_test(tc, test_transport_failures_retried);
  tcase_add_test(tc, test_retry_after_respected);
  tcase_add_test(tc, test_fail_and_fatal_by_rule);
  tcase_add_test(tc, test_classify_hook);
  tcase_add_test(tc, test_penalty_requeues_for_a_grant);
  tcase_add_test(tc, test_penalty_as_retry_and_wait);
  tcase_add_test(tc, test_on_wire_reports_sent_and_at_limit);
  tcase_add_test(tc, test_cancel_in_every_state);
  tcase_add_test(tc, test_cancel_from_a_callback);
  tcase_add_test(tc, test_failed_start_never_calls_back);
  tcase_add_test(tc, test_budget_lost_is_fatal);
  tcase_add_test(tc, test_debug_log_names_states);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(apicall_suite()); }
