/* ad_fake_window: the arrival stamps (ms) of the last few windows, kept in
 * order whatever order the fakes' threads take requests in, so that "at
 * most N in any window" is judged on when requests arrived.
 *
 * A thread-per-connection server on a loaded machine runs requests tens of
 * ms out of their arrival order; judging each against the stamps seen so
 * far (or clamping it to the latest one) would refuse clients that never
 * broke the limit. Not thread-safe: the fakes hold their lock. */
#ifndef AD_FAKE_WINDOW_H
#define AD_FAKE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct ad_fake_window {
  uint64_t span_ms; /* the window's length */
  uint64_t *stamps; /* sorted (owned) */
  size_t n, cap;
} ad_fake_window_t;

void ad_fake_window_init(ad_fake_window_t *w, uint64_t span_ms);
void ad_fake_window_free(ad_fake_window_t *w);

/* How many stamps the busiest window that holds t would hold, t included. */
size_t ad_fake_window_busiest(const ad_fake_window_t *w, uint64_t t);

/* The shortest time in which `count` stamps arrived, t among them (t
 * included); UINT64_MAX while fewer are held. */
uint64_t ad_fake_window_tightest(const ad_fake_window_t *w, uint64_t t,
                                 size_t count);

/* Adds t, and forgets stamps more than 3 windows older than the newest.
 * Returns -1 when out of memory (t is then not held). */
int ad_fake_window_add(ad_fake_window_t *w, uint64_t t);

#endif
