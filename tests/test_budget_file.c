/* The file budget: what two processes (here two budgets on one file, and
 * two forked processes) see of each other's grants and penalties. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "error.h"
#include "testutil.h"

#define SEC 1000000ull
#define TOL 2000ull

static uint64_t fake_now;
static char path[256];

static uint64_t fake_clock(void *data) {
  (void)data;
  return fake_now;
}

static void setup(void) {
  snprintf(path, sizeof(path), "/tmp/ad_budget_test.%d", (int)getpid());
  unlink(path);
  fake_now = 5000 * SEC;
}

static void teardown(void) { unlink(path); }

static void take1(ad_budget_t *b, ad_budget_key_t *k, ad_budget_take_t *t) {
  memset(t, 0, sizeof(*t));
  t->keys[0] = k;
  t->n = 1;
  t->tolerance_us = TOL;
  ck_assert_int_eq(ad_budget_take(b, t), AD_BUDGET_DECIDED);
}

START_TEST(test_two_budgets_share_a_named_key) {
  ad_budget_t a, b;
  ad_budget_key_t ka, kb;
  ad_budget_take_t t;

  ck_assert_int_eq(ad_budget_file_init(&a, path, fake_clock, NULL), 0);
  ck_assert_int_eq(ad_budget_file_init(&b, path, fake_clock, NULL), 0);
  ad_budget_key_init(&ka, "at-x/base-app1", 200000, 1);
  ad_budget_key_init(&kb, "at-x/base-app1", 200000, 1);
  take1(&a, &ka, &t);
  ck_assert_uint_eq(t.wait_us, 0);
  take1(&b, &kb, &t); /* the other process sees a's grant */
  ck_assert_uint_eq(t.wait_us, 200000 - 2 * TOL);
  fake_now += 200000 - 2 * TOL;
  take1(&b, &kb, &t);
  ck_assert_uint_eq(t.wait_us, 0);
  ck_assert_uint_eq(t.grants[0].seq, 2);
  ck_assert_int_eq(t.grants[0].binding, 1);
  take1(&a, &ka, &t);
  ck_assert_uint_eq(t.wait_us, 200000);
  ck_assert_int_eq(a.degraded + b.degraded, 0);
  ad_budget_close(&a, NULL);
  ad_budget_close(&b, NULL);
}
END_TEST

START_TEST(test_penalty_and_chains_are_shared) {
  ad_budget_t a, b;
  ad_budget_key_t base_a, tok_a, base_b, tok_b, other;
  ad_budget_take_t t;

  ck_assert_int_eq(ad_budget_file_init(&a, path, fake_clock, NULL), 0);
  ck_assert_int_eq(ad_budget_file_init(&b, path, fake_clock, NULL), 0);
  ad_budget_key_init(&base_a, "at-x/base-app1", 200000, 1);
  ad_budget_key_init(&tok_a, "at-x/token-t1", 20000, 1);
  ad_budget_key_init(&base_b, "at-x/base-app2", 200000, 1);
  ad_budget_key_init(&tok_b, "at-x/token-t1", 20000, 1);
  ad_budget_block(&a, &tok_a, 30 * SEC); /* a's 429 for the token */
  memset(&t, 0, sizeof(t));
  t.keys[0] = &base_b;
  t.keys[1] = &tok_b;
  t.n = 2;
  t.tolerance_us = TOL;
  ck_assert_int_eq(ad_budget_take(&b, &t), AD_BUDGET_DECIDED);
  ck_assert_uint_eq(t.wait_us, 30 * SEC); /* b's base waits for it too */
  fake_now += 30 * SEC;
  ck_assert_int_eq(ad_budget_take(&b, &t), AD_BUDGET_DECIDED);
  ck_assert_uint_eq(t.wait_us, 0);
  /* Both keys of the chain took: a's own base is free, its token not. */
  t.keys[0] = &base_a;
  t.keys[1] = &tok_a;
  ck_assert_int_eq(ad_budget_take(&a, &t), AD_BUDGET_DECIDED);
  ck_assert_uint_eq(t.wait_us, 20000 - 2 * TOL);
  /* A key with no name is this process's alone. */
  ad_budget_key_init(&other, NULL, 20000, 1);
  ad_budget_block(&a, &other, 5 * SEC);
  take1(&b, &other, &t);
  ck_assert_uint_eq(t.wait_us, 5 * SEC); /* same struct: its local state */
  ad_budget_key_init(&other, NULL, 20000, 1);
  take1(&b, &other, &t);
  ck_assert_uint_eq(t.wait_us, 0);
  ad_budget_close(&a, NULL);
  ad_budget_close(&b, NULL);
}
END_TEST

/* A request that left late moves the shared schedule. */
START_TEST(test_sent_is_shared) {
  ad_budget_t a, b;
  ad_budget_key_t ka, kb;
  ad_budget_take_t t;

  ck_assert_int_eq(ad_budget_file_init(&a, path, fake_clock, NULL), 0);
  ck_assert_int_eq(ad_budget_file_init(&b, path, fake_clock, NULL), 0);
  ad_budget_key_init(&ka, "g/k", 100000, 1);
  ad_budget_key_init(&kb, "g/k", 100000, 1);
  take1(&a, &ka, &t);
  ad_budget_sent(&a, &t, fake_now + 50000); /* left 50 ms late */
  take1(&b, &kb, &t); /* a period after the send, less the tolerance */
  ck_assert_uint_eq(t.wait_us, 150000 - 2 * TOL);
  ad_budget_close(&a, NULL);
  ad_budget_close(&b, NULL);
}
END_TEST

/* A file from another boot starts over; a block is a day at most. */
START_TEST(test_foreign_or_damaged_file_resets) {
  ad_budget_t a;
  ad_budget_key_t k;
  ad_budget_take_t t;
  FILE *fp;

  ck_assert_int_eq(ad_budget_file_init(&a, path, fake_clock, NULL), 0);
  ad_budget_key_init(&k, "g/k", 100000, 1);
  ad_budget_block(&a, &k, 30 * SEC);
  take1(&a, &k, &t);
  ck_assert_uint_eq(t.wait_us, 30 * SEC);
  fp = fopen(path, "r+b"); /* another boot's id */
  ck_assert_ptr_nonnull(fp);
  fseek(fp, 24, SEEK_SET);
  fputs("0000-not-this-boot", fp);
  fclose(fp);
  take1(&a, &k, &t);
  ck_assert_uint_eq(t.wait_us, 0);
  ad_budget_block(&a, &k, 30 * 24 * 3600 * SEC); /* a month: a day */
  take1(&a, &k, &t);
  ck_assert_uint_eq(t.wait_us, AD_GCRA_MAX_BLOCK_US);
  ad_budget_close(&a, NULL);
}
END_TEST

/* A table full of live keys keeps the next key in this process (and
 * says so); stale keys give their slot up. */
START_TEST(test_full_table) {
  enum { SLOTS = 4096 };
  static ad_budget_key_t keys[SLOTS + 1];
  static char names[SLOTS + 1][32];
  ad_budget_t a;
  ad_budget_take_t t;
  int i;

  ck_assert_int_eq(ad_budget_file_init(&a, path, fake_clock, NULL), 0);
  for (i = 0; i <= SLOTS; i++) {
    snprintf(names[i], sizeof(names[i]), "g/key-%d", i);
    ad_budget_key_init(&keys[i], names[i], SEC, 1);
  }
  for (i = 0; i < SLOTS; i++)
    take1(&a, &keys[i], &t);
  ck_assert_int_eq(a.degraded, 0);
  take1(&a, &keys[SLOTS], &t);
  ck_assert_int_eq(a.degraded, 1);
  ck_assert_uint_eq(t.wait_us, 0);
  take1(&a, &keys[SLOTS], &t); /* its local state still spaces it */
  ck_assert_uint_eq(t.wait_us, SEC - 2 * TOL);
  a.degraded = 0;
  fake_now += 11 * 60 * SEC; /* all stale now */
  ad_budget_key_init(&keys[SLOTS], names[SLOTS], SEC, 1);
  take1(&a, &keys[SLOTS], &t);
  ck_assert_int_eq(a.degraded, 0);
  ad_budget_close(&a, NULL);
}
END_TEST

START_TEST(test_unusable_path) {
  ad_budget_t a;
  ck_assert_int_eq(
      ad_budget_file_init(&a, "/nonexistent-dir/budget", fake_clock, NULL),
      AD_EIO);
  ck_assert_ptr_nonnull(strstr(a.error, "/nonexistent-dir/budget"));
  ad_budget_close(&a, NULL);
}
END_TEST

/* Two real processes on the real clock take one key as fast as it
 * allows for 0.6 s: their grants, merged, are spaced a period apart. */
static void child_takes(int fd) {
  ad_budget_t b;
  ad_budget_key_t k;
  ad_budget_take_t t;
  uint64_t end;
  struct timespec ts;

  if (ad_budget_file_init(&b, path, NULL, NULL) != 0)
    _exit(3);
  ad_budget_key_init(&k, "g/shared", 10000, 1);
  end = ad_budget_now(&b) + 600000;
  while (ad_budget_now(&b) < end) {
    memset(&t, 0, sizeof(t));
    t.keys[0] = &k;
    t.n = 1;
    t.tolerance_us = TOL;
    ad_budget_take(&b, &t);
    if (t.wait_us == 0) {
      if (write(fd, &t.decided_at, sizeof(t.decided_at)) !=
          (ssize_t)sizeof(t.decided_at))
        _exit(4);
      continue;
    }
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(t.wait_us * 1000);
    nanosleep(&ts, NULL);
  }
  ad_budget_close(&b, NULL);
  _exit(0);
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

START_TEST(test_two_processes) {
  uint64_t stamps[400];
  size_t n = 0, i;
  int fds[2], status, c;
  pid_t pids[2];
  ssize_t got;

  ck_assert_int_eq(pipe(fds), 0);
  for (c = 0; c < 2; c++) {
    pids[c] = fork();
    ck_assert_int_ge(pids[c], 0);
    if (pids[c] == 0) {
      close(fds[0]);
      child_takes(fds[1]);
    }
  }
  close(fds[1]);
  while (n < 400 && (got = read(fds[0], &stamps[n], sizeof(stamps[0]))) ==
                        (ssize_t)sizeof(stamps[0]))
    n++;
  close(fds[0]);
  for (c = 0; c < 2; c++) {
    ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
  }
  qsort(stamps, n, sizeof(stamps[0]), cmp_u64);
  /* 0.6 s at one per 10 ms: 61, and one more that the tolerance lets
   * the first go early by; fewer when the machine is loaded. */
  ck_assert_uint_le(n, 62);
  ck_assert_uint_ge(n, 30);
  for (i = 1; i < n; i++)
    ck_assert_uint_ge(stamps[i] - stamps[i - 1], 10000 - 2 * TOL);
}
END_TEST

static Suite *budget_file_suite(void) {
  Suite *s = suite_create("budget_file");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_two_budgets_share_a_named_key);
  tcase_add_test(tc, test_penalty_and_chains_are_shared);
  tcase_add_test(tc, test_sent_is_shared);
  tcase_add_test(tc, test_foreign_or_damaged_file_resets);
  tcase_add_test(tc, test_full_table);
  tcase_add_test(tc, test_unusable_path);
  tcase_add_test(tc, test_two_processes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(budget_file_suite()); }
