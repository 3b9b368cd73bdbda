#include "limiter.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "error.h"

uint64_t ad_limiter_now(const ad_limiter_t *limiter) {
  return ad_budget_now(limiter->budget);
}

const char *ad_limiter_error(const ad_limiter_t *limiter) {
  return limiter->budget->error;
}

int ad_limiter_init(ad_limiter_t *limiter, uv_loop_t *loop,
                    ad_budget_t *budget) {
  memset(limiter, 0, sizeof(*limiter));
  limiter->loop = loop;
  if (budget == NULL) {
    ad_budget_memory_init(&limiter->own_budget, NULL, NULL);
    budget = &limiter->own_budget;
  }
  limiter->budget = budget;
  ad_list_init(&limiter->ring);
  ad_list_init(&limiter->keys);
  uv_timer_init(loop, &limiter->timer);
  limiter->timer.data = limiter;
  return 0;
}

int ad_limiter_key_init(ad_limiter_t *limiter, ad_limiter_key_t *key,
                        const char *name, double limit, uint64_t window_us,
                        ad_limiter_key_t *parent) {
  int depth = 1;
  ad_limiter_key_t *k;

  memset(key, 0, sizeof(*key));
  if (!(limit > 0) || window_us == 0)
    return AD_EINVAL;
  for (k = parent; k != NULL; k = k->parent)
    depth++;
  assert(depth <= AD_LIMITER_MAX_DEPTH);
  key->limit = limit;
  key->window_us = window_us;
  /* At its limit after a window's worth of spaced grants, this one
   * included: 4 in a row before a fifth at 5 per second. */
  ad_budget_key_init(&key->bk, name, ad_gcra_period(limit, window_us, 0),
                     limit >= 2 ? (uint64_t)floor(limit) - 1 : 1);
  key->limiter = limiter;
  key->parent = parent;
  ad_list_init(&key->waiting);
  ad_list_init(&key->ready_node);
  ad_list_insert_tail(&limiter->keys, &key->all_node);
  return 0;
}

void ad_limiter_key_set_window(ad_limiter_key_t *key, uint64_t window_us) {
  assert(window_us > 0);
  key->window_us = window_us;
  key->bk.period_us = ad_gcra_period(key->limit, window_us, 0);
}

static void ad_limiter_finish(ad_limiter_req_t *req, int status) {
  ad_list_remove(&req->node);
  if (ad_list_empty(&req->key->waiting))
    ad_list_remove(&req->key->ready_node);
  req->cb(req, status, req->data);
}

static void ad_limiter_cancel_all(ad_limiter_key_t *key, int status) {
  ad_list_t *n;
  while ((n = ad_list_head(&key->waiting)) != NULL)
    ad_limiter_finish(ad_container_of(n, ad_limiter_req_t, node), status);
}

static void ad_limiter_stop_asking(ad_limiter_key_t *key) {
  if (key->asking) {
    key->asking = 0;
    ad_budget_cancel(key->limiter->budget, &key->take);
  }
}

void ad_limiter_key_close(ad_limiter_key_t *key) {
  ad_limiter_stop_asking(key);
  ad_limiter_cancel_all(key, AD_ECANCELED);
  ad_list_remove(&key->all_node);
}

static void ad_limiter_on_timer(uv_timer_t *timer);

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

/* The budget gave up for good: every waiting request fails with its
 * error, and so will every later acquire. */
static void ad_limiter_fail(ad_limiter_t *limiter, int status) {
  ad_list_t *n;
  limiter->failed = status;
  while ((n = ad_list_head(&limiter->ring)) != NULL) {
    ad_limiter_key_t *key = ad_container_of(n, ad_limiter_key_t, ready_node);
    ad_limiter_stop_asking(key);
    ad_limiter_cancel_all(key, status);
  }
}

static int ad_limiter_refuse(const ad_limiter_t *limiter) {
  if (limiter->closing)
    return AD_ECLOSING;
  return limiter->failed;
}

int ad_limiter_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req,
                       ad_limiter_cb cb, void *data) {
  ad_limiter_t *limiter = key->limiter;
  int rc;

  if ((rc = ad_limiter_refuse(limiter)) != 0)
    return rc;
  if (cb == NULL || key->bk.period_us == 0)
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

/* The chain of budget keys from key up, into t. */
static void ad_limiter_chain(ad_limiter_key_t *key, ad_budget_take_t *t) {
  t->n = 0;
  for (; key != NULL; key = key->parent)
    t->keys[t->n++] = &key->bk;
  t->tolerance_us = AD_LIMITER_TOLERANCE_US;
}

/* req was granted by the decision in t, at now. */
static void ad_limiter_record(ad_limiter_key_t *key, ad_limiter_req_t *req,
                              const ad_budget_take_t *t, uint64_t now) {
  ad_limiter_t *limiter = key->limiter;
  uint64_t ready = req->queued_at, waited;
  int i;

  for (i = 0; i < t->n; i++)
    if (t->grants[i].ready > ready)
      ready = t->grants[i].ready;
  req->take = *t;
  req->granted_at = now;
  req->sent = 0;
  limiter->late_us += now > ready ? now - ready : 0;
  waited = now > req->queued_at ? now - req->queued_at : 0;
  key->grants++;
  key->waited_us += waited;
  limiter->grants++;
  limiter->waited_us += waited;
}

int ad_limiter_try_acquire(ad_limiter_key_t *key, ad_limiter_req_t *req) {
  ad_limiter_t *limiter = key->limiter;
  ad_budget_take_t t;
  uint64_t now;
  int rc;

  if ((rc = ad_limiter_refuse(limiter)) != 0)
    return rc;
  if (key->bk.period_us == 0)
    return AD_EINVAL;
  now = ad_limiter_now(limiter);
  /* Anyone waiting anywhere goes first: a grant here would jump the queue
   * of a key that shares an ancestor, or this key's own. */
  if (limiter->budget->ops->async || limiter->in_tick ||
      !ad_list_empty(&limiter->ring) || key->not_before > now)
    return 0;
  ad_limiter_chain(key, &t);
  rc = ad_budget_take(limiter->budget, &t);
  if (rc < 0 || t.wait_us > 0) {
    /* Busy or failing: the queue's path handles both. */
    key->not_before = now + (rc < 0 && rc != AD_EAGAIN ? 0 : t.wait_us);
    return 0;
  }
  req->key = key;
  req->cb = NULL;
  req->data = NULL;
  req->queued_at = now;
  ad_list_init(&req->node);
  ad_limiter_record(key, req, &t, t.decided_at);
  return 1;
}

void ad_limiter_cancel(ad_limiter_req_t *req) {
  if (ad_list_linked(&req->node))
    ad_limiter_finish(req, AD_ECANCELED);
}

void ad_limiter_penalize(ad_limiter_key_t *key, uint64_t delay_us) {
  ad_budget_block(key->limiter->budget, &key->bk, delay_us);
  key->penalties++;
  /* The keys below it learn of it from the budget at their next ask. */
}

/* Grants key's first waiting request with the decision in t. */
static void ad_limiter_grant(ad_limiter_key_t *key, const ad_budget_take_t *t) {
  ad_limiter_t *limiter = key->limiter;
  ad_limiter_req_t *req;

  req = ad_container_of(ad_list_head(&key->waiting), ad_limiter_req_t, node);
  ad_limiter_record(key, req, t, t->decided_at);
  /* Served keys go to the back; denied ones keep their place in line. */
  ad_list_remove(&key->ready_node);
  ad_list_insert_tail(&limiter->ring, &key->ready_node);
  ad_limiter_finish(req, 0);
}

/* What the budget answered for key; returns 1 when it granted. */
static int ad_limiter_decided(ad_limiter_key_t *key, ad_budget_take_t *t,
                              int rc) {
  if (rc == AD_BUDGET_PENDING) {
    key->asking = 1;
    return 0;
  }
  if (rc < 0 && rc != AD_EAGAIN) {
    ad_limiter_fail(key->limiter, rc);
    return 0;
  }
  if (rc == 0 && t->wait_us == 0) {
    if (ad_list_empty(&key->waiting))
      return 0; /* canceled while the budget decided: the slot is lost */
    ad_limiter_grant(key, t);
    return 1;
  }
  key->not_before = t->decided_at + t->wait_us;
  return 0;
}

static void ad_limiter_on_decided(ad_budget_take_t *t, int status) {
  ad_limiter_key_t *key = t->data;
  ad_limiter_t *limiter = key->limiter;

  key->asking = 0;
  limiter->in_tick++;
  ad_limiter_decided(key, t, status < 0 ? status : 0);
  limiter->in_tick--;
  ad_limiter_arm(limiter, 0); /* others may be due; the tick sorts it */
}

/* Asks the budget for key's first waiting request. */
static int ad_limiter_ask(ad_limiter_key_t *key, uint64_t now) {
  ad_budget_take_t *t = &key->take;
  ad_limiter_chain(key, t);
  t->cb = ad_limiter_on_decided;
  t->data = key;
  t->decided_at = now;
  t->wait_us = 0;
  return ad_limiter_decided(key, t, ad_budget_take(key->limiter->budget, t));
}

/* One round-robin pass over the keys that were waiting when it began. */
static int ad_limiter_pass(ad_limiter_t *limiter, uint64_t now,
                           uint64_t *min_wait) {
  ad_list_t *n, *next;
  ad_limiter_key_t *key;
  size_t count = 0, i;
  int granted = 0;

  for (n = limiter->ring.next; n != &limiter->ring; n = n->next)
    count++;
  n = limiter->ring.next;
  for (i = 0; i < count && !limiter->closing && !limiter->failed &&
              n != &limiter->ring;
       i++) {
    next = n->next;
    key = ad_container_of(n, ad_limiter_key_t, ready_node);
    if (!key->asking) {
      if (key->not_before <= now)
        granted |= ad_limiter_ask(key, now);
      if (!key->asking && key->not_before > now &&
          key->not_before - now < *min_wait)
        *min_wait = key->not_before - now;
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
  } while (ad_limiter_pass(limiter, now, &min_wait) && !limiter->closing &&
           !limiter->failed);
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
  /* A key whose last request was canceled may still have a question
   * out with the budget: withdraw every one, so no answer comes later. */
  for (n = limiter->keys.next; n != &limiter->keys; n = n->next)
    ad_limiter_stop_asking(ad_container_of(n, ad_limiter_key_t, all_node));
  /* Callbacks may close keys, so restart from the head after each one. */
  while ((n = ad_list_head(&limiter->ring)) != NULL)
    ad_limiter_cancel_all(ad_container_of(n, ad_limiter_key_t, ready_node),
                          AD_ECANCELED);
  uv_timer_stop(&limiter->timer);
  uv_close((uv_handle_t *)&limiter->timer, ad_limiter_timer_closed);
  if (limiter->budget == &limiter->own_budget)
    ad_budget_close(&limiter->own_budget, NULL);
}

void ad_limiter_sent(ad_limiter_req_t *req) {
  ad_limiter_t *limiter;
  uint64_t now;

  if (req->key == NULL || req->sent)
    return;
  req->sent = 1;
  limiter = req->key->limiter;
  now = ad_limiter_now(limiter);
  if (now > req->granted_at)
    limiter->late_us += now - req->granted_at;
  ad_budget_sent(limiter->budget, &req->take, now);
}

int ad_limiter_req_binding(const ad_limiter_req_t *req, int depth) {
  if (depth < 0 || depth >= req->take.n)
    return 0;
  return req->take.grants[depth].binding;
}
