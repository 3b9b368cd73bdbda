/* ad_apicall: one rate-limited, retrying call to a JSON API, the skeleton
 * the Airtable and Dust clients share. What differs between APIs (which
 * answers mean what, whom a 429 pauses, what counts as a good body) is
 * handed in as data and hooks; the way a call goes is the same:
 *
 *   idle → grant → http → idle        done (ok) or failed (fail)
 *                   http → wait → grant → http …     retry, after backoff
 *                   http → grant → http …            penalty, re-queued
 *
 * "grant" is the wait for the limiter key (none: straight to "http", and
 * straight there too when the limiter grants on the spot); "wait" is a
 * backoff on the timers. One function moves a call between states and
 * logs each move at debug level, naming the call and both states
 * ("records of appX/tblY: grant → http").
 *
 * An answer is classified into ad_apicall_class_t:
 *   transport failure  RETRY when ad_http_error_transient, else FAIL
 *   2xx                OK: on_ok parses it, and may ask for a retry
 *   a rule's status (and error type, when the rule names one)
 *                      the rule's class, and its outcome code
 *   other 5xx          RETRY
 *   anything else      FAIL
 * then the API's classify hook, when it has one, sees the answer and that
 * verdict and may change it (what a table cannot express).
 *   RETRY    again after capped exponential backoff with full jitter, and
 *            never before Retry-After; max_retries of them, then FAIL
 *   PENALTY  a 429: on_penalty pauses whom it decides and says how long
 *            the call itself waits (0: it queues for a grant at once);
 *            max_penalties of them, or counted as retries
 *   FAIL, FATAL
 *            on_fail, once; FATAL sets failure.fatal: the run must stop
 * The shared budget lost for good (AD_EBUDGET) is FATAL, from the loop,
 * even when the call is started after it was lost: every caller then
 * stops the run the same way.
 *
 * Started calls end in on_ok (returning 0) or on_fail, exactly once; a
 * canceled call ends in neither, and a start that returns an error never
 * calls either. Both callbacks run with the call idle and may free it or
 * start it again. Nothing is logged but the debug lines: the owner knows
 * whether a failure fails a table or the run. */
#ifndef AD_APICALL_H
#define AD_APICALL_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "buf.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "timers.h"

typedef struct ad_apicall_api ad_apicall_api_t;
typedef struct ad_apicall ad_apicall_t;

typedef enum {
  AD_APICALL_IDLE = 0,
  AD_APICALL_GRANT, /* queued on its limiter key */
  AD_APICALL_HTTP,  /* handed to the HTTP client */
  AD_APICALL_WAIT   /* on the timers: a backoff, or a failure to report */
} ad_apicall_state_t;

typedef enum {
  AD_APICALL_OK = 0,
  AD_APICALL_RETRY,
  AD_APICALL_PENALTY,
  AD_APICALL_FAIL,
  AD_APICALL_FATAL
} ad_apicall_class_t;

/* An answer with a fixed meaning. */
typedef struct ad_apicall_rule {
  long status;
  const char *type;       /* the API's error type; NULL: any */
  ad_apicall_class_t cls;
  int outcome;            /* the API's own code for it, 0 for none */
} ad_apicall_rule_t;

/* What an answer means: a class, and for FAIL / FATAL the API's code
 * passed on in the failure. */
typedef struct ad_apicall_verdict {
  ad_apicall_class_t cls;
  int outcome;
} ad_apicall_verdict_t;

typedef struct ad_apicall_failure {
  int error;           /* AD_E* (transport, limiter, AD_EPARSE), else 0 */
  long status;         /* the last HTTP status, 0 if none */
  const char *type;    /* the last answer's error type, "" if none */
  int fatal;           /* the whole run must stop */
  int outcome;         /* the verdict's code; 0 for retries spent */
  const char *message; /* one line naming the call and what failed */
} ad_apicall_failure_t;

/* A 2xx answer. Returns 0 when the call is done (the call is idle and may
 * be gone), or AD_EPARSE with a reason in err to have the request retried
 * as malformed. body is NUL-terminated; see ad_apicall_take_body. */
typedef int (*ad_apicall_ok_cb)(ad_apicall_t *call, const char *body,
                                size_t len, char *err, size_t errlen,
                                void *data);
typedef void (*ad_apicall_fail_cb)(ad_apicall_t *call,
                                   const ad_apicall_failure_t *f, void *data);

/* The API's hooks; data is the API's (opts.data). classify runs for every
 * answer after the table and may change v, and rewrite call->msg (the
 * message a failure will carry). on_penalty pauses whom the API decides
 * and returns the milliseconds the call waits before it queues for a
 * grant again (0: at once); it runs before the penalty is counted. */
typedef void (*ad_apicall_classify_cb)(ad_apicall_t *call,
                                       const ad_http_response_t *res,
                                       ad_apicall_verdict_t *v, void *data);
typedef uint64_t (*ad_apicall_penalty_cb)(ad_apicall_t *call,
                                          const ad_http_response_t *res,
                                          void *data);
/* Reads an error answer's type and message (both "" when it has none). */
typedef void (*ad_apicall_error_parse_fn)(const char *body, size_t len,
                                          char *type, size_t typelen,
                                          char *msg, size_t msglen);

/* Where the calls count; each may be NULL. Pointers into the owner's
 * counters (its stats), which it reads at any time. */
typedef struct ad_apicall_counts {
  uint64_t *requests;   /* answers, transport failures included */
  uint64_t *retries;    /* tries again, after a failure or a penalty */
  uint64_t *penalties;  /* answers classed PENALTY */
  uint64_t *bytes_sent;
  uint64_t *bytes_received;
} ad_apicall_counts_t;

typedef struct ad_apicall_opts {
  const char *name;    /* the log component, e.g. "airtable"; static */
  const char *api_key; /* copied into the Authorization header */
  int max_retries;     /* RETRYs after the first try */
  int max_penalties;   /* PENALTYs besides; < 0: each counts as a RETRY */
  uint64_t backoff_base_ms; /* the first retry's delay ceiling; 0 = 500 */
  uint64_t backoff_cap_ms;  /* no ceiling past this; 0 = 30 000 */
  uint64_t seed;            /* jitter; 0 = a fixed one */
  /* Shared with the owner, who keeps them alive. */
  ad_http_t *http;
  ad_timers_t *timers;
  ad_log_t *log; /* may be NULL */
  /* The API's rules, borrowed (static tables): first match wins. */
  const ad_apicall_rule_t *rules;
  size_t nrules;
  ad_apicall_error_parse_fn error_parse; /* NULL: no type, no detail */
  ad_apicall_classify_cb classify;       /* may be NULL */
  ad_apicall_penalty_cb on_penalty;      /* NULL: re-queue at once */
  void *data;
  ad_apicall_counts_t counts;
} ad_apicall_opts_t;

struct ad_apicall_api {
  /* Counter, readable at any time: requests that went on the wire while
   * a key of their chain was at its limit (the safety margin was put to
   * the test). */
  uint64_t at_limit;
  /* Private. */
  ad_apicall_opts_t o;
  char *auth;
  const char *headers[3];
  ad_backoff_t backoff;
  uint64_t rng;
};

struct ad_apicall {
  void *data;       /* the owner's, for on_ok and on_fail */
  const char *what; /* names the call in messages; borrowed */
  ad_buf_t url;     /* filled by the owner before each start */
  /* "DELETE", or NULL: a POST when there is a body, else a GET; static,
   * set by the owner before a start. */
  const char *method;
  /* Readable, by hooks and callbacks. */
  ad_apicall_api_t *api;
  int state;                /* ad_apicall_state_t */
  ad_limiter_key_t *key;    /* NULL: not rate limited */
  ad_limiter_req_t lreq;    /* the last grant (with a key) */
  int retries, penalties;   /* counted since the start */
  long status;              /* the last answer's, 0 if none */
  char type[64];            /* its error type, "" if none */
  char detail[256];         /* its error message, "" if none */
  char msg[512];            /* "what: what went wrong" */
  /* Private. */
  const char *body;
  size_t body_len;
  ad_http_req_t *hreq;
  ad_http_req_t *answer; /* whose 2xx on_ok reads, only while it does */
  ad_timers_entry_t timer;
  ad_apicall_ok_cb on_ok;
  ad_apicall_fail_cb on_fail;
};

/* Returns AD_EINVAL (no key, no HTTP client or timers, negative retries)
 * or AD_ENOMEM. */
int ad_apicall_api_init(ad_apicall_api_t *api, const ad_apicall_opts_t *o);

/* Frees the headers (the key is scrubbed); every call must be idle. */
void ad_apicall_api_close(ad_apicall_api_t *api);

void ad_apicall_init(ad_apicall_t *call, ad_apicall_api_t *api);

/* Frees the URL; the call must be idle. */
void ad_apicall_free(ad_apicall_t *call);

/* Sends the call's URL: a POST of body (borrowed: unchanged until the
 * call ends), or a GET when body is NULL; first taking a grant from key
 * when key is not NULL. The call must be idle and the callbacks set.
 * Returns AD_EINVAL (an empty URL), AD_ECLOSING or what the HTTP client
 * or the limiter refused; no callback runs then. */
int ad_apicall_start(ad_apicall_t *call, ad_limiter_key_t *key,
                     const char *body, size_t body_len, ad_apicall_ok_cb ok,
                     ad_apicall_fail_cb fail);

/* Stops a call wherever it is; no callback runs. */
void ad_apicall_cancel(ad_apicall_t *call);

static inline int ad_apicall_busy(const ad_apicall_t *call) {
  return call->state != AD_APICALL_IDLE;
}

/* Only inside on_ok: the body it was given, now the caller's to free()
 * (NUL-terminated, at the same address); NULL on ENOMEM. For a body
 * parsed later, without a copy. */
char *ad_apicall_take_body(ad_apicall_t *call, size_t *len);

/* The 2xx body on_ok took to parse later (it returned 0) turned out
 * malformed: the request is retried as if on_ok had returned AD_EPARSE
 * with err, and on_fail runs once the retries are spent. The call must be
 * idle. */
void ad_apicall_malformed(ad_apicall_t *call, const char *err);

/* The wait before retry number `attempt` (1 = first) on the API's
 * backoff, at least Retry-After (seconds, -1 none): for on_penalty. */
uint64_t ad_apicall_backoff_ms(ad_apicall_t *call, int attempt,
                               long retry_after_s);

/* "idle", "grant", "http", "wait". */
const char *ad_apicall_state_name(int state);

#endif
