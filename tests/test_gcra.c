/* ad_gcra as a pure function of time. */
#include <check.h>
#include <stdlib.h>

#include "backoff.h"
#include "gcra.h"
#include "testutil.h"

#define SEC 1000000ull
#define TOL 3000ull

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

START_TEST(test_period) {
  ck_assert_uint_eq(ad_gcra_period(5, SEC, 0), 200000);
  ck_assert_uint_eq(ad_gcra_period(50, SEC, 20000), 20400);
  ck_assert_uint_eq(ad_gcra_period(4.5, SEC, 0), 222223); /* rounded up */
  ck_assert_uint_eq(ad_gcra_period(120, 60 * SEC, 0), 500000);
  ck_assert_uint_eq(ad_gcra_period(1e9, 1, 0), 1); /* never 0 */
}
END_TEST

/* No burst: the first grant goes at once, each next one a period later
 * (give or take the tolerance), never two at once. */
START_TEST(test_spaced_from_the_start) {
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  uint64_t now = 10 * SEC;

  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, now), 0);
  ad_gcra_take(&g, 200000, TOL, 1, now, &gr);
  ck_assert_uint_eq(gr.sched, now - TOL); /* idle: as early as allowed */
  ck_assert_uint_eq(gr.seq, 1);
  ck_assert_int_eq(gr.binding, 0); /* it was idle */
  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, now), 200000 - 2 * TOL);
  now += 200000 - 2 * TOL;
  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, now), 0);
  ad_gcra_take(&g, 200000, TOL, 1, now, &gr);
  /* Early within the tolerance: it takes its slot, the schedule holds. */
  ck_assert_uint_eq(gr.sched, 10 * SEC - TOL + 200000);
  ck_assert_uint_eq(gr.ready, 10 * SEC - 2 * TOL + 200000);
  ck_assert_int_eq(gr.binding, 1);
  ck_assert_uint_eq(g.tat, 10 * SEC - TOL + 400000);
}
END_TEST

/* Grants delivered up to the tolerance late (a busy loop, a coarse
 * timer) keep their slots: over many periods the rate is the nominal
 * one. Later than that, only the excess is lost, never made up by a
 * burst. */
START_TEST(test_lateness_within_tolerance_keeps_the_rate) {
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  uint64_t rng = 3, now = SEC, start = SEC, prev = 0, tat;
  int i;

  for (i = 0; i < 1000; i++) {
    now += ad_gcra_wait(&g, TOL, now) + ad_rand_upto(&rng, 2 * TOL);
    ad_gcra_take(&g, 20000, TOL, 1, now, &gr);
    if (i > 0)
      ck_assert_uint_ge(now - prev, 20000 - 2 * TOL);
    prev = now;
  }
  /* 1000 grants at 20 ms: the last at 999 periods, give or take 2 TOL. */
  ck_assert_uint_le(now - start, 999 * 20000ull + 2 * TOL);
  ck_assert_uint_ge(now - start, 999 * 20000ull - 2 * TOL);
  /* 10 ms late: 7 of them are lost, the next slot is 13 ms away. */
  tat = g.tat;
  now = tat + 10000;
  ad_gcra_take(&g, 20000, TOL, 1, now, &gr);
  ck_assert_uint_eq(gr.sched, now - TOL);
  ck_assert_uint_eq(g.tat, now - TOL + 20000);
}
END_TEST

/* Greedy takes at random times: any limit+1 consecutive grants span at
 * least the window less the tolerance. */
START_TEST(test_random_greedy_window_property) {
  enum { N = 5000, LIMIT = 7 };
  static uint64_t stamps[N];
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  uint64_t rng = 42, now = SEC, period = ad_gcra_period(LIMIT, SEC, 0);
  size_t n = 0, i;

  while (n < N) {
    now += ad_rand_upto(&rng, 300000);
    while (n < N && ad_gcra_wait(&g, TOL, now) == 0) {
      ad_gcra_take(&g, period, TOL, 1, now, &gr);
      stamps[n++] = now;
    }
  }
  for (i = 0; i + LIMIT < N; i++)
    ck_assert_uint_ge(stamps[i + LIMIT] - stamps[i], SEC - 2 * TOL);
}
END_TEST

/* Grants leave after a random delay (a connection to open, a busy loop)
 * and report it: whatever the delays, no window of the send times holds
 * more than the limit (less the tolerance), which is what a server
 * counts. */
START_TEST(test_sent_bounds_send_times) {
  enum { N = 3000, LIMIT = 5 };
  static uint64_t sent[N], due[N];
  static ad_gcra_grant_t gr[N];
  ad_gcra_t g = {0};
  uint64_t rng = 7, now = SEC, period = ad_gcra_period(LIMIT, SEC, 0);
  size_t n = 0, next = 0, i;

  while (next < N) {
    now += 1 + ad_rand_upto(&rng, 50000);
    for (i = next; i < n; i++) /* requests that reach the wire by now */
      if (sent[i] == 0 && due[i] <= now) {
        sent[i] = due[i];
        ad_gcra_sent(&g, period, TOL, &gr[i], due[i]);
      }
    while (next < n && sent[next] != 0)
      next++;
    while (n < N && ad_gcra_wait(&g, TOL, now) == 0) {
      ad_gcra_take(&g, period, TOL, 1, now, &gr[n]);
      /* most leave at once, some much later */
      due[n] = now + (ad_rand_upto(&rng, 3) == 0 ? ad_rand_upto(&rng, 300000)
                                                 : ad_rand_upto(&rng, 500));
      n++;
    }
  }
  qsort(sent, N, sizeof(sent[0]), cmp_u64);
  for (i = 0; i + LIMIT < N; i++)
    ck_assert_uint_ge(sent[i + LIMIT] - sent[i], SEC - 2 * TOL);
}
END_TEST

/* A request that left within its slot's tolerance moves nothing. */
START_TEST(test_sent_on_time_is_free) {
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  ad_gcra_take(&g, 100000, TOL, 1, SEC, &gr); /* slot SEC - TOL */
  ad_gcra_sent(&g, 100000, TOL, &gr, SEC);
  ck_assert_uint_eq(g.tat, SEC - TOL + 100000);
  ad_gcra_sent(&g, 100000, TOL, &gr, SEC + 30000); /* 30 ms late */
  ck_assert_uint_eq(g.tat, SEC + 30000 - TOL + 100000);
}
END_TEST

START_TEST(test_block) {
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  ad_gcra_block(&g, SEC, 30 * SEC);
  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, SEC), 30 * SEC);
  ad_gcra_block(&g, SEC, 5 * SEC); /* an earlier end does not shorten it */
  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, 2 * SEC), 29 * SEC);
  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, 31 * SEC), 0);
  ad_gcra_take(&g, 1000, TOL, 1, 32 * SEC, &gr);
  ck_assert_uint_eq(gr.ready, 31 * SEC); /* ready when the block ended */
  /* A Retry-After years ahead is a day, never a wrap to no wait. */
  ad_gcra_block(&g, 40 * SEC, UINT64_MAX);
  ck_assert_uint_eq(ad_gcra_wait(&g, TOL, 40 * SEC), AD_GCRA_MAX_BLOCK_US);
}
END_TEST

/* A taker that widened its margin spaces the key for every taker, for
 * as long as it keeps using it, and a minute after. */
START_TEST(test_wider_period_is_shared) {
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  uint64_t now = SEC;

  ad_gcra_take(&g, 20000, TOL, 1, now, &gr); /* us, narrow */
  now += ad_gcra_wait(&g, TOL, now);
  ad_gcra_take(&g, 40000, TOL, 1, now, &gr); /* another, widened */
  ck_assert_uint_eq(g.tat, gr.sched + 40000);
  now += ad_gcra_wait(&g, TOL, now);
  ad_gcra_take(&g, 20000, TOL, 1, now, &gr); /* us again: spaced wide */
  ck_assert_uint_eq(g.tat, gr.sched + 40000);
  now += AD_GCRA_WIDE_US + 1; /* the wide taker has gone quiet */
  ad_gcra_take(&g, 20000, TOL, 1, now, &gr);
  ck_assert_uint_eq(g.tat, gr.sched + 20000);
}
END_TEST

/* binding: a key that kept its pace for `goal` grants in a row says so;
 * an idle one, a light one, or two requests in a row do not. */
START_TEST(test_binding) {
  ad_gcra_t g = {0};
  ad_gcra_grant_t gr;
  uint64_t now = SEC;
  int i;

  for (i = 0; i < 5; i++) { /* at 1 per 4 periods: never binding */
    ad_gcra_take(&g, 10000, TOL, 4, now, &gr);
    ck_assert_int_eq(gr.binding, 0);
    now += 40000;
  }
  for (i = 0; i < 8; i++) { /* at the pace: binding from the fifth on */
    now += ad_gcra_wait(&g, TOL, now);
    ad_gcra_take(&g, 10000, TOL, 4, now, &gr);
    ck_assert_int_eq(gr.binding, i >= 4);
  }
  now += 30000; /* a pause ends the streak */
  ad_gcra_take(&g, 10000, TOL, 4, now, &gr);
  ck_assert_int_eq(gr.binding, 0);
  ck_assert_uint_eq(g.streak, 0);
}
END_TEST

static Suite *gcra_suite(void) {
  Suite *s = suite_create("gcra");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_period);
  tcase_add_test(tc, test_spaced_from_the_start);
  tcase_add_test(tc, test_lateness_within_tolerance_keeps_the_rate);
  tcase_add_test(tc, test_random_greedy_window_property);
  tcase_add_test(tc, test_sent_bounds_send_times);
  tcase_add_test(tc, test_sent_on_time_is_free);
  tcase_add_test(tc, test_block);
  tcase_add_test(tc, test_wider_period_is_shared);
  tcase_add_test(tc, test_binding);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(gcra_suite()); }
