#include "client.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "request.h"

enum { AD_DUST_IDLE, AD_DUST_GRANT, AD_DUST_HTTP, AD_DUST_WAIT };

typedef enum {
  AD_DUST_C_OK,
  AD_DUST_C_RETRY,
  AD_DUST_C_429,
  AD_DUST_C_TOO_BIG,
  AD_DUST_C_500, /* a name clash, an escalated 500 or a plain retry */
  AD_DUST_C_FAIL,
  AD_DUST_C_FATAL
} ad_dust_class_t;

/* Answers with a fixed meaning, by status and (when set) error type. */
static const struct {
  long status;
  const char *type; /* NULL: any */
  ad_dust_class_t cls;
} ad_dust_rules[] = {
    {401, NULL, AD_DUST_C_FATAL},
    {403, "data_source_auth_error", AD_DUST_C_FATAL},
    {403, "workspace_can_use_product_required_error", AD_DUST_C_FATAL},
    {403, "workspace_quota_error", AD_DUST_C_FATAL},
    {404, "workspace_not_found", AD_DUST_C_FATAL},
    {404, "space_not_found", AD_DUST_C_FATAL},
    {404, "data_source_not_found", AD_DUST_C_FATAL},
    {413, NULL, AD_DUST_C_TOO_BIG},
    {429, NULL, AD_DUST_C_429},
    {500, NULL, AD_DUST_C_500},
};

static void ad_dust_call_send(ad_dust_call_t *call);
static void ad_dust_on_grant(ad_limiter_req_t *req, int status, void *data);

int ad_dust_client_init(ad_dust_client_t *c, const ad_dust_client_opts_t *o) {
  if (o->api_key == NULL || o->max_retries < 0)
    return AD_EINVAL;
  memset(c, 0, sizeof(*c));
  c->opts = *o;
  if ((c->auth = ad_http_bearer(o->api_key)) == NULL)
    return AD_ENOMEM;
  c->headers[0] = c->auth;
  c->headers[1] = "Content-Type: application/json";
  c->headers[2] = NULL;
  c->backoff.base_ms = o->backoff_base_ms ? o->backoff_base_ms : 1000;
  c->backoff.cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 60000;
  c->backoff.max_attempts = o->max_retries;
  c->rng = o->seed ? o->seed : 0xD057C0DEull;
  return 0;
}

void ad_dust_client_close(ad_dust_client_t *c) {
  ad_http_bearer_free(c->auth);
  c->auth = NULL;
}

void ad_dust_call_init(ad_dust_call_t *call, ad_dust_client_t *client) {
  memset(call, 0, sizeof(*call));
  call->client = client;
  call->what = "Dust request";
  ad_buf_init(&call->url, 0);
  ad_timers_entry_init(&call->retry);
}

void ad_dust_call_free(ad_dust_call_t *call) { ad_buf_free(&call->url); }

int ad_dust_call_busy(const ad_dust_call_t *call) {
  return call->state != AD_DUST_IDLE;
}

/* ---- outcomes ---------------------------------------------------------- */

static void ad_dust_call_end(ad_dust_call_t *call, int outcome, int fatal,
                             int error, long status) {
  ad_dust_result_t r;
  r.outcome = outcome;
  r.fatal = fatal;
  r.error = error;
  r.status = status;
  r.message = call->msg;
  call->state = AD_DUST_IDLE;
  if (outcome == AD_DUST_FAILED && call->client->log != NULL)
    ad_log_write(call->client->log, fatal ? AD_LOG_ERROR : AD_LOG_WARN, "dust",
                 "%s", call->msg);
  call->cb(call, &r, call->data);
}

static void ad_dust_on_retry(ad_timers_entry_t *entry, void *data) {
  (void)entry;
  ad_dust_call_send(data);
}

/* Another try after delay_ms, or the end once the retries of its kind
 * (counter, up to limit) are spent. call->msg says why the last try
 * failed. */
static void ad_dust_call_again(ad_dust_call_t *call, int *counter, int limit,
                               int error, long status, int64_t delay_ms) {
  ad_dust_client_t *c = call->client;
  size_t n;

  if (++*counter > limit) {
    n = strlen(call->msg);
    snprintf(call->msg + n, sizeof(call->msg) - n,
             " (gave up after %d attempts)", call->attempts + call->throttled);
    ad_dust_call_end(call, AD_DUST_FAILED, 0, error, status);
    return;
  }
  c->stats->retries++;
  if (c->log != NULL)
    ad_log_debug(c->log, "dust", "%s; retry in %lld ms", call->msg,
                 (long long)delay_ms);
  call->state = AD_DUST_WAIT;
  if (ad_timers_after(c->timers, &call->retry, (uint64_t)delay_ms,
                      ad_dust_on_retry, call) != 0)
    ad_dust_call_end(call, AD_DUST_FAILED, 0, AD_ECLOSING, status);
}

static void ad_dust_call_retry(ad_dust_call_t *call, int error, long status,
                               int64_t delay_ms) {
  ad_dust_call_again(call, &call->attempts, call->client->opts.max_retries,
                     error, status, delay_ms);
}

/* The delay before the next try: jittered exponential in the tries of
 * its kind so far, and never under Retry-After. */
static int64_t ad_dust_backoff_ms(ad_dust_call_t *call, int tries,
                                  long retry_after_s) {
  ad_dust_client_t *c = call->client;
  return (int64_t)ad_backoff_wait_ms(&c->backoff, tries + 1, retry_after_s,
                                     &c->rng);
}

/* ---- classification ---------------------------------------------------- */

static ad_dust_class_t ad_dust_classify(long status, const char *type) {
  size_t i;
  if (status >= 200 && status < 300)
    return AD_DUST_C_OK;
  for (i = 0; i < sizeof(ad_dust_rules) / sizeof(ad_dust_rules[0]); i++)
    if (ad_dust_rules[i].status == status &&
        (ad_dust_rules[i].type == NULL ||
         strcmp(type, ad_dust_rules[i].type) == 0))
      return ad_dust_rules[i].cls;
  return status >= 500 ? AD_DUST_C_RETRY : AD_DUST_C_FAIL;
}

/* What went wrong, for messages: "rows of table X: HTTP 400
 * invalid_request_error: Invalid request body: …". */
static void ad_dust_describe(ad_dust_call_t *call,
                             const ad_http_response_t *res, char *detail,
                             size_t detail_len) {
  detail[0] = '\0';
  call->type[0] = '\0';
  if (res->error != 0) {
    snprintf(call->msg, sizeof(call->msg), "%s: %s%s%s", call->what,
             ad_strerror(res->error), res->error_msg[0] ? ": " : "",
             res->error_msg);
    return;
  }
  ad_dust_error_parse(res->body, res->body_len, call->type, sizeof(call->type),
                      detail, detail_len);
  snprintf(call->msg, sizeof(call->msg), "%s: HTTP %ld%s%s%s%s", call->what,
           res->status, call->type[0] ? " " : "", call->type,
           detail[0] ? ": " : "", detail);
}

/* A 2xx answer must be a JSON object: anything else (an HTML page from a
 * proxy, a cut body) is not an acknowledgement. */
static int ad_dust_body_ok(const ad_http_response_t *res) {
  json_tokener *tok = json_tokener_new();
  json_object *obj;
  int ok;
  if (tok == NULL)
    return 0;
  obj = json_tokener_parse_ex(tok, res->body, (int)res->body_len);
  ok = obj != NULL && json_object_is_type(obj, json_type_object) &&
       json_tokener_get_error(tok) == json_tokener_success;
  json_object_put(obj);
  json_tokener_free(tok);
  return ok;
}

static void ad_dust_on_429(ad_dust_call_t *call,
                           const ad_http_response_t *res) {
  ad_dust_client_t *c = call->client;
  int64_t ms = ad_dust_backoff_ms(call, call->throttled, res->retry_after_s);
  c->stats->http429_dust++;
  if (call->key != NULL) /* the whole workspace's documents wait */
    ad_limiter_penalize(call->key, (uint64_t)ms * 1000);
  ad_dust_call_again(call, &call->throttled,
                     AD_DUST_429_FACTOR * (c->opts.max_retries + 1), 0,
                     res->status, ms);
}

static void ad_dust_on_500(ad_dust_call_t *call, const ad_http_response_t *res,
                           const char *detail) {
  if (strstr(detail, "names must be unique") != NULL) {
    ad_dust_call_end(call, AD_DUST_NAME_TAKEN, 0, 0, res->status);
  } else if (call->escalate_500) {
    call->escalate_500 = 0;
    ad_dust_call_end(call, AD_DUST_SERVER_500, 0, 0, res->status);
  } else {
    ad_dust_call_retry(
        call, 0, res->status,
        ad_dust_backoff_ms(call, call->attempts, res->retry_after_s));
  }
}

static void ad_dust_on_response(ad_http_req_t *req,
                                const ad_http_response_t *res, void *data) {
  ad_dust_call_t *call = data;
  ad_dust_client_t *c = call->client;
  char detail[256];
  ad_dust_class_t cls;

  (void)req;
  call->hreq = NULL;
  if (call->state != AD_DUST_HTTP) /* canceled */
    return;
  c->stats->requests_dust++;
  c->stats->bytes_sent += res->bytes_sent;
  c->stats->bytes_received += res->bytes_received;
  ad_dust_describe(call, res, detail, sizeof(detail));
  if (res->error != 0) {
    if (ad_http_error_transient(res->error))
      ad_dust_call_retry(call, res->error, 0,
                         ad_dust_backoff_ms(call, call->attempts, -1));
    else
      ad_dust_call_end(call, AD_DUST_FAILED, 0, res->error, 0);
    return;
  }
  cls = ad_dust_classify(res->status, call->type);
  switch (cls) {
  case AD_DUST_C_OK:
    if (ad_dust_body_ok(res)) {
      ad_dust_call_end(call, AD_DUST_DONE, 0, 0, res->status);
      return;
    }
    snprintf(call->msg, sizeof(call->msg),
             "%s: malformed answer (HTTP %ld): not a JSON object", call->what,
             res->status);
    /* fall through */
  case AD_DUST_C_RETRY:
    ad_dust_call_retry(
        call, 0, res->status,
        ad_dust_backoff_ms(call, call->attempts, res->retry_after_s));
    return;
  case AD_DUST_C_429:
    ad_dust_on_429(call, res);
    return;
  case AD_DUST_C_500:
    ad_dust_on_500(call, res, detail);
    return;
  case AD_DUST_C_TOO_BIG:
    ad_dust_call_end(call, AD_DUST_TOO_BIG, 0, 0, res->status);
    return;
  case AD_DUST_C_FAIL:
  case AD_DUST_C_FATAL:
    ad_dust_call_end(call, AD_DUST_FAILED, cls == AD_DUST_C_FATAL, 0,
                     res->status);
    return;
  }
}

/* ---- the request's way out ---------------------------------------------- */

/* Hands the request to curl; returns what ad_http_send refused with. */
static int ad_dust_http_send(ad_dust_call_t *call) {
  ad_dust_client_t *c = call->client;
  ad_http_request_t rq;

  memset(&rq, 0, sizeof(rq));
  rq.method = call->body != NULL ? "POST" : "GET";
  rq.url = call->url.data;
  rq.headers = c->headers;
  rq.body = call->body;
  rq.body_len = call->body_len;
  call->state = AD_DUST_HTTP;
  return ad_http_send(c->http, &rq, ad_dust_on_response, call, &call->hreq);
}

/* Through the limiter when the call has a key, straight out otherwise.
 * Returns what was refused; no callback has run then. */
static int ad_dust_call_go(ad_dust_call_t *call) {
  int rc;
  if (call->key == NULL)
    return ad_dust_http_send(call);
  if ((rc = ad_limiter_try_acquire(call->key, &call->lreq)) != 0)
    return rc < 0 ? rc : ad_dust_http_send(call);
  call->state = AD_DUST_GRANT;
  return ad_limiter_acquire(call->key, &call->lreq, ad_dust_on_grant, call);
}

/* The limiter or the HTTP client refused the call. A shared budget that
 * gave up (Redis gone) stops the run: nothing may go out past it. */
static void ad_dust_call_refused(ad_dust_call_t *call, int rc) {
  if (rc == AD_EBUDGET)
    snprintf(call->msg, sizeof(call->msg), "%s: %s", call->what,
             ad_limiter_error(call->key->limiter));
  else
    snprintf(call->msg, sizeof(call->msg), "%s: %s", call->what,
             ad_strerror(rc));
  ad_dust_call_end(call, AD_DUST_FAILED, rc == AD_EBUDGET, rc, 0);
}

static void ad_dust_on_grant(ad_limiter_req_t *req, int status, void *data) {
  ad_dust_call_t *call = data;
  int rc;
  (void)req;
  if (call->state != AD_DUST_GRANT)
    return;
  rc = status != 0 ? status : ad_dust_http_send(call);
  if (rc != 0)
    ad_dust_call_refused(call, rc);
}

static void ad_dust_call_send(ad_dust_call_t *call) {
  int rc = ad_dust_call_go(call);
  if (rc != 0)
    ad_dust_call_refused(call, rc);
}

int ad_dust_call_start(ad_dust_call_t *call, ad_limiter_key_t *key,
                       const char *body, size_t body_len, ad_dust_call_cb cb) {
  int rc;
  if (call->state != AD_DUST_IDLE || cb == NULL || call->url.len == 0)
    return AD_EINVAL;
  call->key = key;
  call->body = body;
  call->body_len = body_len;
  call->cb = cb;
  call->attempts = 0;
  call->throttled = 0;
  call->msg[0] = '\0';
  rc = ad_dust_call_go(call);
  if (rc != 0)
    call->state = AD_DUST_IDLE;
  return rc;
}

void ad_dust_call_cancel(ad_dust_call_t *call) {
  int state = call->state;
  call->state = AD_DUST_IDLE;
  if (state == AD_DUST_GRANT)
    ad_limiter_cancel(&call->lreq);
  else if (state == AD_DUST_HTTP && call->hreq != NULL)
    ad_http_cancel(call->hreq);
  else if (state == AD_DUST_WAIT)
    ad_timers_cancel(&call->retry);
  call->hreq = NULL;
}
