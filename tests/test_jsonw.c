/* The JSON text writer: its output parses back to the same value, and
 * reads as json-c's own plain serialization would. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "jsonw.h"
#include "testutil.h"

START_TEST(test_string_escapes) {
  ad_buf_t b;
  const char in[] = "a\"b\\c/d\n\r\t\b\f\x01\x1f\x7f é🎉";

  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_jsonw_string(&b, in, sizeof(in) - 1), 0);
  ck_assert_str_eq(b.data, "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é🎉\"");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_jsonw_string(&b, "a\0b", 3), 0); /* embedded NUL */
  ck_assert_str_eq(b.data, "\"a\\u0000b\"");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_jsonw_string(&b, "", 0), 0);
  ck_assert_str_eq(b.data, "\"\"");
  ad_buf_free(&b);
}
END_TEST

/* Every byte value from 1 to 127, in random strings, reads back intact. */
START_TEST(test_string_round_trip) {
  ad_buf_t b;
  char s[64];
  uint32_t x = 12345;
  int i, j, len;
  json_object *o;

  ad_buf_init(&b, 0);
  for (i = 0; i < 2000; i++) {
    len = i % 60;
    for (j = 0; j < len; j++) {
      x = x * 1103515245u + 12345u;
      s[j] = (char)(1 + (x >> 16) % 127);
    }
    ad_buf_reset(&b);
    ck_assert_int_eq(ad_jsonw_string(&b, s, (size_t)len), 0);
    o = json_tokener_parse(b.data);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_get_string_len(o), len);
    ck_assert_mem_eq(json_object_get_string(o), s, (size_t)len);
    json_object_put(o);
  }
  ad_buf_free(&b);
}
END_TEST

START_TEST(test_numbers) {
  static const struct {
    double v;
    const char *text;
  } doubles[] = {{3.25, "3.25"},   {0.1, "0.1"},       {5.0, "5.0"},
                 {-0.5, "-0.5"},  {1e21, "1e+21"},    {1.0 / 3.0, "0.33333333333333331"},
                 {NAN, "null"},   {INFINITY, "null"}};
  ad_buf_t b;
  size_t i;

  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_jsonw_int(&b, 0), 0);
  ck_assert_int_eq(ad_buf_puts(&b, " "), 0);
  ck_assert_int_eq(ad_jsonw_int(&b, -42), 0);
  ck_assert_int_eq(ad_buf_puts(&b, " "), 0);
  ck_assert_int_eq(ad_jsonw_int(&b, INT64_MIN), 0);
  ck_assert_int_eq(ad_buf_puts(&b, " "), 0);
  ck_assert_int_eq(ad_jsonw_int(&b, INT64_MAX), 0);
  ck_assert_str_eq(b.data, "0 -42 -9223372036854775808 9223372036854775807");
  for (i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
    ad_buf_reset(&b);
    ck_assert_int_eq(ad_jsonw_double(&b, doubles[i].v), 0);
    ck_assert_str_eq(b.data, doubles[i].text);
  }
  ad_buf_free(&b);
}
END_TEST

/* Nested values come out as json-c's plain, no-slash-escape form. */
START_TEST(test_value_matches_json_c) {
  static const char *const inputs[] = {
      "{\"a\":[1,2.5,\"x/y\",null,true,false],\"b\":{\"c\":{}},\"d\":[]}",
      "[\"\\u0001\\\"\",{\"k\\n\":-3}]", "\"plain\"", "null", "12",
      /* beyond int64: json-c holds these unsigned */
      "[9223372036854775807,9223372036854775808,18446744073709551615]"};
  ad_buf_t b;
  size_t i;
  json_object *o;

  ad_buf_init(&b, 0);
  for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    o = json_tokener_parse(inputs[i]);
    ad_buf_reset(&b);
    ck_assert_int_eq(ad_jsonw_value(&b, o), 0);
    ck_assert_str_eq(b.data, json_object_to_json_string_ext(
                                 o, JSON_C_TO_STRING_PLAIN |
                                        JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
  }
  ad_buf_free(&b);
}
END_TEST

START_TEST(test_cap) {
  ad_buf_t b;

  ad_buf_init(&b, 8);
  ck_assert_int_eq(ad_jsonw_string(&b, "0123456789", 10), AD_ETOOBIG);
  ad_buf_free(&b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("jsonw");
  TCase *tc = tcase_create("jsonw");
  tcase_add_test(tc, test_string_escapes);
  tcase_add_test(tc, test_string_round_trip);
  tcase_add_test(tc, test_numbers);
  tcase_add_test(tc, test_value_matches_json_c);
  tcase_add_test(tc, test_cap);
  suite_add_tcase(s, tc);
  return ad_test_run_suite(s);
}
