#include "client.h"

#include <string.h>

#include "api.h"
#include "error.h"

/* Answers with a fixed meaning; 5xx are retried, other 4xx fail the call
 * (apicall.h). */
static const ad_apicall_rule_t ad_at_rules[] = {
    {401, NULL, AD_APICALL_FATAL, 0},
    /* the monthly quota is spent: waiting does not help */
    {429, "PUBLIC_API_BILLING_LIMIT_EXCEEDED", AD_APICALL_FATAL, 0},
    {429, NULL, AD_APICALL_PENALTY, 0},
};

static uint64_t ad_at_on_penalty(ad_apicall_t *call,
                                 const ad_http_response_t *res, void *data);

int ad_at_client_init(ad_at_client_t *c, const ad_at_client_opts_t *o) {
  ad_apicall_opts_t ao;

  if (o->token_key == NULL)
    return AD_EINVAL;
  memset(c, 0, sizeof(*c));
  c->opts = *o;
  memset(&ao, 0, sizeof(ao));
  ao.name = "airtable";
  ao.api_key = o->api_key;
  ao.max_retries = o->max_retries;
  ao.max_penalties = -1; /* a 429 counts as a retry */
  ao.backoff_base_ms = o->backoff_base_ms ? o->backoff_base_ms : 500;
  ao.backoff_cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 30000;
  ao.seed = o->seed ? o->seed : 0x5EEDA1B7ull;
  ao.http = o->http;
  ao.timers = o->timers;
  ao.log = o->log;
  ao.rules = ad_at_rules;
  ao.nrules = sizeof(ad_at_rules) / sizeof(ad_at_rules[0]);
  ao.error_parse = ad_at_error_parse;
  ao.on_penalty = ad_at_on_penalty;
  ao.data = c;
  ao.counts = o->counts;
  c->opts.api_key = NULL; /* only the API's header keeps it */
  return ad_apicall_api_init(&c->api, &ao);
}

void ad_at_client_close(ad_at_client_t *c) { ad_apicall_api_close(&c->api); }

void ad_at_call_init(ad_at_call_t *call, ad_at_client_t *client) {
  ad_apicall_init(call, &client->api);
  call->what = "Airtable request";
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
static ad_limiter_key_t *ad_at_offender(ad_at_client_t *c, ad_apicall_t *call,
                                        uint64_t now_us, uint64_t penalty_us,
                                        int *at_limit) {
  ad_limiter_key_t *token = c->opts.token_key;
  int base_busy, token_busy;

  if (call->key == token || call->key->parent == NULL) {
    *at_limit = ad_limiter_req_binding(&call->lreq, 0);
    return call->key;
  }
  base_busy = ad_limiter_req_binding(&call->lreq, 0);
  token_busy = ad_limiter_req_binding(&call->lreq, 1);
  if (c->last_429_key != NULL && c->last_429_key != call->key &&
      now_us - c->last_429_us < penalty_us &&
      call->lreq.granted_at > c->last_429_us) {
    *at_limit = token_busy;
    return token;
  }
  if (token_busy && !base_busy) {
    *at_limit = 1;
    return token;
  }
  *at_limit = base_busy || token_busy;
  return call->key;
}

/* A 429: block the offender for the penalty; the call then waits for a
 * grant again, at once (the block holds it). */
static uint64_t ad_at_on_penalty(ad_apicall_t *call,
                                 const ad_http_response_t *res, void *data) {
  ad_at_client_t *c = data;
  ad_limiter_key_t *key;
  uint64_t now = ad_limiter_now(call->key->limiter);
  double ms = c->opts.backoff_on_429_s * 1000.0;
  char margin[96];
  int at_limit;

  if (res->retry_after_s >= 0 && (double)res->retry_after_s * 1000.0 > ms)
    ms = (double)res->retry_after_s * 1000.0;
  if (ms > (double)AD_GCRA_MAX_BLOCK_US / 1000.0) /* a date years ahead */
    ms = (double)AD_GCRA_MAX_BLOCK_US / 1000.0;
  key = ad_at_offender(c, call, now, (uint64_t)(ms * 1000.0), &at_limit);
  c->last_429_key = call->key;
  c->last_429_us = now;
  ad_limiter_penalize(key, (uint64_t)(ms * 1000.0));
  margin[0] = '\0';
  /* Requests already out when the first 429 came are refused too; the
   * margin widens once for them all: once per penalty, and at most once a
   * window when there is no penalty to wait out. */
  if (at_limit && c->opts.margin != NULL &&
      (c->last_widen_us == 0 ||
       now - c->last_widen_us >= (uint64_t)(ms * 1000.0) + 1000000)) {
    c->last_widen_us = now;
    snprintf(margin, sizeof(margin), "; safety margin now %.0f ms",
             (double)ad_margin_widen(c->opts.margin) / 1000.0);
    if (c->opts.on_margin != NULL)
      c->opts.on_margin(c, c->opts.margin_data);
  }
  if (c->opts.log != NULL)
    ad_log_warn(c->opts.log, "airtable", "%s: 429 %s; pausing %s for %.1f s%s%s",
                call->what,
                call->type[0] ? call->type : "RATE_LIMIT_REACHED",
                key == c->opts.token_key ? "every request of the token"
                                         : "this base",
                ms / 1000.0,
                at_limit ? "" : " (neither this base nor the token was near "
                                "its limit here: another client may share "
                                "them)",
                margin);
  return 0;
}
