#include "budget.h"

#include <assert.h>
#include <string.h>

#include <uv.h>

#include "error.h"

uint64_t ad_budget_hrclock(void *data) {
  (void)data;
  return uv_hrtime() / 1000;
}

void ad_budget_key_init(ad_budget_key_t *key, const char *name,
                        uint64_t period_us, uint64_t goal) {
  assert(period_us > 0);
  memset(key, 0, sizeof(*key));
  key->name = name;
  key->period_us = period_us;
  key->goal = goal;
  key->slot = -1;
}

void ad_budget_take_local(ad_budget_take_t *t, uint64_t now) {
  uint64_t w;
  int i;

  t->wait_us = 0;
  for (i = 0; i < t->n; i++) {
    w = ad_gcra_wait(&t->keys[i]->local, t->tolerance_us, now);
    if (w > t->wait_us)
      t->wait_us = w;
  }
  if (t->wait_us > 0)
    return;
  for (i = 0; i < t->n; i++)
    ad_gcra_take(&t->keys[i]->local, t->keys[i]->period_us, t->tolerance_us,
                 t->keys[i]->goal, now, &t->grants[i]);
}

void ad_budget_sent_local(const ad_budget_take_t *t, uint64_t now) {
  int i;
  for (i = 0; i < t->n; i++)
    ad_gcra_sent(&t->keys[i]->local, t->keys[i]->period_us, t->tolerance_us,
                 &t->grants[i], now);
}

/* ---- memory ------------------------------------------------------------- */

static int ad_bm_take(ad_budget_t *b, ad_budget_take_t *t) {
  t->decided_at = ad_budget_now(b);
  ad_budget_take_local(t, t->decided_at);
  return AD_BUDGET_DECIDED;
}

static void ad_bm_cancel(ad_budget_t *b, ad_budget_take_t *t) {
  (void)b;
  (void)t; /* nothing is ever pending */
}

static void ad_bm_sent(ad_budget_t *b, const ad_budget_take_t *t,
                       uint64_t now) {
  (void)b;
  ad_budget_sent_local(t, now);
}

static void ad_bm_block(ad_budget_t *b, ad_budget_key_t *key,
                        uint64_t delay_us) {
  ad_gcra_block(&key->local, ad_budget_now(b), delay_us);
}

static void ad_bm_close(ad_budget_t *b, void (*done)(ad_budget_t *b)) {
  if (done != NULL)
    done(b);
}

static const ad_budget_ops_t ad_budget_memory_ops = {
    "memory", 0, ad_bm_take, ad_bm_cancel, ad_bm_sent, ad_bm_block, ad_bm_close};

void ad_budget_memory_init(ad_budget_t *b, ad_budget_clock_fn clock,
                           void *clock_data) {
  memset(b, 0, sizeof(*b));
  b->ops = &ad_budget_memory_ops;
  b->clock = clock != NULL ? clock : ad_budget_hrclock;
  b->clock_data = clock_data;
}
