/* ad_limiter: keyed, hierarchical rate limiting on a libuv loop.
 *
 * A key is one rate limit with a FIFO of waiting requests and an optional
 * parent key: a request queued on a key is granted only when its key and
 * every ancestor allow it (e.g. base -> token), and then takes from all of
 * them at once. Each key spaces its grants one period apart (GCRA,
 * gcra.h), so requests never leave in bursts. Keys are served
 * round-robin, one grant per visit, so a key that is waiting (for its own
 * limit or a penalty) never delays another key, and keys competing for a
 * shared parent share it evenly. Waiting is one uv_timer_t; nothing
 * sleeps or spins.
 *
 * Where the keys' state lives is the budget's business (budget.h): this
 * process, a file shared by the machine's processes, or Redis. A budget
 * that stops deciding for good (Redis lost past its grace) fails every
 * waiting request and every later acquire with its error.
 *
 * Grants are stamped with the time the callback runs; callers hand the
 * request to the network from inside the callback and report when it
 * really left with ad_limiter_sent. */
#ifndef AD_LIMITER_H
#define AD_LIMITER_H

#include <stdint.h>

#include <uv.h>

#include "budget.h"
#include "list.h"

typedef struct ad_limiter ad_limiter_t;
typedef struct ad_limiter_key ad_limiter_key_t;
typedef struct ad_limiter_req ad_limiter_req_t;

/* status is 0 when granted, AD_ECANCELED when canceled or closed, or the
 * budget's error when it stopped deciding (ad_limiter_error says why). */
typedef void (*ad_limiter_cb)(ad_limiter_req_t *req, int status, void *data);
typedef void (*ad_limiter_close_cb)(ad_limiter_t *limiter);

#define AD_LIMITER_MAX_DEPTH AD_BUDGET_MAX_CHAIN /* a key and its ancestors */

/* How far a grant may stray from its slot, early or late, and keep it:
 * libuv's timers have 1 ms steps and the loop may be busy for a few ms
 * (measured at 20 bases: 80 % of late grants were within 3 ms, and
 * keeping their slots recovers 0.17 s of a 16.7 s run). Twice this comes
 * off the safety margin in the worst case (a late grant, then N early
 * ones). */
#define AD_LIMITER_TOLERANCE_US 3000

struct ad_limiter_req { /* caller-allocated; untouched once cb has run */
  ad_list_t node;
  ad_limiter_key_t *key;
  ad_limiter_cb cb;
  void *data;
  uint64_t queued_at;
  /* Private: what the grant took, for ad_limiter_sent. */
  uint64_t granted_at;
  int sent;
  ad_budget_take_t take;
};

struct ad_limiter_key { /* caller-allocated */
  void *data;
  /* Counters, readable at any time. */
  uint64_t grants;
  uint64_t waited_us;    /* summed over granted requests */
  uint64_t penalties;
  /* Private. */
  ad_budget_key_t bk;
  double limit;
  uint64_t window_us;
  ad_limiter_key_t *parent;
  ad_limiter_t *limiter;
  ad_list_t waiting;     /* ad_limiter_req FIFO */
  ad_list_t ready_node;  /* in limiter->ring while waiting is non-empty */
  ad_list_t all_node;    /* in limiter->keys */
  uint64_t not_before;   /* the budget said to wait until then */
  int asking;            /* an asynchronous budget is deciding on take */
  ad_budget_take_t take;
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
  ad_budget_t *budget;
  ad_budget_t own_budget; /* when none is given */
  ad_list_t ring; /* keys with waiting requests, in service order */
  ad_list_t keys;
  int in_tick;
  int closing;
  int failed; /* the budget's fatal error, 0 while it decides */
  ad_limiter_close_cb close_cb;
};

/* budget (borrowed; it must outlive the limiter) may be NULL: a memory
 * budget on uv_hrtime. Tests pass a memory budget with their own clock. */
int ad_limiter_init(ad_limiter_t *limiter, uv_loop_t *loop,
                    ad_budget_t *budget);

/* Cancels every waiting request (callbacks get AD_ECANCELED) and closes the
 * timer; close_cb (may be NULL) runs when the memory may be freed. Keys must
 * still be closed with ad_limiter_key_close. */
void ad_limiter_close(ad_limiter_t *limiter, ad_limiter_close_cb close_cb);

/* At most `limit` grants per `window_us`, one every window_us / limit
 * (limit may be fractional: 4.5 per second). name (borrowed, may be NULL)
 * shares the key's budget with other processes (budget.h); parent may be
 * NULL. Returns AD_EINVAL for a limit or window of 0. */
int ad_limiter_key_init(ad_limiter_t *limiter, ad_limiter_key_t *key,
                        const char *name, double limit, uint64_t window_us,
                        ad_limiter_key_t *parent);

/* The same limit over a new window (a wider safety margin): grants from
 * now on are spaced window_us / limit apart. */
void ad_limiter_key_set_window(ad_limiter_key_t *key, uint64_t window_us);

/* Cancels the key's waiting requests (AD_ECANCELED). Children must be
 * closed before their parent. */
void ad_limiter_key_close(ad_limiter_key_t *key);

/* Queues req on key; cb runs on grant. Returns AD_ECLOSING, AD_EINVAL or
 * the budget's error (cb is then never called). */
int ad_limiter_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req,
                       ad_limiter_cb cb, void *data);

/* Grants req at once when nothing waits anywhere and key and its
 * ancestors allow it now: returns 1, and no callback will run (the caller
 * sends at once, and may call ad_limiter_sent). Returns 0 when it would
 * have to wait (then ad_limiter_acquire), or AD_ECLOSING / AD_EINVAL / the
 * budget's error. Saves a loop turn per request while the limits do not
 * bind; always 0 with an asynchronous budget. */
int ad_limiter_try_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req);

/* Removes a waiting request; its callback runs with AD_ECANCELED before
 * this returns. Does nothing for a request that is not waiting. */
void ad_limiter_cancel(ad_limiter_req_t *req);

/* The granted request went on the wire only now (a connection had to be
 * opened, the loop was busy): if that is after the slot it took, later
 * grants of its keys keep a period apart from now, so what a server
 * counts by arrival stays within the limits. Touches only the budget:
 * safe from inside a libcurl callback. Call at most once per grant,
 * before the key is closed. */
void ad_limiter_sent(ad_limiter_req_t *req);

/* 1 when the grant's key at `depth` of its chain (0: the request's own
 * key, 1: its parent…) was at or near its limit when it was granted: what
 * tells a base's 429 from the token's. 0 for a depth past the chain. */
int ad_limiter_req_binding(const ad_limiter_req_t *req, int depth);

/* Grants nothing to this key or its descendants before now + delay_us
 * (a later block wins over an earlier one), in every process that shares
 * the key's budget. */
void ad_limiter_penalize(ad_limiter_key_t *key, uint64_t delay_us);

/* Grants whatever is grantable now and returns the microseconds until the
 * next grant may become possible (UINT64_MAX when nothing waits, or all
 * that waits is an asynchronous budget's answer). The uv timer calls
 * this; tests with a fake clock call it directly. */
uint64_t ad_limiter_tick(ad_limiter_t *limiter);

uint64_t ad_limiter_now(const ad_limiter_t *limiter);

/* Why the budget stopped deciding ("" while it works). */
const char *ad_limiter_error(const ad_limiter_t *limiter);

#endif
