/* ad_backoff: capped exponential backoff with full jitter, and the small
 * PRNG it draws from (state owned by the caller: no globals). */
#ifndef AD_BACKOFF_H
#define AD_BACKOFF_H

#include <stdint.h>

typedef struct ad_backoff {
  uint64_t base_ms;  /* ceiling of the first retry's delay */
  uint64_t cap_ms;   /* no delay ceiling grows past this */
  int max_attempts;  /* retries allowed after the first try */
} ad_backoff_t;

/* Delay before retry number `attempt` (1 = first retry): uniform in
 * [0, min(cap, base * 2^(attempt-1))]. Returns -1 once attempt exceeds
 * max_attempts: give up. */
int64_t ad_backoff_delay_ms(const ad_backoff_t *backoff, int attempt,
                            uint64_t *rng);

/* The wait before retry number `attempt` (1 = first) whether or not the
 * attempts are spent (the caller decides when to stop): the jittered
 * delay, but never under the server's Retry-After (seconds, -1 none). */
uint64_t ad_backoff_wait_ms(const ad_backoff_t *backoff, int attempt,
                            long retry_after_s, uint64_t *rng);

/* xorshift64*: a fast non-cryptographic generator. A zero state is
 * replaced by a fixed non-zero one. */
uint64_t ad_rand_next(uint64_t *state);

/* Uniform in [0, bound]. */
uint64_t ad_rand_upto(uint64_t *state, uint64_t bound);

#endif
