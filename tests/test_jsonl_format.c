/* The jsonl export format as pure functions: file names, schemas and
 * record lines written and read back value for value, and every way a
 * line can be refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "jsonl.h"
#include "table.h"
#include "testutil.h"
#include "values.h"

static void check_name(const char *id, const char *want) {
  ad_buf_t b;
  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_jsonl_file_name(&b, id), 0);
  ck_assert_str_eq(b.data, want);
  ad_buf_free(&b);
}

START_TEST(test_file_names) {
  check_name("tblA1b2", "tblA1b2");
  check_name("app_x-y", "app_x-y");
  check_name("", "%");
  check_name("..", "%2E%2E");
  check_name("a/b", "a%2Fb");
  check_name("a b%", "a%20b%25");
  check_name("\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9");
}
END_TEST

/* A table of every kind, with each flag. */
static ad_table_t *every_kind_table(const char *group_name) {
  static const struct {
    const char *id, *name;
    ad_kind_t kind;
    unsigned flags;
  } cols[] = {
      {"fldName", "Name", AD_KIND_TEXT, AD_COLUMN_PRIMARY},
      {"fldN", "Count", AD_KIND_INT, 0},
      {"fldF", "Ratio", AD_KIND_FLOAT, 0},
      {"fldB", "Done?", AD_KIND_BOOL, 0},
      {"fldT", "At", AD_KIND_DATETIME, 0},
      {"fldD", "Due", AD_KIND_DATETIME, 0},
      {"fldL", "Labels", AD_KIND_LIST, AD_COLUMN_FILES},
      {"fldJ", "Meta", AD_KIND_JSON, 0},
      {"fldZ", "Empty", AD_KIND_NULL, 0},
  };
  ad_table_t *t = ad_table_new("airtable", "appG", group_name, "tblT",
                               "Tasks \"Q1\"", "What is due");
  size_t i;
  ck_assert_ptr_nonnull(t);
  for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
    ck_assert_int_eq(ad_table_add_column(t, cols[i].id, cols[i].name,
                                         cols[i].kind, cols[i].flags),
                     0);
  return t;
}

static void check_schema_roundtrip(ad_table_t *t) {
  ad_table_t *back;
  ad_buf_t b;
  char err[256];
  size_t i;

  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_jsonl_schema_write(&b, t), 0);
  ck_assert_int_eq(ad_jsonl_schema_read(b.data, b.len, &back, err,
                                        sizeof(err)),
                   0);
  ck_assert_str_eq(back->origin, t->origin);
  ck_assert_str_eq(back->group_id, t->group_id);
  if (t->group_name == NULL)
    ck_assert_ptr_null(back->group_name);
  else
    ck_assert_str_eq(back->group_name, t->group_name);
  ck_assert_str_eq(back->table_id, t->table_id);
  ck_assert_str_eq(back->table_name, t->table_name);
  ck_assert_str_eq(back->description, t->description);
  ck_assert_uint_eq(back->flags, t->flags);
  ck_assert_uint_eq(back->ncolumns, t->ncolumns);
  for (i = 0; i < t->ncolumns; i++) {
    ck_assert_str_eq(back->columns[i].id, t->columns[i].id);
    ck_assert_str_eq(back->columns[i].name, t->columns[i].name);
    ck_assert_int_eq(back->columns[i].kind, t->columns[i].kind);
    ck_assert_uint_eq(back->columns[i].flags, t->columns[i].flags);
  }
  ad_table_unref(back);
  ad_buf_free(&b);
}

START_TEST(test_schema_roundtrip) {
  ad_table_t *t = every_kind_table("Ops");
  check_schema_roundtrip(t);
  t->flags |= AD_TABLE_FIELDS_AS_TAGS;
  check_schema_roundtrip(t);
  ad_table_unref(t);
  t = every_kind_table(NULL); /* one-table mode: no group name */
  check_schema_roundtrip(t);
  ad_table_unref(t);
}
END_TEST

static const struct {
  const char *text, *says;
} bad_schemas[] = {
    {"{", "not JSON"},
    {"[]", "not an airdust-jsonl schema"},
    {"{\"format\":\"other\"}", "not an airdust-jsonl schema"},
    {"{\"format\":null}", "not an airdust-jsonl schema"},
    {"{\"format\":\"airdust-jsonl\",\"version\":\"1\"}", "another version"},
    {"{\"format\":\"airdust-jsonl\",\"version\":2}", "another version"},
    {"{\"format\":\"airdust-jsonl\",\"version\":1,\"origin\":\"x\"}",
     "expected \"origin\""},
    {"{\"format\":\"airdust-jsonl\",\"version\":1,\"origin\":\"x\","
     "\"group\":{\"id\":\"g\",\"name\":null},\"table\":{\"id\":\"t\","
     "\"name\":\"T\",\"description\":\"\"},\"columns\":[{\"id\":\"f\","
     "\"name\":\"F\",\"kind\":\"money\"}]}",
     "columns[0] (\"F\"): unknown kind \"money\""},
    {"{\"format\":\"airdust-jsonl\",\"version\":1,\"origin\":\"x\","
     "\"group\":{\"id\":\"g\",\"name\":null},\"table\":{\"id\":\"t\","
     "\"name\":\"T\",\"description\":\"\"},\"columns\":[{\"id\":\"\"}]}",
     "columns[0]: expected"},
    {"{\"format\":\"airdust-jsonl\",\"version\":1,\"origin\":\"x\","
     "\"group\":{\"id\":\"g\",\"name\":null},\"table\":{\"id\":\"t\","
     "\"name\":\"T\",\"description\":\"\"},\"columns\":[{\"id\":\"f\","
     "\"name\":\"F\",\"kind\":\"list\"},{\"id\":\"f\",\"name\":\"G\","
     "\"kind\":\"list\"}]}",
     "columns[1]: the id \"f\" is taken by columns[0]"},
};

START_TEST(test_bad_schema) {
  ad_table_t *t = (ad_table_t *)1;
  char err[256] = "";
  ck_assert_int_eq(ad_jsonl_schema_read(bad_schemas[_i].text,
                                        strlen(bad_schemas[_i].text), &t,
                                        err, sizeof(err)),
                   AD_EPARSE);
  ck_assert_ptr_null(t);
  ck_assert_msg(strstr(err, bad_schemas[_i].says) != NULL, "%s", err);
}
END_TEST

/* Every kind, written, read back, and written again to the same bytes. */
START_TEST(test_record_roundtrip) {
  static const ad_value_t items[] = {V_TEXT("x"), V_INT(-3),
                                     V_DATE(1662336000000LL), V_BOOL(1)};
  ad_value_t v[] = {V_TEXT("say \"hi\"\n\xc3\xa9\x01"),
                    V_INT(INT64_C(4611686018427387904)),
                    V_FLOAT("1.50"),
                    V_BOOL(0),
                    V_TIME(1662361200123LL),
                    V_DATE(-86400000LL),
                    V_LIST(items),
                    V_JSON("{\"a\": [1, 2.0]}"),
                    V_NULL};
  ad_record_t rec = {"rec1", 1663016628000LL, "https://airtable.com/x/y", v},
              back;
  ad_table_t *t = every_kind_table("Ops");
  ad_jsonl_decoder_t d;
  ad_buf_t one, two;
  json_object *line;
  char err[256];
  size_t i;

  ad_buf_init(&one, 0);
  ad_buf_init(&two, 0);
  ad_jsonl_decoder_init(&d);
  ck_assert_int_eq(ad_jsonl_record_write(&one, t, &rec, err, sizeof(err)), 0);
  ck_assert_ptr_null(strchr(one.data, '\n')); /* one line */
  ck_assert_ptr_null(strstr(one.data, "fldZ")); /* nulls are left out */
  ck_assert_ptr_nonnull(strstr(one.data, "\"fldF\":1.50,"));
  ck_assert_ptr_nonnull(strstr(one.data, "{\"date\":\"1969-12-31\"}"));
  ck_assert_ptr_nonnull(
      strstr(one.data, "{\"datetime\":\"2022-09-05T07:00:00.123Z\"}"));
  line = json_tokener_parse(one.data);
  ck_assert_ptr_nonnull(line);
  ck_assert_int_eq(ad_jsonl_record_read(&d, t, line, &back, err, sizeof(err)),
                   0);
  ck_assert_str_eq(back.id, "rec1");
  ck_assert_int_eq(back.created_ms, rec.created_ms);
  ck_assert_str_eq(back.url, rec.url);
  for (i = 0; i < t->ncolumns; i++) {
    ck_assert_int_eq(back.values[i].kind, v[i].kind);
    ck_assert_uint_eq(back.values[i].n, v[i].n);
  }
  ck_assert(memcmp(back.values[0].u.s, v[0].u.s, v[0].n) == 0);
  ck_assert_int_eq(back.values[1].u.i, v[1].u.i);
  ck_assert(memcmp(back.values[2].u.s, "1.50", 4) == 0);
  ck_assert_int_eq(back.values[4].u.ms, v[4].u.ms);
  ck_assert_int_eq(back.values[5].u.ms, v[5].u.ms);
  ck_assert_int_eq(back.values[6].u.items[1].kind, AD_KIND_INT);
  ck_assert_int_eq(back.values[6].u.items[2].n, 1); /* a date, still */
  ck_assert(memcmp(back.values[7].u.s, v[7].u.s, v[7].n) == 0);
  ck_assert_int_eq(ad_jsonl_record_write(&two, t, &back, err, sizeof(err)), 0);
  ck_assert_str_eq(two.data, one.data);
  json_object_put(line);
  ad_jsonl_decoder_free(&d);
  ad_buf_free(&one);
  ad_buf_free(&two);
  ad_table_unref(t);
}
END_TEST

/* Datetimes past ISO 8601's four digits of year go as their number, and
 * come back as they went. */
START_TEST(test_far_dates_roundtrip) {
  ad_value_t v[] = {V_TEXT("n"), V_NULL, V_NULL, V_NULL,
                    V_TIME(INT64_C(253402300800000)), /* year 10000 */
                    V_DATE(INT64_C(-62167219200000) - 86400000), /* -0001 */
                    V_NULL, V_NULL, V_NULL};
  ad_record_t rec = {"rec1", 0, NULL, v}, back;
  ad_table_t *t = every_kind_table("Ops");
  ad_jsonl_decoder_t d;
  json_object *line;
  ad_buf_t b;
  char err[256];

  ad_buf_init(&b, 0);
  ad_jsonl_decoder_init(&d);
  ck_assert_int_eq(ad_jsonl_record_write(&b, t, &rec, err, sizeof(err)), 0);
  ck_assert_ptr_nonnull(strstr(b.data, "\"fldT\":{\"datetime_ms\":253402300800000}"));
  ck_assert_ptr_nonnull(strstr(b.data, "\"fldD\":{\"date_ms\":-62167305600000}"));
  line = json_tokener_parse(b.data);
  ck_assert_int_eq(ad_jsonl_record_read(&d, t, line, &back, err, sizeof(err)),
                   0);
  ck_assert_int_eq(back.values[4].u.ms, v[4].u.ms);
  ck_assert_uint_eq(back.values[4].n, 0);
  ck_assert_int_eq(back.values[5].u.ms, v[5].u.ms);
  ck_assert_uint_eq(back.values[5].n, 1);
  json_object_put(line);
  ad_jsonl_decoder_free(&d);
  ad_buf_free(&b);
  ad_table_unref(t);
}
END_TEST

/* A list in a list is no neutral value: refused, nothing written. */
START_TEST(test_write_refuses_nested_list) {
  static const ad_value_t inner[] = {V_TEXT("x")};
  static const ad_value_t outer[] = {V_LIST(inner)};
  ad_value_t v[] = {V_TEXT("n"), V_NULL, V_NULL, V_NULL, V_NULL,
                    V_NULL,      V_LIST(outer), V_NULL, V_NULL};
  ad_record_t rec = {"rec1", 0, NULL, v};
  ad_table_t *t = every_kind_table("Ops");
  ad_buf_t b;
  char err[256];

  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_buf_puts(&b, "before"), 0);
  ck_assert_int_eq(ad_jsonl_record_write(&b, t, &rec, err, sizeof(err)),
                   AD_EINVAL);
  ck_assert_str_eq(b.data, "before");
  ck_assert_str_eq(err, "field \"Labels\" holds a value of no known kind");
  ad_buf_free(&b);
  ad_table_unref(t);
}
END_TEST

static const struct {
  const char *line, *says;
} bad_lines[] = {
    {"[1]", "not a record"},
    {"{\"fields\":{}}", "not a record"},
    {"{\"id\":\"\",\"fields\":{}}", "not a record"},
    {"{\"id\":\"r\"}", "no \"fields\" object"},
    {"{\"id\":\"r\",\"created\":\"yesterday\",\"fields\":{}}",
     "\"created\" is not an ISO 8601 time"},
    {"{\"id\":\"r\",\"fields\":{\"fldX\":1}}",
     "field \"fldX\" is not a column"},
    {"{\"id\":\"r\",\"fields\":{\"fldT\":{\"when\":1}}}",
     "field \"At\" is not a value airdust writes"},
    {"{\"id\":\"r\",\"fields\":{\"fldT\":{\"datetime\":\"2022-09-05\"}}}",
     "field \"At\" is not a value"},
    {"{\"id\":\"r\",\"fields\":{\"fldL\":[[1]]}}",
     "field \"Labels\" is not a value"},
    {"{\"id\":\"r\",\"fields\":{\"fldJ\":{\"json\":1}}}",
     "field \"Meta\" is not a value"},
};

START_TEST(test_bad_line) {
  ad_table_t *t = every_kind_table("Ops");
  json_object *line = json_tokener_parse(bad_lines[_i].line);
  ad_jsonl_decoder_t d;
  ad_record_t rec;
  char err[256] = "";

  ck_assert_ptr_nonnull(line);
  ad_jsonl_decoder_init(&d);
  ck_assert_int_eq(ad_jsonl_record_read(&d, t, line, &rec, err, sizeof(err)),
                   AD_EPARSE);
  ck_assert_msg(strstr(err, bad_lines[_i].says) != NULL, "%s", err);
  ad_jsonl_decoder_free(&d);
  json_object_put(line);
  ad_table_unref(t);
}
END_TEST

static Suite *jsonl_format_suite(void) {
  Suite *s = suite_create("jsonl_format");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_file_names);
  tcase_add_test(tc, test_schema_roundtrip);
  tcase_add_loop_test(tc, test_bad_schema, 0,
                      (int)(sizeof(bad_schemas) / sizeof(bad_schemas[0])));
  tcase_add_test(tc, test_record_roundtrip);
  tcase_add_test(tc, test_far_dates_roundtrip);
  tcase_add_test(tc, test_write_refuses_nested_list);
  tcase_add_loop_test(tc, test_bad_line, 0,
                      (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(jsonl_format_suite()); }
