#include "client.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"

enum { AD_AT_IDLE, AD_AT_GRANT, AD_AT_HTTP, AD_AT_RETRY };


typedef enum {
  AD_AT_OK,
  AD_AT_RETRY_LATER, /* backoff */
  AD_AT_PENALTY,     /* 429 */
  AD_AT_FAIL,
  AD_AT_FATAL
} ad_at_class_t;

static void ad_at_call_queue(ad_at_call_t *call);

int ad_at_client_init(ad_at_client_t *c, const ad_at_client_opts_t *o) {
  if (o->api_key == NULL || o->max_retries < 0)
    return AD_EINVAL;
  memset(c, 0, sizeof(*c));
  c->opts = *o;
  if ((c->auth = ad_http_bearer(o->api_key)) == NULL)
    return AD_ENOMEM;
  c->headers[0] = c->auth;
  c->headers[1] = "Content-Type: application/json";
  c->headers[2] = NULL;
  c->backoff.base_ms = o->backoff_base_ms ? o->backoff_base_ms : 500;
  c->backoff.cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 30000;
  c->backoff.max_attempts = o->max_retries;
  c->rng = o->seed ? o->seed : 0x5EEDA1B7ull;
  return 0;
}

void ad_at_client_close(ad_at_client_t *c) {
  ad_http_bearer_free(c->auth);
  c->auth = NULL;
}

void ad_at_call_init(ad_at_call_t *call, ad_at_client_t *client) {
  memset(call, 0, sizeof(*call));
  call->client = client;
  call->what = "Airtable request";
  ad_buf_init(&call->url, 0);
  ad_buf_init(&call->body, 0);
  ad_timers_entry_init(&call->retry);
}

void ad_at_call_free(ad_at_call_t *call) {
  ad_buf_free(&call->url);
  ad_buf_free(&call->body);
}

int ad_at_call_busy(const ad_at_call_t *call) {
  return call->state != AD_AT_IDLE;
}

/* ---- outcomes ---------------------------------------------------------- */

static void ad_at_call_fail(ad_at_call_t *call, int error, int fatal,
                            const char *detail) {
  ad_at_failure_t f;
  if (detail != NULL)
    snprintf(call->msg, sizeof(call->msg), "%s: %s", call->what, detail);
  f.error = error;
  f.status = call->status;
  f.type = call->type;
  f.fatal = fatal;
  f.message = call->msg;
  call->state = AD_AT_IDLE;
  call->fail(call, &f, call->data); /* the owner logs what it makes of it */
}

static void ad_at_on_retry(ad_timers_entry_t *entry, void *data) {
  ad_at_call_t *call = data;
  (void)entry;
  ad_at_call_queue(call);
}

/* Counts one more attempt; once they are spent, fails the call and
 * returns 1. */
static int ad_at_call_spent(ad_at_call_t *call, int error) {
  size_t n;
  if (++call->attempts <= call->client->opts.max_retries)
    return 0;
  n = strlen(call->msg);
  snprintf(call->msg + n, sizeof(call->msg) - n, " (gave up after %d attempts)",
           call->attempts);
  ad_at_call_fail(call, error, 0, NULL);
  return 1;
}

static void ad_at_call_retry(ad_at_call_t *call, int error, int64_t delay_ms) {
  ad_at_client_t *c = call->client;

  if (ad_at_call_spent(call, error))
    return;
  c->stats->retries++;
  if (c->log != NULL)
    ad_log_debug(c->log, "airtable", "%s; retry %d in %lld ms", call->msg,
                 call->attempts, (long long)delay_ms);
  call->state = AD_AT_RETRY;
  if (ad_timers_after(c->timers, &call->retry, (uint64_t)delay_ms,
                     ad_at_on_retry, call) != 0)
    ad_at_call_fail(call, AD_ECLOSING, 0, NULL);
}

static int64_t ad_at_backoff_ms(ad_at_call_t *call, long retry_after_s) {
  ad_at_client_t *c = call->client;
  return (int64_t)ad_backoff_wait_ms(&c->backoff, call->attempts + 1,
                                     retry_after_s, &c->rng);
}

/* Who a 429 was for. Airtable's answer does not say (the same
 * RATE_LIMIT_REACHED either way), so the grant and what came before do:
 *  - another base was refused within a penalty, and this request was
 *    granted after that refusal was known: the server goes on refusing
 *    more than one base, which only the token explains;
 *  - the token was at its limit when this was granted and the base was
 *    not: the base cannot have been it;
 *  - otherwise the base, the smaller pause.
 * Sets *at_limit when our own pace was at the offender's limit (or at
 * either, for the base): the margin was too small. */
static ad_limiter_key_t *ad_at_offender(ad_at_call_t *call, uint64_t now_us,
                                        uint64_t penalty_us, int *at_limit) {
  ad_at_client_t *c = call->client;
  int base_busy, token_busy;

  if (call->key == c->token_key || call->key->parent == NULL) {
    *at_limit = ad_limiter_req_binding(&call->lreq, 0);
    return call->key;
  }
  base_busy = ad_limiter_req_binding(&call->lreq, 0);
  token_busy = ad_limiter_req_binding(&call->lreq, 1);
  if (c->last_429_key != NULL && c->last_429_key != call->key &&
      now_us - c->last_429_us < penalty_us &&
      call->lreq.granted_at > c->last_429_us) {
    *at_limit = token_busy;
    return c->token_key;
  }
  if (token_busy && !base_busy) {
    *at_limit = 1;
    return c->token_key;
  }
  *at_limit = base_busy || token_busy;
  return call->key;
}

/* A 429: block the offender for the penalty, then wait for a grant. */
static void ad_at_call_penalize(ad_at_call_t *call, long retry_after_s) {
  ad_at_client_t *c = call->client;
  ad_limiter_key_t *key;
  uint64_t now = ad_limiter_now(c->limiter);
  double ms = c->opts.backoff_on_429_s * 1000.0;
  char margin[96];
  int at_limit;

  if (retry_after_s >= 0 && (double)retry_after_s * 1000.0 > ms)
    ms = (double)retry_after_s * 1000.0;
  if (ms > (double)AD_GCRA_MAX_BLOCK_US / 1000.0) /* a date years ahead */
    ms = (double)AD_GCRA_MAX_BLOCK_US / 1000.0;
  key = ad_at_offender(call, now, (uint64_t)(ms * 1000.0), &at_limit);
  c->last_429_key = call->key;
  c->last_429_us = now;
  ad_limiter_penalize(key, (uint64_t)(ms * 1000.0));
  margin[0] = '\0';
  /* Requests already out when the first 429 came are refused too; the
   * margin widens once for them all: once per penalty, and at most once a
   * window when there is no penalty to wait out. */
  if (at_limit && c->margin != NULL &&
      (c->last_widen_us == 0 ||
       now - c->last_widen_us >= (uint64_t)(ms * 1000.0) + 1000000)) {
    c->last_widen_us = now;
    snprintf(margin, sizeof(margin), "; safety margin now %.0f ms",
             (double)ad_margin_widen(c->margin) / 1000.0);
    if (c->on_margin != NULL)
      c->on_margin(c, c->margin_data);
  }
  if (c->log != NULL)
    ad_log_warn(c->log, "airtable", "%s: 429 %s; pausing %s for %.1f s%s%s",
                call->what,
                call->type[0] ? call->type : "RATE_LIMIT_REACHED",
                key == c->token_key ? "every request of the token"
                                    : "this base",
                ms / 1000.0,
                at_limit ? "" : " (neither this base nor the token was near "
                                "its limit here: another client may share "
                                "them)",
                margin);
  if (ad_at_call_spent(call, 0))
    return;
  c->stats->retries++;
  ad_at_call_queue(call);
}

/* ---- classification ---------------------------------------------------- */

static ad_at_class_t ad_at_classify_status(long status, const char *type) {
  if (status >= 200 && status < 300)
    return AD_AT_OK;
  if (status == 401)
    return AD_AT_FATAL;
  if (status == 429)
    return strcmp(type, "PUBLIC_API_BILLING_LIMIT_EXCEEDED") == 0
               ? AD_AT_FATAL
               : AD_AT_PENALTY;
  if (status >= 500)
    return AD_AT_RETRY_LATER;
  return AD_AT_FAIL;
}

/* What the server said, for messages: "HTTP 403
 * INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND: Invalid permissions…". */
static void ad_at_describe(ad_at_call_t *call, const ad_http_response_t *res) {
  char detail[256];
  if (res->error != 0) {
    snprintf(call->msg, sizeof(call->msg), "%s: %s%s%s", call->what,
             ad_strerror(res->error), res->error_msg[0] ? ": " : "",
             res->error_msg);
    return;
  }
  ad_at_error_parse(res->body, res->body_len, call->type, sizeof(call->type),
                    detail, sizeof(detail));
  snprintf(call->msg, sizeof(call->msg), "%s: HTTP %ld%s%s%s%s", call->what,
           res->status, call->type[0] ? " " : "", call->type,
           detail[0] ? ": " : "", detail);
}

static void ad_at_on_ok(ad_at_call_t *call, ad_http_req_t *req,
                        const ad_http_response_t *res) {
  char err[256];
  int rc;

  call->state = AD_AT_IDLE;
  call->answer = req;
  err[0] = '\0';
  rc = call->ok(call, res->body, res->body_len, err, sizeof(err), call->data);
  if (rc == 0) /* the call may be gone */
    return;
  call->answer = NULL;
  ad_at_call_malformed(call, err);
}

char *ad_at_call_take_body(ad_at_call_t *call, size_t *len) {
  char *body = ad_http_take_body(call->answer, len);
  call->answer = NULL;
  return body;
}

void ad_at_call_malformed(ad_at_call_t *call, const char *err) {
  snprintf(call->msg, sizeof(call->msg), "%s: malformed answer (HTTP %ld): %s",
           call->what, call->status, err);
  ad_at_call_retry(call, AD_EPARSE, ad_at_backoff_ms(call, -1));
}

static void ad_at_on_response(ad_http_req_t *req, const ad_http_response_t *res,
                              void *data) {
  ad_at_call_t *call = data;
  ad_at_client_t *c = call->client;
  ad_at_class_t cls;

  call->hreq = NULL;
  if (call->state != AD_AT_HTTP) /* canceled */
    return;
  c->stats->requests_airtable++;
  c->stats->bytes_sent += res->bytes_sent;
  c->stats->bytes_received += res->bytes_received;
  call->status = res->status;
  call->type[0] = '\0';
  if (res->error == AD_ECANCELED) { /* the HTTP client is closing */
    ad_at_describe(call, res);
    ad_at_call_fail(call, res->error, 0, NULL);
    return;
  }
  if (res->error != 0 || res->status < 200 || res->status >= 300)
    ad_at_describe(call, res);
  cls = res->error != 0 ? (ad_http_error_transient(res->error)
                                ? AD_AT_RETRY_LATER
                                : AD_AT_FAIL)
                        : ad_at_classify_status(res->status, call->type);
  switch (cls) {
  case AD_AT_OK:
    ad_at_on_ok(call, req, res);
    return;
  case AD_AT_RETRY_LATER:
    ad_at_call_retry(call, res->error, ad_at_backoff_ms(call, res->retry_after_s));
    return;
  case AD_AT_PENALTY:
    c->stats->http429_airtable++;
    ad_at_call_penalize(call, res->retry_after_s);
    return;
  case AD_AT_FAIL:
  case AD_AT_FATAL:
    ad_at_call_fail(call, res->error, cls == AD_AT_FATAL, NULL);
    return;
  }
}

/* ---- the request's way out ---------------------------------------------- */

/* The request is on the wire: the rate limits count it from now. */
static void ad_at_on_wire(void *data) {
  ad_at_call_t *call = data;
  ad_limiter_sent(&call->lreq);
  /* Our own pace held it back at a limit: the run tested the margin. */
  if (ad_limiter_req_binding(&call->lreq, 0) ||
      ad_limiter_req_binding(&call->lreq, 1))
    call->client->at_limit++;
}

/* Hands the granted request to curl; returns what ad_http_send refused. */
static int ad_at_call_send(ad_at_call_t *call) {
  ad_at_client_t *c = call->client;
  ad_http_request_t rq;

  memset(&rq, 0, sizeof(rq));
  rq.method = call->body.len > 0 ? "POST" : "GET";
  rq.url = call->url.data;
  rq.headers = c->headers;
  rq.body = call->body.data;
  rq.body_len = call->body.len;
  rq.on_wire = ad_at_on_wire;
  rq.wire_data = call;
  call->state = AD_AT_HTTP;
  return ad_http_send(c->http, &rq, ad_at_on_response, call, &call->hreq);
}

static void ad_at_on_grant(ad_limiter_req_t *req, int status, void *data) {
  ad_at_call_t *call = data;
  int rc;

  (void)req;
  if (call->state != AD_AT_GRANT)
    return;
  if (status == AD_EBUDGET) { /* the shared budget is gone: stop */
    ad_at_call_fail(call, status, 1, ad_limiter_error(call->client->limiter));
    return;
  }
  if (status != 0) { /* the limiter is closing */
    ad_at_call_fail(call, status, 0, "the rate limiter closed");
    return;
  }
  if ((rc = ad_at_call_send(call)) != 0)
    ad_at_call_fail(call, rc, 0, ad_strerror(rc));
}

/* Takes a grant from the call's key: at once when nothing waits (the
 * request goes out now), else through the limiter's queue
 * (ad_at_on_grant). Returns what was refused; no callback has run then. */
static int ad_at_call_take(ad_at_call_t *call) {
  int rc = ad_limiter_try_acquire(call->key, &call->lreq);
  if (rc == 1)
    return ad_at_call_send(call);
  if (rc < 0)
    return rc;
  call->state = AD_AT_GRANT;
  return ad_limiter_acquire(call->key, &call->lreq, ad_at_on_grant, call);
}

static void ad_at_call_queue(ad_at_call_t *call) {
  int rc = ad_at_call_take(call);
  if (rc == AD_EBUDGET)
    ad_at_call_fail(call, rc, 1, ad_limiter_error(call->client->limiter));
  else if (rc != 0)
    ad_at_call_fail(call, rc, 0, ad_strerror(rc));
}

static void ad_at_on_budget_gone(ad_timers_entry_t *entry, void *data) {
  ad_at_call_t *call = data;
  (void)entry;
  ad_at_call_fail(call, AD_EBUDGET, 1,
                  ad_limiter_error(call->client->limiter));
}

int ad_at_call_start(ad_at_call_t *call, ad_limiter_key_t *key,
                     ad_at_ok_cb ok, ad_at_fail_cb fail) {
  int rc;
  if (call->state != AD_AT_IDLE || key == NULL || ok == NULL || fail == NULL ||
      call->url.len == 0)
    return AD_EINVAL;
  call->key = key;
  call->ok = ok;
  call->fail = fail;
  call->attempts = 0;
  call->status = 0;
  call->type[0] = '\0';
  call->msg[0] = '\0';
  rc = ad_at_call_take(call);
  if (rc == AD_EBUDGET) {
    /* The shared budget gave up earlier in the run: the call ends in its
     * fail callback like the others, from the loop, so every caller
     * stops the run the same way. */
    call->state = AD_AT_RETRY;
    rc = ad_timers_after(call->client->timers, &call->retry, 0,
                         ad_at_on_budget_gone, call);
  }
  if (rc != 0)
    call->state = AD_AT_IDLE;
  return rc;
}

void ad_at_call_cancel(ad_at_call_t *call) {
  int state = call->state;
  call->state = AD_AT_IDLE;
  if (state == AD_AT_GRANT)
    ad_limiter_cancel(&call->lreq);
  else if (state == AD_AT_HTTP && call->hreq != NULL)
    ad_http_cancel(call->hreq);
  else if (state == AD_AT_RETRY)
    ad_timers_cancel(&call->retry);
  call->hreq = NULL;
}
