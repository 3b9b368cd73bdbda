/* ad_bucket: at most `limit` grants in any window of `window_us`.
 *
 * A token bucket whose every token comes back exactly one window after it
 * was spent: the bucket remembers the stamps of its last `limit` grants and
 * allows a new one once the oldest is a full window old. Unlike a refilling
 * bucket with burst N (which allows N + 1 grants inside one window) this
 * never exceeds the limit in any sliding window, yet still starts with a
 * burst and sustains limit/window. Pure: the caller supplies the time. */
#ifndef AD_BUCKET_H
#define AD_BUCKET_H

#include <stdint.h>

typedef struct ad_bucket {
  uint32_t limit;
  uint64_t window_us;
  uint64_t *stamps; /* ring of the last `limit` grant times (owned) */
  uint32_t oldest;  /* index of the oldest stamp once the ring is full */
  uint32_t count;   /* stamps held, <= limit */
} ad_bucket_t;

/* Returns AD_EINVAL for limit 0 or window 0, AD_ENOMEM. */
int ad_bucket_init(ad_bucket_t *bucket, uint32_t limit, uint64_t window_us);
void ad_bucket_free(ad_bucket_t *bucket);

/* When the next grant is allowed: 0 while the bucket is not full. */
uint64_t ad_bucket_free_at(const ad_bucket_t *bucket);

/* Microseconds until a grant is allowed at `now`; 0 when allowed now. */
uint64_t ad_bucket_wait(const ad_bucket_t *bucket, uint64_t now);

/* Records a grant at `now`; the caller has checked ad_bucket_wait == 0.
 * Returns the grant's slot, for ad_bucket_restamp. */
uint32_t ad_bucket_take(ad_bucket_t *bucket, uint64_t now);

/* Moves the grant in `slot`, stamped `stamp`, to the later time `now` (the
 * request left later than it was granted): its slot then frees one window
 * after `now`. Each slot's successive stamps stay a window apart, so the
 * limit holds for the moved times too. A no-op if the slot was reused. */
void ad_bucket_restamp(ad_bucket_t *bucket, uint32_t slot, uint64_t stamp,
                       uint64_t now);

#endif
