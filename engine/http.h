/* ad_http: asynchronous HTTP requests on a caller's libuv loop.
 *
 * One curl multi handle per client, driven by curl's socket-action API with
 * uv_poll_t and one uv_timer_t; no threads, no polling loop. Connections are
 * kept alive and reused, and HTTP/2 is negotiated over TLS where offered.
 *
 * Requests above max_inflight wait in the client's own FIFO, not inside
 * curl, so that a request's timeout only starts once it is really sent. */
#ifndef AD_HTTP_H
#define AD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "list.h"

typedef struct ad_http ad_http_t;
typedef struct ad_http_req ad_http_req_t;

typedef struct ad_http_opts {
  long max_connections;      /* open connections in all; default 64 */
  long max_per_host;         /* per host; 0 = only the total applies */
  long max_inflight;         /* requests handed to curl; 0 = max_connections */
  long connect_timeout_ms;   /* default 10 000 */
  long timeout_ms;           /* whole request; default 60 000 */
  size_t max_response_bytes; /* larger bodies fail with AD_ETOOBIG; 64 MiB */
  int disable_http2;         /* 1: HTTP/1.1 only */
} ad_http_opts_t;

typedef struct ad_http_request {
  const char *method;          /* "GET", "POST", ...; copied */
  const char *url;             /* copied */
  const char *const *headers;  /* "Name: value", NULL-terminated; copied */
  const char *body;            /* NOT copied: valid until the callback */
  size_t body_len;
  long connect_timeout_ms;     /* 0 = the client's */
  long timeout_ms;             /* 0 = the client's */
  /* May be NULL. Called once, right after the request was written (its
   * bytes handed to the kernel), possibly before ad_http_send returns and
   * possibly from inside libcurl (it must not call ad_http or curl): when
   * a rate limit should count the request as sent. Never before the
   * write, so a pause of the process cannot make the stamp early. The
   * completion callback, in contrast, never runs inside ad_http_send. */
  void (*on_wire)(void *data);
  void *wire_data;
} ad_http_request_t;

typedef struct ad_http_response {
  int error;             /* 0, or an AD_E* code for a transport failure */
  const char *error_msg; /* detail for error != 0, "" otherwise */
  long status;           /* HTTP status; 0 when no response was received */
  const char *body;      /* NUL-terminated; valid only during the callback */
  size_t body_len;
  long retry_after_s;    /* the Retry-After header in seconds, -1 if absent */
  uint64_t bytes_sent;   /* request bytes put on the wire (headers + body) */
  uint64_t bytes_received;
} ad_http_response_t;

/* Called exactly once per request that ad_http_send accepted: on completion,
 * on transport failure, or with error AD_ECANCELED when canceled or when the
 * client closes. The request handle is invalid once the callback returns. */
typedef void (*ad_http_cb)(ad_http_req_t *req, const ad_http_response_t *res,
                           void *data);
typedef void (*ad_http_close_cb)(ad_http_t *http);

struct ad_http {
  void *data; /* the caller's */
  /* Counters, readable at any time. */
  uint64_t requests_done;
  uint64_t bytes_sent;
  uint64_t bytes_received;
  long inflight;      /* handed to curl now */
  long peak_inflight; /* most handed to curl at once */
  uint64_t connections_opened; /* sockets curl opened */
  uint64_t poll_updates;       /* uv_poll starts and stops */
  /* Private. */
  uv_loop_t *loop;
  void *multi;
  uv_timer_t timer;
  uv_check_t handover; /* hands over what ended outside the poll phase */
  uv_idle_t no_block;  /* active with handover: that poll must not block */
  ad_http_opts_t opts;
  ad_list_t pending;  /* waiting for an in-flight slot, FIFO */
  ad_list_t active;   /* handed to curl */
  ad_list_t sockets;  /* one uv_poll_t per socket curl watches */
  ad_list_t wired;    /* written, on_wire not yet run */
  struct ad_http_sock **by_fd; /* the same, by fd */
  size_t nby_fd;
  int open_handles;   /* uv handles not yet closed */
  int depth;          /* > 0 while draining curl's messages */
  int closing;
  ad_http_close_cb close_cb;
};

/* Whether a transport failure (res->error) is worth retrying: timeouts,
 * resets, refused connections, DNS and other transport errors are; TLS
 * failures, oversized bodies and cancellation are not. */
int ad_http_error_transient(int error);

/* "Authorization: Bearer <key>", malloc'd, for a request's headers; NULL
 * on ENOMEM. ad_http_bearer_free scrubs the key before freeing, so it does
 * not linger in reused memory. */
char *ad_http_bearer(const char *key);
void ad_http_bearer_free(char *header);

/* Fills opts with the defaults above. */
void ad_http_opts_default(ad_http_opts_t *opts);

/* opts may be NULL for the defaults. Returns AD_ENOMEM or AD_EINVAL. */
int ad_http_init(ad_http_t *http, uv_loop_t *loop, const ad_http_opts_t *opts);

/* Queues a request. On success *out (if not NULL) receives a handle usable
 * with ad_http_cancel until cb runs. Returns AD_EINVAL, AD_ENOMEM or
 * AD_ECLOSING (cb is then never called). */
int ad_http_send(ad_http_t *http, const ad_http_request_t *rq, ad_http_cb cb,
                 void *data, ad_http_req_t **out);

/* Only inside req's callback: the response body (res->body), now the
 * caller's to free(). It stays where res->body points, NUL-terminated;
 * taking it saves a copy of a large answer handed elsewhere. */
char *ad_http_take_body(ad_http_req_t *req, size_t *len);

/* Cancels a request: its callback runs with AD_ECANCELED before this
 * function returns. */
void ad_http_cancel(ad_http_req_t *req);

/* Cancels every request (their callbacks run with AD_ECANCELED), then closes
 * every uv handle; close_cb (may be NULL) runs once all are closed, after
 * which the memory of http may be freed. */
void ad_http_close(ad_http_t *http, ad_http_close_cb close_cb);

#endif
