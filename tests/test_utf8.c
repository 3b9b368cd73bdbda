/* Bytes that are not UTF-8: found, replaced by U+FFFD one maximal subpart
 * at a time (Unicode's recommended practice), and repaired in Airtable
 * pages before anything of them reaches Dust. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "testutil.h"
#include "utf8.h"

#define R "\xEF\xBF\xBD" /* U+FFFD */

static const struct {
  const char *in, *out;
  size_t valid, replaced;
} cases[] = {
    {"plain ascii text, longer than one word", NULL, 38, 0},
    {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\x89 \xF4\x8F\xBF\xBF", NULL, 19, 0},
    {"a\x80" "b", "a" R "b", 1, 1},              /* lone continuation */
    {"\xC0\xAF", R R, 0, 2},                     /* overlong '/' */
    {"\xE0\x80\x80", R R R, 0, 3},               /* overlong NUL */
    {"x\xED\xA0\x80y", "x" R R R "y", 1, 3},     /* a surrogate */
    {"\xF4\x90\x80\x80", R R R R, 0, 4},         /* past U+10FFFF */
    {"ok\xE2\x82", "ok" R, 2, 1},                /* cut at the end */
    {"\xE2\x82" "A", R "A", 0, 1},               /* cut by ASCII */
    {"\xF0\x9F\x8E", R, 0, 1},
    {"\xFF\xFE", R R, 0, 2},
};

START_TEST(test_valid_and_repair) {
  const char *in = cases[_i].in;
  size_t len = strlen(in), replaced = 99;
  ad_buf_t out;

  ck_assert_uint_eq(ad_utf8_valid(in, len), cases[_i].valid);
  ad_buf_init(&out, 0);
  ck_assert_int_eq(ad_utf8_repair(&out, in, len, &replaced), 0);
  ck_assert_uint_eq(replaced, cases[_i].replaced);
  ck_assert_uint_eq(out.len, strlen(cases[_i].out ? cases[_i].out : in));
  ck_assert_int_eq(memcmp(out.data, cases[_i].out ? cases[_i].out : in, out.len),
                   0);
  ck_assert_uint_eq(ad_utf8_valid(out.data, out.len), out.len);
  ad_buf_free(&out);
}
END_TEST

/* A page with a mangled cell parses, says how many sequences it
 * replaced, and its strings are UTF-8. */
START_TEST(test_page_repaired) {
  static const char body[] =
      "{\"records\":[{\"id\":\"rec1\",\"createdTime\":\"2024-01-01T00:00:00.000Z\","
      "\"fields\":{\"Name\":\"bad \xC3\x28 byte\"}}]}";
  ad_at_page_t page;
  char err[128];
  const char *name;

  ck_assert_int_eq(ad_at_page_parse(body, sizeof(body) - 1, &page, err,
                                    sizeof(err)),
                   0);
  ck_assert_uint_eq(page.utf8_replaced, 1);
  name = json_object_get_string(json_object_object_get(
      json_object_object_get(json_object_array_get_idx(page.records, 0),
                             "fields"),
      "Name"));
  ck_assert_str_eq(name, "bad " R "( byte");
  ad_at_page_free(&page);
}
END_TEST

static Suite *utf8_suite(void) {
  Suite *s = suite_create("utf8");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_valid_and_repair, 0,
                      (int)(sizeof(cases) / sizeof(cases[0])));
  tcase_add_test(tc, test_page_repaired);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(utf8_suite()); }
