/* ad_at_client: Airtable requests through the rate limiter, with the
 * retry policy of design.md section 2.
 *
 * A call waits for a grant from its limiter key (a base's key, whose
 * parent is the token's, or the token's own for /v0/meta/bases), is handed
 * to curl from the grant callback, and its answer is classified:
 *   2xx            the ok callback parses it; a parse failure is retried
 *   429            the offender is penalized for max(backoff_on_429_s,
 *                  Retry-After), then the call waits for a grant again:
 *                  the base, unless the grant shows the token was at its
 *                  limit and the base was not, or another base's refusal
 *                  was already known when this one was granted (then the
 *                  token). A 429 at the limit widens the safety margin
 *                  (margin.h).
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

#include <stdint.h>

#include "backoff.h"
#include "buf.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "margin.h"
#include "timers.h"
#include "stats.h"

typedef struct ad_at_client ad_at_client_t;
typedef struct ad_at_call ad_at_call_t;

typedef struct ad_at_failure {
  int error;           /* AD_E* for a transport failure, else 0 */
  long status;         /* last HTTP status, 0 if none */
  const char *type;    /* Airtable error type, "" if none */
  int fatal;           /* the whole run must stop */
  const char *message; /* one line naming what failed and why */
} ad_at_failure_t;

/* Parses a 2xx body. Returns 0 when the call is done, or AD_EPARSE (with a
 * message in err) to have the request retried. */
typedef int (*ad_at_ok_cb)(ad_at_call_t *call, const char *body, size_t len,
                           char *err, size_t errlen, void *data);
typedef void (*ad_at_fail_cb)(ad_at_call_t *call, const ad_at_failure_t *f,
                              void *data);

typedef struct ad_at_client_opts {
  const char *api_key;      /* copied into the Authorization header */
  double backoff_on_429_s;  /* the least penalty after a 429 */
  int max_retries;          /* retries after the first try */
  uint64_t backoff_base_ms; /* first retry delay ceiling; default 500 */
  uint64_t backoff_cap_ms;  /* default 30 000 */
  uint64_t seed;            /* jitter */
} ad_at_client_opts_t;

struct ad_at_client {
  /* Shared with the caller, who keeps them alive. */
  ad_http_t *http;
  ad_limiter_t *limiter;
  ad_timers_t *timers;
  ad_stats_t *stats;
  ad_log_t *log; /* may be NULL */
  ad_limiter_key_t *token_key;
  ad_margin_t *margin; /* may be NULL: the margin never widens */
  uint64_t at_limit;   /* requests sent while a key of theirs was at its
                          limit (the margin was put to the test) */
  /* Called after the margin widened: the keys' windows must follow. */
  void (*on_margin)(ad_at_client_t *c, void *data);
  void *margin_data;
  /* Private. */
  char *auth;
  const char *headers[3];
  ad_at_client_opts_t opts;
  ad_backoff_t backoff;
  uint64_t rng;
  uint64_t last_429_us;           /* on the limiter's clock */
  const ad_limiter_key_t *last_429_key; /* to tell a token-wide 429 */
  uint64_t last_widen_us;         /* one widening per penalty */
};

struct ad_at_call {
  void *data;
  const char *what; /* names the call in messages: borrowed, must outlive it */
  /* Private. */
  ad_at_client_t *client;
  ad_limiter_key_t *key;
  ad_limiter_req_t lreq;
  ad_http_req_t *hreq;
  ad_http_req_t *answer; /* whose 2xx ok is reading, only while it does */
  ad_timers_entry_t retry;
  ad_buf_t url, body;
  int attempts;
  int state;
  ad_at_ok_cb ok;
  ad_at_fail_cb fail;
  long status;
  char type[64];
  char msg[512];
};

/* Returns AD_EINVAL or AD_ENOMEM. The shared members must be set by the
 * caller before the first call starts. */
int ad_at_client_init(ad_at_client_t *client, const ad_at_client_opts_t *o);
void ad_at_client_close(ad_at_client_t *client);

void ad_at_call_init(ad_at_call_t *call, ad_at_client_t *client);

/* Frees the call's buffers; the call must be idle (done or canceled). */
void ad_at_call_free(ad_at_call_t *call);

/* The buffers to fill before ad_at_call_start: the URL, and a JSON body
 * for a POST (left empty: GET). */
static inline ad_buf_t *ad_at_call_url(ad_at_call_t *call) { return &call->url; }
static inline ad_buf_t *ad_at_call_body(ad_at_call_t *call) { return &call->body; }

/* Starts the request built in the call's buffers, taking from key. The
 * call must be idle. Returns AD_ECLOSING or AD_EINVAL (no callback). */
int ad_at_call_start(ad_at_call_t *call, ad_limiter_key_t *key,
                     ad_at_ok_cb ok, ad_at_fail_cb fail);

/* Only inside the ok callback: the body it was given, now the caller's
 * to free() (NUL-terminated, at the same address); NULL on ENOMEM. For a
 * callback that parses it later, without a copy. */
char *ad_at_call_take_body(ad_at_call_t *call, size_t *len);

/* The 2xx body an ok callback took to parse later (it returned 0) turned
 * out malformed: the request is retried as if ok had returned AD_EPARSE
 * with err, and fail runs once the retries are spent. The call must be
 * idle. */
void ad_at_call_malformed(ad_at_call_t *call, const char *err);

/* Stops a call wherever it is, without a callback. */
void ad_at_call_cancel(ad_at_call_t *call);

int ad_at_call_busy(const ad_at_call_t *call);

#endif
