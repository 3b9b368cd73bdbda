#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "testutil.h"

START_TEST(test_append_and_cap) {
  ad_buf_t b;
  char *s;
  size_t len;

  ad_buf_init(&b, 10);
  ck_assert_int_eq(ad_buf_puts(&b, "hello"), 0);
  ck_assert_int_eq(ad_buf_printf(&b, "%d", 1234), 0);
  ck_assert_str_eq(b.data, "hello1234");
  ck_assert_int_eq(ad_buf_puts(&b, "xy"), AD_ETOOBIG);
  ck_assert_str_eq(b.data, "hello1234"); /* unchanged on error */
  ck_assert_int_eq(ad_buf_puts(&b, "z"), 0);
  ck_assert_uint_eq(b.len, 10);
  s = ad_buf_steal(&b, &len);
  ck_assert_str_eq(s, "hello1234z");
  ck_assert_uint_eq(len, 10);
  ck_assert_ptr_null(b.data);
  free(s);
  s = ad_buf_steal(&b, NULL);
  ck_assert_str_eq(s, "");
  free(s);
}
END_TEST

START_TEST(test_growth_and_reset) {
  ad_buf_t b;
  int i;

  ad_buf_init(&b, 0);
  for (i = 0; i < 10000; i++)
    ck_assert_int_eq(ad_buf_append(&b, "abc", 3), 0);
  ck_assert_uint_eq(b.len, 30000);
  ck_assert_uint_eq(strlen(b.data), 30000);
  ad_buf_reset(&b);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_str_eq(b.data, "");
  ad_buf_free(&b);
}
END_TEST

static Suite *buf_suite(void) {
  Suite *s = suite_create("buf");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_append_and_cap);
  tcase_add_test(tc, test_growth_and_reset);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(buf_suite()); }
