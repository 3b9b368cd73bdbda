/* ad_limiter: keyed, hierarchical rate limiting on a libuv loop.
 *
 * A key is one bucket (see bucket.h) with a FIFO of waiting requests and an
 * optional parent key: a request queued on a key is granted only when its
 * key and every ancestor allow it (e.g. base -> token), and then takes from
 * all of them at once. Keys are served round-robin, one grant per visit, so
 * a key that is waiting (for its own bucket or a penalty) never delays
 * another key, and keys competing for a shared parent share it evenly.
 * Waiting is one uv_timer_t; nothing sleeps or spins.
 *
 * Grants are stamped with the time the callback runs: callers hand the
 * request to the network from inside the callback. */
#ifndef AD_LIMITER_H
#define AD_LIMITER_H

#include <stdint.h>

#include <uv.h>

#include "../engine/list.h"
#include "bucket.h"

typedef struct ad_limiter ad_limiter_t;
typedef struct ad_limiter_key ad_limiter_key_t;
typedef struct ad_limiter_req ad_limiter_req_t;

/* Microseconds on a monotonic clock. */
typedef uint64_t (*ad_clock_fn)(void *data);

/* status is 0 when granted, AD_ECANCELED when canceled or closed. */
typedef void (*ad_limiter_cb)(ad_limiter_req_t *req, int status, void *data);
typedef void (*ad_limiter_close_cb)(ad_limiter_t *limiter);

#define AD_LIMITER_MAX_DEPTH 4 /* a key and its ancestors */

struct ad_limiter_req { /* caller-allocated; untouched once cb has run */
  ad_list_t node;
  ad_limiter_key_t *key;
  ad_limiter_cb cb;
  void *data;
  uint64_t queued_at;
  /* Private: where the grant was recorded, for ad_limiter_sent. */
  uint64_t granted_at;
  int sent;
  uint32_t slots[AD_LIMITER_MAX_DEPTH];
};

struct ad_limiter_key { /* caller-allocated */
  void *data;
  /* Counters, readable at any time. */
  uint64_t grants;
  uint64_t waited_us;    /* summed over granted requests */
  uint64_t penalties;
  /* Private. */
  ad_bucket_t bucket;
  ad_limiter_key_t *parent;
  ad_limiter_t *limiter;
  ad_list_t waiting;     /* ad_limiter_req FIFO */
  ad_list_t ready_node;  /* in limiter->ring while waiting is non-empty */
  ad_list_t all_node;    /* in limiter->keys */
  uint64_t blocked_until;
};

struct ad_limiter {
  void *data;
  uint64_t grants;
  uint64_t waited_us;
  /* Summed over grants: from the moment the limits (and penalties) allowed
   * the request to the moment it went on the wire (ad_limiter_sent), or to
   * its grant without one. Timer granularity, a loop busy elsewhere, a
   * connection to open: when the limits bind, every such microsecond is
   * throughput lost. */
  uint64_t late_us;
  /* Private. */
  uv_loop_t *loop;
  uv_timer_t timer;
  ad_clock_fn clock;
  void *clock_data;
  ad_list_t ring; /* keys with waiting requests, in service order */
  ad_list_t keys;
  int in_tick;
  int closing;
  ad_limiter_close_cb close_cb;
};

/* clock may be NULL for uv_hrtime. */
int ad_limiter_init(ad_limiter_t *limiter, uv_loop_t *loop, ad_clock_fn clock,
                    void *clock_data);

/* Cancels every waiting request (callbacks get AD_ECANCELED) and closes the
 * timer; close_cb (may be NULL) runs when the memory may be freed. Keys must
 * still be closed with ad_limiter_key_close. */
void ad_limiter_close(ad_limiter_t *limiter, ad_limiter_close_cb close_cb);

/* At most `limit` grants in any `window_us`; parent may be NULL. Returns
 * AD_EINVAL or AD_ENOMEM. */
int ad_limiter_key_init(ad_limiter_t *limiter, ad_limiter_key_t *key,
                        uint32_t limit, uint64_t window_us,
                        ad_limiter_key_t *parent);

/* Cancels the key's waiting requests (AD_ECANCELED) and frees its bucket.
 * Children must be closed before their parent. */
void ad_limiter_key_close(ad_limiter_key_t *key);

/* Queues req on key; cb runs on grant. Returns AD_ECLOSING or AD_EINVAL
 * (cb is then never called). */
int ad_limiter_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req,
                       ad_limiter_cb cb, void *data);

/* Grants req at once when nothing waits anywhere and key and its
 * ancestors allow it now: returns 1, and no callback will run (the caller
 * sends at once, and may call ad_limiter_sent). Returns 0 when it would
 * have to wait (then ad_limiter_acquire), or AD_ECLOSING / AD_EINVAL.
 * Saves a loop turn per request while the limits do not bind. */
int ad_limiter_try_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req);

/* Removes a waiting request; its callback runs with AD_ECANCELED before
 * this returns. Does nothing for a request that is not waiting. */
void ad_limiter_cancel(ad_limiter_req_t *req);

/* The granted request went on the wire only now (a connection had to be
 * opened, the loop was busy): its grant counts from now in the key and
 * its ancestors, so what a server counts by arrival stays within the
 * limits. Touches only the buckets: safe from inside a libcurl callback.
 * Call at most once per grant, before the key is closed. */
void ad_limiter_sent(ad_limiter_req_t *req);

/* Grants nothing to this key or its descendants before now + delay_us
 * (a later block wins over an earlier one). */
void ad_limiter_penalize(ad_limiter_key_t *key, uint64_t delay_us);

/* Microseconds until this key (and its ancestors) could grant, or 0. */
uint64_t ad_limiter_key_wait(const ad_limiter_key_t *key, uint64_t now);

/* Grants whatever is grantable now and returns the microseconds until the
 * next grant may become possible (UINT64_MAX when nothing waits). The uv
 * timer calls this; tests with a fake clock call it directly. */
uint64_t ad_limiter_tick(ad_limiter_t *limiter);

uint64_t ad_limiter_now(const ad_limiter_t *limiter);

#endif
