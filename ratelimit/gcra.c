#include "gcra.h"

#include <assert.h>
#include <math.h>

uint64_t ad_gcra_wait(const ad_gcra_t *g, uint64_t tolerance_us,
                      uint64_t now) {
  uint64_t wait = 0;
  if (g->tat > now + tolerance_us)
    wait = g->tat - tolerance_us - now;
  if (g->blocked_until > now && g->blocked_until - now > wait)
    wait = g->blocked_until - now;
  return wait;
}

void ad_gcra_take(ad_gcra_t *g, uint64_t period_us, uint64_t tolerance_us,
                  uint64_t goal, uint64_t now, ad_gcra_grant_t *out) {
  /* A grant up to the tolerance late keeps its slot too, so a timer or a
   * loop that delivered it late does not push every later grant back. */
  uint64_t late = now > tolerance_us ? now - tolerance_us : 0;
  uint64_t sched = g->tat > late ? g->tat : late;
  uint64_t ready = g->tat > tolerance_us ? g->tat - tolerance_us : 0;
  assert(period_us > 0);
  if (g->wide_until > now && g->wide_period > period_us) {
    period_us = g->wide_period;
  } else {
    g->wide_period = period_us;
    g->wide_until = now + AD_GCRA_WIDE_US;
  }
  if (g->blocked_until > ready)
    ready = g->blocked_until;
  out->ready = ready < now ? ready : now;
  /* Spaced by the limit, not by a lack of requests: the slot before
   * this one ended less than half a period ago. */
  g->streak = g->tat + period_us / 2 > now ? g->streak + 1 : 0;
  out->binding = g->streak >= goal;
  out->sched = sched;
  out->seq = ++g->grants;
  g->tat = sched + period_us;
}

void ad_gcra_sent(ad_gcra_t *g, uint64_t period_us, uint64_t tolerance_us,
                  const ad_gcra_grant_t *grant, uint64_t now) {
  uint64_t after, due;
  if (now <= grant->sched + tolerance_us)
    return; /* within its slot's tolerance, as a late grant would be */
  if (g->wide_until > now && g->wide_period > period_us)
    period_us = g->wide_period;
  now -= tolerance_us;
  /* Grants taken since this one hold the slots after it; they must end a
   * period apart from its real time, and the next free slot after them. */
  after = g->grants >= grant->seq ? g->grants - grant->seq : 0;
  due = now + (after + 1) * period_us;
  if (due > g->tat)
    g->tat = due;
}

void ad_gcra_block(ad_gcra_t *g, uint64_t now, uint64_t delay_us) {
  if (delay_us > AD_GCRA_MAX_BLOCK_US)
    delay_us = AD_GCRA_MAX_BLOCK_US;
  if (now + delay_us > g->blocked_until)
    g->blocked_until = now + delay_us;
}

uint64_t ad_gcra_period(double limit, uint64_t window_us, uint64_t margin_us) {
  double p;
  assert(limit > 0);
  p = ceil((double)(window_us + margin_us) / limit);
  return p < 1 ? 1 : (uint64_t)p;
}
