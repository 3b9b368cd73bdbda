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

#define TOL AD_LIMITER_TOLERANCE_US

static uv_loop_t loop;
static uint64_t fake_now;
static ad_budget_t budget; /* memory, on the fake clock */

static uint64_t fake_clock(void *data) {
  (void)data;
  return fake_now;
}

static void setup(void) {
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  fake_now = 1000 * SEC;
  ad_budget_memory_init(&budget, fake_clock, NULL);
}

static void limiter_init(ad_limiter_t *l) {
  ck_assert_int_eq(ad_limiter_init(l, &loop, &budget), 0);
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

/* The property: in any window of `window` (less twice the tolerance a
 * grant may stray from its slot) there are at most `limit` grants, i.e.
 * grant i and grant i+limit are at least that far apart. */
static void assert_window(const uint64_t *stamps, size_t n, uint32_t limit,
                          uint64_t window) {
  size_t i;
  for (i = 0; i + limit < n; i++)
    ck_assert_msg(stamps[i + limit] - stamps[i] >= window - 2 * TOL,
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
  limiter_init(&l);
  ck_assert_int_eq(ad_limiter_key_init(&l, &d.key, NULL, 5, SEC + 20000, NULL), 0);
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

START_TEST(test_spaced_not_bursting) {
  static demand_t d;
  ad_limiter_t l;
  uint64_t start = fake_now;
  size_t i;

  memset(&d, 0, sizeof(d));
  limiter_init(&l);
  ck_assert_int_eq(ad_limiter_key_init(&l, &d.key, NULL, 5, SEC, NULL), 0);
  demand_start(&d, 10);
  ad_limiter_tick(&l);
  ck_assert_uint_eq(d.ngrants, 1); /* one at once, not five */
  ck_assert_uint_eq(ad_limiter_tick(&l), SEC / 5 - 2 * TOL);
  run_until(&l, start + 2 * SEC, 0, NULL);
  ck_assert_uint_ge(d.ngrants, 10);
  for (i = 1; i < d.ngrants; i++)
    ck_assert_uint_ge(d.grants[i] - d.grants[i - 1], SEC / 5 - 2 * TOL);
  /* and no slower: ten grants over nine periods, at most */
  ck_assert_uint_le(d.grants[9] - d.grants[0], 9 * SEC / 5);
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
  limiter_init(&l);
  for (p = 0; p < NPARENTS; p++) {
    plimit[p] = 10 + (uint32_t)ad_rand_upto(&rng, 40);
    ck_assert_int_eq(ad_limiter_key_init(&l, &parents[p], NULL, plimit[p], SEC, NULL),
                     0);
  }
  for (i = 0; i < NKEYS; i++) {
    lim = 1 + (uint32_t)ad_rand_upto(&rng, 9);
    p = (int)ad_rand_upto(&rng, NPARENTS); /* p == NPARENTS: no parent */
    ck_assert_int_eq(ad_limiter_key_init(&l, &d[i].key, NULL, lim, SEC,
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
    assert_window(d[i].grants, d[i].ngrants, (uint32_t)d[i].key.limit, SEC);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &a.key, NULL, 5, SEC, NULL);
  ad_limiter_key_init(&l, &b.key, NULL, 5, SEC, NULL);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &token, NULL, 50, SEC, NULL);
  ad_limiter_key_init(&l, &a.key, NULL, 5, SEC, &token);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &token, NULL, 1, SEC, NULL);
  ad_limiter_key_init(&l, &a.key, NULL, 1, SEC, &token);
  ad_limiter_key_init(&l, &b.key, NULL, 5, SEC, &token);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[0], on_grant, &a), 0);
  ad_limiter_tick(&l);
  ck_assert_uint_eq(a.ngrants, 1);
  fake_now = start + SEC / 2; /* the request leaves half a second late */
  ad_limiter_sent(&a.reqs[0]);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[1], on_grant, &a), 0);
  ck_assert_int_eq(ad_limiter_acquire(&b.key, &b.reqs[0], on_grant, &b), 0);
  run_until(&l, start + 3 * SEC, 0, NULL);
  /* The token (one a second) counts a period from the send, not the
   * grant; a, first in line, took that slot and b, its sibling, the
   * next. The late send counts from a tolerance before it, and each
   * grant may go a tolerance early. */
  ck_assert_uint_eq(a.ngrants, 2);
  ck_assert_uint_eq(a.grants[1], start + SEC / 2 + SEC - 2 * TOL);
  ck_assert_uint_eq(b.ngrants, 1);
  ck_assert_uint_eq(b.grants[0], start + SEC / 2 + 2 * SEC - 2 * TOL);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &a.key, NULL, 1, SEC, NULL);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[0], on_grant, &a), 0);
  fake_now += 3000; /* granted 3 ms after it was queued */
  ad_limiter_tick(&l);
  ad_limiter_sent(&a.reqs[0]); /* on the wire at once */
  ck_assert_uint_eq(l.late_us, 3000);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[1], on_grant, &a), 0);
  /* The first grant, 3 ms late, kept the slot at start (the tolerance
   * is 3 ms), so the second's opened at start + 1 s less the tolerance;
   * it came 10 ms after that. */
  fake_now = start + SEC + 10000 - TOL;
  ad_limiter_tick(&l);
  fake_now += 2000; /* and the request left 2 ms after its grant */
  ad_limiter_sent(&a.reqs[1]);
  ad_limiter_sent(&a.reqs[1]); /* a second call counts nothing */
  ck_assert_uint_eq(a.ngrants, 2);
  ck_assert_uint_eq(l.late_us, 3000 + 10000 + 2000);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &token, NULL, 4, SEC, NULL);
  ad_limiter_key_init(&l, &a.key, NULL, 2, SEC, &token);
  ad_limiter_key_init(&l, &b.key, NULL, 2, SEC, &token);
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &now_req[0]), 1);
  /* a's next slot is half a second away: no grant, nothing queued. */
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &now_req[1]), 0);
  ck_assert_uint_eq(a.key.grants, 1);
  ck_assert_uint_eq(l.grants, 1);
  fake_now += SEC / 4; /* the token's next slot */
  /* With a request waiting on a, b may not go first, although both b's
   * key and the token have room. */
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &a.reqs[0], on_grant, &a), 0);
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &now_req[2]), 0);
  ck_assert_uint_eq(b.key.grants, 0);
  ad_limiter_cancel(&a.reqs[0]); /* a canceled request is not waiting */
  ck_assert_int_eq(a.canceled, 1);
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &now_req[2]), 1);
  /* The token's next slot is a quarter second away now. */
  ck_assert_int_eq(ad_limiter_try_acquire(&b.key, &b.reqs[1]), 0);
  ad_limiter_cancel(&now_req[2]); /* granted, not waiting: a no-op */
  ck_assert_uint_eq(l.grants, 2);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &token, NULL, 50, SEC + 20000, NULL);
  for (i = 0; i < NKEYS; i++) {
    ad_limiter_key_init(&l, &d[i].key, NULL, 5, SEC + 20000, &token);
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
  limiter_init(&l);
  ad_limiter_key_init(&l, &a.key, NULL, 2, SEC, NULL);
  ad_limiter_key_init(&l, &b.key, NULL, 2, SEC, NULL);
  demand_start(&a, 10); /* a queues first and waits after one grant */
  a.active = 0;
  ad_limiter_tick(&l);
  ck_assert_uint_eq(a.ngrants, 1);
  demand_start(&b, 1);
  b.active = 0;
  ad_limiter_tick(&l); /* b is served at once, behind a's 9 waiting */
  ck_assert_uint_eq(b.ngrants, 1);
  ck_assert_uint_eq(b.grants[0], fake_now);
  close_limiter(&l);
  ck_assert_int_eq(a.canceled, 9);
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
  limiter_init(&l);
  ck_assert_int_eq(ad_limiter_key_init(&l, &bad, NULL, 0, SEC, NULL), AD_EINVAL);
  ad_limiter_key_init(&l, &a.key, NULL, 1, SEC, NULL);
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

/* What tells a base's 429 from its token's: at 2 busy keys under a
 * 50/s token, each key is at its limit once it has kept its pace for a
 * window and the token never; at 40 keys sharing the token, the token is
 * and the keys are not. */
typedef struct bind_log {
  ad_limiter_key_t key;
  ad_limiter_req_t req;
  int active;
  long own, parent, n;
} bind_log_t;

static void on_bind(ad_limiter_req_t *req, int status, void *data) {
  bind_log_t *b = data;
  if (status != 0)
    return;
  b->n++;
  b->own += ad_limiter_req_binding(req, 0);
  b->parent += ad_limiter_req_binding(req, 1);
  ck_assert_int_eq(ad_limiter_req_binding(req, 2), 0); /* past the chain */
  if (b->active)
    ck_assert_int_eq(ad_limiter_acquire(&b->key, req, on_bind, b), 0);
}

static void binding_run(int nkeys, long *own, long *parent, long *n) {
  static bind_log_t d[40];
  ad_limiter_key_t token;
  ad_limiter_t l;
  int i;

  memset(d, 0, sizeof(d));
  limiter_init(&l);
  ad_limiter_key_init(&l, &token, NULL, 50, SEC, NULL);
  for (i = 0; i < nkeys; i++) {
    ad_limiter_key_init(&l, &d[i].key, NULL, 5, SEC, &token);
    d[i].active = 1;
    ck_assert_int_eq(ad_limiter_acquire(&d[i].key, &d[i].req, on_bind, &d[i]),
                     0);
  }
  run_until(&l, fake_now + 10 * SEC, 0, NULL);
  *own = *parent = *n = 0;
  for (i = 0; i < nkeys; i++) {
    d[i].active = 0;
    *own += d[i].own;
    *parent += d[i].parent;
    *n += d[i].n;
  }
  close_limiter(&l);
  for (i = 0; i < nkeys; i++)
    ad_limiter_key_close(&d[i].key);
  ad_limiter_key_close(&token);
}

START_TEST(test_binding_names_the_busy_key) {
  long own, parent, n;
  binding_run(2, &own, &parent, &n);
  ck_assert_int_ge(n, 90);
  ck_assert_int_ge(own, n - 2 * 4); /* all but each key's first window */
  ck_assert_int_eq(parent, 0);
  binding_run(40, &own, &parent, &n);
  ck_assert_int_ge(n, 480);
  ck_assert_int_eq(own, 0);
  ck_assert_int_ge(parent, n - 49); /* after the token's first window */
}
END_TEST

/* A wider window spaces the grants from the next one on. */
START_TEST(test_set_window) {
  static demand_t d;
  ad_limiter_t l;
  size_t i;

  memset(&d, 0, sizeof(d));
  limiter_init(&l);
  ad_limiter_key_init(&l, &d.key, NULL, 10, SEC, NULL);
  demand_start(&d, 4);
  run_until(&l, fake_now + SEC, 0, NULL);
  ad_limiter_key_set_window(&d.key, 2 * SEC);
  i = d.ngrants;
  run_until(&l, fake_now + 4 * SEC, 0, NULL);
  ck_assert_uint_gt(d.ngrants, i + 10);
  for (i = i + 1; i < d.ngrants; i++)
    ck_assert_uint_ge(d.grants[i] - d.grants[i - 1], SEC / 5 - TOL);
  d.active = 0;
  close_limiter(&l);
  ad_limiter_key_close(&d.key);
}
END_TEST

/* ---- an asynchronous budget (as Redis is), answered by the test ------- */

typedef struct slow_budget {
  ad_budget_t b;
  ad_budget_take_t *pending[8]; /* questions, oldest first */
  int npending;
  int takes, cancels;
} slow_budget_t;

static int slow_take(ad_budget_t *b, ad_budget_take_t *t) {
  slow_budget_t *s = (slow_budget_t *)b;
  int i;
  for (i = 0; i < s->npending; i++) /* one question per key at a time */
    ck_assert_ptr_ne(s->pending[i], t);
  ck_assert_int_lt(s->npending, 8);
  s->pending[s->npending++] = t;
  s->takes++;
  return AD_BUDGET_PENDING;
}

static void slow_remove(slow_budget_t *s, int i) {
  memmove(&s->pending[i], &s->pending[i + 1],
          (size_t)(s->npending - i - 1) * sizeof(s->pending[0]));
  s->npending--;
}

static void slow_cancel(ad_budget_t *b, ad_budget_take_t *t) {
  slow_budget_t *s = (slow_budget_t *)b;
  int i;
  for (i = 0; i < s->npending; i++)
    if (s->pending[i] == t) {
      slow_remove(s, i);
      s->cancels++;
      return;
    }
}

static void slow_sent(ad_budget_t *b, const ad_budget_take_t *t,
                      uint64_t now) {
  (void)b;
  ad_budget_sent_local(t, now);
}

static void slow_block(ad_budget_t *b, ad_budget_key_t *key, uint64_t d) {
  ad_gcra_block(&key->local, ad_budget_now(b), d);
}

static void slow_close(ad_budget_t *b, void (*done)(ad_budget_t *b)) {
  if (done != NULL)
    done(b);
}

static const ad_budget_ops_t slow_ops = {"slow", 1, slow_take, slow_cancel,
                                         slow_sent, slow_block, slow_close};

/* Answers the oldest question: on the keys' state, or with status. */
static void slow_answer(slow_budget_t *s, int status) {
  ad_budget_take_t *t;
  ck_assert_int_gt(s->npending, 0);
  t = s->pending[0];
  slow_remove(s, 0);
  t->decided_at = fake_now;
  if (status == 0)
    ad_budget_take_local(t, fake_now);
  t->cb(t, status);
}

static void slow_init(slow_budget_t *s) {
  memset(s, 0, sizeof(*s));
  s->b.ops = &slow_ops;
  s->b.clock = fake_clock;
}

START_TEST(test_async_budget_grants_and_waits) {
  static demand_t a;
  slow_budget_t s;
  ad_limiter_t l;
  ad_limiter_req_t r;

  memset(&a, 0, sizeof(a));
  slow_init(&s);
  ck_assert_int_eq(ad_limiter_init(&l, &loop, &s.b), 0);
  ad_limiter_key_init(&l, &a.key, "group/a", 2, SEC, NULL);
  /* Never granted on the spot: the budget must be asked. */
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &r), 0);
  demand_start(&a, 3);
  a.active = 0;
  ck_assert_uint_eq(ad_limiter_tick(&l), UINT64_MAX); /* asked; waits */
  ck_assert_int_eq(s.takes, 1);
  ck_assert_uint_eq(ad_limiter_tick(&l), UINT64_MAX); /* not asked twice */
  ck_assert_int_eq(s.takes, 1);
  slow_answer(&s, 0);
  ck_assert_uint_eq(a.ngrants, 1);
  ad_limiter_tick(&l); /* asks for the next */
  slow_answer(&s, 0); /* "wait half a second" */
  ck_assert_uint_eq(a.ngrants, 1);
  ck_assert_uint_eq(ad_limiter_tick(&l), SEC / 2 - 2 * TOL);
  fake_now += SEC / 2 - 2 * TOL;
  ad_limiter_tick(&l);
  slow_answer(&s, 0);
  ck_assert_uint_eq(a.ngrants, 2);
  /* A close while asking withdraws the question... */
  ad_limiter_tick(&l);
  ck_assert_int_eq(s.npending, 1);
  /* ...even once the request that asked is gone and the key left the
   * ring: no answer may come after the close. */
  ad_limiter_cancel(&a.reqs[2]);
  ck_assert_int_eq(a.canceled, 1);
  ck_assert_int_eq(s.npending, 1);
  close_limiter(&l);
  ck_assert_int_eq(s.cancels, 1);
  ck_assert_int_eq(s.npending, 0);
  ad_limiter_key_close(&a.key);
}
END_TEST

/* A budget that gives up fails every waiting request with its error, and
 * every later acquire; the error names what went wrong. */
START_TEST(test_async_budget_failure_fails_everything) {
  static demand_t a, b;
  slow_budget_t s;
  ad_limiter_t l;
  ad_limiter_req_t r;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  slow_init(&s);
  ck_assert_int_eq(ad_limiter_init(&l, &loop, &s.b), 0);
  ad_limiter_key_init(&l, &a.key, "g/a", 5, SEC, NULL);
  ad_limiter_key_init(&l, &b.key, "g/b", 5, SEC, NULL);
  demand_start(&a, 2);
  demand_start(&b, 2);
  ad_limiter_tick(&l); /* a and b both ask */
  ck_assert_int_eq(s.npending, 2);
  snprintf(s.b.error, sizeof(s.b.error), "lost Redis at redis://x:1/0");
  slow_answer(&s, AD_EIO);
  ck_assert_int_eq(s.npending, 0); /* b's question withdrawn */
  ck_assert_int_eq(a.canceled + b.canceled, 4);
  ck_assert_uint_eq(a.ngrants + b.ngrants, 0);
  ck_assert_int_eq(ad_limiter_acquire(&a.key, &r, on_grant, &a), AD_EIO);
  ck_assert_int_eq(ad_limiter_try_acquire(&a.key, &r), AD_EIO);
  ck_assert_str_eq(ad_limiter_error(&l), "lost Redis at redis://x:1/0");
  close_limiter(&l);
  ad_limiter_key_close(&a.key);
  ad_limiter_key_close(&b.key);
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
  ck_assert_int_eq(ad_limiter_init(&l, &loop, NULL), 0);
  ad_limiter_key_init(&l, &r.key, NULL, 4, 100000, NULL);
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
  tcase_add_test(tc, test_spaced_not_bursting);
  tcase_add_test(tc, test_randomized_many_keys_never_exceed);
  tcase_add_test(tc, test_penalized_key_does_not_delay_others);
  tcase_add_test(tc, test_penalized_parent_blocks_children);
  tcase_add_test(tc, test_hierarchical_token_cap_and_fairness);
  tcase_add_test(tc, test_sent_moves_the_grant_in_the_chain);
  tcase_add_test(tc, test_late_counts_from_the_free_slot);
  tcase_add_test(tc, test_try_acquire);
  tcase_add_test(tc, test_waiting_key_no_head_of_line_blocking);
  tcase_add_test(tc, test_cancel_and_errors);
  tcase_add_test(tc, test_binding_names_the_busy_key);
  tcase_add_test(tc, test_set_window);
  tcase_add_test(tc, test_async_budget_grants_and_waits);
  tcase_add_test(tc, test_async_budget_failure_fails_everything);
  tcase_add_test(tc, test_real_timer_grants_everything);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(limiter_suite()); }
