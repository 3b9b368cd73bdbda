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

static Suite *bucket_suite(void) {
  Suite *s = suite_create("bucket");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_invalid);
  tcase_add_test(tc, test_burst_then_window);
  tcase_add_test(tc, test_random_greedy_property);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(bucket_suite()); }
