#include "backoff.h"

uint64_t ad_rand_next(uint64_t *state) {
  uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

uint64_t ad_rand_upto(uint64_t *state, uint64_t bound) {
  if (bound == UINT64_MAX)
    return ad_rand_next(state);
  return ad_rand_next(state) % (bound + 1);
}

int64_t ad_backoff_delay_ms(const ad_backoff_t *backoff, int attempt,
                            uint64_t *rng) {
  uint64_t ceiling = backoff->base_ms;
  int i;

  if (attempt < 1 || attempt > backoff->max_attempts)
    return -1;
  for (i = 1; i < attempt && ceiling < backoff->cap_ms; i++)
    ceiling *= 2;
  if (ceiling > backoff->cap_ms)
    ceiling = backoff->cap_ms;
  return (int64_t)ad_rand_upto(rng, ceiling);
}

uint64_t ad_backoff_wait_ms(const ad_backoff_t *backoff, int attempt,
                            long retry_after_s, uint64_t *rng) {
  ad_backoff_t unbounded = *backoff;
  int64_t ms;
  unbounded.max_attempts = attempt;
  ms = ad_backoff_delay_ms(&unbounded, attempt < 1 ? 1 : attempt, rng);
  if (ms < 0)
    ms = 0;
  if (retry_after_s >= 0 && retry_after_s * 1000 > ms)
    ms = (int64_t)retry_after_s * 1000;
  return (uint64_t)ms;
}
