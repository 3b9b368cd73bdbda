#include "client.h"

#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "request.h"

/* Answers with a fixed meaning; other 5xx are retried, other 4xx fail
 * the call (apicall.h). The 500s that mean more are ad_dust_classify's. */
static const ad_apicall_rule_t ad_dust_rules[] = {
    {401, NULL, AD_APICALL_FATAL, 0},
    {403, "data_source_auth_error", AD_APICALL_FATAL, 0},
    {403, "workspace_can_use_product_required_error", AD_APICALL_FATAL, 0},
    {403, "workspace_quota_error", AD_APICALL_FATAL, 0},
    {404, "workspace_not_found", AD_APICALL_FATAL, 0},
    {404, "space_not_found", AD_APICALL_FATAL, 0},
    {404, "data_source_not_found", AD_APICALL_FATAL, 0},
    {413, NULL, AD_APICALL_FAIL, AD_DUST_TOO_BIG},
    {429, NULL, AD_APICALL_PENALTY, 0},
};

/* What the table cannot say: a 500 is a name clash when Dust's message
 * says so, the caller's when it asked for the next one, else retried;
 * and a 401 names the kind of key refused (never the key). */
static void ad_dust_classify(ad_apicall_t *ac, const ad_http_response_t *res,
                             ad_apicall_verdict_t *v, void *data) {
  ad_dust_client_t *c = data;
  ad_dust_call_t *call = ac->data;

  if (res->error != 0)
    return;
  if (res->status == 404 && ac->method != NULL && v->cls != AD_APICALL_FATAL) {
    v->cls = AD_APICALL_FAIL; /* the table's, the row's or the document's */
    v->outcome = AD_DUST_GONE;
  } else if (res->status == 401) {
    snprintf(ac->msg, sizeof(ac->msg), "%s: the Dust %s was refused (HTTP "
             "401%s%s%s%s)", ac->what, c->key_kind, ac->type[0] ? " " : "",
             ac->type, ac->detail[0] ? ": " : "", ac->detail);
  } else if (res->status == 500 &&
             strstr(ac->detail, "names must be unique") != NULL) {
    v->cls = AD_APICALL_FAIL;
    v->outcome = AD_DUST_NAME_TAKEN;
  } else if (res->status == 500 && call->escalate_500) {
    call->escalate_500 = 0;
    v->cls = AD_APICALL_FAIL;
    v->outcome = AD_DUST_SERVER_500;
  }
}

/* A 429: the call waits the backoff of its 429s so far (at least
 * Retry-After), and with a key, every call of the key waits with it (the
 * whole workspace's documents). */
static uint64_t ad_dust_on_penalty(ad_apicall_t *ac,
                                   const ad_http_response_t *res, void *data) {
  uint64_t ms = ad_apicall_backoff_ms(ac, ac->penalties + 1,
                                      res->retry_after_s);
  (void)data;
  if (ac->key != NULL)
    ad_limiter_penalize(ac->key, ms * 1000);
  return ms;
}

int ad_dust_client_init(ad_dust_client_t *c, const ad_dust_client_opts_t *o) {
  ad_apicall_opts_t ao;

  if (o->api_key == NULL || o->max_retries < 0)
    return AD_EINVAL;
  memset(c, 0, sizeof(*c));
  c->key_kind = strncmp(o->api_key, "sk-", 3) == 0 ? "workspace API key (sk-…)"
                                                   : "OAuth access token";
  memset(&ao, 0, sizeof(ao));
  ao.name = "dust";
  ao.api_key = o->api_key;
  ao.max_retries = o->max_retries;
  ao.max_penalties = AD_DUST_429_FACTOR * (o->max_retries + 1);
  ao.backoff_base_ms = o->backoff_base_ms ? o->backoff_base_ms : 1000;
  ao.backoff_cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 60000;
  ao.seed = o->seed ? o->seed : 0xD057C0DEull;
  ao.http = o->http;
  ao.timers = o->timers;
  ao.log = o->log;
  ao.rules = ad_dust_rules;
  ao.nrules = sizeof(ad_dust_rules) / sizeof(ad_dust_rules[0]);
  ao.error_parse = ad_dust_error_parse;
  ao.classify = ad_dust_classify;
  ao.on_penalty = ad_dust_on_penalty;
  ao.data = c;
  ao.counts = o->counts;
  return ad_apicall_api_init(&c->api, &ao);
}

void ad_dust_client_close(ad_dust_client_t *c) {
  ad_apicall_api_close(&c->api);
}

void ad_dust_call_init(ad_dust_call_t *call, ad_dust_client_t *client) {
  memset(call, 0, sizeof(*call));
  call->client = client;
  call->what = "Dust request";
  ad_apicall_init(&call->call, &client->api);
  call->call.data = call;
}

void ad_dust_call_free(ad_dust_call_t *call) { ad_apicall_free(&call->call); }

/* ---- outcomes ---------------------------------------------------------- */

static void ad_dust_call_end(ad_dust_call_t *call, int outcome, int fatal,
                             int error, long status, const char *message) {
  ad_dust_result_t r;
  memset(&r, 0, sizeof(r));
  r.outcome = outcome;
  r.fatal = fatal;
  r.error = error;
  r.status = status;
  r.message = message; /* the sink reports it, through the engine */
  call->cb(call, &r, call->data);
}

/* A 2xx answer must be a JSON object: anything else (an HTML page from a
 * proxy, a cut body) is not an acknowledgement. */
static int ad_dust_json_object(const char *body, size_t len) {
  json_tokener *tok = json_tokener_new();
  json_object *obj;
  int ok;
  if (tok == NULL)
    return 0;
  obj = json_tokener_parse_ex(tok, body, (int)len);
  ok = obj != NULL && json_object_is_type(obj, json_type_object) &&
       json_tokener_get_error(tok) == json_tokener_success;
  json_object_put(obj);
  json_tokener_free(tok);
  return ok;
}

static int ad_dust_on_ok(ad_apicall_t *ac, const char *body, size_t len,
                         char *err, size_t errlen, void *data) {
  ad_dust_call_t *call = data;
  ad_dust_result_t r;
  /* Dust's table DELETE answers an empty body; anything else must be an
   * object. */
  if (!(ac->method != NULL && len == 0) && !ad_dust_json_object(body, len)) {
    snprintf(err, errlen, "not a JSON object");
    return AD_EPARSE;
  }
  memset(&r, 0, sizeof(r));
  r.outcome = AD_DUST_DONE;
  r.status = ac->status;
  r.message = ac->msg;
  r.body = body;
  r.body_len = len;
  call->cb(call, &r, call->data);
  return 0;
}

static void ad_dust_on_fail(ad_apicall_t *ac, const ad_apicall_failure_t *f,
                            void *data) {
  (void)ac;
  ad_dust_call_end(data, f->outcome ? f->outcome : AD_DUST_FAILED, f->fatal,
                   f->error, f->status, f->message);
}

int ad_dust_call_start(ad_dust_call_t *call, ad_limiter_key_t *key,
                       const char *body, size_t body_len, ad_dust_call_cb cb) {
  if (cb == NULL)
    return AD_EINVAL;
  call->cb = cb;
  call->call.what = call->what;
  call->call.method = NULL;
  return ad_apicall_start(&call->call, key, body, body_len, ad_dust_on_ok,
                          ad_dust_on_fail);
}

int ad_dust_call_delete(ad_dust_call_t *call, ad_dust_call_cb cb) {
  if (cb == NULL)
    return AD_EINVAL;
  call->cb = cb;
  call->call.what = call->what;
  call->call.method = "DELETE";
  return ad_apicall_start(&call->call, NULL, NULL, 0, ad_dust_on_ok,
                          ad_dust_on_fail);
}

void ad_dust_call_cancel(ad_dust_call_t *call) {
  ad_apicall_cancel(&call->call);
}
