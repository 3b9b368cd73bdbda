/* ad_dust_client: Dust requests with the retry policy of design.md
 * section 2 and dust-api.md section 3.
 *
 * A call is an engine call (apicall.h) on the client's API: it optionally
 * waits for a grant from a limiter key (documents share one per
 * workspace), is handed to curl, and its answer is classified:
 *   2xx with a JSON object      done
 *   5xx, timeouts, resets, refused connections, a malformed 2xx
 *                               retried after capped exponential backoff
 *                               with jitter, at least Retry-After, up to
 *                               max_retries times
 *   429                         the same, but counted apart and allowed
 *                               AD_DUST_429_FACTOR times as often: it
 *                               says "later", not "broken"; it also
 *                               pauses the call's limiter key
 *   413                         AD_DUST_TOO_BIG: the caller splits
 *   500 "names must be unique"  AD_DUST_NAME_TAKEN: the caller renames
 *   500 with escalate_500 set   AD_DUST_SERVER_500, once: the caller
 *                               re-upserts the table, then restarts
 *   401; 403 on the data source or workspace; 404 workspace, space or
 *   data source not found       fatal: nothing more can be written; a
 *                               401 says which kind of key was refused
 *                               (a workspace key or an OAuth token)
 *   404 to a DELETE             AD_DUST_GONE (what it deletes is gone)
 *   other 4xx                   failed, with the server's message
 * A failed call is not logged here: the sink reports it to the engine,
 * which logs and counts it once, under the plugin's name. The callback
 * runs once per started call, never for a canceled one, and may
 * free the call's memory or start it again. */
#ifndef AD_DUST_CLIENT_H
#define AD_DUST_CLIENT_H

#include <stdint.h>

#include "apicall.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "timers.h"

/* 429s a call may meet, per max_retries + 1. */
#define AD_DUST_429_FACTOR 10

typedef struct ad_dust_client ad_dust_client_t;
typedef struct ad_dust_call ad_dust_call_t;

typedef enum {
  AD_DUST_DONE = 0,
  AD_DUST_TOO_BIG,     /* 413: the body is over Dust's limit */
  AD_DUST_NAME_TAKEN,  /* a table upsert's name belongs to another table */
  AD_DUST_SERVER_500,  /* a 500 the caller asked to see (escalate_500) */
  AD_DUST_FAILED,      /* not retried, or retries spent */
  AD_DUST_GONE         /* a DELETE's 404 for the thing itself (its table,
                          row or document): it is already gone */
} ad_dust_outcome_t;

typedef struct ad_dust_result {
  int outcome;         /* ad_dust_outcome_t */
  int fatal;           /* AD_DUST_FAILED only: the whole run must stop */
  int error;           /* AD_E* for a transport failure, else 0 */
  long status;         /* last HTTP status, 0 if none */
  const char *message; /* one line naming the call and what went wrong */
  /* AD_DUST_DONE: the answer (NUL-terminated; empty for a DELETE that
   * answered nothing), borrowed for the callback. */
  const char *body;
  size_t body_len;
} ad_dust_result_t;

typedef void (*ad_dust_call_cb)(ad_dust_call_t *call,
                                const ad_dust_result_t *result, void *data);

typedef struct ad_dust_client_opts {
  /* Copied into the Authorization header: a workspace API key (sk-…) or
   * an OAuth access token. */
  const char *api_key;
  int max_retries;          /* retries after the first try */
  uint64_t backoff_base_ms; /* first retry delay ceiling; default 1 000 */
  uint64_t backoff_cap_ms;  /* default 60 000 */
  uint64_t seed;            /* jitter */
  /* Shared with the caller, who keeps them alive. */
  ad_http_t *http;
  ad_timers_t *timers;
  ad_apicall_counts_t counts; /* where its calls count; each may be NULL */
  ad_log_t *log; /* may be NULL */
} ad_dust_client_opts_t;

struct ad_dust_client {
  /* Private. */
  ad_apicall_api_t api;
  const char *key_kind; /* what a 401 refused, never the key itself */
};

struct ad_dust_call {
  void *data;
  const char *what; /* names the call in messages; borrowed */
  int escalate_500; /* the next 500 ends the call as AD_DUST_SERVER_500 */
  /* Private. */
  ad_dust_client_t *client;
  ad_apicall_t call;
  ad_dust_call_cb cb;
};

/* Returns AD_EINVAL or AD_ENOMEM. */
int ad_dust_client_init(ad_dust_client_t *client,
                        const ad_dust_client_opts_t *opts);
void ad_dust_client_close(ad_dust_client_t *client);

void ad_dust_call_init(ad_dust_call_t *call, ad_dust_client_t *client);

/* Frees the URL buffer; the call must be idle. */
void ad_dust_call_free(ad_dust_call_t *call);

/* The URL to fill before ad_dust_call_start. */
static inline ad_buf_t *ad_dust_call_url(ad_dust_call_t *call) {
  return &call->call.url;
}

/* POSTs body (borrowed: it must stay unchanged until the callback) to the
 * call's URL, or GETs it when body is NULL, first taking from key when key
 * is not NULL. The call must be idle. Returns AD_EINVAL or AD_ECLOSING;
 * the callback then never runs. */
int ad_dust_call_start(ad_dust_call_t *call, ad_limiter_key_t *key,
                       const char *body, size_t body_len, ad_dust_call_cb cb);

/* DELETEs the call's URL. A 2xx with an empty body or a JSON object is
 * done; a 404 that is not about the workspace, space or data source ends
 * it as AD_DUST_GONE. Returns as ad_dust_call_start. */
int ad_dust_call_delete(ad_dust_call_t *call, ad_dust_call_cb cb);

/* Stops a call wherever it is, without a callback. */
void ad_dust_call_cancel(ad_dust_call_t *call);

#endif
