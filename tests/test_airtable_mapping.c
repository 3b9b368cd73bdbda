/* The pure Airtable side: response parsers, cells, slugs, rows, ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "mapping.h"
#include "slug.h"
#include "testutil.h"

/* Encodes one JSON value (or an absent cell, json == NULL) with the codec
 * of `type` and returns the Dust cell as JSON text ("null" for null). */
static const char *encode(const char *type, const char *json) {
  static char out[512];
  json_object *v = json ? json_tokener_parse(json) : NULL;
  ad_buf_t cell, scratch;
  ck_assert_msg(json == NULL || v != NULL || strcmp(json, "null") == 0,
                "bad test JSON %s", json);
  ad_buf_init(&cell, 0);
  ad_buf_init(&scratch, 0);
  ck_assert_int_eq(ad_cell_write(ad_cell_codec(type), v, &cell, &scratch), 0);
  snprintf(out, sizeof(out), "%s", cell.data);
  ad_buf_free(&cell);
  ad_buf_free(&scratch);
  json_object_put(v);
  return out;
}

typedef struct cell_case {
  const char *type;
  const char *input; /* NULL: the record has no such key */
  const char *cell;
} cell_case_t;

static const cell_case_t cell_cases[] = {
    {"singleLineText", "\"héllo 🎉\"", "\"héllo 🎉\""},
    {"multilineText", "\"a\\nb\"", "\"a\\nb\""},
    {"richText", "\"**bold**\"", "\"**bold**\""},
    {"email", "\"a@b.c\"", "\"a@b.c\""},
    {"url", "\"https://x.y/z\"", "\"https://x.y/z\""},
    {"phoneNumber", "\"+1 555\"", "\"+1 555\""},
    {"singleLineText", NULL, "null"},
    {"number", "42", "42"},
    {"number", "3.25", "3.25"},
    {"number", "12345678901234567", "\"12345678901234567\""},
    {"percent", "0.123", "0.123"},
    {"currency", "10.5", "10.5"},
    {"rating", "4", "4"},
    {"duration", "3600", "3600"},
    {"autoNumber", "7", "7"},
    {"count", "0", "0"},
    {"number", NULL, "null"},
    {"checkbox", "true", "true"},
    {"checkbox", NULL, "false"},
    {"date", "\"2022-09-05\"", "{\"type\":\"datetime\",\"epoch\":1662336000000}"},
    {"dateTime", "\"2022-09-05T07:00:00.000Z\"",
     "{\"type\":\"datetime\",\"epoch\":1662361200000}"},
    {"createdTime", "\"2018-01-01T00:00:00.000Z\"",
     "{\"type\":\"datetime\",\"epoch\":1514764800000}"},
    {"lastModifiedTime", "\"2018-01-01T02:00:00+02:00\"",
     "{\"type\":\"datetime\",\"epoch\":1514764800000}"},
    {"dateTime", "\"not a date\"", "\"not a date\""},
    {"singleSelect", "\"Open\"", "\"Open\""},
    {"multipleSelects", "[\"a\",\"b\"]", "\"a, b\""},
    {"multipleRecordLinks", "[\"recA\",\"recB\"]", "\"recA, recB\""},
    {"multipleAttachments",
     "[{\"id\":\"att1\",\"url\":\"https://x/1\",\"filename\":\"a.pdf\"},"
     "{\"id\":\"att2\",\"url\":\"https://x/2\",\"filename\":\"b.png\"}]",
     "\"a.pdf, b.png\""},
    {"singleCollaborator", "{\"id\":\"usr1\",\"email\":\"a@b.c\",\"name\":\"Ann\"}",
     "\"Ann <a@b.c>\""},
    {"createdBy", "{\"id\":\"usr1\",\"email\":\"a@b.c\"}", "\"a@b.c\""},
    {"lastModifiedBy", "{\"id\":\"usr1\"}", "\"usr1\""},
    {"multipleCollaborators",
     "[{\"id\":\"u1\",\"name\":\"Ann\",\"email\":\"a@x\"},{\"id\":\"u2\",\"name\":"
     "\"Bo\",\"email\":\"b@x\"}]",
     "\"Ann <a@x>, Bo <b@x>\""},
    {"barcode", "{\"text\":\"0123\",\"type\":\"upce\"}", "\"0123\""},
    {"button", "{\"label\":\"Open\",\"url\":null}", "\"Open\""},
    {"aiText", "{\"state\":\"generated\",\"isStale\":false,\"value\":\"Sum\"}",
     "\"Sum\""},
    {"aiText", "{\"state\":\"empty\",\"isStale\":false,\"value\":null}", "null"},
    {"aiText", "{\"state\":\"error\",\"errorType\":\"x\",\"isStale\":false,"
               "\"value\":null}",
     "null"},
    {"formula", "7", "7"},
    {"formula", "\"text\"", "\"text\""},
    {"formula", "true", "true"},
    {"formula", "[\"a\",1]", "\"a, 1\""},
    {"formula", "{\"error\":\"#ERROR!\"}", "null"},
    {"formula", "{\"specialValue\":\"NaN\"}", "null"},
    {"rollup", "{\"specialValue\":\"Infinity\"}", "null"},
    {"rollup", "12.5", "12.5"},
    {"multipleLookupValues", "[\"x\",{\"error\":\"#ERROR!\"},\"y\"]", "\"x, y\""},
    {"multipleLookupValues", "[[1,2],[3]]", "\"1, 2, 3\""},
    {"externalSyncSource", "\"Jira\"", "\"Jira\""},
    {"someFutureType", "{\"a\":[1,2]}", "\"{\\\"a\\\":[1,2]}\""},
    {"someFutureType", "\"plain\"", "\"plain\""},
};

START_TEST(test_cell_encoding) {
  const cell_case_t *c = &cell_cases[_i];
  ck_assert_msg(strcmp(encode(c->type, c->input), c->cell) == 0,
                "%s %s -> %s, expected %s", c->type,
                c->input ? c->input : "(absent)", encode(c->type, c->input),
                c->cell);
}
END_TEST

START_TEST(test_iso8601) {
  int64_t ms;
  ck_assert_int_eq(ad_parse_iso8601_ms("1970-01-01", &ms), 0);
  ck_assert_int_eq(ms, 0);
  ck_assert_int_eq(ad_parse_iso8601_ms("1969-12-31T23:59:59.5Z", &ms), 0);
  ck_assert_int_eq(ms, -500);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-02-29T12:00:00Z", &ms), 0);
  ck_assert_int_eq(ms, 1709208000000LL);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-13-01", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-01-01T10:00", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-01-01Zjunk", &ms), -1);
  /* Exactly the digits ISO 8601 has: no signs, spaces or short fields. */
  ck_assert_int_eq(ad_parse_iso8601_ms("+024-01-01", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms(" 2024-01-01", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-1-01", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-01-01T1:00:00Z", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-01-01T10:00:00+5:30", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("", &ms), -1);
  ck_assert_int_eq(ad_parse_iso8601_ms("2024-01-01T10:00:00+05:30", &ms), 0);
  ck_assert_int_eq(ms, 1704083400000LL);
}
END_TEST

START_TEST(test_slugs) {
  ad_slugset_t set;
  char buf[AD_SLUG_MAX + 1], *a, *b, *c, *d, *e, *f;

  ck_assert_uint_eq(ad_slug("  Hello, World! ", buf, sizeof(buf)), 11);
  ck_assert_str_eq(buf, "hello_world");
  ck_assert_uint_eq(ad_slug("Ünïcødé / 日本", buf, sizeof(buf)), 5);
  ck_assert_str_eq(buf, "n_c_d");
  ck_assert_uint_eq(ad_slug("!!!", buf, sizeof(buf)), 0);
  ck_assert_int_eq(ad_slugset_init(&set), 0);
  a = ad_slugset_add(&set, "Name", "col_1");
  b = ad_slugset_add(&set, "name ", "col_2");
  c = ad_slugset_add(&set, "NAME!", "col_3");
  d = ad_slugset_add(&set, "name_2", "col_4"); /* taken by "name " */
  e = ad_slugset_add(&set, "🎉", "col_5");
  f = ad_slugset_add(&set, "", "col_5");
  ck_assert_str_eq(a, "name");
  ck_assert_str_eq(b, "name_2");
  ck_assert_str_eq(c, "name_3");
  ck_assert_str_eq(d, "name_2_2");
  ck_assert_str_eq(e, "col_5");
  ck_assert_str_eq(f, "col_5_2");
  free(a);
  free(b);
  free(c);
  free(d);
  free(e);
  free(f);
  ad_slugset_free(&set);
}
END_TEST

static const char schema_json[] =
    "{\"tables\":[{\"id\":\"tblA\",\"name\":\"Tasks / Q1\",\"primaryFieldId\":"
    "\"fldName\",\"description\":\"Work items\",\"fields\":["
    "{\"id\":\"fldName\",\"name\":\"Name\",\"type\":\"singleLineText\"},"
    "{\"id\":\"fldName2\",\"name\":\"name \",\"type\":\"number\"},"
    "{\"id\":\"fldDone\",\"name\":\"Done?\",\"type\":\"checkbox\"},"
    "{\"id\":\"fldDue\",\"name\":\"Due\",\"type\":\"date\"},"
    "{\"id\":\"fldF\",\"name\":\"Score\",\"type\":\"formula\","
    "\"options\":{\"result\":{\"type\":\"number\"}}}],"
    "\"views\":[{\"id\":\"viwGrid\",\"name\":\"Grid view\",\"type\":\"grid\"}]},"
    "{\"id\":\"tblB\",\"name\":\"Empty\",\"primaryFieldId\":\"fldX\","
    "\"fields\":[],\"views\":[]}]}";

START_TEST(test_schema_and_rows) {
  ad_at_schema_t schema;
  const ad_at_table_t *t;
  json_object *rec;
  const char *id;
  ad_buf_t out, scratch;
  char err[256];

  ck_assert_int_eq(ad_at_schema_parse(schema_json, strlen(schema_json),
                                      &schema, err, sizeof(err)), 0);
  ck_assert_uint_eq(schema.ntables, 2);
  t = ad_at_schema_find(&schema, "Tasks / Q1");
  ck_assert_ptr_eq(t, ad_at_schema_find(&schema, "tblA"));
  ck_assert_ptr_null(ad_at_schema_find(&schema, "nope"));
  ck_assert_str_eq(t->description, "Work items");
  ck_assert_str_eq(t->first_view_id, "viwGrid");
  ck_assert_str_eq(t->primary->id, "fldName");
  ck_assert_str_eq(t->fields[1].slug, "name_2");
  ck_assert_str_eq(t->fields[2].slug, "done");
  ck_assert_ptr_null(schema.tables[1].first_view_id);
  ck_assert_ptr_null(schema.tables[1].primary);

  rec = json_tokener_parse(
      "{\"id\":\"rec1\",\"createdTime\":\"2022-09-12T21:03:48.000Z\","
      "\"fields\":{\"fldName\":\"Ship it\",\"fldName2\":3,"
      "\"fldDue\":\"2022-09-05\",\"fldF\":{\"error\":\"#ERROR!\"}}}");
  ad_buf_init(&out, 0);
  ad_buf_init(&scratch, 0);
  ck_assert_int_eq(ad_at_record_row(t, rec, &out, &scratch, &id, err, sizeof(err)), 0);
  ck_assert_str_eq(id, "rec1");
  ck_assert_str_eq(out.data,
                   "{\"row_id\":\"rec1\",\"value\":{\"name\":\"Ship it\","
                   "\"name_2\":3,\"done\":false,\"due\":{\"type\":\"datetime\","
                   "\"epoch\":1662336000000},\"score\":null}}");
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_at_semantic_id("Ops", t, rec, &out), 0);
  ck_assert_str_eq(out.data, "Ops > Tasks / Q1: Ship it");
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_at_semantic_id(NULL, t, rec, &out), 0);
  ck_assert_str_eq(out.data, "Tasks / Q1: Ship it");
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_at_record_url("appX", NULL, NULL, t, id, &out), 0);
  ck_assert_str_eq(out.data, "https://airtable.com/appX/tblA/viwGrid/rec1");
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_at_record_url("appX", "shrS", "viwV", t, id, &out), 0);
  ck_assert_str_eq(out.data, "https://airtable.com/appX/shrS/tblA/viwV/rec1");
  json_object_put(rec);

  /* No primary value: the identifier is the table alone. */
  rec = json_tokener_parse("{\"id\":\"rec2\",\"fields\":{}}");
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_at_semantic_id("Ops", t, rec, &out), 0);
  ck_assert_str_eq(out.data, "Ops > Tasks / Q1");
  json_object_put(rec);

  rec = json_tokener_parse("{\"fields\":{}}");
  ck_assert_int_eq(ad_at_record_row(t, rec, &out, &scratch, &id, err, sizeof(err)),
                   AD_EPARSE);
  ck_assert_str_eq(err, "a record lacks a string \"id\" or a \"fields\" object");
  json_object_put(rec);
  ad_buf_free(&out);
  ad_buf_free(&scratch);
  ad_at_schema_free(&schema);
}
END_TEST

START_TEST(test_schema_errors) {
  ad_at_schema_t schema;
  char err[256];
  const char *bad1 = "{\"tables\":{}}";
  const char *bad2 = "{\"tables\":[{\"id\":\"tblA\",\"name\":\"A\","
                     "\"fields\":[{\"id\":\"f\",\"name\":\"x\"}]}]}";

  ck_assert_int_eq(ad_at_schema_parse(bad1, strlen(bad1), &schema, err, 256),
                   AD_EPARSE);
  ck_assert_str_eq(err, "base schema: no \"tables\" array");
  ad_at_schema_free(&schema);
  ck_assert_int_eq(ad_at_schema_parse(bad2, strlen(bad2), &schema, err, 256),
                   AD_EPARSE);
  ck_assert_str_eq(err, "table tblA: field 0 lacks a string id, name or type");
  ad_at_schema_free(&schema);
  ck_assert_int_eq(ad_at_schema_parse("{\"tab", 5, &schema, err, 256),
                   AD_EPARSE);
  ck_assert_str_eq(err, "base schema: malformed JSON (5 bytes): truncated");
  ad_at_schema_free(&schema);
  /* Only len bytes are read: what follows them is not part of the body. */
  ck_assert_int_eq(ad_at_schema_parse("{\"tables\":[]}garbage", 13, &schema,
                                      err, 256),
                   0);
  ad_at_schema_free(&schema);
  ck_assert_int_eq(ad_at_schema_parse("{\"tables\":[]}", 5, &schema, err, 256),
                   AD_EPARSE);
  ad_at_schema_free(&schema);
}
END_TEST

START_TEST(test_page_parse) {
  const char *ok = "{\"records\":[{\"id\":\"rec1\",\"fields\":{}}],"
                   "\"offset\":\"itrA/rec1\"}";
  const char *last = "{\"records\":[]}";
  const char *truncated = "{\"records\":[{\"id\":\"rec1\",\"fie";
  ad_at_page_t page;
  char err[256];

  ck_assert_int_eq(ad_at_page_parse(ok, strlen(ok), &page, err, 256), 0);
  ck_assert_uint_eq(json_object_array_length(page.records), 1);
  ck_assert_str_eq(page.offset, "itrA/rec1");
  ad_at_page_free(&page);
  ck_assert_int_eq(ad_at_page_parse(last, strlen(last), &page, err, 256), 0);
  ck_assert_ptr_null(page.offset);
  ad_at_page_free(&page);
  ck_assert_int_eq(ad_at_page_parse(truncated, strlen(truncated), &page, err,
                                    256), AD_EPARSE);
  ck_assert_str_eq(err, "malformed JSON (29 bytes): truncated");
  ck_assert_int_eq(ad_at_page_parse("{\"records\":1}", 13, &page, err, 256),
                   AD_EPARSE);
  ck_assert_str_eq(err, "no \"records\" array in the page");
  ck_assert_int_eq(ad_at_page_parse("<html>", 6, &page, err, 256), AD_EPARSE);
  ck_assert_int_eq(ad_at_page_parse("{\"records\":[],\"offset\":5}", 25,
                                    &page, err, 256), AD_EPARSE);
  ck_assert_str_eq(err, "\"offset\" is not a string");
}
END_TEST

START_TEST(test_bases_parse) {
  const char *p1 = "{\"bases\":[{\"id\":\"appA\",\"name\":\"CRM\","
                   "\"permissionLevel\":\"create\"}],\"offset\":\"itr1/appA\"}";
  const char *p2 = "{\"bases\":[{\"id\":\"appB\",\"name\":\"Ops\"}]}";
  ad_at_base_t *bases = NULL;
  size_t n = 0;
  char *offset, err[256];

  ck_assert_int_eq(ad_at_bases_parse(p1, strlen(p1), &bases, &n, &offset, err,
                                     256), 0);
  ck_assert_str_eq(offset, "itr1/appA");
  free(offset);
  ck_assert_int_eq(ad_at_bases_parse(p2, strlen(p2), &bases, &n, &offset, err,
                                     256), 0);
  ck_assert_ptr_null(offset);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(bases[0].id, "appA");
  ck_assert_str_eq(bases[1].name, "Ops");
  ck_assert_int_eq(ad_at_bases_parse("{}", 2, &bases, &n, &offset, err, 256),
                   AD_EPARSE);
  ck_assert_str_eq(err, "no \"bases\" array in the response");
  ad_at_bases_free(bases, n);
}
END_TEST

/* Ids that are not Airtable's letters and digits (CR/LF above all) are
 * refused wherever they come in: bases, tables, records. */
START_TEST(test_hostile_ids) {
  const char *crlf_base = "{\"bases\":[{\"id\":\"app\\r\\nX: y\",\"name\":\"B\"}]}";
  const char *crlf_table =
      "{\"tables\":[{\"id\":\"tbl\\nA\",\"name\":\"A\",\"fields\":[]}]}";
  ad_at_base_t *bases = NULL;
  ad_at_schema_t schema;
  size_t n = 0;
  char *offset = NULL, err[256];

  ck_assert_int_eq(ad_at_id_ok("appAbc123"), 1);
  ck_assert_int_eq(ad_at_id_ok(""), 0);
  ck_assert_int_eq(ad_at_id_ok(NULL), 0);
  ck_assert_int_eq(ad_at_id_ok("rec1\r\n"), 0);
  ck_assert_int_eq(ad_at_id_ok("rec 1"), 0);
  ck_assert_int_eq(ad_at_id_ok("rec/1"), 0);
  ck_assert_int_eq(ad_at_id_ok("r\xC3\xA9" "c"), 0);
  ck_assert_int_eq(ad_at_bases_parse(crlf_base, strlen(crlf_base), &bases, &n,
                                     &offset, err, 256),
                   AD_EPARSE);
  ck_assert_str_eq(err, "base 0 has no \"id\" of letters and digits");
  ck_assert_ptr_null(strchr(err, '\n'));
  ad_at_bases_free(bases, n);
  ck_assert_int_eq(ad_at_schema_parse(crlf_table, strlen(crlf_table), &schema,
                                      err, 256),
                   AD_EPARSE);
  ck_assert_ptr_nonnull(strstr(err, "an id of letters and digits"));
  ad_at_schema_free(&schema);
}
END_TEST

START_TEST(test_error_bodies) {
  char type[64], msg[128];
  const char *a = "{\"error\":{\"type\":\"RATE_LIMIT_REACHED\",\"message\":"
                  "\"Rate limit exceeded. Please try again later\"}}";
  const char *b = "{\"error\":\"NOT_FOUND\"}";
  const char *c = "{\"error\":{\"type\":\"NOT_FOUND\"}}";

  ad_at_error_parse(a, strlen(a), type, 64, msg, 128);
  ck_assert_str_eq(type, "RATE_LIMIT_REACHED");
  ck_assert_str_eq(msg, "Rate limit exceeded. Please try again later");
  ad_at_error_parse(b, strlen(b), type, 64, msg, 128);
  ck_assert_str_eq(type, "NOT_FOUND");
  ck_assert_str_eq(msg, "");
  ad_at_error_parse(c, strlen(c), type, 64, msg, 128);
  ck_assert_str_eq(type, "NOT_FOUND");
  ad_at_error_parse("<html>502</html>", 16, type, 64, msg, 128);
  ck_assert_str_eq(type, "");
  ad_at_error_parse("", 0, type, 64, msg, 128);
  ck_assert_str_eq(type, "");
}
END_TEST

static Suite *mapping_suite(void) {
  Suite *s = suite_create("airtable_mapping");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_cell_encoding, 0,
                      sizeof(cell_cases) / sizeof(cell_cases[0]));
  tcase_add_test(tc, test_iso8601);
  tcase_add_test(tc, test_slugs);
  tcase_add_test(tc, test_schema_and_rows);
  tcase_add_test(tc, test_schema_errors);
  tcase_add_test(tc, test_page_parse);
  tcase_add_test(tc, test_bases_parse);
  tcase_add_test(tc, test_hostile_ids);
  tcase_add_test(tc, test_error_bodies);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(mapping_suite()); }
