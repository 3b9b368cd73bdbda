#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "stats.h"
#include "testutil.h"

static int64_t get_int(json_object *obj, const char *a, const char *b) {
  json_object *v;
  ck_assert_msg(json_object_object_get_ex(obj, a, &v), "missing %s", a);
  if (b != NULL)
    ck_assert_msg(json_object_object_get_ex(v, b, &v), "missing %s.%s", a, b);
  return json_object_get_int64(v);
}

START_TEST(test_design_shape) {
  ad_stats_t st;
  json_object *obj, *v, *f;
  char *text;

  ad_stats_init(&st);
  st.elapsed_s = 4.31;
  st.bases = 10;
  st.tables = 40;
  st.records_read = 20000;
  st.rows_written = 20000;
  st.requests_source = 211;
  st.requests_sink = 120;
  st.http429_sink = 2;
  st.retries = 3;
  st.bytes_received = 1234;
  st.bytes_sent = 5678;
  st.peak_queue_rows = 900;
  text = ad_stats_to_json(&st, NULL);
  obj = json_tokener_parse(text);
  ck_assert_ptr_nonnull(obj);
  ck_assert(json_object_object_get_ex(obj, "ok", &v));
  ck_assert(json_object_get_boolean(v));
  ck_assert(json_object_object_get_ex(obj, "elapsed_s", &v));
  ck_assert_double_eq_tol(json_object_get_double(v), 4.31, 1e-9);
  ck_assert_int_eq(get_int(obj, "bases", NULL), 10);
  ck_assert_int_eq(get_int(obj, "tables", NULL), 40);
  ck_assert_int_eq(get_int(obj, "tables_failed", NULL), 0);
  ck_assert_int_eq(get_int(obj, "records_read", NULL), 20000);
  ck_assert_int_eq(get_int(obj, "rows_written", NULL), 20000);
  ck_assert_int_eq(get_int(obj, "documents_written", NULL), 0);
  ck_assert_int_eq(get_int(obj, "records_failed", NULL), 0);
  ck_assert_int_eq(get_int(obj, "requests", "airtable"), 211);
  ck_assert_int_eq(get_int(obj, "requests", "dust"), 120);
  ck_assert_int_eq(get_int(obj, "http_429", "airtable"), 0);
  ck_assert_int_eq(get_int(obj, "http_429", "dust"), 2);
  ck_assert_int_eq(get_int(obj, "retries", NULL), 3);
  ck_assert_int_eq(get_int(obj, "bytes", "received"), 1234);
  ck_assert_int_eq(get_int(obj, "bytes", "sent"), 5678);
  ck_assert_int_eq(get_int(obj, "peak_queue_rows", NULL), 900);
  ck_assert(json_object_object_get_ex(obj, "failures", &f));
  ck_assert_int_eq(json_object_array_length(f), 0);
  ck_assert(!json_object_object_get_ex(obj, "error", NULL));
  json_object_put(obj);
  free(text);
  ad_stats_free(&st);
}
END_TEST

START_TEST(test_failures_fatal_and_redaction) {
  ad_stats_t st;
  ad_redact_t r;
  json_object *obj, *f, *e, *v;
  char *text;

  ad_stats_init(&st);
  ad_redact_init(&r);
  ad_redact_add(&r, "sk-SECRET456");
  st.tables_failed = 1;
  st.records_failed = 100;
  ck_assert_int_eq(ad_stats_add_failure(&st, "appA", "tblB", NULL,
                                        "403 INVALID_PERMISSIONS", 100), 0);
  ck_assert_int_eq(ad_stats_add_failure(&st, "appA", "tblC", "rec1",
                                        "echoed sk-SECRET456", 1), 0);
  ck_assert_int_eq(ad_stats_set_fatal(&st, "401 from Airtable"), 0);
  ck_assert_int_eq(ad_stats_set_fatal(&st, "second"), 0);
  ck_assert(!ad_stats_ok(&st));
  text = ad_stats_to_json(&st, &r);
  ck_assert_ptr_null(strstr(text, "SECRET"));
  obj = json_tokener_parse(text);
  ck_assert(json_object_object_get_ex(obj, "ok", &v));
  ck_assert(!json_object_get_boolean(v));
  ck_assert(json_object_object_get_ex(obj, "error", &v));
  ck_assert_str_eq(json_object_get_string(v), "401 from Airtable");
  ck_assert(json_object_object_get_ex(obj, "failures", &f));
  ck_assert_int_eq(json_object_array_length(f), 2);
  e = json_object_array_get_idx(f, 0);
  ck_assert(json_object_object_get_ex(e, "table", &v));
  ck_assert_str_eq(json_object_get_string(v), "tblB");
  ck_assert(!json_object_object_get_ex(e, "record", NULL));
  ck_assert_int_eq(get_int(e, "records", NULL), 100);
  e = json_object_array_get_idx(f, 1);
  ck_assert(json_object_object_get_ex(e, "record", &v));
  ck_assert_str_eq(json_object_get_string(v), "rec1");
  ck_assert(json_object_object_get_ex(e, "error", &v));
  ck_assert_str_eq(json_object_get_string(v), "echoed [REDACTED]");
  json_object_put(obj);
  free(text);
  ad_redact_free(&r);
  ad_stats_free(&st);
}
END_TEST

START_TEST(test_failure_cap) {
  ad_stats_t st;
  json_object *obj, *f;
  char *text;
  int i;

  ad_stats_init(&st);
  for (i = 0; i < AD_STATS_MAX_FAILURES + 5; i++)
    ck_assert_int_eq(ad_stats_add_failure(&st, "b", "t", "r", "e", 1), 0);
  ck_assert_uint_eq(st.nfailures, AD_STATS_MAX_FAILURES);
  text = ad_stats_to_json(&st, NULL);
  obj = json_tokener_parse(text);
  ck_assert(json_object_object_get_ex(obj, "failures", &f));
  ck_assert_int_eq(json_object_array_length(f), AD_STATS_MAX_FAILURES);
  ck_assert_int_eq(get_int(obj, "failures_not_listed", NULL), 5);
  json_object_put(obj);
  free(text);
  ad_stats_free(&st);
}
END_TEST

static Suite *stats_suite(void) {
  Suite *s = suite_create("stats");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_design_shape);
  tcase_add_test(tc, test_failures_fatal_and_redaction);
  tcase_add_test(tc, test_failure_cap);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(stats_suite()); }
