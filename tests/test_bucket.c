/* ad_bucket as a pure function of time. */
#include <check.h>
#include <stdlib.h>

#include "backoff.h"
#include "bucket.h"
#include "error.h"
#include "testutil.h"

START_TEST(test_invalid) {
  ad_bucket_t b;
  ck_assert_int_eq(ad_bucket_init(&b, 0, 1000), AD_EINVAL);
  ck_assert_int_eq(ad_bucket_init(&b, 5, 0), AD_EINVAL);
}
END_TEST

START_TEST(test_burst_then_window) {
  ad_bucket_t b;
  int i;

  ck_assert_int_eq(ad_bucket_init(&b, 3, 1000), 0);
  for (i = 0; i < 3; i++) {
    ck_assert_uint_eq(ad_bucket_wait(&b, 100), 0);
    ad_bucket_take(&b, 100 + (uint64_t)i);
  }
  /* The oldest grant (t=100) frees its slot at t=1100. */
  ck_assert_uint_eq(ad_bucket_wait(&b, 500), 600);
  ck_assert_uint_eq(ad_bucket_wait(&b, 1100), 0);
  ad_bucket_take(&b, 1100);
  ck_assert_uint_eq(ad_bucket_wait(&b, 1100), 1);  /* t=101 frees at 1101 */
  ad_bucket_free(&b);
}
END_TEST

/* Greedy takes at random times never put limit+1 grants in one window. */
START_TEST(test_random_greedy_property) {
  enum { N = 5000 };
  static uint64_t stamps[N];
  ad_bucket_t b;
  uint64_t rng = 42, now = 0;
  size_t n = 0, i;

  ck_assert_int_eq(ad_bucket_init(&b, 7, 1000000), 0);
  while (n < N) {
    now += ad_rand_upto(&rng, 300000);
    while (n < N && ad_bucket_wait(&b, now) == 0) {
      ad_bucket_take(&b, now);
      stamps[n++] = now;
    }
  }
  for (i = 0; i + 7 < N; i++)
    ck_assert_uint_ge(stamps[i + 7] - stamps[i], 1000000);
  ad_bucket_free(&b);
}
END_TEST

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Grants leave after a random delay (a connection to open, a busy loop)
 * and are restamped then: whatever the delays, no window of the send
 * times holds more than the limit, which is what a server counts. */
START_TEST(test_restamp_bounds_send_times) {
  enum { N = 3000, LIMIT = 5, WINDOW = 1000000 };
  static uint64_t sent[N], stamp[N], due[N];
  static uint32_t slot[N];
  ad_bucket_t b;
  uint64_t rng = 7, now = 0;
  size_t n = 0, next = 0, i;

  ck_assert_int_eq(ad_bucket_init(&b, LIMIT, WINDOW), 0);
  while (next < N) {
    now += 1 + ad_rand_upto(&rng, 50000);
    for (i = next; i < n; i++) /* requests that reach the wire by now */
      if (sent[i] == 0 && due[i] <= now) {
        sent[i] = due[i];
        ad_bucket_restamp(&b, slot[i], stamp[i], due[i]);
      }
    while (next < n && sent[next] != 0)
      next++;
    while (n < N && ad_bucket_wait(&b, now) == 0) {
      stamp[n] = now;
      slot[n] = ad_bucket_take(&b, now);
      due[n] = now + ad_rand_upto(&rng, 300000);
      n++;
    }
  }
  qsort(sent, N, sizeof(sent[0]), cmp_u64);
  for (i = 0; i + LIMIT < N; i++)
    ck_assert_uint_ge(sent[i + LIMIT] - sent[i], WINDOW);
  /* A restamp of a slot another grant has taken since is ignored. */
  ad_bucket_restamp(&b, 0, 1, now + 5 * WINDOW);
  ck_assert_uint_lt(ad_bucket_wait(&b, now + 2 * WINDOW), 1);
  ad_bucket_free(&b);
}
END_TEST

static Suite *bucket_suite(void) {
  Suite *s = suite_create("bucket");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_invalid);
  tcase_add_test(tc, test_burst_then_window);
  tcase_add_test(tc, test_random_greedy_property);
  tcase_add_test(tc, test_restamp_bounds_send_times);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(bucket_suite()); }
