/* The Redis budget against a real redis-server (tests/support/
 * redis_server.h): what two budgets (two processes) see of each other's
 * grants and penalties, the grants' fields, losing Redis, getting it
 * back (restarted or not: the hold counts from the reconnect), giving up
 * after the outage timeout, secrets kept out of every message, closing
 * with questions pending, state kept a minute past its TAT, a key spaced
 * by the widest period any process used on it, a Redis that may evict
 * keys (a warning), and a Redis Cluster node (refused).
 *
 * Times come from Redis's clock: assertions bound them from one side, or
 * with margins of a large fraction of a period, never to the millisecond. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget_redis.h"
#include "error.h"
#include "limiter.h"
#include "redis_server.h"
#include "testutil.h"

#define SEC 1000000ull
#define MS 1000ull
#define TOL 2000ull
#define PASSWORD "rds-pw-5f0c2a9e71"

static uv_loop_t loop;

static void setup(void) { ck_assert_int_eq(uv_loop_init(&loop), 0); }

static void teardown(void) { ck_assert_int_eq(ad_test_loop_close(&loop), 0); }

/* ---- harness --------------------------------------------------------------
 */

typedef struct status_log {
  int n;
  int level[16];
  char msg[16][256];
  int lost, back, fatal;
} status_log_t;

static void on_status(ad_budget_t *b, int level, const char *msg, void *data) {
  status_log_t *s = data;
  (void)b;
  if (s->n < 16) {
    s->level[s->n] = level;
    snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", msg);
    s->n++;
  }
  if (level == 1)
    s->lost++;
  else if (level == 2)
    s->back++;
  else
    s->fatal++;
}

typedef struct budget {
  ad_budget_t b;
  status_log_t log;
  int closed;
} budget_t;

static void budget_open(budget_t *bu, const char *url, uint64_t connect_ms,
                        uint64_t outage_ms) {
  ad_budget_redis_opts_t o;
  memset(bu, 0, sizeof(*bu));
  memset(&o, 0, sizeof(o));
  o.url = url;
  o.key_prefix = "adtest";
  o.connect_timeout_ms = connect_ms;
  o.outage_timeout_ms = outage_ms;
  o.on_status = on_status;
  o.status_data = &bu->log;
  ck_assert_msg(ad_budget_redis_init(&bu->b, &loop, &o) == 0, "init: %s",
                bu->b.error);
  bu->b.data = bu;
}

static void on_closed(ad_budget_t *b) { ((budget_t *)b->data)->closed = 1; }

static void budget_close(budget_t *bu) {
  ad_budget_close(&bu->b, on_closed);
  ck_assert(ad_test_run_until(&loop, &bu->closed, 5000));
}

typedef struct answer {
  ad_budget_take_t t;
  int done;
  int status;
} answer_t;

static void on_answer(ad_budget_take_t *t, int status) {
  answer_t *a = t->data;
  a->done++;
  a->status = status;
}

/* Asks for the chain k0 (then k1 unless NULL); returns take()'s result. */
static int ask(budget_t *bu, answer_t *a, ad_budget_key_t *k0,
               ad_budget_key_t *k1) {
  memset(a, 0, sizeof(*a));
  a->t.keys[a->t.n++] = k0;
  if (k1 != NULL)
    a->t.keys[a->t.n++] = k1;
  a->t.tolerance_us = TOL;
  a->t.cb = on_answer;
  a->t.data = a;
  return ad_budget_take(&bu->b, &a->t);
}

/* Asks and waits for the answer, which must be a decision. */
static void decide(budget_t *bu, answer_t *a, ad_budget_key_t *k0,
                   ad_budget_key_t *k1) {
  int rc = ask(bu, a, k0, k1);
  if (rc == AD_BUDGET_DECIDED) {
    a->done = 1;
    return;
  }
  ck_assert_msg(rc == AD_BUDGET_PENDING, "take: %d (%s)", rc, bu->b.error);
  ck_assert_msg(ad_test_run_until(&loop, &a->done, 8000), "no answer");
  ck_assert_msg(a->status == 0, "answer %d: %s", a->status, bu->b.error);
}

/* Runs the loop for at least us (a uv timer counts from the loop's
 * cached time, which may lag). */
static void sleep_loop(uint64_t us) {
  int never = 0;
  uint64_t end = uv_hrtime() / 1000 + us, now;
  while ((now = uv_hrtime() / 1000) < end) {
    uv_update_time(&loop);
    ad_test_run_until(&loop, &never, (end - now + 999) / 1000);
  }
}

/* Waits until flag (a counter) reaches at least n. */
static int wait_count(const int *counter, int n, uint64_t timeout_ms) {
  int flag = 0;
  uint64_t end = uv_hrtime() / 1000000 + timeout_ms;
  while (*counter < n && uv_hrtime() / 1000000 < end) {
    ad_test_run_until(&loop, &flag, 10);
  }
  return *counter >= n;
}

/* ---- tests ----------------------------------------------------------------
 */

/* Two budgets on one Redis share a key's spacing; a chain takes from all
 * its keys at once, or from none; penalties reach the other budget. */
START_TEST(test_two_budgets_share_keys_chains_and_penalties) {
  ad_test_redis_t srv;
  budget_t a, b;
  ad_budget_key_t ka, kb, base1, base2, base3, tok_a, tok_b;
  answer_t x;
  char reply[64];
  const char *del[] = {"DEL", "adtest:{g1}:pen:pen", NULL};

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  budget_open(&b, srv.url, 0, 0);
  ck_assert_str_eq(a.b.ops->kind, "redis");
  ck_assert_int_eq(a.b.ops->async, 1);

  ad_budget_key_init(&ka, "g1/k", 2 * SEC, 1);
  ad_budget_key_init(&kb, "g1/k", 2 * SEC, 1);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  decide(&b, &x, &kb, NULL); /* the other process sees a's grant */
  ck_assert_uint_gt(x.t.wait_us, 1 * SEC);
  ck_assert_uint_le(x.t.wait_us, 2 * SEC - TOL);

  /* A chain takes from both keys: the token is spent for b's chain too. */
  ad_budget_key_init(&base1, "g1/base-app1", 10 * SEC, 1);
  ad_budget_key_init(&base2, "g1/base-app2", 10 * SEC, 1);
  ad_budget_key_init(&tok_a, "g1/token-t1", 3 * SEC, 1);
  ad_budget_key_init(&tok_b, "g1/token-t1", 3 * SEC, 1);
  decide(&a, &x, &base1, &tok_a);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_eq(x.t.grants[0].seq, 1);
  ck_assert_uint_eq(x.t.grants[1].seq, 1);
  decide(&b, &x, &base2, &tok_b);
  ck_assert_uint_gt(x.t.wait_us, 2 * SEC);
  ck_assert_uint_le(x.t.wait_us, 3 * SEC);
  /* and that refused chain took nothing from base2 */
  decide(&b, &x, &base2, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_eq(x.t.grants[0].seq, 1);

  /* a's penalty on a key blocks b's chains through it, and only them */
  ad_budget_key_init(&base3, "g1/base-app3", 10 * SEC, 1);
  ad_budget_key_init(&ka, "g1/pen", 10 * MS, 1);
  ad_budget_key_init(&kb, "g1/pen", 10 * MS, 1);
  ad_budget_block(&a.b, &ka, 4 * SEC);
  decide(&a, &x, &base1, NULL); /* a's replies come in order: block done */
  decide(&b, &x, &base3, &kb);
  ck_assert_uint_gt(x.t.wait_us, 3 * SEC);
  ck_assert_uint_le(x.t.wait_us, 4 * SEC);
  decide(&b, &x, &base3, NULL); /* the blocked chain took nothing */
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_eq(x.t.grants[0].seq, 1);
  /* Redis forgets the penalty: a, which set it, still keeps it */
  ad_test_redis_cmd(&srv, reply, sizeof(reply), del);
  ck_assert_str_eq(reply, "1");
  decide(&b, &x, &kb, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_gt(x.t.wait_us, 3 * SEC);
  ck_assert_int_eq(a.log.n + b.log.n, 0); /* nothing to report */

  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* seq, binding, sched and ready of a decided grant, on this process's
 * clock; keys without a name stay in this process. */
START_TEST(test_grant_fields) {
  ad_test_redis_t srv;
  budget_t a;
  ad_budget_key_t k, fresh, local;
  answer_t x;
  uint64_t first;
  char reply[256];
  const char *hget[] = {"HGET", "adtest:{g2}:k", "n", NULL};

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  ad_budget_key_init(&k, "g2/k", 1 * SEC, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_eq(x.t.grants[0].seq, 1);
  ck_assert_int_eq(x.t.grants[0].binding, 0); /* a fresh key is far off it */
  /* an idle key's slot: as early as the tolerance allows, counted from
   * the ask (the script ran between the ask and the answer) */
  ck_assert_uint_le(x.t.grants[0].sched, x.t.decided_at - TOL);
  ck_assert_uint_ge(x.t.grants[0].sched + 100000, x.t.decided_at - TOL);
  ck_assert_uint_le(x.t.grants[0].ready, x.t.decided_at);
  first = x.t.decided_at;

  decide(&a, &x, &k, NULL);
  ck_assert_uint_gt(x.t.wait_us, 0);
  sleep_loop(x.t.wait_us);
  /* at its slot: binding; a fresh key in the same chain is not */
  ad_budget_key_init(&fresh, "g2/fresh", 1 * SEC, 1);
  decide(&a, &x, &k, &fresh);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_eq(x.t.grants[0].seq, 2);
  ck_assert_int_eq(x.t.grants[0].binding, 1);
  ck_assert_uint_eq(x.t.grants[1].seq, 1);
  ck_assert_int_eq(x.t.grants[1].binding, 0);
  /* the slot it took lies within the tolerance of the ask, either way;
   * the key allowed it no later than the answer */
  ck_assert_uint_ge(x.t.grants[0].sched + TOL + 100000, x.t.decided_at);
  ck_assert_uint_le(x.t.grants[0].sched, x.t.decided_at + TOL);
  ck_assert_uint_le(x.t.grants[0].ready, x.t.decided_at);
  ck_assert_uint_gt(x.t.grants[0].ready, first);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), hget);
  ck_assert_str_eq(reply, "2");

  /* no name: decided here, at once, whatever Redis holds */
  ad_budget_key_init(&local, NULL, 1 * SEC, 1);
  ck_assert_int_eq(ask(&a, &x, &local, NULL), AD_BUDGET_DECIDED);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_int_eq(ask(&a, &x, &local, NULL), AD_BUDGET_DECIDED);
  ck_assert_uint_gt(x.t.wait_us, SEC / 2);
  ad_budget_block(&a.b, &local, 5 * SEC);
  ck_assert_int_eq(ask(&a, &x, &local, NULL), AD_BUDGET_DECIDED);
  ck_assert_uint_gt(x.t.wait_us, 4 * SEC);
  budget_close(&a);
  ad_test_redis_free(&srv);
}
END_TEST

/* A request that left late moves the schedule every process shares. */
START_TEST(test_late_sent_moves_the_shared_schedule) {
  ad_test_redis_t srv;
  budget_t a, b;
  ad_budget_key_t ka, kb, other;
  answer_t x, y;

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  budget_open(&b, srv.url, 0, 0);
  ad_budget_key_init(&ka, "g3/k", 1 * SEC, 1);
  ad_budget_key_init(&kb, "g3/k", 1 * SEC, 1);
  ad_budget_key_init(&other, "g3/other", 1 * SEC, 1);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  sleep_loop(500 * MS);
  /* it went on the wire only now, 0.5 s after its slot */
  ad_budget_sent(&a.b, &x.t, ad_budget_now(&a.b));
  decide(&a, &y, &other, NULL); /* a's replies come in order: sent done */
  decide(&b, &y, &kb, NULL);
  /* without the report the slot would open 0.5 s from now */
  ck_assert_uint_gt(y.t.wait_us, 800 * MS);
  ck_assert_uint_le(y.t.wait_us, 1 * SEC);
  /* Late by a period, with the next slot already taken by b: b's grant
   * and the one after it keep a period apart from its real time. */
  ad_budget_key_init(&ka, "g3/k2", 500 * MS, 1);
  ad_budget_key_init(&kb, "g3/k2", 500 * MS, 1);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.grants[0].seq, 1);
  decide(&b, &y, &kb, NULL);
  sleep_loop(y.t.wait_us);
  decide(&b, &y, &kb, NULL);
  ck_assert_uint_eq(y.t.wait_us, 0);
  ck_assert_uint_eq(y.t.grants[0].seq, 2);
  ad_budget_sent(&b.b, &y.t, y.t.grants[0].sched); /* in its slot: nothing */
  ad_budget_sent(&a.b, &x.t, ad_budget_now(&a.b));
  decide(&a, &y, &other, NULL);
  decide(&b, &y, &kb, NULL);
  /* without the report: 0.5 s; with it, not counting b's grant: 0.5 s */
  ck_assert_uint_gt(y.t.wait_us, 750 * MS);
  ck_assert_uint_le(y.t.wait_us, 1 * SEC);
  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* Nothing listens: every question asked before the connection fails
 * with AD_EBUDGET, and the error says where and why. */
START_TEST(test_unreachable_at_start) {
  budget_t a;
  ad_budget_key_t k1, k2;
  answer_t x, y, z;
  char url[64], shown[64];
  int port = ad_test_free_port();

  snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
  snprintf(shown, sizeof(shown), "redis://127.0.0.1:%d/0", port);
  budget_open(&a, url, 0, 0);
  ad_budget_key_init(&k1, "g4/a", SEC, 1);
  ad_budget_key_init(&k2, "g4/b", SEC, 1);
  ck_assert_int_eq(ask(&a, &x, &k1, NULL), AD_BUDGET_PENDING);
  ck_assert_int_eq(ask(&a, &y, &k2, NULL), AD_BUDGET_PENDING);
  ck_assert(ad_test_run_until(&loop, &y.done, 5000));
  ck_assert_int_eq(x.done, 1);
  ck_assert_int_eq(x.status, AD_EBUDGET);
  ck_assert_int_eq(y.status, AD_EBUDGET);
  ck_assert_msg(strstr(a.b.error, shown) != NULL, "error: %s", a.b.error);
  ck_assert_msg(strstr(a.b.error, "refused") != NULL, "error: %s", a.b.error);
  ck_assert_int_eq(ask(&a, &z, &k1, NULL), AD_EBUDGET);
  ck_assert_int_eq(z.done, 0);
  ck_assert_int_eq(a.log.fatal, 1);
  ck_assert_str_eq(a.log.msg[0], a.b.error);
  budget_close(&a);
}
END_TEST

/* A password never shows: not in errors, not in status lines. */
START_TEST(test_password_stays_secret) {
  ad_test_redis_t srv;
  budget_t a, bad, user;
  ad_budget_key_t k;
  answer_t x;
  char url[192];
  int i;

  ad_test_redis_start(&srv, PASSWORD);
  /* the right one, as "redis://:pw@" and as the ACL "default" user */
  budget_open(&a, srv.url, 0, 0);
  ad_budget_key_init(&k, "g5/k", SEC, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  snprintf(url, sizeof(url), "redis://default:%s@127.0.0.1:%d/2", PASSWORD,
           srv.port);
  budget_open(&user, url, 0, 0);
  decide(&user, &x, &k, NULL); /* db 2: another schedule */
  ck_assert_uint_eq(x.t.wait_us, 0);

  /* a wrong one: a clear reason, no password */
  snprintf(url, sizeof(url), "redis://:wrong-pw-8c1d77@127.0.0.1:%d", srv.port);
  budget_open(&bad, url, 0, 0);
  ck_assert_int_eq(ask(&bad, &x, &k, NULL), AD_BUDGET_PENDING);
  ck_assert(ad_test_run_until(&loop, &x.done, 5000));
  ck_assert_int_eq(x.status, AD_EBUDGET);
  ck_assert_msg(strstr(bad.b.error, "authentication failed") != NULL,
                "error: %s", bad.b.error);
  ck_assert_msg(strstr(bad.b.error, "redis://:***@127.0.0.1:") != NULL,
                "error: %s", bad.b.error);
  ck_assert_ptr_null(strstr(bad.b.error, "wrong-pw-8c1d77"));
  ck_assert_ptr_null(strstr(bad.b.error, PASSWORD));
  budget_close(&bad);

  /* losing the server: the status lines name the URL without it */
  ad_test_redis_stop(&srv);
  ck_assert(wait_count(&a.log.lost, 1, 5000));
  ck_assert(wait_count(&user.log.lost, 1, 5000));
  ck_assert_msg(strstr(a.log.msg[0], "lost Redis at redis://:***@127.0.0.1:") !=
                    NULL,
                "status: %s", a.log.msg[0]);
  ck_assert_msg(strstr(user.log.msg[0],
                       "lost Redis at redis://default:***@127.0.0.1:") != NULL,
                "status: %s", user.log.msg[0]);
  for (i = 0; i < a.log.n; i++)
    ck_assert_ptr_null(strstr(a.log.msg[i], PASSWORD));
  for (i = 0; i < user.log.n; i++)
    ck_assert_ptr_null(strstr(user.log.msg[i], PASSWORD));
  budget_close(&a);
  budget_close(&user);
  ad_test_redis_free(&srv);
}
END_TEST

/* Which URLs init takes, and what it says of the others. */
START_TEST(test_url_check_table) {
  static const struct {
    const char *url;
    int rc;
    const char *says;
  } cases[] = {
      {"redis://localhost", 0, NULL},
      {"redis://cache.internal:6380/2", 0, NULL},
      {"redis://:pw@10.0.0.1", 0, NULL},
      {"redis://user:pw@h:1/3", 0, NULL},
      {"redis://[::1]:7000/1", 0, NULL},
      {"REDIS://H/", 0, NULL},
      {"redis://p%40ss:w%3Ard@h", 0, NULL},
      {"rediss://h", AD_ECONFIG,
       "TLS is not supported by this build (hiredis 0.14)"},
      {"http://h", AD_ECONFIG, "unsupported scheme \"http\""},
      {"redis://h/abc", AD_ECONFIG, "the database \"abc\" is not a number"},
      {"redis://h/-1", AD_ECONFIG, "is not a number"},
      {"redis://h/1/2", AD_ECONFIG, "is not a number"},
      {"redis:///0", AD_ECONFIG, "names no host"},
      {"redis://:6379/0", AD_ECONFIG, "cannot parse"},
      {"redis://h:0", AD_ECONFIG, "bad port"},
      {"redis://h:99999", AD_ECONFIG, "cannot parse"},
      {"redis://user@h", AD_ECONFIG, "a user but no password"},
      {"redis://h?db=1", AD_ECONFIG, "not supported"},
      {"localhost:6379", AD_ECONFIG, "cannot parse"},
      {"", AD_ECONFIG, "no Redis URL"},
  };
  char err[256];
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = ad_budget_redis_check_url(cases[i].url, err, sizeof(err));
    ck_assert_msg(rc == cases[i].rc, "%s: %d (%s)", cases[i].url, rc, err);
    if (cases[i].says != NULL)
      ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: %s", cases[i].url,
                    err);
  }
  ck_assert_int_eq(ad_budget_redis_check_url(NULL, err, sizeof(err)),
                   AD_ECONFIG);

  /* a password never shows in a message, even in a refused URL */
  ck_assert_int_eq(
      ad_budget_redis_check_url("rediss://:topsecret77@h", err, sizeof(err)),
      AD_ECONFIG);
  ck_assert_ptr_null(strstr(err, "topsecret77"));
  ck_assert_ptr_nonnull(strstr(err, "rediss://:***@h"));
  ck_assert_int_eq(
      ad_budget_redis_check_url("redis://u:pa@ss77@h", err, sizeof(err)),
      AD_ECONFIG);
  ck_assert_ptr_null(strstr(err, "pa@ss77"));
  ck_assert_int_eq(
      ad_budget_redis_check_url("redis://secret-as-user@h", err, sizeof(err)),
      AD_ECONFIG);
  ck_assert_ptr_null(strstr(err, "secret-as-user"));

  ad_budget_redis_safe_url("redis://:topsecret77@h", err, sizeof(err));
  ck_assert_str_eq(err, "redis://:***@h/");
  ad_budget_redis_safe_url("redis://u:topsecret77@h:1/3", err, sizeof(err));
  ck_assert_str_eq(err, "redis://u:***@h:1/3");
  ad_budget_redis_safe_url("redis://h:1/2", err, sizeof(err));
  ck_assert_str_eq(err, "redis://h:1/2");
  ad_budget_redis_safe_url("redis://u:pa@ss77@h/0", err, sizeof(err));
  ck_assert_str_eq(err, "redis://***@h/0");
  ad_budget_redis_safe_url(NULL, err, sizeof(err));
  ck_assert_str_eq(err, "");

  /* init refuses it too, and the budget still closes */
  {
    budget_t b;
    ad_budget_redis_opts_t o;
    memset(&b, 0, sizeof(b));
    memset(&o, 0, sizeof(o));
    o.url = "rediss://:topsecret77@h";
    ck_assert_int_eq(ad_budget_redis_init(&b.b, &loop, &o), AD_ECONFIG);
    ck_assert_ptr_nonnull(strstr(b.b.error, "TLS is not supported"));
    ck_assert_ptr_null(strstr(b.b.error, "topsecret77"));
    b.b.data = &b;
    ad_budget_close(&b.b, on_closed);
    ck_assert_int_eq(b.closed, 1);
  }
}
END_TEST

/* Redis killed mid-run with a question in flight, then started again
 * (empty, a new run_id): lost, then back; questions asked meanwhile wait;
 * after it every key holds three of its periods from the reconnect, and
 * a penalty set before the restart is in force again, for everyone. */
START_TEST(test_redis_restarted_mid_run) {
  ad_test_redis_t srv;
  budget_t a, b;
  ad_budget_key_t k, pen_a, pen_b, other, sync;
  answer_t inflight, x;
  uint64_t stopped, blocked_at, restarted;
  int rc;

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 1000, 20000);
  budget_open(&b, srv.url, 1000, 20000);
  ad_budget_key_init(&k, "g6/k", 1 * SEC, 1);
  ad_budget_key_init(&other, "g6/other", 10 * MS, 1);
  ad_budget_key_init(&sync, "g6/sync", 10 * MS, 1);
  ad_budget_key_init(&pen_a, "g6/pen", 10 * MS, 1);
  ad_budget_key_init(&pen_b, "g6/pen", 10 * MS, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  decide(&b, &x, &other, NULL); /* b is connected too */
  blocked_at = ad_budget_now(&a.b);
  ad_budget_block(&a.b, &pen_a, 6 * SEC);
  decide(&a, &x, &other, NULL); /* in order: the penalty is in Redis */

  /* a question in flight when Redis dies */
  ad_test_redis_pause(&srv);
  ck_assert_int_eq(ask(&a, &inflight, &k, NULL), AD_BUDGET_PENDING);
  sleep_loop(50 * MS); /* written to the socket */
  stopped = ad_budget_now(&a.b);
  ad_test_redis_kill(&srv);
  ck_assert(wait_count(&a.log.lost, 1, 5000));
  ck_assert_int_eq(a.log.level[0], 1);
  ck_assert_msg(strstr(a.log.msg[0], "lost Redis at redis://127.0.0.1:") &&
                    strstr(a.log.msg[0], "rate-limited requests paused"),
                "status: %s", a.log.msg[0]);
  ck_assert_int_eq(inflight.done, 0);
  /* asked while it is away: try again later, or wait */
  rc = ask(&a, &x, &other, NULL);
  ck_assert_msg(rc == AD_EAGAIN || rc == AD_BUDGET_PENDING, "take: %d", rc);
  if (rc == AD_EAGAIN) {
    ck_assert_uint_gt(x.t.wait_us, 0);
    ck_assert_uint_le(x.t.wait_us, 2 * SEC);
  } else {
    ad_budget_cancel(&a.b, &x.t);
  }

  restarted = ad_budget_now(&a.b);
  ck_assert_uint_ge(restarted, stopped);
  ad_test_redis_restart(&srv);
  ck_assert(wait_count(&a.log.back, 1, 8000));
  ck_assert(wait_count(&b.log.back, 1, 8000));
  ck_assert_msg(strstr(a.log.msg[1], "is back after") != NULL &&
                    strstr(a.log.msg[1], "three of its periods") != NULL,
                "status: %s", a.log.msg[1]);
  ck_assert_int_eq(a.log.fatal + b.log.fatal, 0);
  /* the question that was in flight is answered: not before the hold */
  ck_assert(ad_test_run_until(&loop, &inflight.done, 5000));
  ck_assert_int_eq(inflight.status, 0);
  ck_assert_uint_gt(inflight.t.wait_us, 0);
  ck_assert_uint_ge(inflight.t.decided_at + inflight.t.wait_us,
                    restarted + 3 * SEC);
  /* b (another process) sees the penalty a wrote again once the holds of
   * the 10 ms keys (30 ms from the reconnect) are over; a's replies come
   * in order, so that write is done */
  sleep_loop(50 * MS);
  decide(&a, &x, &sync, NULL);
  decide(&b, &x, &pen_b, NULL);
  ck_assert_uint_gt(x.t.wait_us, 0);
  ck_assert_uint_le(x.t.decided_at + x.t.wait_us,
                    blocked_at + 6 * SEC + 500 * MS);
  ck_assert_uint_ge(x.t.decided_at + x.t.wait_us, blocked_at + 5 * SEC);
  decide(&a, &x, &pen_a, NULL);
  ck_assert_uint_ge(x.t.decided_at + x.t.wait_us, blocked_at + 6 * SEC);
  /* and the schedule resumes after the hold */
  decide(&a, &x, &k, NULL);
  if (x.t.wait_us > 0) {
    sleep_loop(x.t.wait_us);
    decide(&a, &x, &k, NULL);
  }
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_ge(x.t.decided_at, restarted + 3 * SEC);
  ck_assert_uint_eq(x.t.grants[0].seq, 1); /* Redis forgot the rest */
  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* Redis stops answering and stays away past outage_timeout_ms: the
 * question waiting fails, and so does every later one. */
START_TEST(test_outage_timeout) {
  ad_test_redis_t srv;
  budget_t a;
  ad_budget_key_t k;
  answer_t x;
  char shown[64];

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 500, 1500);
  ad_budget_key_init(&k, "g7/k", 10 * MS, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ad_test_redis_pause(&srv);
  ck_assert_int_eq(ask(&a, &x, &k, NULL), AD_BUDGET_PENDING);
  ck_assert(ad_test_run_until(&loop, &x.done, 6000));
  ck_assert_int_eq(x.status, AD_EBUDGET);
  snprintf(shown, sizeof(shown),
           "lost Redis at redis://127.0.0.1:%d/0 for 1.5 s: ", srv.port);
  ck_assert_msg(strncmp(a.b.error, shown, strlen(shown)) == 0, "error: %s",
                a.b.error);
  ck_assert_int_ge(a.log.lost, 1);
  ck_assert_int_eq(a.log.fatal, 1);
  ck_assert_str_eq(a.log.msg[a.log.n - 1], a.b.error);
  ck_assert_int_eq(ask(&a, &x, &k, NULL), AD_EBUDGET);
  budget_close(&a);
  ad_test_redis_free(&srv);
}
END_TEST

/* Redis forgot the scripts (SCRIPT FLUSH): takes, penalties and late
 * reports still work. */
START_TEST(test_noscript_fallback) {
  ad_test_redis_t srv;
  budget_t a, b;
  ad_budget_key_t ka, kb, pa, pb;
  answer_t x;
  char reply[64];
  const char *flush[] = {"SCRIPT", "FLUSH", NULL};

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  budget_open(&b, srv.url, 0, 0);
  ad_budget_key_init(&ka, "g8/k", 1 * SEC, 1);
  ad_budget_key_init(&kb, "g8/k", 1 * SEC, 1);
  ad_budget_key_init(&pa, "g8/pen", 10 * MS, 1);
  ad_budget_key_init(&pb, "g8/pen", 10 * MS, 1);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), flush);
  ck_assert_str_eq(reply, "OK");
  decide(&b, &x, &kb, NULL);
  ck_assert_uint_gt(x.t.wait_us, SEC / 2);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), flush);
  ad_budget_block(&a.b, &pa, 3 * SEC);
  decide(&a, &x, &kb, NULL); /* in order: the penalty went */
  ck_assert_uint_gt(x.t.wait_us, 0);
  decide(&b, &x, &pb, NULL);
  ck_assert_uint_gt(x.t.wait_us, 2 * SEC);
  ck_assert_int_eq(a.log.n + b.log.n, 0);
  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* The connection drops but Redis keeps its memory (same run_id): back at
 * once, no hold, the schedules as they were. */
START_TEST(test_connection_drop_same_redis) {
  ad_test_redis_t srv;
  budget_t a;
  ad_budget_key_t k, fresh;
  answer_t x;
  char reply[64];
  const char *kill_all[] = {"CLIENT", "KILL", "TYPE", "normal", NULL};

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  ad_budget_key_init(&k, "g10/k", 10 * SEC, 1);
  ad_budget_key_init(&fresh, "g10/fresh", 10 * SEC, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), kill_all);
  ck_assert_str_eq(reply, "1");
  ck_assert(wait_count(&a.log.lost, 1, 5000));
  ck_assert(wait_count(&a.log.back, 1, 5000));
  ck_assert_msg(strstr(a.log.msg[1], "is back after") != NULL &&
                    strstr(a.log.msg[1], "restarted") == NULL,
                "status: %s", a.log.msg[1]);
  decide(&a, &x, &fresh, NULL); /* a hold would be 20 s */
  ck_assert_uint_eq(x.t.wait_us, 0);
  decide(&a, &x, &k, NULL); /* Redis still has k's schedule */
  ck_assert_uint_gt(x.t.wait_us, 8 * SEC);
  budget_close(&a);
  ad_test_redis_free(&srv);
}
END_TEST

/* Redis stops answering with a question in flight, long enough to count
 * as lost, then answers again with its memory intact: the question goes
 * again on the new connection and is answered there, with no hold. */
START_TEST(test_inflight_take_resent_after_drop) {
  ad_test_redis_t srv;
  budget_t a;
  ad_budget_key_t k0, k;
  answer_t x, inflight;
  int i;

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 500, 10000);
  ad_budget_key_init(&k0, "g12/k0", 10 * SEC, 1);
  ad_budget_key_init(&k, "g12/k", 10 * MS, 1);
  decide(&a, &x, &k0, NULL);
  ad_test_redis_pause(&srv);
  ck_assert_int_eq(ask(&a, &inflight, &k, NULL), AD_BUDGET_PENDING);
  ck_assert(wait_count(&a.log.lost, 1, 5000));
  ck_assert_msg(strstr(a.log.msg[0], "no answer within 500 ms") != NULL,
                "status: %s", a.log.msg[0]);
  ck_assert_int_eq(inflight.done, 0);
  ad_test_redis_resume(&srv);
  ck_assert(ad_test_run_until(&loop, &inflight.done, 5000));
  ck_assert_int_eq(inflight.status, 0);
  ck_assert_int_ge(a.log.back, 1);
  for (i = 0; i < a.log.n; i++)
    ck_assert_ptr_null(strstr(a.log.msg[i], "restarted"));
  /* answered by Redis (a hold would be 20 ms at most here) */
  ck_assert_uint_le(inflight.t.wait_us, 10 * MS);
  decide(&a, &x, &k0, NULL); /* Redis kept k0's schedule */
  ck_assert_uint_gt(x.t.wait_us, 8 * SEC);
  ck_assert_int_eq(a.log.fatal, 0);
  budget_close(&a);
  ad_test_redis_free(&srv);
}
END_TEST

/* Two limiters (two processes) on one key through Redis: every request
 * is granted once, and Redis counted every grant. */
typedef struct lim_demand {
  ad_limiter_req_t reqs[5];
  int granted, failed;
} lim_demand_t;

static void on_lim_grant(ad_limiter_req_t *req, int status, void *data) {
  lim_demand_t *d = data;
  if (status != 0) {
    d->failed++;
    return;
  }
  d->granted++;
  ad_limiter_sent(req);
}

static void on_lim_closed(ad_limiter_t *l) { *(int *)l->data = 1; }

START_TEST(test_limiters_share_a_key) {
  ad_test_redis_t srv;
  budget_t a, b;
  ad_limiter_t la, lb;
  ad_limiter_key_t ka, kb;
  lim_demand_t da, db;
  char reply[64];
  const char *hget[] = {"HGET", "adtest:{g11}:base", "n", NULL};
  int i, closed_a = 0, closed_b = 0, both = 0;

  memset(&da, 0, sizeof(da));
  memset(&db, 0, sizeof(db));
  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  budget_open(&b, srv.url, 0, 0);
  ck_assert_int_eq(ad_limiter_init(&la, &loop, &a.b), 0);
  ck_assert_int_eq(ad_limiter_init(&lb, &loop, &b.b), 0);
  la.data = &closed_a;
  lb.data = &closed_b;
  ck_assert_int_eq(ad_limiter_key_init(&la, &ka, "g11/base", 20, SEC, NULL), 0);
  ck_assert_int_eq(ad_limiter_key_init(&lb, &kb, "g11/base", 20, SEC, NULL), 0);
  for (i = 0; i < 5; i++) {
    ck_assert_int_eq(ad_limiter_acquire(&ka, &da.reqs[i], on_lim_grant, &da),
                     0);
    ck_assert_int_eq(ad_limiter_acquire(&kb, &db.reqs[i], on_lim_grant, &db),
                     0);
  }
  {
    uint64_t end = uv_hrtime() / 1000000 + 8000;
    while (da.granted + db.granted < 10 && uv_hrtime() / 1000000 < end)
      ad_test_run_until(&loop, &both, 10);
  }
  ck_assert_int_eq(da.granted, 5);
  ck_assert_int_eq(db.granted, 5);
  ck_assert_int_eq(da.failed + db.failed, 0);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), hget);
  ck_assert_str_eq(reply, "10");
  ad_limiter_close(&la, on_lim_closed);
  ad_limiter_close(&lb, on_lim_closed);
  ad_limiter_key_close(&ka);
  ad_limiter_key_close(&kb);
  ck_assert(ad_test_run_until(&loop, &closed_a, 5000));
  ck_assert(ad_test_run_until(&loop, &closed_b, 5000));
  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* Lost long before Redis restarted (a partition: here a paused Redis),
 * then back on the restarted one: the hold counts from the reconnect,
 * not from the loss, or the keys would grant at once inside the grants
 * Redis forgot. */
START_TEST(test_restart_hold_counts_from_the_reconnect) {
  ad_test_redis_t srv;
  budget_t a;
  ad_budget_key_t k, other;
  answer_t x, inflight;
  uint64_t restarted, back;

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 300, 30000);
  ad_budget_key_init(&k, "g13/k", 1 * SEC, 1);
  ad_budget_key_init(&other, "g13/other", 10 * MS, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ad_test_redis_pause(&srv);
  ck_assert_int_eq(ask(&a, &inflight, &other, NULL), AD_BUDGET_PENDING);
  ck_assert(wait_count(&a.log.lost, 1, 5000));
  sleep_loop(2500 * MS); /* longer than the old hold (two periods) */
  ad_test_redis_kill(&srv);
  restarted = ad_budget_now(&a.b);
  ad_test_redis_restart(&srv);
  ck_assert(wait_count(&a.log.back, 1, 8000));
  back = ad_budget_now(&a.b);
  ck_assert_msg(strstr(a.log.msg[1], "it restarted") != NULL, "status: %s",
                a.log.msg[1]);
  ck_assert(ad_test_run_until(&loop, &inflight.done, 5000));
  ck_assert_int_eq(inflight.status, 0);
  ck_assert_uint_ge(inflight.t.decided_at + inflight.t.wait_us,
                    restarted + 30 * MS);
  /* k's last grant was 3 s before the restart; Redis forgot it */
  decide(&a, &x, &k, NULL);
  ck_assert_uint_gt(x.t.wait_us, 0);
  ck_assert_uint_ge(x.t.decided_at + x.t.wait_us, restarted + 3 * SEC);
  ck_assert_uint_le(x.t.decided_at + x.t.wait_us, back + 3 * SEC);
  ck_assert_int_eq(a.log.fatal, 0);
  budget_close(&a);
  ad_test_redis_free(&srv);
}
END_TEST

/* A state hash lives a minute past its TAT: a request that left long
 * after its grant still finds the grant count, and its late report
 * counts the grants other processes took after it. */
START_TEST(test_state_outlives_its_tat) {
  ad_test_redis_t srv;
  budget_t a, b;
  ad_budget_key_t ka, kb, other;
  answer_t x, y;
  char reply[64];
  const char *pttl[] = {"PTTL", "adtest:{g14}:k", NULL};

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  budget_open(&b, srv.url, 0, 0);
  ad_budget_key_init(&ka, "g14/k", 200 * MS, 1);
  ad_budget_key_init(&kb, "g14/k", 200 * MS, 1);
  ad_budget_key_init(&other, "g14/other", 200 * MS, 1);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_uint_eq(x.t.grants[0].seq, 1);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), pttl);
  ck_assert_msg(strtoll(reply, NULL, 10) > 59000, "PTTL %s", reply);
  /* a's request is stuck on its way; b takes well after the TAT */
  sleep_loop(2500 * MS);
  decide(&b, &y, &kb, NULL);
  ck_assert_uint_eq(y.t.wait_us, 0);
  ck_assert_uint_eq(y.t.grants[0].seq, 2); /* the count survived */
  /* a's request leaves now: b's grant and the next keep a period each */
  ad_budget_sent(&a.b, &x.t, ad_budget_now(&a.b));
  decide(&a, &y, &other, NULL); /* a's replies come in order: sent done */
  decide(&b, &y, &kb, NULL);
  ck_assert_uint_gt(y.t.wait_us, 300 * MS);
  ck_assert_uint_le(y.t.wait_us, 400 * MS);
  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* A Redis that may evict keys: a warning through on_status, once, and the
 * budget works; none for noeviction or no maxmemory. */
START_TEST(test_evicting_redis_warns) {
  static const char *const args[] = {"--maxmemory", "100mb",
                                     "--maxmemory-policy", "allkeys-lru", NULL};
  ad_test_redis_t srv;
  budget_t a, c, d;
  ad_budget_key_t k;
  answer_t x;
  char want[512], reply[64];
  const char *kill_all[] = {"CLIENT", "KILL", "TYPE", "normal", NULL};
  const char *noevict[] = {"CONFIG", "SET", "maxmemory-policy", "noeviction",
                           NULL};
  const char *lru[] = {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru",
                       NULL};
  const char *nomax[] = {"CONFIG", "SET", "maxmemory", "0", NULL};

  ad_test_redis_start_args(&srv, NULL, args);
  budget_open(&a, srv.url, 0, 0);
  ad_budget_key_init(&k, "g16/k", 10 * MS, 1);
  decide(&a, &x, &k, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  snprintf(want, sizeof(want),
           "Redis at redis://127.0.0.1:%d/0 may evict keys under memory "
           "pressure (maxmemory-policy allkeys-lru): budgets and penalties "
           "would be forgotten; set maxmemory-policy noeviction or give it "
           "room",
           srv.port);
  ck_assert_int_eq(a.log.n, 1);
  ck_assert_int_eq(a.log.level[0], 1);
  ck_assert_str_eq(a.log.msg[0], want);
  /* once per budget, not at every reconnect */
  ad_test_redis_cmd(&srv, reply, sizeof(reply), kill_all);
  ck_assert(wait_count(&a.log.back, 1, 5000));
  ck_assert_int_eq(a.log.n, 3); /* the warning, lost, back */
  ck_assert_ptr_null(strstr(a.log.msg[2], "evict"));
  ad_test_redis_cmd(&srv, reply, sizeof(reply), noevict);
  ck_assert_str_eq(reply, "OK");
  budget_open(&c, srv.url, 0, 0);
  decide(&c, &x, &k, NULL);
  ck_assert_int_eq(c.log.n, 0);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), lru);
  ad_test_redis_cmd(&srv, reply, sizeof(reply), nomax);
  ck_assert_str_eq(reply, "OK");
  budget_open(&d, srv.url, 0, 0);
  decide(&d, &x, &k, NULL);
  ck_assert_int_eq(d.log.n, 0);
  ck_assert_int_eq(a.log.fatal + c.log.fatal + d.log.fatal, 0);
  budget_close(&a);
  budget_close(&c);
  budget_close(&d);
  ad_test_redis_free(&srv);
}
END_TEST

/* Reads one field of a hash, as an integer (-1: none). */
static long long hget_num(ad_test_redis_t *srv, const char *key,
                          const char *field) {
  char reply[64];
  const char *argv[] = {"HGET", key, field, NULL};
  ad_test_redis_cmd(srv, reply, sizeof(reply), argv);
  if (strcmp(reply, "(nil)") == 0)
    return -1;
  return strtoll(reply, NULL, 10);
}

/* Redis's clock, in microseconds. */
static long long redis_time(ad_test_redis_t *srv) {
  char reply[64];
  const char *argv[] = {"TIME", NULL};
  long long s, us;
  ad_test_redis_cmd(srv, reply, sizeof(reply), argv);
  ck_assert_int_eq(sscanf(reply, "%lld %lld", &s, &us), 2);
  return s * 1000000 + us;
}

/* Two processes with different periods on one key: the widest period
 * used on it in the last minute spaces every process's grants (and is
 * what the streak counts against); once it expires, or a take's period
 * is wider, the take's own period is the key's. */
START_TEST(test_wide_period_spaces_every_process) {
  const uint64_t P = 400 * MS;
  const char *key = "adtest:{g15}:k";
  ad_test_redis_t srv;
  budget_t a, b;
  ad_budget_key_t ka, kb;
  answer_t x;
  char reply[64];
  long long now, wu;
  int i;
  const char *expire_w[] = {"HSET", key, "wu", "1", NULL};
  const char *narrow_w[] = {
      "HSET", key, "w", "100000", "wu", "9000000000000000", NULL};

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  budget_open(&b, srv.url, 0, 0);
  ad_budget_key_init(&ka, "g15/k", P, 1);
  ad_budget_key_init(&kb, "g15/k", 2 * P, 1);

  /* b (2P) takes once: the key is 2P wide for a minute */
  now = redis_time(&srv);
  decide(&b, &x, &kb, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_int_eq(hget_num(&srv, key, "w"), (long long)(2 * P));
  wu = hget_num(&srv, key, "wu");
  ck_assert_int_ge(wu, now + 60 * (long long)SEC);
  ck_assert_int_le(wu, redis_time(&srv) + 60 * (long long)SEC);

  /* a (P) waits for b's slot; taken 0.75 P late, its grant still counts
   * as spaced by the limit: within half of the wide period */
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_gt(x.t.wait_us, 3 * P / 2);
  sleep_loop(x.t.wait_us + 3 * P / 4);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_int_eq(x.t.grants[0].binding, 1);
  /* and a's next grants are 2P apart, not P */
  for (i = 0; i < 2; i++) {
    decide(&a, &x, &ka, NULL);
    ck_assert_uint_gt(x.t.wait_us, 3 * P / 2);
    ck_assert_uint_le(x.t.wait_us, 2 * P);
    sleep_loop(x.t.wait_us);
    decide(&a, &x, &ka, NULL);
    ck_assert_uint_eq(x.t.wait_us, 0);
  }
  /* a's narrower takes leave the width and its expiry as b set them */
  ck_assert_int_eq(hget_num(&srv, key, "w"), (long long)(2 * P));
  ck_assert_int_eq(hget_num(&srv, key, "wu"), wu);

  /* the width expired: a's own period again, for a minute from now */
  ad_test_redis_cmd(&srv, reply, sizeof(reply), expire_w);
  decide(&a, &x, &ka, NULL);
  sleep_loop(x.t.wait_us);
  now = redis_time(&srv);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_int_eq(hget_num(&srv, key, "w"), (long long)P);
  ck_assert_int_ge(hget_num(&srv, key, "wu"), now + 60 * (long long)SEC);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_gt(x.t.wait_us, P / 2);
  ck_assert_uint_le(x.t.wait_us, P);

  /* a width narrower than the take's period, not expired: the take's */
  ad_test_redis_cmd(&srv, reply, sizeof(reply), narrow_w);
  sleep_loop(x.t.wait_us);
  now = redis_time(&srv);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_int_eq(hget_num(&srv, key, "w"), (long long)P);
  wu = hget_num(&srv, key, "wu");
  ck_assert_int_ge(wu, now + 60 * (long long)SEC);
  ck_assert_int_le(wu, redis_time(&srv) + 60 * (long long)SEC);
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_le(x.t.wait_us, P);

  /* b's period is wider than a's: b's take widens it again */
  sleep_loop(x.t.wait_us);
  decide(&b, &x, &kb, NULL);
  ck_assert_uint_eq(x.t.wait_us, 0);
  ck_assert_int_eq(hget_num(&srv, key, "w"), (long long)(2 * P));
  decide(&a, &x, &ka, NULL);
  ck_assert_uint_gt(x.t.wait_us, 3 * P / 2);
  ck_assert_int_eq(a.log.n + b.log.n, 0);
  budget_close(&a);
  budget_close(&b);
  ad_test_redis_free(&srv);
}
END_TEST

/* A Redis Cluster node, said so by INFO: the budget fails at the start,
 * with why. */
START_TEST(test_cluster_node_fails_at_start) {
  ad_test_redis_t srv;
  budget_t a;
  ad_budget_key_t k;
  answer_t x;
  char bus[16], want[512];
  const char *args[] = {"--cluster-enabled", "yes", "--cluster-port", bus,
                        NULL};

  snprintf(bus, sizeof(bus), "%d", ad_test_free_port());
  ad_test_redis_start_args(&srv, NULL, args);
  budget_open(&a, srv.url, 0, 0);
  ad_budget_key_init(&k, "g17/k", 10 * MS, 1);
  ck_assert_int_eq(ask(&a, &x, &k, NULL), AD_BUDGET_PENDING);
  ck_assert(ad_test_run_until(&loop, &x.done, 5000));
  ck_assert_int_eq(x.status, AD_EBUDGET);
  snprintf(want, sizeof(want),
           "Redis at redis://127.0.0.1:%d/0 is a cluster (INFO says "
           "cluster_enabled:1); airdust needs a standalone Redis (or one "
           "shard's primary) for its budgets",
           srv.port);
  ck_assert_str_eq(a.b.error, want);
  ck_assert_int_eq(a.log.fatal, 1);
  ck_assert_str_eq(a.log.msg[a.log.n - 1], want);
  ck_assert_int_eq(ask(&a, &x, &k, NULL), AD_EBUDGET);
  budget_close(&a);
  ad_test_redis_free(&srv);
}
END_TEST

/* A cluster node that hides INFO (renamed away) and serves no slot: the
 * first script answers MOVED, and the budget fails, with why. */
START_TEST(test_cluster_moved_fails_the_budget) {
  ad_test_redis_t owner, other;
  budget_t a;
  ad_budget_key_t k;
  answer_t x;
  char bus1[16], bus2[16], owner_port[16], want[512], reply[512];
  const char *args1[] = {"--cluster-enabled", "yes", "--cluster-port", bus1,
                         NULL};
  const char *args2[] = {"--cluster-enabled",
                         "yes",
                         "--cluster-port",
                         bus2,
                         "--rename-command",
                         "INFO",
                         "",
                         NULL};
  const char *addslots[] = {"CLUSTER", "ADDSLOTSRANGE", "0", "16383", NULL};
  const char *meet[] = {"CLUSTER", "MEET", "127.0.0.1", owner_port, bus1, NULL};
  const char *info[] = {"CLUSTER", "INFO", NULL};
  uint64_t end;

  snprintf(bus1, sizeof(bus1), "%d", ad_test_free_port());
  snprintf(bus2, sizeof(bus2), "%d", ad_test_free_port());
  ad_test_redis_start_args(&owner, NULL, args1);
  ad_test_redis_start_args(&other, NULL, args2);
  snprintf(owner_port, sizeof(owner_port), "%d", owner.port);
  ad_test_redis_cmd(&owner, reply, sizeof(reply), addslots);
  ck_assert_str_eq(reply, "OK");
  ad_test_redis_cmd(&other, reply, sizeof(reply), meet);
  ck_assert_str_eq(reply, "OK");
  end = uv_hrtime() / 1000000 + 10000;
  for (;;) {
    ad_test_redis_cmd(&other, reply, sizeof(reply), info);
    if (strstr(reply, "cluster_state:ok") != NULL)
      break;
    ck_assert_msg(uv_hrtime() / 1000000 < end, "cluster: %s", reply);
    sleep_loop(50 * MS);
  }

  budget_open(&a, other.url, 0, 0);
  ad_budget_key_init(&k, "g18/k", 10 * MS, 1);
  ck_assert_int_eq(ask(&a, &x, &k, NULL), AD_BUDGET_PENDING);
  ck_assert(ad_test_run_until(&loop, &x.done, 5000));
  ck_assert_int_eq(x.status, AD_EBUDGET);
  snprintf(want, sizeof(want),
           "Redis at redis://127.0.0.1:%d/0 is a cluster (it answered "
           "MOVED); airdust needs a standalone Redis (or one shard's "
           "primary) for its budgets",
           other.port);
  ck_assert_str_eq(a.b.error, want);
  ck_assert_int_eq(a.log.fatal, 1);
  ck_assert_int_eq(ask(&a, &x, &k, NULL), AD_EBUDGET);
  budget_close(&a);
  ad_test_redis_free(&other);
  ad_test_redis_free(&owner);
}
END_TEST

static void on_answer_forbidden(ad_budget_take_t *t, int status) {
  (void)t;
  ck_abort_msg("a callback ran after close (status %d)", status);
}

/* Closing with questions pending (in flight, queued before the first
 * connection, or canceled): no callback runs, nothing leaks. */
START_TEST(test_close_with_takes_pending) {
  ad_test_redis_t srv;
  budget_t a, c, d;
  ad_budget_key_t k1, k2, k3;
  answer_t x, y, z, w, v;

  ad_test_redis_start(&srv, NULL);
  budget_open(&a, srv.url, 0, 0);
  ad_budget_key_init(&k1, "g9/a", 10 * MS, 1);
  ad_budget_key_init(&k2, "g9/b", 10 * MS, 1);
  ad_budget_key_init(&k3, "g9/c", 10 * MS, 1);
  decide(&a, &x, &k1, NULL);
  ad_test_redis_pause(&srv);
  ck_assert_int_eq(ask(&a, &x, &k1, NULL), AD_BUDGET_PENDING);
  ck_assert_int_eq(ask(&a, &y, &k2, NULL), AD_BUDGET_PENDING);
  ck_assert_int_eq(ask(&a, &v, &k3, NULL), AD_BUDGET_PENDING);
  ad_budget_cancel(&a.b, &v.t); /* canceled: its answer is dropped */
  x.t.cb = y.t.cb = v.t.cb = on_answer_forbidden;
  sleep_loop(20 * MS);
  /* one connecting to the paused server, one still resolving */
  budget_open(&c, srv.url, 0, 0);
  ck_assert_int_eq(ask(&c, &z, &k1, NULL), AD_BUDGET_PENDING);
  z.t.cb = on_answer_forbidden;
  sleep_loop(50 * MS);
  budget_open(&d, srv.url, 0, 0);
  ck_assert_int_eq(ask(&d, &w, &k2, NULL), AD_BUDGET_PENDING);
  w.t.cb = on_answer_forbidden;
  ad_budget_close(&d.b, on_closed);
  ad_budget_close(&c.b, on_closed);
  ad_budget_close(&a.b, on_closed);
  ck_assert(ad_test_run_until(&loop, &a.closed, 5000));
  ck_assert(ad_test_run_until(&loop, &c.closed, 5000));
  ck_assert(ad_test_run_until(&loop, &d.closed, 5000));
  ck_assert_ptr_null(a.b.impl);
  ad_test_redis_resume(&srv);
  sleep_loop(50 * MS);
  ad_test_redis_free(&srv);
}
END_TEST

static Suite *budget_redis_suite(void) {
  Suite *s = suite_create("budget_redis");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_two_budgets_share_keys_chains_and_penalties);
  tcase_add_test(tc, test_grant_fields);
  tcase_add_test(tc, test_late_sent_moves_the_shared_schedule);
  tcase_add_test(tc, test_unreachable_at_start);
  tcase_add_test(tc, test_password_stays_secret);
  tcase_add_test(tc, test_url_check_table);
  tcase_add_test(tc, test_redis_restarted_mid_run);
  tcase_add_test(tc, test_outage_timeout);
  tcase_add_test(tc, test_noscript_fallback);
  tcase_add_test(tc, test_connection_drop_same_redis);
  tcase_add_test(tc, test_inflight_take_resent_after_drop);
  tcase_add_test(tc, test_limiters_share_a_key);
  tcase_add_test(tc, test_close_with_takes_pending);
  tcase_add_test(tc, test_restart_hold_counts_from_the_reconnect);
  tcase_add_test(tc, test_state_outlives_its_tat);
  tcase_add_test(tc, test_evicting_redis_warns);
  tcase_add_test(tc, test_wide_period_spaces_every_process);
  tcase_add_test(tc, test_cluster_node_fails_at_start);
  tcase_add_test(tc, test_cluster_moved_fails_the_budget);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(budget_redis_suite()); }
