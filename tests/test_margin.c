/* ad_margin: what a 429 teaches about a server, and what later runs
 * remember of it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "margin.h"
#include "testutil.h"

#define MS 1000ull

static char dir[64], path[128];

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/ad_margin.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/margins.json", dir);
}

static void teardown(void) {
  char p[160];
  snprintf(p, sizeof(p), "%s.lock", path);
  unlink(p);
  unlink(path);
  rmdir(dir);
}

static ad_margin_t open_margin(const char *url) {
  ad_margin_t m;
  ck_assert_int_eq(ad_margin_init(&m, path, url, 20 * MS, 250 * MS), 0);
  return m;
}

START_TEST(test_widen_doubles_and_caps) {
  ad_margin_t m;
  ck_assert_int_eq(ad_margin_init(&m, NULL, "https://a", 0, 250 * MS), 0);
  ck_assert_uint_eq(ad_margin_widen(&m), 10 * MS); /* at least +10 ms */
  ck_assert_uint_eq(ad_margin_widen(&m), 20 * MS);
  ck_assert_uint_eq(ad_margin_widen(&m), 40 * MS);
  ck_assert_uint_eq(ad_margin_widen(&m), 80 * MS);
  ck_assert_uint_eq(ad_margin_widen(&m), 160 * MS);
  ck_assert_uint_eq(ad_margin_widen(&m), 250 * MS); /* the ceiling */
  ck_assert_uint_eq(ad_margin_widen(&m), 250 * MS);
  ck_assert_int_eq(m.widened, 7);
  ad_margin_free(&m);
}
END_TEST

/* A widened margin is what the next run of that server starts from; other
 * servers start from the floor. No URL reaches the file. */
START_TEST(test_remembered_per_server) {
  ad_margin_t m = open_margin("https://api.airtable.com"), n;
  char *text;

  ck_assert_uint_eq(m.current_us, 20 * MS);
  ck_assert_uint_eq(m.remembered_us, 0);
  ad_margin_widen(&m);
  ad_margin_free(&m);
  n = open_margin("https://api.airtable.com");
  ck_assert_uint_eq(n.remembered_us, 40 * MS);
  ck_assert_uint_eq(n.current_us, 40 * MS);
  ad_margin_free(&n);
  n = open_margin("https://proxy.example");
  ck_assert_uint_eq(n.current_us, 20 * MS);
  ad_margin_free(&n);
  text = ad_test_read_file(path);
  ck_assert_ptr_null(strstr(text, "airtable.com"));
  ck_assert_ptr_nonnull(strstr(text, "\"margin_ms\""));
  free(text);
}
END_TEST

/* A run that bound and drew no 429 walks the remembered margin a quarter
 * of the way home; one that did not bind, or widened, leaves it. */
START_TEST(test_clean_runs_walk_it_back) {
  ad_margin_t m = open_margin("https://a");
  ad_margin_widen(&m);
  ad_margin_widen(&m); /* 80 ms */
  ad_margin_finish(&m, 1); /* widened this run: kept */
  ad_margin_free(&m);
  m = open_margin("https://a");
  ck_assert_uint_eq(m.current_us, 80 * MS);
  ad_margin_finish(&m, 0); /* never bound: nothing learned */
  ad_margin_free(&m);
  m = open_margin("https://a");
  ck_assert_uint_eq(m.current_us, 80 * MS);
  ad_margin_finish(&m, 1);
  ad_margin_free(&m);
  m = open_margin("https://a");
  ck_assert_uint_eq(m.current_us, 65 * MS); /* 80 - (80 - 20) / 4 */
  ad_margin_free(&m);
}
END_TEST

/* Two runs at once: one widens while the other finishes clean; the
 * widening survives (walking back replaces only what it started from). */
START_TEST(test_concurrent_runs_keep_the_widening) {
  ad_margin_t a = open_margin("https://a"), b;
  ad_margin_widen(&a); /* 40 */
  ad_margin_free(&a);
  a = open_margin("https://a"); /* both start from 40 */
  b = open_margin("https://a");
  ad_margin_widen(&a);     /* 80 written */
  ad_margin_finish(&b, 1); /* would walk 40 back to 35: not over 80 */
  ad_margin_free(&a);
  ad_margin_free(&b);
  a = open_margin("https://a");
  ck_assert_uint_eq(a.current_us, 80 * MS);
  ad_margin_free(&a);
}
END_TEST

/* A damaged file, or one that cannot be written, costs only the memory. */
START_TEST(test_damaged_file_is_ignored) {
  ad_margin_t m;
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("{\"servers\": [1, 2", f);
  fclose(f);
  m = open_margin("https://a");
  ck_assert_uint_eq(m.current_us, 20 * MS);
  ck_assert_uint_eq(ad_margin_widen(&m), 40 * MS);
  ad_margin_free(&m);
  m = open_margin("https://a"); /* rewritten whole */
  ck_assert_uint_eq(m.current_us, 40 * MS);
  ad_margin_free(&m);
  ck_assert_int_eq(ad_margin_init(&m, "/nonexistent-dir/margins.json",
                                  "https://a", 20 * MS, 250 * MS),
                   0);
  ck_assert_uint_eq(ad_margin_widen(&m), 40 * MS);
  ad_margin_free(&m);
}
END_TEST

static Suite *margin_suite(void) {
  Suite *s = suite_create("margin");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_widen_doubles_and_caps);
  tcase_add_test(tc, test_remembered_per_server);
  tcase_add_test(tc, test_clean_runs_walk_it_back);
  tcase_add_test(tc, test_concurrent_runs_keep_the_widening);
  tcase_add_test(tc, test_damaged_file_is_ignored);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(margin_suite()); }
