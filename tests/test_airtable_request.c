/* Airtable request URLs and bodies: pure functions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "request.h"
#include "testutil.h"

START_TEST(test_escape_and_meta_urls) {
  ad_buf_t b;
  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_buf_escape(&b, "Tâches / Q1 ✓-._~"), 0);
  ck_assert_str_eq(b.data, "T%C3%A2ches%20%2F%20Q1%20%E2%9C%93-._~");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_at_bases_url(&b, "http://h:1/", NULL), 0);
  ck_assert_str_eq(b.data, "http://h:1/v0/meta/bases");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_at_bases_url(&b, "http://h:1", "itr1/app2"), 0);
  ck_assert_str_eq(b.data, "http://h:1/v0/meta/bases?offset=itr1%2Fapp2");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_at_schema_url(&b, "https://api.airtable.com", "appX"), 0);
  ck_assert_str_eq(b.data, "https://api.airtable.com/v0/meta/bases/appX/tables");
  ad_buf_free(&b);
}
END_TEST

START_TEST(test_list_get_then_post) {
  const char *fields[2] = {"fldA", "Name é"};
  ad_buf_t url, body;
  ad_buf_init(&url, 0);
  ad_buf_init(&body, 0);

  ck_assert_int_eq(ad_at_list_request(&url, &body, "http://h", "appB", "tblT",
                                      100, NULL, NULL, 0, AD_AT_MAX_URL), 0);
  ck_assert_str_eq(url.data, "http://h/v0/appB/tblT?pageSize=100&"
                             "returnFieldsByFieldId=true");
  ck_assert_uint_eq(body.len, 0);
  ad_buf_reset(&url);
  ck_assert_int_eq(ad_at_list_request(&url, &body, "http://h", "appB", "tblT",
                                      100, "itrX/recY", fields, 2,
                                      AD_AT_MAX_URL), 0);
  ck_assert_str_eq(url.data, "http://h/v0/appB/tblT?pageSize=100&"
                             "returnFieldsByFieldId=true&fields%5B%5D=fldA&"
                             "fields%5B%5D=Name%20%C3%A9&offset=itrX%2FrecY");
  /* Past the limit, the same request goes as a POST with a JSON body. */
  ad_buf_reset(&url);
  ck_assert_int_eq(ad_at_list_request(&url, &body, "http://h", "appB", "tblT",
                                      100, "itrX/recY", fields, 2, 40), 0);
  ck_assert_str_eq(url.data, "http://h/v0/appB/tblT/listRecords");
  ck_assert_str_eq(body.data, "{\"pageSize\":100,\"returnFieldsByFieldId\":true,"
                              "\"fields\":[\"fldA\",\"Name é\"],"
                              "\"offset\":\"itrX/recY\"}");
  ad_buf_free(&url);
  ad_buf_free(&body);
}
END_TEST

/* 1 000 field ids make a URL over 15 000 characters: POST. */
START_TEST(test_list_long_url_switches) {
  const char *fields[1000];
  ad_buf_t url, body;
  int i;

  for (i = 0; i < 1000; i++)
    fields[i] = "fldABCDEFGHIJKLMN";
  ad_buf_init(&url, 0);
  ad_buf_init(&body, 0);
  ck_assert_int_eq(ad_at_list_request(&url, &body, "http://h", "appB", "tblT",
                                      100, NULL, fields, 1000, AD_AT_MAX_URL),
                   0);
  ck_assert_str_eq(url.data, "http://h/v0/appB/tblT/listRecords");
  ck_assert_uint_gt(body.len, 18000);
  ad_buf_free(&url);
  ad_buf_free(&body);
}
END_TEST

static Suite *request_suite(void) {
  Suite *s = suite_create("airtable_request");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_escape_and_meta_urls);
  tcase_add_test(tc, test_list_get_then_post);
  tcase_add_test(tc, test_list_long_url_switches);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(request_suite()); }
