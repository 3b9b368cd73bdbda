#include "limiter.h"

#include <string.h>

#include "../engine/error.h"

static uint64_t ad_limiter_hrclock(void *data) {
  (void)data;
  return uv_hrtime() / 1000;
}

uint64_t ad_limiter_now(const ad_limiter_t *limiter) {
  return limiter->clock(limiter->clock_data);
}

int ad_limiter_init(ad_limiter_t *limiter, uv_loop_t *loop, ad_clock_fn clock,
                    void *clock_data) {
  memset(limiter, 0, sizeof(*limiter));
  limiter->loop = loop;
  limiter->clock = clock != NULL ? clock : ad_limiter_hrclock;
  limiter->clock_data = clock_data;
  ad_list_init(&limiter->ring);
  ad_list_init(&limiter->keys);
  uv_timer_init(loop, &limiter->timer);
  limiter->timer.data = limiter;
  return 0;
}

int ad_limiter_key_init(ad_limiter_t *limiter, ad_limiter_key_t *key,
                        uint32_t limit, uint64_t window_us,
                        ad_limiter_key_t *parent) {
  int err;

  memset(key, 0, sizeof(*key));
  err = ad_bucket_init(&key->bucket, limit, window_us);
  if (err != 0)
    return err;
  key->limiter = limiter;
  key->parent = parent;
  ad_list_init(&key->waiting);
  ad_list_init(&key->ready_node);
  ad_list_insert_tail(&limiter->keys, &key->all_node);
  return 0;
}

static void ad_limiter_finish(ad_limiter_req_t *req, int status) {
  ad_list_remove(&req->node);
  if (ad_list_empty(&req->key->waiting))
    ad_list_remove(&req->key->ready_node);
  req->cb(req, status, req->data);
}

static void ad_limiter_cancel_all(ad_limiter_key_t *key) {
  ad_list_t *n;
  while ((n = ad_list_head(&key->waiting)) != NULL)
    ad_limiter_finish(ad_container_of(n, ad_limiter_req_t, node),
                      AD_ECANCELED);
}

void ad_limiter_key_close(ad_limiter_key_t *key) {
  ad_limiter_cancel_all(key);
  ad_list_remove(&key->all_node);
  ad_bucket_free(&key->bucket);
}

static void ad_limiter_on_timer(uv_timer_t *timer);
static void ad_limiter_take(ad_limiter_key_t *key, ad_limiter_req_t *req,
                            uint64_t now);

static void ad_limiter_arm(ad_limiter_t *limiter, uint64_t wait_us) {
  uint64_t ms;
  if (limiter->closing)
    return;
  if (wait_us == UINT64_MAX) {
    uv_timer_stop(&limiter->timer);
    return;
  }
  ms = (wait_us + 999) / 1000; /* never wake before the grant is due */
  uv_timer_start(&limiter->timer, ad_limiter_on_timer, ms, 0);
}

static void ad_limiter_on_timer(uv_timer_t *timer) {
  ad_limiter_t *limiter = timer->data;
  ad_limiter_arm(limiter, ad_limiter_tick(limiter));
}

int ad_limiter_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req,
                       ad_limiter_cb cb, void *data) {
  ad_limiter_t *limiter = key->limiter;

  if (limiter->closing)
    return AD_ECLOSING;
  if (cb == NULL || key->bucket.stamps == NULL)
    return AD_EINVAL;
  req->key = key;
  req->cb = cb;
  req->data = data;
  req->queued_at = ad_limiter_now(limiter);
  ad_list_insert_tail(&key->waiting, &req->node);
  if (!ad_list_linked(&key->ready_node))
    ad_list_insert_tail(&limiter->ring, &key->ready_node);
  if (!limiter->in_tick) /* the running tick will see it otherwise */
    ad_limiter_arm(limiter, 0);
  return 0;
}

int ad_limiter_try_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req) {
  ad_limiter_t *limiter = key->limiter;
  uint64_t now;

  if (limiter->closing)
    return AD_ECLOSING;
  if (key->bucket.stamps == NULL)
    return AD_EINVAL;
  now = ad_limiter_now(limiter);
  /* Anyone waiting anywhere goes first: a grant here would jump the queue
   * of a key that shares an ancestor, or this key's own. */
  if (limiter->in_tick || !ad_list_empty(&limiter->ring) ||
      ad_limiter_key_wait(key, now) > 0)
    return 0;
  req->key = key;
  req->cb = NULL;
  req->data = NULL;
  req->queued_at = now;
  ad_list_init(&req->node);
  ad_limiter_take(key, req, now);
  return 1;
}

void ad_limiter_cancel(ad_limiter_req_t *req) {
  if (ad_list_linked(&req->node))
    ad_limiter_finish(req, AD_ECANCELED);
}

void ad_limiter_penalize(ad_limiter_key_t *key, uint64_t delay_us) {
  uint64_t until = ad_limiter_now(key->limiter) + delay_us;
  if (until > key->blocked_until)
    key->blocked_until = until;
  key->penalties++;
}

uint64_t ad_limiter_key_wait(const ad_limiter_key_t *key, uint64_t now) {
  uint64_t wait = 0, w;
  for (; key != NULL; key = key->parent) {
    w = ad_bucket_wait(&key->bucket, now);
    if (key->blocked_until > now && key->blocked_until - now > w)
      w = key->blocked_until - now;
    if (w > wait)
      wait = w;
  }
  return wait;
}

/* When a request queued at queued_at first could have been granted on key:
 * the latest of its queueing, its buckets' next free slots and any
 * penalty; never after now, when it is granted. */
static uint64_t ad_limiter_ready_at(const ad_limiter_key_t *key,
                                    uint64_t queued_at, uint64_t now) {
  uint64_t ready = queued_at, t;
  for (; key != NULL; key = key->parent) {
    t = ad_bucket_free_at(&key->bucket);
    if (t > ready)
      ready = t;
    if (key->blocked_until > ready)
      ready = key->blocked_until;
  }
  return ready < now ? ready : now;
}

/* Takes req's grant from key and its ancestors at now. */
static void ad_limiter_take(ad_limiter_key_t *key, ad_limiter_req_t *req,
                            uint64_t now) {
  ad_limiter_t *limiter = key->limiter;
  ad_limiter_key_t *k;
  uint64_t waited;
  int i;

  req->granted_at = now;
  req->sent = 0;
  limiter->late_us += now - ad_limiter_ready_at(key, req->queued_at, now);
  for (k = key, i = 0; k != NULL; k = k->parent, i++)
    if (i < AD_LIMITER_MAX_DEPTH)
      req->slots[i] = ad_bucket_take(&k->bucket, now);
    else
      ad_bucket_take(&k->bucket, now);
  waited = now > req->queued_at ? now - req->queued_at : 0;
  key->grants++;
  key->waited_us += waited;
  limiter->grants++;
  limiter->waited_us += waited;
}

static void ad_limiter_grant(ad_limiter_key_t *key, uint64_t now) {
  ad_limiter_t *limiter = key->limiter;
  ad_limiter_req_t *req;

  req = ad_container_of(ad_list_head(&key->waiting), ad_limiter_req_t, node);
  ad_limiter_take(key, req, now);
  /* Served keys go to the back; denied ones keep their place in line. */
  ad_list_remove(&key->ready_node);
  ad_list_insert_tail(&limiter->ring, &key->ready_node);
  ad_limiter_finish(req, 0);
}

/* One round-robin pass over the keys that were waiting when it began. */
static int ad_limiter_pass(ad_limiter_t *limiter, uint64_t now,
                           uint64_t *min_wait) {
  ad_list_t *n, *next;
  ad_limiter_key_t *key;
  uint64_t wait;
  size_t count = 0, i;
  int granted = 0;

  for (n = limiter->ring.next; n != &limiter->ring; n = n->next)
    count++;
  n = limiter->ring.next;
  for (i = 0; i < count && !limiter->closing && n != &limiter->ring; i++) {
    next = n->next;
    key = ad_container_of(n, ad_limiter_key_t, ready_node);
    wait = ad_limiter_key_wait(key, now);
    if (wait == 0) {
      ad_limiter_grant(key, now);
      granted = 1;
    } else if (wait < *min_wait) {
      *min_wait = wait;
    }
    /* A callback may have unlinked the next key: start over from the head;
     * the count bound still ends the pass. */
    n = ad_list_linked(next) || next == &limiter->ring ? next
                                                        : limiter->ring.next;
  }
  return granted;
}

uint64_t ad_limiter_tick(ad_limiter_t *limiter) {
  uint64_t now, min_wait;

  limiter->in_tick++;
  do {
    now = ad_limiter_now(limiter);
    min_wait = UINT64_MAX;
  } while (ad_limiter_pass(limiter, now, &min_wait) && !limiter->closing);
  limiter->in_tick--;
  if (ad_list_empty(&limiter->ring) || limiter->closing)
    return UINT64_MAX;
  return min_wait;
}

static void ad_limiter_timer_closed(uv_handle_t *handle) {
  ad_limiter_t *limiter = handle->data;
  if (limiter->close_cb != NULL)
    limiter->close_cb(limiter);
}

void ad_limiter_close(ad_limiter_t *limiter, ad_limiter_close_cb close_cb) {
  ad_list_t *n;

  if (limiter->closing)
    return;
  limiter->closing = 1;
  limiter->close_cb = close_cb;
  /* Callbacks may close keys, so restart from the head after each one. */
  while ((n = ad_list_head(&limiter->ring)) != NULL)
    ad_limiter_cancel_all(ad_container_of(n, ad_limiter_key_t, ready_node));
  uv_timer_stop(&limiter->timer);
  uv_close((uv_handle_t *)&limiter->timer, ad_limiter_timer_closed);
}

void ad_limiter_sent(ad_limiter_req_t *req) {
  ad_limiter_key_t *k;
  uint64_t now;
  int i;

  if (req->key == NULL || req->sent)
    return;
  req->sent = 1;
  now = ad_limiter_now(req->key->limiter);
  if (now > req->granted_at)
    req->key->limiter->late_us += now - req->granted_at;
  for (k = req->key, i = 0; k != NULL && i < AD_LIMITER_MAX_DEPTH;
       k = k->parent, i++)
    ad_bucket_restamp(&k->bucket, req->slots[i], req->granted_at, now);
}
