/* Dust request URLs, ids, names and bodies: pure functions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "batch.h"
#include "error.h"
#include "request.h"
#include "testutil.h"

static const ad_dust_target_t target = {"https://dust.tt/", "w 1", "vlt_2",
                                        "ds/3"};

START_TEST(test_urls) {
  ad_buf_t u;
  ad_buf_init(&u, 0);
  ck_assert_int_eq(ad_dust_tables_url(&u, &target), 0);
  ck_assert_str_eq(u.data, "https://dust.tt/api/v1/w/w%201/spaces/vlt_2/"
                           "data_sources/ds%2F3/tables");
  ad_buf_reset(&u);
  ck_assert_int_eq(ad_dust_rows_url(&u, &target, "airtable_appA_tblB"), 0);
  ck_assert_str_eq(u.data,
                   "https://dust.tt/api/v1/w/w%201/spaces/vlt_2/"
                   "data_sources/ds%2F3/tables/airtable_appA_tblB/rows");
  ad_buf_reset(&u);
  ck_assert_int_eq(ad_dust_document_url(&u, &target, "airtable__recX"), 0);
  ck_assert_str_eq(u.data, "https://dust.tt/api/v1/w/w%201/spaces/vlt_2/"
                           "data_sources/ds%2F3/documents/airtable__recX");
  ad_buf_free(&u);
}
END_TEST

START_TEST(test_ids_and_names) {
  ad_slugset_t names;
  ad_buf_t b;
  char *n1, *n2, *n3, *f;

  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_dust_table_id(&b, "airtable_", "appA1", "tbl/B2"), 0);
  ck_assert_str_eq(b.data, "airtable_appA1_tbl_B2");
  ad_buf_reset(&b);
  /* The table's origin names the document: "airtable__" + record id. */
  ck_assert_int_eq(ad_dust_document_id(&b, "airtable", "recXYZ"), 0);
  ck_assert_str_eq(b.data, "airtable__recXYZ");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_dust_document_id(&b, "", "recXYZ"), 0);
  ck_assert_str_eq(b.data, "recXYZ");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_dust_document_id(&b, NULL, "recXYZ"), 0);
  ck_assert_str_eq(b.data, "recXYZ");
  ad_buf_free(&b);

  ck_assert_int_eq(ad_slugset_init(&names), 0);
  n1 = ad_dust_table_name(&names, "Bug Tracking System", "Bugs & issues");
  n2 = ad_dust_table_name(&names, "Bug tracking system!", "Bugs / Issues");
  n3 = ad_dust_table_name(&names, NULL, "Tâches ✓");
  ck_assert_str_eq(n1, "bug_tracking_system_bugs_issues");
  ck_assert_str_eq(n2, "bug_tracking_system_bugs_issues_2");
  ck_assert_str_eq(n3, "t_ches");
  f = ad_dust_table_name_fallback(n1, "tblAbC9");
  ck_assert_str_eq(f, "bug_tracking_system_bugs_issues_tblabc9");
  free(n1);
  free(n2);
  free(n3);
  free(f);
  /* Names with nothing to slug fall back to "table", still unique. */
  n1 = ad_dust_table_name(&names, NULL, "🎉");
  n2 = ad_dust_table_name(&names, NULL, "!!!");
  ck_assert_str_eq(n1, "table");
  ck_assert_str_eq(n2, "table_2");
  free(n1);
  free(n2);
  ad_slugset_free(&names);
}
END_TEST

START_TEST(test_table_body) {
  ad_buf_t b;
  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_dust_table_body(&b, "airtable_appA_tblB", "crm_deals",
                                      "CRM", "appA", "Deals", "tblB", ""),
                   0);
  ck_assert_str_eq(
      b.data, "{\"table_id\":\"airtable_appA_tblB\",\"name\":\"crm_deals\","
              "\"title\":\"CRM > Deals\",\"description\":\"Airtable table "
              "\\\"CRM > Deals\\\" (appA/tblB), synced by airdust\"}");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_dust_table_body(&b, "t", "deals", NULL, "appA", "Deals",
                                      "tblB", "Open deals"),
                   0);
  ck_assert_str_eq(b.data, "{\"table_id\":\"t\",\"name\":\"deals\",\"title\":"
                           "\"Deals\",\"description\":\"Open deals\"}");
  ck_assert_ptr_null(strstr(b.data, "mime_type"));
  ad_buf_free(&b);
}
END_TEST

/* The rows body as batch.c builds it: open, a row at a time, close. */
START_TEST(test_rows_and_document_bodies) {
  const char *r1 = "{\"row_id\":\"r1\",\"value\":{}}";
  const char *r2 = "{\"row_id\":\"r2\",\"value\":{\"a\":1}}";
  ad_buf_t b;

  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_dust_rows_open(&b), 0);
  ck_assert_int_eq(ad_dust_rows_add(&b, 0, r1, strlen(r1)), 0);
  ck_assert_int_eq(ad_dust_rows_add(&b, 1, r2, strlen(r2)), 0);
  ck_assert_int_eq(ad_dust_rows_close(&b, 1), 0);
  ck_assert_str_eq(b.data, "{\"rows\":[{\"row_id\":\"r1\",\"value\":{}},"
                           "{\"row_id\":\"r2\",\"value\":{\"a\":1}}],"
                           "\"truncate\":true}");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_dust_rows_open(&b), 0);
  ck_assert_int_eq(ad_dust_rows_close(&b, 0), 0);
  ck_assert_str_eq(b.data, "{\"rows\":[],\"truncate\":false}");
  ck_assert_uint_le(b.len, AD_DUST_ROWS_OVERHEAD); /* what the bound says */
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_dust_document_body(&b, "{\"text\":\"x\"}", 12), 0);
  ck_assert_str_eq(b.data, "{\"text\":\"x\",\"light_document_output\":true}");
  ad_buf_reset(&b);
  ck_assert_int_eq(ad_dust_document_body(&b, "[1]", 3), AD_EINVAL);
  ad_buf_free(&b);
}
END_TEST

START_TEST(test_error_parse) {
  char type[64], msg[128];
  const char *j = "{\"error\":{\"type\":\"internal_server_error\",\"message\":"
                  "\"Failed to upsert database rows.\"}}";
  ad_dust_error_parse(j, strlen(j), type, 64, msg, 128);
  ck_assert_str_eq(type, "internal_server_error");
  ck_assert_str_eq(msg, "Failed to upsert database rows.");
  ad_dust_error_parse("Body exceeded 1mb limit\n", 24, type, 64, msg, 128);
  ck_assert_str_eq(type, "");
  ck_assert_str_eq(msg, "Body exceeded 1mb limit");
  ad_dust_error_parse("", 0, type, 64, msg, 128);
  ck_assert_str_eq(msg, "");
}
END_TEST

/* A rows batch: grows in one buffer, is sealed with either truncate flag
 * (again for a resend), stops at its byte bound, and splits in order. */
START_TEST(test_batch_rows) {
  ad_dust_batch_t b, rest;
  const char *r1 = "{\"row_id\":\"r1\",\"value\":{}}";
  const char *r2 = "{\"row_id\":\"r2\",\"value\":{\"a\":1}}";
  const char *r3 = "{\"row_id\":\"r3\",\"value\":{\"a\":2}}";
  json_object *parsed;

  ad_dust_batch_init(&b, 120);
  ck_assert_int_eq(ad_dust_batch_fits(&b, 500), 1); /* empty: anything */
  ck_assert_int_eq(ad_dust_batch_add_row(&b, "r1", r1, strlen(r1)), 0);
  ck_assert_int_eq(ad_dust_batch_add_row(&b, "r2", r2, strlen(r2)), 0);
  ck_assert_int_eq(ad_dust_batch_fits(&b, strlen(r3)), 0); /* 120 bytes */
  ck_assert_int_eq(ad_dust_batch_seal(&b, 1), 0);
  ck_assert_str_eq(b.body.data, "{\"rows\":[{\"row_id\":\"r1\",\"value\":{}},"
                                "{\"row_id\":\"r2\",\"value\":{\"a\":1}}],"
                                "\"truncate\":true}");
  ck_assert_int_eq(ad_dust_batch_seal(&b, 0), 0);
  parsed = json_tokener_parse(b.body.data);
  ck_assert_ptr_nonnull(parsed);
  ck_assert_int_eq(
      json_object_get_boolean(json_object_object_get(parsed, "truncate")), 0);
  json_object_put(parsed);
  /* Rows still join after a seal. */
  b.max_bytes = 1000;
  ck_assert_int_eq(ad_dust_batch_add_row(&b, "r3", r3, strlen(r3)), 0);
  ad_dust_batch_init(&rest, 1000);
  ck_assert_int_eq(ad_dust_batch_split(&b, &rest), 0);
  ck_assert_uint_eq(b.n, 1);
  ck_assert_uint_eq(rest.n, 2);
  ck_assert_str_eq(ad_dust_batch_id(&b, 0), "r1");
  ck_assert_str_eq(ad_dust_batch_id(&rest, 0), "r2");
  ck_assert_str_eq(ad_dust_batch_id(&rest, 1), "r3");
  ck_assert_int_eq(ad_dust_batch_seal(&rest, 0), 0);
  ck_assert_str_eq(rest.body.data,
                   "{\"rows\":[{\"row_id\":\"r2\",\"value\":{\"a\":1}},"
                   "{\"row_id\":\"r3\",\"value\":{\"a\":2}}],"
                   "\"truncate\":false}");
  ck_assert_int_eq(ad_dust_batch_split(&b, &rest), AD_EINVAL); /* one row */
  ad_dust_batch_free(&b);
  ad_dust_batch_free(&rest);
}
END_TEST

START_TEST(test_batch_document) {
  ad_dust_batch_t b;
  ad_dust_batch_init(&b, 0);
  ck_assert_int_eq(
      ad_dust_batch_set_document(&b, "recA", "{\"text\":\"x\"}", 12), 0);
  ck_assert_int_eq(ad_dust_batch_seal(&b, 1), 0); /* no truncate for these */
  ck_assert_str_eq(b.body.data,
                   "{\"text\":\"x\",\"light_document_output\":true}");
  ck_assert_str_eq(ad_dust_batch_id(&b, 0), "recA");
  ck_assert_int_eq(ad_dust_batch_set_document(&b, "recB", "{}", 2), AD_EINVAL);
  ad_dust_batch_free(&b);
  ad_dust_batch_init(&b, 0);
  ck_assert_int_eq(ad_dust_batch_set_document(&b, "recC", "[]", 2), AD_EINVAL);
  ad_dust_batch_free(&b);
}
END_TEST

static Suite *dust_request_suite(void) {
  Suite *s = suite_create("dust_request");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_urls);
  tcase_add_test(tc, test_ids_and_names);
  tcase_add_test(tc, test_table_body);
  tcase_add_test(tc, test_rows_and_document_bodies);
  tcase_add_test(tc, test_error_parse);
  tcase_add_test(tc, test_batch_rows);
  tcase_add_test(tc, test_batch_document);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(dust_request_suite()); }
