/* ad_fake_window: the fakes' "at most N in any window" on arrival stamps
 * that reach it out of order. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"
#include "fake_window.h"
#include "testutil.h"

START_TEST(test_busiest_and_tightest) {
  ad_fake_window_t w;
  ad_fake_window_init(&w, 1000);
  ck_assert_uint_eq(ad_fake_window_busiest(&w, 50), 1);
  ck_assert_uint_eq(ad_fake_window_tightest(&w, 50, 2), UINT64_MAX);
  ad_fake_window_add(&w, 0);
  ad_fake_window_add(&w, 400);
  ad_fake_window_add(&w, 999);
  /* 1000 shares a window with 400 and 999, not with 0. */
  ck_assert_uint_eq(ad_fake_window_busiest(&w, 1000), 3);
  ck_assert_uint_eq(ad_fake_window_busiest(&w, 998), 4);
  ck_assert_uint_eq(ad_fake_window_tightest(&w, 1000, 4), 1000);
  ck_assert_uint_eq(ad_fake_window_tightest(&w, 1000, 2), 1);
  ad_fake_window_free(&w);
}
END_TEST

/* A request the fake's thread takes after a later one is judged where it
 * arrived: the client that kept 5 per window is never over, whatever the
 * order, and one that sent a sixth is always over. */
START_TEST(test_out_of_order_arrivals) {
  enum { N = 60, LIMIT = 5 };
  uint64_t stamps[N], rng = 7;
  ad_fake_window_t w;
  size_t i, j, worst = 0;

  for (i = 0; i < N; i++) /* 5 per 1 020 ms, as a client with a margin */
    stamps[i] = (i / LIMIT) * 1020 + (i % LIMIT) * 3;
  for (i = N - 1; i > 0; i--) { /* taken in a shuffled order */
    uint64_t t;
    j = (size_t)ad_rand_upto(&rng, i);
    t = stamps[i], stamps[i] = stamps[j], stamps[j] = t;
  }
  ad_fake_window_init(&w, 1000);
  for (i = 0; i < N; i++) {
    size_t b = ad_fake_window_busiest(&w, stamps[i]);
    if (b > worst)
      worst = b;
    ck_assert_uint_ge(ad_fake_window_tightest(&w, stamps[i], LIMIT + 1),
                      1000);
    ck_assert_int_eq(ad_fake_window_add(&w, stamps[i]), 0);
  }
  ck_assert_uint_eq(worst, LIMIT);
  /* One more, 999 ms after a recent group's first stamp, is over. */
  ck_assert_uint_eq(ad_fake_window_busiest(&w, (N / LIMIT - 2) * 1020 + 999),
                    LIMIT + 1);
  ad_fake_window_free(&w);
}
END_TEST

START_TEST(test_forgets_old_stamps) {
  ad_fake_window_t w;
  uint64_t t;
  ad_fake_window_init(&w, 1000);
  for (t = 0; t < 100000; t += 10)
    ck_assert_int_eq(ad_fake_window_add(&w, t), 0);
  ck_assert_uint_le(w.n, 3 * 1000 / 10 + 1);
  ck_assert_uint_eq(ad_fake_window_busiest(&w, t), 100);
  ad_fake_window_free(&w);
}
END_TEST

static Suite *fake_window_suite(void) {
  Suite *s = suite_create("fake_window");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_busiest_and_tightest);
  tcase_add_test(tc, test_out_of_order_arrivals);
  tcase_add_test(tc, test_forgets_old_stamps);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(fake_window_suite()); }
