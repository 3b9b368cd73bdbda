#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "testutil.h"

typedef struct captured {
  char lines[8][512];
  int n;
} captured_t;

static void capture(int level, const char *line, void *data) {
  captured_t *c = data;
  (void)level;
  if (c->n < 8)
    snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%s", line);
}

static void init_log(ad_log_t *log, captured_t *c, int format) {
  memset(c, 0, sizeof(*c));
  ad_log_init(log, NULL, AD_LOG_INFO, format);
  log->fn = capture;
  log->fn_data = c;
  ck_assert_int_eq(ad_log_add_secret(log, "patSECRET123"), 0);
  ck_assert_int_eq(ad_log_add_secret(log, "sk-SECRET456"), 0);
}

START_TEST(test_text_levels_and_redaction) {
  ad_log_t log;
  captured_t c;

  init_log(&log, &c, AD_LOG_TEXT);
  ad_log_info(&log, "http", "GET %s with key %s", "/v0/meta/bases",
              "patSECRET123");
  ad_log_debug(&log, "http", "dropped: below the level");
  ad_log_error(&log, "dust", "header Authorization: Bearer sk-OTHER999 sent");
  ck_assert_int_eq(c.n, 2);
  ck_assert_ptr_nonnull(strstr(c.lines[0], " info  [http] GET /v0/meta/bases "
                                           "with key [REDACTED]"));
  ck_assert_ptr_null(strstr(c.lines[0], "SECRET"));
  ck_assert_ptr_nonnull(strstr(c.lines[1], "error [dust] header "
                                           "Authorization: Bearer [REDACTED] "
                                           "sent"));
  ck_assert_ptr_null(strstr(c.lines[1], "OTHER999"));
  ad_log_close(&log);
}
END_TEST

START_TEST(test_json_lines_parse) {
  ad_log_t log;
  captured_t c;
  json_object *obj, *v;

  init_log(&log, &c, AD_LOG_JSON);
  ad_log_warn(&log, "airtable", "quote \" newline \n key sk-SECRET456 é");
  ck_assert_int_eq(c.n, 1);
  ck_assert_ptr_null(strstr(c.lines[0], "SECRET"));
  obj = json_tokener_parse(c.lines[0]);
  ck_assert_ptr_nonnull(obj);
  ck_assert(json_object_object_get_ex(obj, "level", &v));
  ck_assert_str_eq(json_object_get_string(v), "warn");
  ck_assert(json_object_object_get_ex(obj, "component", &v));
  ck_assert_str_eq(json_object_get_string(v), "airtable");
  ck_assert(json_object_object_get_ex(obj, "msg", &v));
  ck_assert_str_eq(json_object_get_string(v),
                   "quote \" newline \n key [REDACTED] é");
  ck_assert(json_object_object_get_ex(obj, "ts", &v));
  ck_assert_uint_eq(strlen(json_object_get_string(v)), 24);
  json_object_put(obj);
  ad_log_close(&log);
}
END_TEST

START_TEST(test_level_names) {
  ck_assert_int_eq(ad_log_level_parse("debug"), AD_LOG_DEBUG);
  ck_assert_int_eq(ad_log_level_parse("error"), AD_LOG_ERROR);
  ck_assert_int_eq(ad_log_level_parse("verbose"), -1);
  ck_assert_str_eq(ad_log_level_name(AD_LOG_WARN), "warn");
}
END_TEST

static Suite *log_suite(void) {
  Suite *s = suite_create("log");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_text_levels_and_redaction);
  tcase_add_test(tc, test_json_lines_parse);
  tcase_add_test(tc, test_level_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(log_suite()); }
