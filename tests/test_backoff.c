#include <check.h>
#include <stdlib.h>

#include "backoff.h"
#include "testutil.h"

START_TEST(test_bounds_cap_and_give_up) {
  ad_backoff_t b = {100, 1000, 6};
  uint64_t rng = 1;
  int64_t d, max_seen[7] = {0};
  int attempt, i;

  for (i = 0; i < 2000; i++)
    for (attempt = 1; attempt <= 6; attempt++) {
      d = ad_backoff_delay_ms(&b, attempt, &rng);
      ck_assert_int_ge(d, 0);
      /* ceilings 100, 200, 400, 800, then the cap */
      ck_assert_int_le(d, attempt <= 4 ? 100 << (attempt - 1) : 1000);
      if (d > max_seen[attempt])
        max_seen[attempt] = d;
    }
  /* Full jitter really spreads over the range. */
  ck_assert_int_gt(max_seen[1], 90);
  ck_assert_int_gt(max_seen[6], 900);
  ck_assert_int_eq(ad_backoff_delay_ms(&b, 7, &rng), -1);
  ck_assert_int_eq(ad_backoff_delay_ms(&b, 0, &rng), -1);
}
END_TEST

/* The wait keeps growing past max_attempts (the caller stops), and never
 * falls under Retry-After. */
START_TEST(test_wait_honours_retry_after) {
  ad_backoff_t b = {100, 1000, 2};
  uint64_t rng = 7, ms, most = 0;
  int i;
  for (i = 0; i < 50; i++) {
    ms = ad_backoff_wait_ms(&b, 5, -1, &rng);
    ck_assert_uint_le(ms, 1000);
    most = ms > most ? ms : most;
    ck_assert_uint_ge(ad_backoff_wait_ms(&b, 1, 3, &rng), 3000);
    ck_assert_uint_le(ad_backoff_wait_ms(&b, 1, 0, &rng), 100);
  }
  ck_assert_uint_gt(most, 200); /* attempt 5 > max_attempts still grows */
}
END_TEST

START_TEST(test_rng_deterministic) {
  uint64_t a = 99, b = 99, z = 0;
  int i;
  for (i = 0; i < 100; i++)
    ck_assert_uint_eq(ad_rand_next(&a), ad_rand_next(&b));
  ck_assert_uint_ne(ad_rand_next(&z), 0); /* a zero seed still works */
  for (i = 0; i < 1000; i++)
    ck_assert_uint_le(ad_rand_upto(&a, 3), 3);
}
END_TEST

static Suite *backoff_suite(void) {
  Suite *s = suite_create("backoff");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_bounds_cap_and_give_up);
  tcase_add_test(tc, test_rng_deterministic);
  tcase_add_test(tc, test_wait_honours_retry_after);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(backoff_suite()); }
