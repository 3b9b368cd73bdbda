/* ad_at_client: Airtable requests through the rate limiter, with the
 * retry policy of design.md section 2.
 *
 * A call is an engine call (apicall.h) on the client's API: it waits for
 * a grant from its limiter key (a base's key, whose parent is the
 * token's, or the token's own for /v0/meta/bases), is handed to curl, and
 * its answer is classified:
 *   2xx            the ok callback parses it; a parse failure is retried
 *   429            the offender is penalized for max(backoff_on_429_s,
 *                  Retry-After), then the call waits for a grant again:
 *                  the base, unless the grant shows the token was at its
 *                  limit and the base was not, or another base's refusal
 *                  was already known when this one was granted (then the
 *                  token). A 429 at the limit widens the safety margin
 *                  (margin.h). It counts as a retry.
 *   5xx, timeouts, resets, refused connections
 *                  retried after capped exponential backoff with jitter,
 *                  at least Retry-After when the server sends one
 *   401, 429 PUBLIC_API_BILLING_LIMIT_EXCEEDED
 *                  fatal: the run cannot go on
 *   other 4xx      not retried
 * A call that is not ok ends in its fail callback, once, unlogged: the
 * owner knows whether it fails a table or the run. A canceled call ends
 * in neither. Both callbacks may free the call's memory. */
#ifndef AD_AT_CLIENT_H
#define AD_AT_CLIENT_H

#include <assert.h>
#include <stdint.h>

#include "apicall.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "margin.h"
#include "timers.h"

typedef struct ad_at_client ad_at_client_t;

/* An Airtable call is an engine call on the client's API; its data and
 * what are the owner's to set. */
typedef ad_apicall_t ad_at_call_t;
/* error, status, type (Airtable's error type, "" if none), fatal and
 * message (one line naming what failed and why). */
typedef ad_apicall_failure_t ad_at_failure_t;
/* Parses a 2xx body. Returns 0 when the call is done, or AD_EPARSE (with
 * a message in err) to have the request retried. */
typedef ad_apicall_ok_cb ad_at_ok_cb;
typedef ad_apicall_fail_cb ad_at_fail_cb;

typedef struct ad_at_client_opts {
  const char *api_key;      /* copied into the Authorization header */
  double backoff_on_429_s;  /* the least penalty after a 429 */
  int max_retries;          /* retries after the first try */
  uint64_t backoff_base_ms; /* first retry delay ceiling; default 500 */
  uint64_t backoff_cap_ms;  /* default 30 000 */
  uint64_t seed;            /* jitter */
  /* Shared with the caller, who keeps them alive. */
  ad_http_t *http;
  ad_timers_t *timers;
  ad_apicall_counts_t counts; /* where its calls count; each may be NULL */
  ad_log_t *log; /* may be NULL */
  ad_limiter_key_t *token_key;
  ad_margin_t *margin; /* may be NULL: the margin never widens */
  /* Called after the margin widened: the keys' windows must follow. */
  void (*on_margin)(ad_at_client_t *c, void *data);
  void *margin_data;
} ad_at_client_opts_t;

struct ad_at_client {
  /* The calls' API. Readable: api.at_limit, the requests sent while a key
   * of theirs was at its limit (the margin was put to the test). */
  ad_apicall_api_t api;
  /* Private. */
  ad_at_client_opts_t opts;
  uint64_t last_429_us;                 /* on the limiter's clock */
  const ad_limiter_key_t *last_429_key; /* to tell a token-wide 429 */
  uint64_t last_widen_us;               /* one widening per penalty */
};

/* Returns AD_EINVAL or AD_ENOMEM. */
int ad_at_client_init(ad_at_client_t *client, const ad_at_client_opts_t *o);
void ad_at_client_close(ad_at_client_t *client);

void ad_at_call_init(ad_at_call_t *call, ad_at_client_t *client);

/* Frees the call's URL; the call must be idle (done or canceled). */
static inline void ad_at_call_free(ad_at_call_t *call) {
  ad_apicall_free(call);
}

/* The URL to fill before ad_at_call_start. */
static inline ad_buf_t *ad_at_call_url(ad_at_call_t *call) {
  return &call->url;
}

/* Starts the request built in the call's URL, taking from key: a POST of
 * the JSON body (borrowed: unchanged until a callback runs), a GET when
 * body is NULL. The call must be idle. Returns AD_ECLOSING or AD_EINVAL
 * (no callback). */
static inline int ad_at_call_start(ad_at_call_t *call, ad_limiter_key_t *key,
                                   const char *body, size_t body_len,
                                   ad_at_ok_cb ok, ad_at_fail_cb fail) {
  assert(key != NULL); /* every Airtable request is rate limited */
  return ad_apicall_start(call, key, body, body_len, ok, fail);
}

/* Only inside the ok callback: the body it was given, now the caller's to
 * free() (NUL-terminated, at the same address); NULL on ENOMEM. For a
 * callback that parses it later, without a copy. */
static inline char *ad_at_call_take_body(ad_at_call_t *call, size_t *len) {
  return ad_apicall_take_body(call, len);
}

/* The 2xx body an ok callback took to parse later (it returned 0) turned
 * out malformed: the request is retried as if ok had returned AD_EPARSE
 * with err, and fail runs once the retries are spent. The call must be
 * idle. */
static inline void ad_at_call_malformed(ad_at_call_t *call, const char *err) {
  ad_apicall_malformed(call, err);
}

/* Stops a call wherever it is, without a callback. */
static inline void ad_at_call_cancel(ad_at_call_t *call) {
  ad_apicall_cancel(call);
}

static inline int ad_at_call_busy(const ad_at_call_t *call) {
  return ad_apicall_busy(call);
}

#endif
