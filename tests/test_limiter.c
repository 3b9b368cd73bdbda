/* ad_limiter driven by a fake clock: no sleeping, the loop never runs
 * except for one real-timer smoke test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "error.h"
#include "limiter.h"
#include "testutil.h"

#define SEC 1000000ull

static uv_loop_t loop;
static uint64_t fake_now;

static uint64_t fake_clock(void *data) {
  (void)data;
  return fake_now;
}

static void setup(void) {
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  fake_now = 1000 * SEC;
}

static void teardown(void) { ck_assert_int_eq(ad_test_loop_close(&loop), 0); }

/* Closes the limiter and lets its timer's close callback run while the
 * limiter (on the test's stack) still exists. */
static void close_limiter(ad_limiter_t *l) {
  ad_limiter_close(l, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

/* A key plus the grant times seen for it, and a pool of request slots that
 * keeps `backlog` requests waiting at all times (sustained demand). */
#define MAX_GRANTS 20000
typedef struct demand {
  ad_limiter_key_t key;
  ad_limiter_req_t reqs[64];
  int backlog;
  int active; /* re-queue after each grant */
  uint64_t grants[MAX_GRANTS];
  size_t ngrants;
  int canceled;
  uint64_t *shared;  /* grant log of the parent bucket, if any */
  size_t *nshared;
} demand_t;

static void on_grant(ad_limiter_req_t *req, int status, void *data) {
  demand_t *d = data;
  if (status != 0) {
    d->canceled++;
    return;
  }
  ck_assert_uint_lt(d->ngrants, MAX_GRANTS);
  d->grants[d->ngrants++] = fake_now;
  if (d->shared != NULL)
    d->shared[(*d->nshared)++] = fake_now;
  if (d->active)
    ck_assert_int_eq(ad_limiter_acquire(&d->key, req, on_grant, d), 0);
}

static void demand_start(demand_t *d, int backlog) {
  int i;
  d->backlog = backlog;
  d->active = 1;
  for (i = 0; i < backlog; i++)
    ck_assert_int_eq(ad_limiter_acquire(&d->key, &d->reqs[i], on_grant, d), 0);
}

/* Advances the fake clock tick by tick until `until`; jitter_us adds a
 * random lateness to each wake-up, as a loaded machine would. */
static void run_until(ad_limiter_t *l, uint64_t until, uint64_t jitter_us,
                      uint64_t *rng) {
  uint64_t wait;
  while (fake_now < until) {
    wait = ad_limiter_tick(l);
    if (wait == UINT64_MAX)
      break;
    fake_now += wait + (jitter_us ? ad_rand_upto(rng, jitter_us) : 0);
  }
}

/* The property: in any window of `window` there are at most `limit`
 * grants, i.e. grant i and grant i+limit are at least a window apart. */
static void assert_window(const uint64_t *stamps, size_t n, uint32_t limit,
                          uint64_t window) {
  size_t i;
  for (i = 0; i + limit < n; i++)
    ck_assert_msg(stamps[i + limit] - stamps[i] >= window,
                  "%u+1 grants within %llu us (at %zu)", limit,
                  (unsigned long long)(stamps[i + limit] - stamps[i]), i);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

START_TEST(test_sustained_rate_single_key) {
  static demand_t d;
  ad_limiter_t l;
  uint64_t start = fake_now;

  memset(&d, 0, sizeof(d));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ck_assert_int_eq(ad_limiter_key_init(&l, &d.key, 5, SEC + 20000, NULL), 0);
  demand_start(&d, 8);
  run_until(&l, start + 120 * SEC, 0, NULL);
  assert_window(d.grants, d.ngrants, 5, SEC);
  /* 5 per 1.02 s is 98 % of nominal; require at least 97 %. */
  ck_assert_uint_ge(d.ngrants, (size_t)(0.97 * 5 * 120));
  ck_assert_uint_le(d.ngrants, 5 * 120 + 5);
  d.active = 0;
  close_limiter(&l);
  ck_assert_int_eq(d.canceled, 8);
  ad_limiter_key_close(&d.key);
}
END_TEST

START_TEST(test_burst_then_paced) {
  static demand_t d;
  ad_limiter_t l;
  uint64_t start = fake_now;

  memset(&d, 0, sizeof(d));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ck_assert_int_eq(ad_limiter_key_init(&l, &d.key, 5, SEC, NULL), 0);
  demand_start(&d, 10);
  ad_limiter_tick(&l);
  ck_assert_uint_eq(d.ngrants, 5); /* the first five go at once */
  ck_assert_uint_eq(ad_limiter_tick(&l), SEC);
  run_until(&l, start + SEC, 0, NULL);
  ad_limiter_tick(&l);
  ck_assert_uint_eq(d.ngrants, 10);
  ck_assert_uint_eq(d.grants[5], start + SEC);
  d.active = 0;
  close_limiter(&l);
  ad_limiter_key_close(&d.key);
}
END_TEST

START_TEST(test_randomized_many_keys_never_exceed) {
  enum { NKEYS = 40, NPARENTS = 3 };
  static demand_t d[NKEYS];
  static ad_limiter_key_t parents[NPARENTS];
  static uint64_t plog[NPARENTS][MAX_GRANTS * 2];
  static size_t nplog[NPARENTS];
  static uint32_t plimit[NPARENTS];
  ad_limiter_t l;
  uint64_t rng = 0x5eed, start = fake_now, t;
  int i, p;
  uint32_t lim;

  memset(d, 0, sizeof(d));
  memset(nplog, 0, sizeof(nplog));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  for (p = 0; p < NPARENTS; p++) {
    plimit[p] = 10 + (uint32_t)ad_rand_upto(&rng, 40);
    ck_assert_int_eq(ad_limiter_key_init(&l, &parents[p], plimit[p], SEC, NULL),
                     0);
  }
  for (i = 0; i < NKEYS; i++) {
    lim = 1 + (uint32_t)ad_rand_upto(&rng, 9);
    p = (int)ad_rand_upto(&rng, NPARENTS); /* p == NPARENTS: no parent */
    ck_assert_int_eq(ad_limiter_key_init(&l, &d[i].key, lim, SEC,
                                         p < NPARENTS ? &parents[p] : NULL),
                     0);
    if (p < NPARENTS) {
      d[i].shared = plog[p];
      d[i].nshared = &nplog[p];
    }
  }
  /* Demand arrives and stops at random; wake-ups are randomly late. */
  for (t = 0; t < 60; t++) {
    for (i = 0; i < NKEYS; i++) {
      if (ad_rand_upto(&rng, 3) == 0 && !d[i].active &&
          ad_list_empty(&d[i].key.waiting))
        demand_start(&d[i], 1 + (int)ad_rand_upto(&rng, 20));
      else if (ad_rand_upto(&rng, 10) == 0)
        d[i].active = 0;
    }
    run_until(&l, start + (t + 1) * SEC, 3000, &rng);
    if (ad_rand_upto(&rng, 4) == 0)
      ad_limiter_penalize(&d[ad_rand_upto(&rng, NKEYS - 1)].key, 2 * SEC);
  }
  for (i = 0; i < NKEYS; i++) {
    ck_assert_uint_gt(d[i].ngrants, 0);
    assert_window(d[i].grants, d[i].ngrants, d[i].key.bucket.limit, SEC);
  }
  for (p = 0; p < NPARENTS; p++) {
    qsort(plog[p], nplog[p], sizeof(uint64_t), cmp_u64);
    assert_window(plog[p], nplog[p], plimit[p], SEC);
  }
  for (i = 0; i < NKEYS; i++)
    d[i].active = 0;
  close_limiter(&l);
  for (i = 0; i < NKEYS; i++)
    ad_limiter_key_close(&d[i].key);
  for (p = 0; p < NPARENTS; p++)
    ad_limiter_key_close(&parents[p]);
}
END_TEST

START_TEST(test_penalized_key_does_not_delay_others) {
  static demand_t a, b;
  ad_limiter_t l;
  uint64_t start = fake_now;
  size_t i, a_before;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &a.key, 5, SEC, NULL);
  ad_limiter_key_init(&l, &b.key, 5, SEC, NULL);
  demand_start(&a, 5);
  demand_start(&b, 5);
  run_until(&l, start + 2 * SEC, 0, NULL);
  a_before = a.ngrants;
  ad_limiter_penalize(&a.key, 30 * SEC);
  run_until(&l, start + 32 * SEC, 0, NULL);
  /* a got nothing during its penalty; b kept its full rate. */
  for (i = a_before; i < a.ngrants; i++)
    ck_assert_uint_ge(a.grants[i], start + 32 * SEC);
  ck_assert_uint_ge(b.ngrants, 5 * 32 - 5);
  run_until(&l, start + 40 * SEC, 0, NULL);
  ck_assert_uint_ge(a.ngrants, a_before + 5 * 7); /* and resumed after */
  ck_assert_uint_eq(a.key.penalties, 1);
  a.active = b.active = 0;
  close_limiter(&l);
  ad_limiter_key_close(&a.key);
  ad_limiter_key_close(&b.key);
}
END_TEST

START_TEST(test_penalized_parent_blocks_children) {
  static demand_t a;
  ad_limiter_key_t token;
  ad_limiter_t l;
  uint64_t start = fake_now;

  memset(&a, 0, sizeof(a));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &token, 50, SEC, NULL);
  ad_limiter_key_init(&l, &a.key, 5, SEC, &token);
  ad_limiter_penalize(&token, 30 * SEC);
  demand_start(&a, 3);
  ck_assert_uint_eq(ad_limiter_tick(&l), 30 * SEC);
  ck_assert_uint_eq(a.ngrants, 0);
  run_until(&l, start + 30 * SEC + 1, 0, NULL);
  ck_assert_uint_eq(a.grants[0], start + 30 * SEC);
  a.active = 0;
  close_limiter(&l);
  ad_limiter_key_close(&a.key);
  ad_limiter_key_close(&token);
}
END_TEST

/* A grant whose request left late counts from when it left, in its key
 * and in the parent: the next grant waits a window from the send. */
START_TEST(test_sent_moves_the_grant_in_the_chain) {
  static demand_t a, b;
  ad_limiter_key_t token;
  ad_limiter_t l;
  uint64_t start = fake_now;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &token, 1, SEC, NULL);
  ad_limiter_key_init(&l, &a.key, 1, SEC, &token);
  ad_limiter_key_init(&l, &b.key, 5, SEC, &token);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[0], on_grant, &a), 0);
  ad_limiter_tick(&l);
  ck_assert_uint_eq(a.ngrants, 1);
  fake_now = start + SEC / 2; /* the request leaves half a second late */
  ad_limiter_sent(&a.reqs[0]);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[1], on_grant, &a), 0);
  ck_assert_int_eq(ad_limiter_acquire(&b.key, &b.reqs[0], on_grant, &b), 0);
  run_until(&l, start + 3 * SEC, 0, NULL);
  /* The token (limit 1) freed a window after the send, not the grant;
   * a, first in line, took that slot and b, its sibling, the next. */
  ck_assert_uint_eq(a.ngrants, 2);
  ck_assert_uint_eq(a.grants[1], start + SEC / 2 + SEC);
  ck_assert_uint_eq(b.ngrants, 1);
  ck_assert_uint_eq(b.grants[0], start + SEC / 2 + 2 * SEC);
  close_limiter(&l);
  ad_limiter_key_close(&a.key);
  ad_limiter_key_close(&b.key);
  ad_limiter_key_close(&token);
}
END_TEST

/* late_us sums, per grant, the time from when the limits allowed the
 * request to when it went on the wire: what a late timer, a busy loop or
 * a slow connect cost when the limits bind. */
START_TEST(test_late_counts_from_the_free_slot) {
  static demand_t a;
  ad_limiter_t l;
  uint64_t start = fake_now;

  memset(&a, 0, sizeof(a));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &a.key, 1, SEC, NULL);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[0], on_grant, &a), 0);
  fake_now += 3000; /* granted 3 ms after it was queued */
  ad_limiter_tick(&l);
  ad_limiter_sent(&a.reqs[0]); /* on the wire at once */
  ck_assert_uint_eq(l.late_us, 3000);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[1], on_grant, &a), 0);
  fake_now = start + 3000 + SEC + 7000; /* the slot freed 7 ms ago */
  ad_limiter_tick(&l);
  fake_now += 2000; /* and the request left 2 ms after its grant */
  ad_limiter_sent(&a.reqs[1]);
  ad_limiter_sent(&a.reqs[1]); /* a second call counts nothing */
  ck_assert_uint_eq(a.ngrants, 2);
  ck_assert_uint_eq(l.late_us, 3000 + 7000 + 2000);
  close_limiter(&l);
  ad_limiter_key_close(&a.key);
}
END_TEST

/* try_acquire grants on the spot only when nothing waits anywhere and the
 * buckets allow it; it never runs a callback and never jumps a queue. */
START_TEST(test_try_acquire) {
  static demand_t a, b;
  ad_limiter_key_t token;
  ad_limiter_req_t now_req[3];
  ad_limiter_t l;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &token, 3, SEC, NULL);
  ad_limiter_key_init(&l, &a.key, 2, SEC, &token);
  ad_limiter_key_init(&l, &b.key, 2, SEC, &token);
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &now_req[0]), 1);
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &now_req[1]), 1);
  /* a's bucket is spent: no grant, nothing queued. */
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &now_req[2]), 0);
  ck_assert_uint_eq(a.key.grants, 2);
  ck_assert_uint_eq(l.grants, 2);
  /* With a request waiting on a, b may not go first, although both b's
   * bucket and the token have room. */
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[0], on_grant, &a), 0);
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &now_req[2]), 0);
  ck_assert_uint_eq(b.key.grants, 0);
  ad_limiter_cancel(&a.reqs[0]); /* a canceled request is not waiting */
  ck_assert_int_eq(a.canceled, 1);
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &now_req[2]), 1);
  /* The token's 3 are spent now. */
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &b.reqs[1]), 0);
  ad_limiter_cancel(&now_req[2]); /* granted, not waiting: a no-op */
  ck_assert_uint_eq(l.grants, 3);
  close_limiter(&l);
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &b.reqs[1]), AD_ECLOSING);
  ad_limiter_key_close(&a.key);
  ad_limiter_key_close(&b.key);
  ad_limiter_key_close(&token);
}
END_TEST

START_TEST(test_hierarchical_token_cap_and_fairness) {
  enum { NKEYS = 20 };
  static demand_t d[NKEYS];
  static uint64_t tlog[MAX_GRANTS * 2];
  static size_t ntlog;
  ad_limiter_key_t token;
  ad_limiter_t l;
  uint64_t start = fake_now, rng = 7;
  size_t lo = SIZE_MAX, hi = 0, total = 0;
  int i;

  memset(d, 0, sizeof(d));
  ntlog = 0;
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &token, 50, SEC + 20000, NULL);
  for (i = 0; i < NKEYS; i++) {
    ad_limiter_key_init(&l, &d[i].key, 5, SEC + 20000, &token);
    d[i].shared = tlog;
    d[i].nshared = &ntlog;
    demand_start(&d[i], 6);
  }
  run_until(&l, start + 60 * SEC, 2000, &rng);
  assert_window(tlog, ntlog, 50, SEC);
  for (i = 0; i < NKEYS; i++) {
    assert_window(d[i].grants, d[i].ngrants, 5, SEC);
    total += d[i].ngrants;
    lo = d[i].ngrants < lo ? d[i].ngrants : lo;
    hi = d[i].ngrants > hi ? d[i].ngrants : hi;
  }
  /* 20 keys x 5/s want 100/s: the token's 50/s caps them, near fully. */
  ck_assert_uint_ge(total, (size_t)(0.97 * 50 * 60));
  ck_assert_uint_le(total, 50 * 60 + 50);
  /* and shares it evenly (~2.5/s each). */
  ck_assert_msg(hi - lo <= 3, "unfair share: %zu..%zu", lo, hi);
  for (i = 0; i < NKEYS; i++)
    d[i].active = 0;
  close_limiter(&l);
  for (i = 0; i < NKEYS; i++)
    ad_limiter_key_close(&d[i].key);
  ad_limiter_key_close(&token);
}
END_TEST

START_TEST(test_waiting_key_no_head_of_line_blocking) {
  static demand_t a, b;
  ad_limiter_t l;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ad_limiter_key_init(&l, &a.key, 2, SEC, NULL);
  ad_limiter_key_init(&l, &b.key, 2, SEC, NULL);
  demand_start(&a, 10); /* a queues first and runs dry after 2 grants */
  a.active = 0;
  ad_limiter_tick(&l);
  ck_assert_uint_eq(a.ngrants, 2);
  demand_start(&b, 1);
  b.active = 0;
  ad_limiter_tick(&l); /* b is served at once, behind a's 8 waiting */
  ck_assert_uint_eq(b.ngrants, 1);
  ck_assert_uint_eq(b.grants[0], fake_now);
  close_limiter(&l);
  ck_assert_int_eq(a.canceled, 8);
  ad_limiter_key_close(&a.key);
  ad_limiter_key_close(&b.key);
}
END_TEST

START_TEST(test_cancel_and_errors) {
  static demand_t a;
  ad_limiter_t l;
  ad_limiter_key_t bad;
  ad_limiter_req_t extra;

  memset(&a, 0, sizeof(a));
  ad_limiter_init(&l, &loop, fake_clock, NULL);
  ck_assert_int_eq(ad_limiter_key_init(&l, &bad, 0, SEC, NULL), AD_EINVAL);
  ad_limiter_key_init(&l, &a.key, 1, SEC, NULL);
  demand_start(&a, 3);
  a.active = 0;
  ad_limiter_tick(&l);
  ck_assert_uint_eq(a.ngrants, 1);
  ad_limiter_cancel(&a.reqs[1]);
  ck_assert_int_eq(a.canceled, 1);
  ad_limiter_cancel(&a.reqs[1]); /* not waiting any more: no-op */
  ck_assert_int_eq(a.canceled, 1);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &extra, NULL, NULL), AD_EINVAL);
  close_limiter(&l);
  ck_assert_int_eq(a.canceled, 2);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &extra, on_grant, &a),
                   AD_ECLOSING);
  ck_assert_int_eq(a.canceled, 2);
  ad_limiter_key_close(&a.key);
}
END_TEST

/* The uv timer path, on the real clock: 12 grants at 4 per 100 ms. */
typedef struct real {
  ad_limiter_key_t key;
  ad_limiter_req_t reqs[12];
  uint64_t stamps[12];
  int n;
  int done;
} real_t;

static void on_real(ad_limiter_req_t *req, int status, void *data) {
  real_t *r = data;
  (void)req;
  ck_assert_int_eq(status, 0);
  r->stamps[r->n++] = uv_hrtime() / 1000;
  r->done = r->n == 12;
}

START_TEST(test_real_timer_grants_everything) {
  real_t r;
  ad_limiter_t l;
  int i;

  memset(&r, 0, sizeof(r));
  ad_limiter_init(&l, &loop, NULL, NULL);
  ad_limiter_key_init(&l, &r.key, 4, 100000, NULL);
  for (i = 0; i < 12; i++)
    ck_assert_int_eq(ad_limiter_acquire(&r.key, &r.reqs[i], on_real, &r), 0);
  ck_assert(ad_test_run_until(&loop, &r.done, 10000));
  assert_window(r.stamps, 12, 4, 100000);
  ck_assert_uint_eq(l.grants, 12);
  close_limiter(&l);
  ad_limiter_key_close(&r.key);
}
END_TEST

static Suite *limiter_suite(void) {
  Suite *s = suite_create("limiter");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_sustained_rate_single_key);
  tcase_add_test(tc, test_burst_then_paced);
  tcase_add_test(tc, test_randomized_many_keys_never_exceed);
  tcase_add_test(tc, test_penalized_key_does_not_delay_others);
  tcase_add_test(tc, test_penalized_parent_blocks_children);
  tcase_add_test(tc, test_hierarchical_token_cap_and_fairness);
  tcase_add_test(tc, test_sent_moves_the_grant_in_the_chain);
  tcase_add_test(tc, test_late_counts_from_the_free_slot);
  tcase_add_test(tc, test_try_acquire);
  tcase_add_test(tc, test_waiting_key_no_head_of_line_blocking);
  tcase_add_test(tc, test_cancel_and_errors);
  tcase_add_test(tc, test_real_timer_grants_everything);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(limiter_suite()); }
