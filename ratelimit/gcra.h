/* ad_gcra: one rate limit as GCRA (the generic cell rate algorithm), a
 * pure function of the time the caller passes in.
 *
 * A limit of N requests per window W becomes a period T = W / N between
 * grants: the state is the theoretical arrival time (TAT) of the next
 * grant, and a grant is allowed once now >= TAT - tolerance. Grants are
 * spaced, never bunched: a server that queues work sees them one period
 * apart. A grant that comes up to the tolerance early or late keeps its
 * slot, so the timer's granularity and a loop busy for a few ms cost no
 * throughput, and any N + 1 consecutive grants span at least
 * N·T - 2·tolerance.
 *
 * One integer of state makes GCRA cheap to share: the same arithmetic runs
 * on a key in this process's memory, in a file every process maps, or in
 * a Redis script (budget.h). */
#ifndef AD_GCRA_H
#define AD_GCRA_H

#include <stdint.h>

typedef struct ad_gcra {
  uint64_t tat;           /* the next grant's theoretical time, in us */
  uint64_t blocked_until; /* a penalty: no grant before this */
  uint64_t grants;        /* grants ever taken: orders them for sent() */
  uint64_t streak;        /* grants in a row that the spacing held back */
  /* The widest period a taker used lately, and until when it holds: a
   * process that widened its margin after a 429 spaces the key for every
   * process that shares it, not only for itself. */
  uint64_t wide_period, wide_until;
} ad_gcra_t;

/* How long a wider period holds after its taker last used it. */
#define AD_GCRA_WIDE_US (60ull * 1000000)

/* The most a block may last: a day. Longer (a Retry-After date years
 * ahead, an absurd backoff) is taken as a day, never wrapped to zero. */
#define AD_GCRA_MAX_BLOCK_US (24ull * 3600 * 1000000)

/* What one grant took from one key. */
typedef struct ad_gcra_grant {
  uint64_t sched;  /* the slot it took (within the tolerance of the grant
                      time, or later) */
  uint64_t ready;  /* when the key first allowed it (<= the grant time) */
  uint64_t seq;    /* the key's grant count after it */
  int binding;     /* the key has been at its limit: at least `goal`
                      grants in a row each came within half a period of
                      its slot (a window's worth, so the server counted
                      about the limit in its last window) */
} ad_gcra_grant_t;

/* Microseconds until a grant is allowed at now (0: now). */
uint64_t ad_gcra_wait(const ad_gcra_t *g, uint64_t tolerance_us,
                      uint64_t now);

/* Takes a grant at now; the caller has seen ad_gcra_wait == 0. goal:
 * the streak that makes a grant `binding`, the limit less one (a key at
 * 5 per second is at its limit when a fifth request follows four spaced
 * ones). The grant is spaced by period_us, or by a wider period another
 * taker used within AD_GCRA_WIDE_US. */
void ad_gcra_take(ad_gcra_t *g, uint64_t period_us, uint64_t tolerance_us,
                  uint64_t goal, uint64_t now, ad_gcra_grant_t *out);

/* The request of `grant` reached the wire only at now: if that is more
 * than the tolerance after the slot it took, the schedule moves so that
 * the grants after it (already taken or not) keep a period apart from
 * its real time, less the tolerance (as for a grant that late). A no-op
 * for a request that left within its slot's tolerance. */
void ad_gcra_sent(ad_gcra_t *g, uint64_t period_us, uint64_t tolerance_us,
                  const ad_gcra_grant_t *grant, uint64_t now);

/* No grant before now + delay_us, at most AD_GCRA_MAX_BLOCK_US (a later
 * block wins). */
void ad_gcra_block(ad_gcra_t *g, uint64_t now, uint64_t delay_us);

/* The period that fits `limit` grants in window_us + margin_us; at least
 * 1 us. limit may be fractional (a rate of 4.5/s: limit 4.5, window 1 s). */
uint64_t ad_gcra_period(double limit, uint64_t window_us, uint64_t margin_us);

#endif
