#include "bucket.h"

#include <stdlib.h>

#include "../engine/error.h"

int ad_bucket_init(ad_bucket_t *bucket, uint32_t limit, uint64_t window_us) {
  bucket->stamps = NULL;
  bucket->limit = limit;
  bucket->window_us = window_us;
  bucket->oldest = 0;
  bucket->count = 0;
  if (limit == 0 || window_us == 0)
    return AD_EINVAL;
  bucket->stamps = calloc(limit, sizeof(*bucket->stamps));
  return bucket->stamps == NULL ? AD_ENOMEM : 0;
}

void ad_bucket_free(ad_bucket_t *bucket) {
  free(bucket->stamps);
  bucket->stamps = NULL;
}

uint64_t ad_bucket_free_at(const ad_bucket_t *bucket) {
  if (bucket->count < bucket->limit)
    return 0;
  return bucket->stamps[bucket->oldest] + bucket->window_us;
}

uint64_t ad_bucket_wait(const ad_bucket_t *bucket, uint64_t now) {
  uint64_t free_at = ad_bucket_free_at(bucket);
  return free_at > now ? free_at - now : 0;
}

uint32_t ad_bucket_take(ad_bucket_t *bucket, uint64_t now) {
  uint32_t slot;
  if (bucket->count < bucket->limit) {
    slot = (bucket->oldest + bucket->count) % bucket->limit;
    bucket->stamps[slot] = now;
    bucket->count++;
    return slot;
  }
  slot = bucket->oldest;
  bucket->stamps[slot] = now;
  bucket->oldest = (bucket->oldest + 1) % bucket->limit;
  return slot;
}

void ad_bucket_restamp(ad_bucket_t *bucket, uint32_t slot, uint64_t stamp,
                       uint64_t now) {
  if (slot < bucket->limit && bucket->stamps[slot] == stamp && now > stamp)
    bucket->stamps[slot] = now;
}
