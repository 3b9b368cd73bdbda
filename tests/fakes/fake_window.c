#include "fake_window.h"

#include <stdlib.h>
#include <string.h>

void ad_fake_window_init(ad_fake_window_t *w, uint64_t span_ms) {
  memset(w, 0, sizeof(*w));
  w->span_ms = span_ms;
}

void ad_fake_window_free(ad_fake_window_t *w) {
  free(w->stamps);
  memset(w, 0, sizeof(*w));
}

/* Index of the first stamp >= t. */
static size_t ad_fw_lower(const ad_fake_window_t *w, uint64_t t) {
  size_t lo = 0, hi = w->n, mid;
  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    if (w->stamps[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Stamp i of the held stamps with t inserted at position p. */
static uint64_t ad_fw_at(const ad_fake_window_t *w, size_t p, uint64_t t,
                         size_t i) {
  if (i == p)
    return t;
  return w->stamps[i < p ? i : i - 1];
}

size_t ad_fake_window_busiest(const ad_fake_window_t *w, uint64_t t) {
  size_t p = ad_fw_lower(w, t), n = w->n + 1, best = 0, start, end;
  uint64_t first = t >= w->span_ms ? t - w->span_ms + 1 : 0;

  /* Every window holding t starts at a stamp in [t - span + 1, t]. */
  start = ad_fw_lower(w, first);
  end = start;
  for (; start <= p; start++) {
    uint64_t s = ad_fw_at(w, p, t, start);
    if (end < start)
      end = start;
    while (end < n && ad_fw_at(w, p, t, end) < s + w->span_ms)
      end++;
    if (end - start > best)
      best = end - start;
  }
  return best;
}

uint64_t ad_fake_window_tightest(const ad_fake_window_t *w, uint64_t t,
                                 size_t count) {
  size_t p = ad_fw_lower(w, t), n = w->n + 1, i;
  uint64_t best = UINT64_MAX, span;

  if (count == 0 || n < count)
    return UINT64_MAX;
  for (i = p + 1 >= count ? p + 1 - count : 0; i <= p && i + count <= n;
       i++) {
    span = ad_fw_at(w, p, t, i + count - 1) - ad_fw_at(w, p, t, i);
    if (span < best)
      best = span;
  }
  return best;
}

int ad_fake_window_add(ad_fake_window_t *w, uint64_t t) {
  size_t p, drop = 0;
  uint64_t *grown;

  if (w->n == w->cap) {
    grown = realloc(w->stamps, (w->cap ? w->cap * 2 : 64) * sizeof(*grown));
    if (grown == NULL)
      return -1;
    w->stamps = grown;
    w->cap = w->cap ? w->cap * 2 : 64;
  }
  p = ad_fw_lower(w, t);
  memmove(w->stamps + p + 1, w->stamps + p, (w->n - p) * sizeof(*w->stamps));
  w->stamps[p] = t;
  w->n++;
  while (drop < w->n &&
         w->stamps[drop] + 3 * w->span_ms < w->stamps[w->n - 1])
    drop++;
  if (drop > 0) {
    memmove(w->stamps, w->stamps + drop, (w->n - drop) * sizeof(*w->stamps));
    w->n -= drop;
  }
  return 0;
}
