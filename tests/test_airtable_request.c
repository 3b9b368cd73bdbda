/* Request URLs and bodies, and records as Dust documents: pure functions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
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

START_TEST(test_utf16_prefix) {
  const char *s = "ab🎉é";
  ck_assert_uint_eq(ad_at_utf16_prefix(s, strlen(s), 100), strlen(s));
  ck_assert_uint_eq(ad_at_utf16_prefix(s, strlen(s), 2), 2);
  ck_assert_uint_eq(ad_at_utf16_prefix(s, strlen(s), 3), 2); /* no half 🎉 */
  ck_assert_uint_eq(ad_at_utf16_prefix(s, strlen(s), 4), 6);
  ck_assert_uint_eq(ad_at_utf16_prefix(s, strlen(s), 5), 8);
}
END_TEST

static const char schema_json[] =
    "{\"tables\":[{\"id\":\"tblA\",\"name\":\"Bugs\",\"primaryFieldId\":"
    "\"fldN\",\"fields\":["
    "{\"id\":\"fldN\",\"name\":\"Name\",\"type\":\"singleLineText\"},"
    "{\"id\":\"fldT\",\"name\":\"Tags\",\"type\":\"multipleSelects\"},"
    "{\"id\":\"fldP\",\"name\":\"Points\",\"type\":\"number\"},"
    "{\"id\":\"fldF\",\"name\":\"Files\",\"type\":\"multipleAttachments\"},"
    "{\"id\":\"fldE\",\"name\":\"Empty\",\"type\":\"formula\"}],"
    "\"views\":[{\"id\":\"viwG\",\"name\":\"Grid\",\"type\":\"grid\"}]}]}";

static const char record_json[] =
    "{\"id\":\"recR\",\"createdTime\":\"2022-09-12T21:03:48.000Z\","
    "\"fields\":{\"fldN\":\"Crash\",\"fldT\":[\"ui\",\"api\"],\"fldP\":3,"
    "\"fldF\":[{\"id\":\"att1\",\"url\":\"https://x\",\"filename\":\"a.png\"}],"
    "\"fldE\":{\"error\":\"#ERROR!\"}}}";

static json_object *document(int as_tags, const char *base_name) {
  ad_at_schema_t schema;
  ad_at_doc_ctx_t ctx = {"appB", base_name, NULL, "shrS", as_tags};
  json_object *rec = json_tokener_parse(record_json), *doc;
  const char *id;
  char err[256];
  ad_buf_t out;

  ck_assert_int_eq(ad_at_schema_parse(schema_json, strlen(schema_json),
                                      &schema, err, sizeof(err)), 0);
  ad_buf_init(&out, 0);
  ck_assert_int_eq(ad_at_record_document(&ctx, &schema.tables[0], rec, &out,
                                         &id, err, sizeof(err)), 0);
  ck_assert_str_eq(id, "recR");
  doc = json_tokener_parse(out.data);
  ck_assert_ptr_nonnull(doc);
  ad_buf_free(&out);
  json_object_put(rec);
  ad_at_schema_free(&schema);
  return doc;
}

static const char *member(json_object *doc, const char *key) {
  return json_object_to_json_string_ext(json_object_object_get(doc, key),
                                        JSON_C_TO_STRING_PLAIN |
                                            JSON_C_TO_STRING_NOSLASHESCAPE);
}

START_TEST(test_document_text) {
  json_object *doc = document(0, "Tracker");
  ck_assert_str_eq(member(doc, "title"), "\"Tracker > Bugs: Crash\"");
  ck_assert_str_eq(member(doc, "text"),
                   "\"Tracker > Bugs: Crash\\nName: Crash\\nTags: ui, api\\n"
                   "Points: 3\\nFiles: a.png\"");
  ck_assert_str_eq(member(doc, "source_url"),
                   "\"https://airtable.com/appB/shrS/tblA/viwG/recR\"");
  ck_assert_str_eq(member(doc, "timestamp"), "1663016628000");
  ck_assert_str_eq(member(doc, "tags"), "[\"airtable_base_id:appB\","
                                        "\"airtable_table_id:tblA\"]");
  json_object_put(doc);
}
END_TEST

/* With the flag, every non-attachment field becomes tags (one per list
 * item) and leaves the text; attachments stay in the text. */
START_TEST(test_document_fields_as_tags) {
  json_object *doc = document(1, NULL);
  ck_assert_str_eq(member(doc, "title"), "\"Bugs: Crash\"");
  ck_assert_str_eq(member(doc, "text"), "\"Bugs: Crash\\nFiles: a.png\"");
  ck_assert_str_eq(member(doc, "tags"),
                   "[\"Name:Crash\",\"Tags:ui\",\"Tags:api\",\"Points:3\","
                   "\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]");
  json_object_put(doc);
}
END_TEST

static char *document_of(const char *record, int as_tags) {
  ad_at_schema_t schema;
  ad_at_doc_ctx_t ctx = {"appB", NULL, NULL, NULL, as_tags};
  json_object *rec = json_tokener_parse(record);
  const char *id;
  char err[256];
  ad_buf_t out;

  ck_assert_ptr_nonnull(rec);
  ck_assert_int_eq(ad_at_schema_parse(schema_json, strlen(schema_json),
                                      &schema, err, sizeof(err)), 0);
  ad_buf_init(&out, 0);
  ck_assert_int_eq(ad_at_record_document(&ctx, &schema.tables[0], rec, &out,
                                         &id, err, sizeof(err)), 0);
  json_object_put(rec);
  ad_at_schema_free(&schema);
  return ad_buf_steal(&out, NULL);
}

/* The body is written as text, not through json-c: pin its exact bytes,
 * escapes included ("/" stays as it is, as json-c's NOSLASHESCAPE). */
START_TEST(test_document_bytes) {
  char *doc = document_of("{\"id\":\"recQ\",\"fields\":{\"fldN\":"
                          "\"say \\\"hi\\\"\\n/\\u0001\",\"fldP\":2.5}}", 0);
  ck_assert_str_eq(doc,
                   "{\"title\":\"Bugs: say \\\"hi\\\"\\n/\\u0001\","
                   "\"text\":\"Bugs: say \\\"hi\\\"\\n/\\u0001\\nName: say "
                   "\\\"hi\\\"\\n/\\u0001\\nPoints: 2.5\","
                   "\"source_url\":\"https://airtable.com/appB/tblA/viwG/recQ\","
                   "\"tags\":[\"airtable_base_id:appB\","
                   "\"airtable_table_id:tblA\"]}");
  free(doc);
}
END_TEST

/* Titles and tags are cut at Dust's 512 UTF-16 units, between characters;
 * the text keeps every character. */
START_TEST(test_document_cuts_title_and_tags) {
  char record[2048], *doc;
  size_t n = (size_t)snprintf(record, sizeof(record),
                              "{\"id\":\"recL\",\"fields\":{\"fldN\":\"");
  json_object *o, *v;
  int i;

  for (i = 0; i < 600; i++)
    n += (size_t)snprintf(record + n, sizeof(record) - n, "\xc3\xa9");
  snprintf(record + n, sizeof(record) - n, "\"}}");
  doc = document_of(record, 0);
  o = json_tokener_parse(doc);
  ck_assert_ptr_nonnull(o);
  v = json_object_object_get(o, "title");
  ck_assert_int_eq(json_object_get_string_len(v), 6 + 506 * 2);
  ck_assert(strncmp(json_object_get_string(v), "Bugs: ", 6) == 0);
  v = json_object_object_get(o, "text"); /* title, "\nName: ", value */
  ck_assert_int_eq(json_object_get_string_len(v), 1206 + 7 + 1200);
  json_object_put(o);
  free(doc);

  doc = document_of(record, 1);
  o = json_tokener_parse(doc);
  v = json_object_array_get_idx(json_object_object_get(o, "tags"), 0);
  ck_assert_int_eq(json_object_get_string_len(v), 5 + 507 * 2);
  ck_assert(strncmp(json_object_get_string(v), "Name:", 5) == 0);
  json_object_put(o);
  free(doc);
}
END_TEST

static Suite *request_suite(void) {
  Suite *s = suite_create("airtable_request");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_escape_and_meta_urls);
  tcase_add_test(tc, test_list_get_then_post);
  tcase_add_test(tc, test_list_long_url_switches);
  tcase_add_test(tc, test_utf16_prefix);
  tcase_add_test(tc, test_document_text);
  tcase_add_test(tc, test_document_fields_as_tags);
  tcase_add_test(tc, test_document_bytes);
  tcase_add_test(tc, test_document_cuts_title_and_tags);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(request_suite()); }
