#include "apicall.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const ad_apicall_states[] = {
    [AD_APICALL_IDLE] = "idle",
    [AD_APICALL_GRANT] = "grant",
    [AD_APICALL_HTTP] = "http",
    [AD_APICALL_WAIT] = "wait",
};

static void ad_apicall_queue(ad_apicall_t *call);

const char *ad_apicall_state_name(int state) {
  if (state < 0 || state > AD_APICALL_WAIT)
    return "?";
  return ad_apicall_states[state];
}

static void ad_apicall_count(uint64_t *counter, uint64_t n) {
  if (counter != NULL)
    *counter += n;
}

int ad_apicall_api_init(ad_apicall_api_t *api, const ad_apicall_opts_t *o) {
  if (o->api_key == NULL || o->http == NULL || o->timers == NULL ||
      o->max_retries < 0 || (o->rules == NULL && o->nrules > 0))
    return AD_EINVAL;
  memset(api, 0, sizeof(*api));
  api->o = *o;
  if (api->o.name == NULL)
    api->o.name = "api";
  if ((api->auth = ad_http_bearer(o->api_key)) == NULL)
    return AD_ENOMEM;
  api->o.api_key = NULL; /* the header holds it, and scrubs it on close */
  api->headers[0] = api->auth;
  api->headers[1] = "Content-Type: application/json";
  api->headers[2] = NULL;
  api->backoff.base_ms = o->backoff_base_ms ? o->backoff_base_ms : 500;
  api->backoff.cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 30000;
  api->backoff.max_attempts = o->max_retries;
  api->rng = o->seed ? o->seed : 0xA91CA11ull;
  return 0;
}

void ad_apicall_api_close(ad_apicall_api_t *api) {
  ad_http_bearer_free(api->auth);
  api->auth = NULL;
}

void ad_apicall_init(ad_apicall_t *call, ad_apicall_api_t *api) {
  memset(call, 0, sizeof(*call));
  call->api = api;
  call->what = "request";
  ad_buf_init(&call->url, 0);
  ad_timers_entry_init(&call->timer);
}

void ad_apicall_free(ad_apicall_t *call) {
  assert(call->state == AD_APICALL_IDLE);
  ad_buf_free(&call->url);
}

/* Every change of state goes through here, so the debug log tells a
 * call's whole way. */
static void ad_apicall_set_state(ad_apicall_t *call, int state) {
  ad_apicall_api_t *api = call->api;
  if (call->state == state)
    return;
  if (api->o.log != NULL)
    ad_log_debug(api->o.log, api->o.name, "%s: %s → %s", call->what,
                 ad_apicall_states[call->state], ad_apicall_states[state]);
  call->state = state;
}

uint64_t ad_apicall_backoff_ms(ad_apicall_t *call, int attempt,
                               long retry_after_s) {
  ad_apicall_api_t *api = call->api;
  return ad_backoff_wait_ms(&api->backoff, attempt, retry_after_s, &api->rng);
}

/* ---- outcomes ---------------------------------------------------------- */

/* Ends the call in on_fail; detail, when given, replaces the message. */
static void ad_apicall_fail(ad_apicall_t *call, int error, int fatal,
                            int outcome, const char *detail) {
  ad_apicall_failure_t f;
  if (detail != NULL)
    snprintf(call->msg, sizeof(call->msg), "%s: %s", call->what, detail);
  f.error = error;
  f.status = call->status;
  f.type = call->type;
  f.fatal = fatal;
  f.outcome = outcome;
  f.message = call->msg;
  ad_apicall_set_state(call, AD_APICALL_IDLE);
  call->on_fail(call, &f, call->data);
}

static void ad_apicall_on_timer(ad_timers_entry_t *entry, void *data) {
  ad_apicall_t *call = data;
  (void)entry;
  ad_apicall_queue(call);
}

/* Another try, counted as a penalty or a retry, after delay_ms (0 with a
 * penalty: queued for a grant at once); or, once the tries of its kind
 * are spent, the end. call->msg says why the last try failed. */
static void ad_apicall_again(ad_apicall_t *call, int penalty, int error,
                             uint64_t delay_ms) {
  ad_apicall_api_t *api = call->api;
  int apart = penalty && api->o.max_penalties >= 0;
  int *tries = apart ? &call->penalties : &call->retries;
  size_t n;

  if (++*tries > (apart ? api->o.max_penalties : api->o.max_retries)) {
    n = strlen(call->msg);
    snprintf(call->msg + n, sizeof(call->msg) - n,
             " (gave up after %d attempts)", call->retries + call->penalties);
    ad_apicall_fail(call, error, 0, 0, NULL);
    return;
  }
  ad_apicall_count(api->o.counts.retries, 1);
  if (penalty && delay_ms == 0) { /* its key is paused: the grant waits */
    ad_apicall_queue(call);
    return;
  }
  if (api->o.log != NULL)
    ad_log_debug(api->o.log, api->o.name, "%s; retry %d in %llu ms",
                 call->msg, call->retries + call->penalties,
                 (unsigned long long)delay_ms);
  ad_apicall_set_state(call, AD_APICALL_WAIT);
  if (ad_timers_after(api->o.timers, &call->timer, delay_ms,
                      ad_apicall_on_timer, call) != 0)
    ad_apicall_fail(call, AD_ECLOSING, 0, 0, NULL);
}

/* A retry after the backoff of the retries so far, at least Retry-After. */
static void ad_apicall_retry(ad_apicall_t *call, int error,
                             long retry_after_s) {
  ad_apicall_again(call, 0, error,
                   ad_apicall_backoff_ms(call, call->retries + 1,
                                         retry_after_s));
}

void ad_apicall_malformed(ad_apicall_t *call, const char *err) {
  assert(call->state == AD_APICALL_IDLE);
  snprintf(call->msg, sizeof(call->msg), "%s: malformed answer (HTTP %ld): %s",
           call->what, call->status, err);
  ad_apicall_retry(call, AD_EPARSE, -1);
}

char *ad_apicall_take_body(ad_apicall_t *call, size_t *len) {
  char *body;
  assert(call->answer != NULL);
  body = ad_http_take_body(call->answer, len);
  call->answer = NULL;
  return body;
}

static void ad_apicall_on_ok(ad_apicall_t *call, ad_http_req_t *req,
                             const ad_http_response_t *res) {
  char err[256];

  ad_apicall_set_state(call, AD_APICALL_IDLE);
  call->answer = req;
  err[0] = '\0';
  if (call->on_ok(call, res->body, res->body_len, err, sizeof(err),
                  call->data) == 0)
    return; /* done: the call may be gone */
  call->answer = NULL;
  ad_apicall_malformed(call, err);
}

/* ---- classification ---------------------------------------------------- */

/* What the answer said, for messages: "schema of base appX: HTTP 403
 * INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND: Invalid permissions…". */
static void ad_apicall_describe(ad_apicall_t *call,
                                const ad_http_response_t *res) {
  ad_apicall_api_t *api = call->api;

  call->status = res->status;
  call->type[0] = '\0';
  call->detail[0] = '\0';
  if (res->error != 0) {
    snprintf(call->msg, sizeof(call->msg), "%s: %s%s%s", call->what,
             ad_strerror(res->error), res->error_msg[0] ? ": " : "",
             res->error_msg);
    return;
  }
  if ((res->status < 200 || res->status >= 300) && api->o.error_parse != NULL)
    api->o.error_parse(res->body, res->body_len, call->type,
                       sizeof(call->type), call->detail, sizeof(call->detail));
  snprintf(call->msg, sizeof(call->msg), "%s: HTTP %ld%s%s%s%s", call->what,
           res->status, call->type[0] ? " " : "", call->type,
           call->detail[0] ? ": " : "", call->detail);
}

static void ad_apicall_classify(ad_apicall_t *call,
                                const ad_http_response_t *res,
                                ad_apicall_verdict_t *v) {
  const ad_apicall_opts_t *o = &call->api->o;
  const ad_apicall_rule_t *r;
  size_t i;

  v->outcome = 0;
  if (res->error != 0) {
    v->cls = ad_http_error_transient(res->error) ? AD_APICALL_RETRY
                                                 : AD_APICALL_FAIL;
  } else if (res->status >= 200 && res->status < 300) {
    v->cls = AD_APICALL_OK;
  } else {
    v->cls = res->status >= 500 ? AD_APICALL_RETRY : AD_APICALL_FAIL;
    for (i = 0; i < o->nrules; i++) {
      r = &o->rules[i];
      if (r->status == res->status &&
          (r->type == NULL || strcmp(r->type, call->type) == 0)) {
        v->cls = r->cls;
        v->outcome = r->outcome;
        break;
      }
    }
  }
  if (o->classify != NULL)
    o->classify(call, res, v, o->data);
}

static void ad_apicall_on_response(ad_http_req_t *req,
                                   const ad_http_response_t *res,
                                   void *data) {
  ad_apicall_t *call = data;
  ad_apicall_api_t *api = call->api;
  ad_apicall_verdict_t v;

  call->hreq = NULL;
  if (call->state != AD_APICALL_HTTP) /* canceled */
    return;
  ad_apicall_count(api->o.counts.requests, 1);
  ad_apicall_count(api->o.counts.bytes_sent, res->bytes_sent);
  ad_apicall_count(api->o.counts.bytes_received, res->bytes_received);
  ad_apicall_describe(call, res);
  ad_apicall_classify(call, res, &v);
  switch (v.cls) {
  case AD_APICALL_OK:
    ad_apicall_on_ok(call, req, res);
    return;
  case AD_APICALL_RETRY:
    ad_apicall_retry(call, res->error, res->retry_after_s);
    return;
  case AD_APICALL_PENALTY:
    ad_apicall_count(api->o.counts.penalties, 1);
    ad_apicall_again(call, 1, 0,
                     api->o.on_penalty != NULL
                         ? api->o.on_penalty(call, res, api->o.data)
                         : 0);
    return;
  case AD_APICALL_FAIL:
  case AD_APICALL_FATAL:
    ad_apicall_fail(call, res->error, v.cls == AD_APICALL_FATAL, v.outcome,
                    NULL);
    return;
  }
}

/* ---- the request's way out ---------------------------------------------- */

/* The request is on the wire: the rate limits count it from now. */
static void ad_apicall_on_wire(void *data) {
  ad_apicall_t *call = data;
  int depth;
  ad_limiter_sent(&call->lreq);
  for (depth = 0; depth < AD_LIMITER_MAX_DEPTH; depth++)
    if (ad_limiter_req_binding(&call->lreq, depth)) {
      call->api->at_limit++; /* our own pace held it back at a limit */
      return;
    }
}

/* Hands the request to curl; returns what ad_http_send refused. */
static int ad_apicall_send(ad_apicall_t *call) {
  ad_apicall_api_t *api = call->api;
  ad_http_request_t rq;

  memset(&rq, 0, sizeof(rq));
  rq.method = call->method != NULL ? call->method
               : call->body != NULL ? "POST"
                                    : "GET";
  rq.url = call->url.data;
  rq.headers = api->headers;
  rq.body = call->body;
  rq.body_len = call->body_len;
  if (call->key != NULL) {
    rq.on_wire = ad_apicall_on_wire;
    rq.wire_data = call;
  }
  ad_apicall_set_state(call, AD_APICALL_HTTP);
  return ad_http_send(api->o.http, &rq, ad_apicall_on_response, call,
                      &call->hreq);
}

/* The limiter's refusal, or the HTTP client's, as a failure. */
static void ad_apicall_refused(ad_apicall_t *call, int rc) {
  if (rc == AD_EBUDGET) /* the shared budget is gone: stop */
    ad_apicall_fail(call, rc, 1, 0, ad_limiter_error(call->key->limiter));
  else
    ad_apicall_fail(call, rc, 0, 0, ad_strerror(rc));
}

static void ad_apicall_on_grant(ad_limiter_req_t *req, int status,
                                void *data) {
  ad_apicall_t *call = data;
  int rc;

  (void)req;
  if (call->state != AD_APICALL_GRANT)
    return;
  if (status != 0 && status != AD_EBUDGET) { /* the limiter is closing */
    ad_apicall_fail(call, status, 0, 0, "the rate limiter closed");
    return;
  }
  if ((rc = status != 0 ? status : ad_apicall_send(call)) != 0)
    ad_apicall_refused(call, rc);
}

/* Through the limiter when the call has a key: at once when nothing waits
 * (the request goes out now), else through its queue (on_grant); straight
 * out without one. Returns what was refused; no callback has run then. */
static int ad_apicall_go(ad_apicall_t *call) {
  int rc;
  if (call->key == NULL)
    return ad_apicall_send(call);
  if ((rc = ad_limiter_try_acquire(call->key, &call->lreq)) != 0)
    return rc < 0 ? rc : ad_apicall_send(call);
  ad_apicall_set_state(call, AD_APICALL_GRANT);
  return ad_limiter_acquire(call->key, &call->lreq, ad_apicall_on_grant, call);
}

static void ad_apicall_queue(ad_apicall_t *call) {
  int rc = ad_apicall_go(call);
  if (rc != 0)
    ad_apicall_refused(call, rc);
}

static void ad_apicall_on_budget_gone(ad_timers_entry_t *entry, void *data) {
  (void)entry;
  ad_apicall_refused(data, AD_EBUDGET);
}

int ad_apicall_start(ad_apicall_t *call, ad_limiter_key_t *key,
                     const char *body, size_t body_len, ad_apicall_ok_cb ok,
                     ad_apicall_fail_cb fail) {
  int rc;

  assert(call->state == AD_APICALL_IDLE && ok != NULL && fail != NULL);
  if (call->url.len == 0)
    return AD_EINVAL;
  call->key = key;
  call->body = body;
  call->body_len = body_len;
  call->on_ok = ok;
  call->on_fail = fail;
  call->retries = call->penalties = 0;
  call->answer = NULL;
  call->status = 0;
  call->type[0] = call->detail[0] = call->msg[0] = '\0';
  rc = ad_apicall_go(call);
  if (rc == AD_EBUDGET) {
    /* The shared budget gave up earlier in the run: the call ends in
     * on_fail like the others, from the loop, so every caller stops the
     * run the same way. */
    ad_apicall_set_state(call, AD_APICALL_WAIT);
    rc = ad_timers_after(call->api->o.timers, &call->timer, 0,
                         ad_apicall_on_budget_gone, call);
  }
  if (rc != 0)
    ad_apicall_set_state(call, AD_APICALL_IDLE);
  return rc;
}

void ad_apicall_cancel(ad_apicall_t *call) {
  int state = call->state;
  ad_apicall_set_state(call, AD_APICALL_IDLE);
  if (state == AD_APICALL_GRANT)
    ad_limiter_cancel(&call->lreq);
  else if (state == AD_APICALL_HTTP && call->hreq != NULL)
    ad_http_cancel(call->hreq);
  else if (state == AD_APICALL_WAIT)
    ad_timers_cancel(&call->timer);
  call->hreq = NULL;
}
