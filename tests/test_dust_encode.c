/* The Dust encoder: neutral records (record.h) into Dust rows and document
 * bodies, byte for byte (docs/mapping.md). Tables and records are built
 * by hand, so these pin Dust's rules alone, whatever the source; the
 * bytes are those the Airtable side wrote before issue 17. No network:
 * the sink is made on a loop that never runs a request. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "builtin.h"
#include "dust.h"
#include "encoder.h"
#include "error.h"
#include "page.h"
#include "testutil.h"
#include "values.h"

static const ad_value_t l_ab[] = {V_TEXT("a"), V_TEXT("b")};
static const ad_value_t l_recs[] = {V_TEXT("recA"), V_TEXT("recB")};
static const ad_value_t l_holes[] = {V_TEXT("x"), V_NULL, V_TEXT(""),
                                     V_TEXT("y")};
static const ad_value_t l_empty_items[] = {V_NULL, V_TEXT("")};
static const ad_value_t l_mixed[] = {V_TEXT("a"), V_INT(1)};
static const ad_value_t l_kinds[] = {V_FLOAT("2.5"), V_BOOL(1),
                                     V_DATE(1662336000000LL)};
static const ad_value_t l_people[] = {V_TEXT("Ann <a@x>"), V_TEXT("Bo <b@x>")};
static const ad_value_t l_files[] = {V_TEXT("a.pdf"), V_TEXT("b.png")};
static const ad_value_t l_json[] = {V_JSON("{\"a\":1}")};
static const ad_value_t l_12[] = {V_INT(1), V_INT(2)};
static const ad_value_t l_3[] = {V_INT(3)};
/* record.h promises no list of lists; one still reads flattened */
static const ad_value_t l_nested[] = {V_LIST(l_12), V_LIST(l_3)};

typedef struct cell_case {
  ad_value_t v;
  const char *cell; /* the Dust cell, as JSON text */
  const char *text; /* the readable text */
} cell_case_t;

static const cell_case_t cell_cases[] = {
    {V_TEXT("héllo 🎉"), "\"héllo 🎉\"", "héllo 🎉"},
    {V_TEXT("a\nb"), "\"a\\nb\"", "a\nb"},
    {V_TEXT("say \"hi\"/\\\x01"), "\"say \\\"hi\\\"/\\\\\\u0001\"",
     "say \"hi\"/\\\x01"},
    {V_TEXT(""), "\"\"", ""}, /* an empty string stays a string */
    {V_NULL, "null", ""},
    {V_INT(42), "42", "42"},
    {V_INT(0), "0", "0"},
    {V_INT(-7), "-7", "-7"},
    {V_INT(9007199254740991LL), "9007199254740991", "9007199254740991"},
    {V_INT(-9007199254740991LL), "-9007199254740991", "-9007199254740991"},
    {V_INT(9007199254740992LL), "\"9007199254740992\"", "9007199254740992"},
    {V_INT(-9007199254740992LL), "\"-9007199254740992\"", "-9007199254740992"},
    {V_INT(12345678901234567LL), "\"12345678901234567\"", "12345678901234567"},
    {V_INT(INT64_MAX), "\"9223372036854775807\"", "9223372036854775807"},
    {V_INT(INT64_MIN), "\"-9223372036854775808\"", "-9223372036854775808"},
    {V_FLOAT("3.25"), "3.25", "3.25"},
    {V_FLOAT("0.123"), "0.123", "0.123"},
    {V_FLOAT("0.1"), "0.1", "0.1"},
    {V_FLOAT("10.5"), "10.5", "10.5"},
    {V_FLOAT("-0.5"), "-0.5", "-0.5"},
    {V_FLOAT("3.0"), "3.0", "3.0"}, /* stays a float */
    {V_FLOAT("1e21"), "1e21", "1e21"}, /* the digits it came with */
    {V_FLOAT("1.50"), "1.50", "1.50"},
    {V_FLOAT(""), "null", ""}, /* no digits: nothing to write */
    {V_BOOL(1), "true", "true"},
    {V_BOOL(0), "false", "false"},
    {V_DATE(1662336000000LL), "{\"type\":\"datetime\",\"epoch\":1662336000000}",
     "2022-09-05"},
    {V_TIME(1662361200000LL), "{\"type\":\"datetime\",\"epoch\":1662361200000}",
     "2022-09-05T07:00:00.000Z"},
    {V_TIME(1514764800000LL), "{\"type\":\"datetime\",\"epoch\":1514764800000}",
     "2018-01-01T00:00:00.000Z"},
    {V_TIME(-500), "{\"type\":\"datetime\",\"epoch\":-500}",
     "1969-12-31T23:59:59.500Z"},
    {V_TIME(1709208000000LL), "{\"type\":\"datetime\",\"epoch\":1709208000000}",
     "2024-02-29T12:00:00.000Z"},
    {V_TIME(1663016628123LL), "{\"type\":\"datetime\",\"epoch\":1663016628123}",
     "2022-09-12T21:03:48.123Z"},
    {V_DATE(0), "{\"type\":\"datetime\",\"epoch\":0}", "1970-01-01"},
    {V_DATE(-86400000LL), "{\"type\":\"datetime\",\"epoch\":-86400000}",
     "1969-12-31"},
    {V_LIST(l_ab), "\"a, b\"", "a, b"},
    {V_LIST(l_recs), "\"recA, recB\"", "recA, recB"},
    {V_LIST(l_holes), "\"x, y\"", "x, y"},
    {V_LIST(l_empty_items), "null", ""},
    {{AD_KIND_LIST, 0, {.items = NULL}}, "null", ""},
    {V_LIST(l_mixed), "\"a, 1\"", "a, 1"},
    {V_LIST(l_kinds), "\"2.5, true, 2022-09-05\"", "2.5, true, 2022-09-05"},
    {V_LIST(l_people), "\"Ann <a@x>, Bo <b@x>\"", "Ann <a@x>, Bo <b@x>"},
    {V_LIST(l_files), "\"a.pdf, b.png\"", "a.pdf, b.png"},
    {V_LIST(l_json), "\"{\\\"a\\\":1}\"", "{\"a\":1}"},
    {V_LIST(l_nested), "\"1, 2, 3\"", "1, 2, 3"},
    {V_JSON("{\"a\":[1,2]}"), "\"{\\\"a\\\":[1,2]}\"", "{\"a\":[1,2]}"},
    {V_JSON("[]"), "\"[]\"", "[]"},
};

START_TEST(test_cells_and_text) {
  const cell_case_t *c = &cell_cases[_i];
  ad_buf_t out, scratch;

  ad_buf_init(&out, 0);
  ad_buf_init(&scratch, 0);
  ck_assert_int_eq(ad_dust_cell(&c->v, &out, &scratch), 0);
  ck_assert_msg(strcmp(out.data, c->cell) == 0, "case %d: cell %s, expected %s",
                _i, out.data, c->cell);
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_dust_text(&c->v, &out), 0);
  ck_assert_msg(out.len == strlen(c->text) &&
                    (out.len == 0 || strcmp(out.data, c->text) == 0),
                "case %d: text \"%s\", expected \"%s\"", _i,
                out.data ? out.data : "", c->text);
  ad_buf_free(&out);
  ad_buf_free(&scratch);
}
END_TEST

START_TEST(test_cell_of_no_kind) {
  ad_value_t v = {(ad_kind_t)99, 0, {0}};
  ad_buf_t out, scratch;
  ad_buf_init(&out, 0);
  ad_buf_init(&scratch, 0);
  ck_assert_int_eq(ad_dust_cell(&v, &out, &scratch), AD_EINVAL);
  ck_assert_int_eq(ad_dust_text(&v, &out), AD_EINVAL);
  ad_buf_free(&out);
  ad_buf_free(&scratch);
}
END_TEST

/* ---- tables and records -------------------------------------------------- */

typedef struct col {
  const char *name;
  ad_kind_t kind;
  unsigned flags;
} col_t;

static ad_table_t *table_of(const char *origin, const char *base_name,
                            const char *name, const col_t *cols, size_t n) {
  ad_table_t *t = ad_table_new(origin, "appB", base_name, "tblA", name, NULL);
  char id[32];
  size_t i;

  ck_assert_ptr_nonnull(t);
  for (i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "fld%zu", i);
    ck_assert_int_eq(
        ad_table_add_column(t, id, cols[i].name, cols[i].kind, cols[i].flags),
        0);
  }
  return t;
}

/* A row (documents = 0) or a document body of rec, malloc'd. */
static char *encode(const ad_table_t *t, const ad_record_t *rec,
                    int documents) {
  ad_dust_layout_t l;
  ad_buf_t out, scratch;
  char err[256];

  ck_assert_int_eq(ad_dust_layout_init(&l, t, documents, err, sizeof(err)), 0);
  ad_buf_init(&out, 0);
  ad_buf_init(&scratch, 0);
  ck_assert_int_eq(documents ? ad_dust_document(t, &l, rec, &out, &scratch)
                             : ad_dust_row(t, &l, rec, &out, &scratch),
                   0);
  ad_buf_free(&scratch);
  ad_dust_layout_free(&l);
  return ad_buf_steal(&out, NULL);
}

static char *title_of(const ad_table_t *t, const ad_record_t *rec) {
  ad_dust_layout_t l;
  ad_buf_t out;
  char err[256];

  ck_assert_int_eq(ad_dust_layout_init(&l, t, 1, err, sizeof(err)), 0);
  ad_buf_init(&out, 0);
  ck_assert_int_eq(ad_dust_title(t, &l, rec, &out), 0);
  ad_dust_layout_free(&l);
  return ad_buf_steal(&out, NULL);
}

#define CHECK_BYTES(got, want)                                                 \
  do {                                                                         \
    char *got_ = (got);                                                        \
    ck_assert_str_eq(got_, want);                                              \
    free(got_);                                                                \
  } while (0)

/* ---- rows ---------------------------------------------------------------- */

/* Today's pinned row (test_airtable_mapping's test_schema_and_rows): an
 * unchecked checkbox is false, an error formula null, a date its epoch. */
static const col_t tasks_cols[] = {{"Name", AD_KIND_TEXT, AD_COLUMN_PRIMARY},
                                   {"name ", AD_KIND_INT, 0},
                                   {"Done?", AD_KIND_BOOL, 0},
                                   {"Due", AD_KIND_DATETIME, 0},
                                   {"Score", AD_KIND_FLOAT, 0}};

START_TEST(test_row_bytes) {
  ad_table_t *t = table_of("airtable", "Ops", "Tasks / Q1", tasks_cols, 5);
  ad_value_t v[] = {V_TEXT("Ship it"), V_INT(3), V_BOOL(0),
                    V_DATE(1662336000000LL), V_NULL};
  ad_record_t rec = {"rec1", 1663016628000LL, NULL, v};

  CHECK_BYTES(encode(t, &rec, 0),
              "{\"row_id\":\"rec1\",\"value\":{\"name\":\"Ship it\","
              "\"name_2\":3,\"done\":false,\"due\":{\"type\":\"datetime\","
              "\"epoch\":1662336000000},\"score\":null}}");
  /* The semantic identifier, with and without the base. */
  CHECK_BYTES(title_of(t, &rec), "Ops > Tasks / Q1: Ship it");
  free(t->group_name);
  t->group_name = NULL;
  CHECK_BYTES(title_of(t, &rec), "Tasks / Q1: Ship it");
  ad_table_unref(t);
}
END_TEST

/* Every kind in one row, in column order; a record without values has
 * every column null; an id is escaped. */
START_TEST(test_row_every_kind) {
  static const col_t cols[] = {
      {"Text", AD_KIND_TEXT, 0},     {"Empty", AD_KIND_TEXT, 0},
      {"Int", AD_KIND_INT, 0},       {"Big", AD_KIND_INT, 0},
      {"Float", AD_KIND_FLOAT, 0},   {"Yes", AD_KIND_BOOL, 0},
      {"When", AD_KIND_DATETIME, 0}, {"List", AD_KIND_LIST, 0},
      {"Holes", AD_KIND_LIST, 0},    {"Meta", AD_KIND_JSON, 0},
      {"Null", AD_KIND_TEXT, 0}};
  ad_table_t *t = table_of("airtable", NULL, "All", cols, 11);
  ad_value_t v[] = {V_TEXT("t\"x"),
                    V_TEXT(""),
                    V_INT(-12),
                    V_INT(-12345678901234567LL),
                    V_FLOAT("12.5"),
                    V_BOOL(1),
                    V_TIME(1662361200000LL),
                    V_LIST(l_holes),
                    V_LIST(l_empty_items),
                    V_JSON("{\"k\":[1,\"/\"]}"),
                    V_NULL};
  ad_record_t rec = {"rec\"1", 0, NULL, v}, none = {"rec2", 0, NULL, NULL};

  CHECK_BYTES(encode(t, &rec, 0),
              "{\"row_id\":\"rec\\\"1\",\"value\":{\"text\":\"t\\\"x\","
              "\"empty\":\"\",\"int\":-12,\"big\":\"-12345678901234567\","
              "\"float\":12.5,\"yes\":true,\"when\":{\"type\":\"datetime\","
              "\"epoch\":1662361200000},\"list\":\"x, y\",\"holes\":null,"
              "\"meta\":\"{\\\"k\\\":[1,\\\"/\\\"]}\",\"null\":null}}");
  CHECK_BYTES(encode(t, &none, 0),
              "{\"row_id\":\"rec2\",\"value\":{\"text\":null,\"empty\":null,"
              "\"int\":null,\"big\":null,\"float\":null,\"yes\":null,"
              "\"when\":null,\"list\":null,\"holes\":null,\"meta\":null,"
              "\"null\":null}}");
  ad_table_unref(t);

  t = table_of("airtable", NULL, "Bare", NULL, 0);
  CHECK_BYTES(encode(t, &none, 0), "{\"row_id\":\"rec2\",\"value\":{}}");
  ad_table_unref(t);
}
END_TEST

/* Column keys as the Airtable mapping made them, so existing Dust tables
 * keep their columns: slugged, col_<position> when nothing is left,
 * unique in column order with _2, _3 (skipping a suffix taken), 64 bytes
 * at most before the suffix. */
START_TEST(test_column_keys) {
  static const char long_a[] =
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const col_t cols[] = {
      {"Name", AD_KIND_TEXT, 0},
      {"name ", AD_KIND_TEXT, 0},
      {"NAME!", AD_KIND_TEXT, 0},
      {"name_2", AD_KIND_TEXT, 0},
      {"🎉", AD_KIND_TEXT, 0},
      {"", AD_KIND_TEXT, 0},
      {"Col 8", AD_KIND_TEXT, 0},
      {"???", AD_KIND_TEXT, 0},
      {"  Hello, World! ", AD_KIND_TEXT, 0},
      {"Ünïcødé / 日本", AD_KIND_TEXT, 0},
      {long_a, AD_KIND_TEXT, 0},
      {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA b",
       AD_KIND_TEXT, 0}};
  static const char *const want[] = {
      "name",
      "name_2",
      "name_3",
      "name_2_2",
      "col_5",
      "col_6",
      "col_8",
      "col_8_2",
      "hello_world",
      "n_c_d",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_2"};
  ad_table_t *t = table_of("airtable", NULL, "Keys", cols, 12);
  ad_dust_layout_t l;
  char err[256];
  size_t i;

  ck_assert_int_eq(ad_dust_layout_init(&l, t, 0, err, sizeof(err)), 0);
  ck_assert_uint_eq(l.ncolumns, 12);
  ck_assert_uint_eq(l.primary, SIZE_MAX);
  for (i = 0; i < 12; i++) {
    ck_assert_str_eq(l.keys[i], want[i]);
    ck_assert_uint_eq(l.key_lens[i], strlen(want[i]));
  }
  ad_dust_layout_free(&l);
  /* Documents need no keys. */
  ck_assert_int_eq(ad_dust_layout_init(&l, t, 1, err, sizeof(err)), 0);
  ck_assert_ptr_null(l.keys);
  ad_dust_layout_free(&l);
  ad_table_unref(t);
}
END_TEST

static ad_table_t *wide_table(size_t n) {
  ad_table_t *t = ad_table_new("airtable", "appB", NULL, "tblW", "Wide", NULL);
  char id[32], name[32];
  size_t i;
  for (i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "fld%zu", i);
    snprintf(name, sizeof(name), "C%zu", i + 1);
    ck_assert_int_eq(ad_table_add_column(t, id, name, AD_KIND_TEXT, 0), 0);
  }
  return t;
}

#define WIDE_513                                                               \
  "table \"Wide\" has 513 fields; a Dust table holds at most 512 columns "     \
  "(use the documents format for it)"

/* Dust's 512 columns: a table holds 512, refuses 513 (tables format
 * only), with the message the Airtable source gave. */
START_TEST(test_width) {
  ad_table_t *t = wide_table(512);
  ad_record_t rec = {"rec1", 0, NULL, NULL};
  ad_dust_layout_t l;
  char err[256] = "", *row;

  ck_assert_int_eq(ad_dust_check_width(t, 0, err, sizeof(err)), 0);
  row = encode(t, &rec, 0);
  ck_assert(strncmp(row, "{\"row_id\":\"rec1\",\"value\":{\"c1\":null,", 36) ==
            0);
  ck_assert_ptr_nonnull(strstr(row, ",\"c512\":null}}"));
  free(row);
  ck_assert_int_eq(ad_table_add_column(t, "fld512", "C513", AD_KIND_TEXT, 0),
                   0);
  ck_assert_int_eq(ad_dust_check_width(t, 0, err, sizeof(err)), AD_EINVAL);
  ck_assert_str_eq(err, WIDE_513);
  err[0] = '\0';
  ck_assert_int_eq(ad_dust_layout_init(&l, t, 0, err, sizeof(err)), AD_EINVAL);
  ck_assert_str_eq(err, WIDE_513);
  ad_dust_layout_free(&l);
  /* Documents have no such limit. */
  ck_assert_int_eq(ad_dust_check_width(t, 1, err, sizeof(err)), 0);
  ck_assert_int_eq(ad_dust_layout_init(&l, t, 1, err, sizeof(err)), 0);
  ad_dust_layout_free(&l);
  ad_table_unref(t);
}
END_TEST

/* ---- documents ----------------------------------------------------------- */

/* Today's documents (test_airtable_request's test_document_*): the
 * same table and record, as neutral values. */
static const col_t bugs_cols[] = {{"Name", AD_KIND_TEXT, AD_COLUMN_PRIMARY},
                                  {"Tags", AD_KIND_LIST, 0},
                                  {"Points", AD_KIND_FLOAT, 0},
                                  {"Files", AD_KIND_LIST, AD_COLUMN_FILES},
                                  {"Empty", AD_KIND_FLOAT, 0}};
static const ad_value_t l_tags[] = {V_TEXT("ui"), V_TEXT("api")};
static const ad_value_t l_png[] = {V_TEXT("a.png")};
static const ad_value_t bug_values[] = {V_TEXT("Crash"), V_LIST(l_tags),
                                        V_INT(3), V_LIST(l_png), V_NULL};
static const ad_record_t bug = {"recR", 1663016628000LL,
                                "https://airtable.com/appB/shrS/tblA/viwG/recR",
                                bug_values};

static ad_table_t *bugs(const char *base_name, int as_tags) {
  ad_table_t *t = table_of("airtable", base_name, "Bugs", bugs_cols, 5);
  t->flags = as_tags ? AD_TABLE_FIELDS_AS_TAGS : 0;
  return t;
}

START_TEST(test_document_text) {
  ad_table_t *t = bugs("Tracker", 0);
  CHECK_BYTES(
      encode(t, &bug, 1),
      "{\"title\":\"Tracker > Bugs: Crash\","
      "\"text\":\"Tracker > Bugs: Crash\\nName: Crash\\nTags: ui, api\\n"
      "Points: 3\\nFiles: a.png\","
      "\"source_url\":\"https://airtable.com/appB/shrS/tblA/viwG/recR\","
      "\"timestamp\":1663016628000,"
      "\"tags\":[\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]}");
  ad_table_unref(t);
}
END_TEST

/* With the flag, every non-file field becomes tags (one per list item)
 * and leaves the text; files stay in the text. */
START_TEST(test_document_fields_as_tags) {
  ad_table_t *t = bugs(NULL, 1);
  CHECK_BYTES(
      encode(t, &bug, 1),
      "{\"title\":\"Bugs: Crash\",\"text\":\"Bugs: Crash\\nFiles: a.png\","
      "\"source_url\":\"https://airtable.com/appB/shrS/tblA/viwG/recR\","
      "\"timestamp\":1663016628000,"
      "\"tags\":[\"Name:Crash\",\"Tags:ui\",\"Tags:api\",\"Points:3\","
      "\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]}");
  ad_table_unref(t);
}
END_TEST

/* The body is written as text, not through json-c: its exact bytes,
 * escapes included ("/" stays as it is, as json-c's NOSLASHESCAPE); no
 * creation time, no timestamp. */
START_TEST(test_document_bytes) {
  ad_table_t *t = bugs(NULL, 0);
  ad_value_t v[] = {V_TEXT("say \"hi\"\n/\x01"), V_NULL, V_FLOAT("2.5"), V_NULL,
                    V_NULL};
  ad_record_t rec = {"recQ", 0, "https://airtable.com/appB/tblA/viwG/recQ", v};

  CHECK_BYTES(encode(t, &rec, 1),
              "{\"title\":\"Bugs: say \\\"hi\\\"\\n/\\u0001\","
              "\"text\":\"Bugs: say \\\"hi\\\"\\n/\\u0001\\nName: say "
              "\\\"hi\\\"\\n/\\u0001\\nPoints: 2.5\","
              "\"source_url\":\"https://airtable.com/appB/tblA/viwG/recQ\","
              "\"tags\":[\"airtable_base_id:appB\","
              "\"airtable_table_id:tblA\"]}");
  ad_table_unref(t);
}
END_TEST

/* Titles and tags are cut at Dust's 512 UTF-16 units, between characters;
 * the text keeps every character. */
START_TEST(test_document_cuts_title_and_tags) {
  char name[2048];
  ad_value_t v[5] = {V_NULL, V_NULL, V_NULL, V_NULL, V_NULL};
  ad_record_t rec = {"recL", 0, NULL, v};
  ad_table_t *t = bugs(NULL, 0);
  json_object *o, *s;
  char *doc;
  size_t n = 0;
  int i;

  for (i = 0; i < 600; i++)
    n += (size_t)snprintf(name + n, sizeof(name) - n, "\xc3\xa9");
  v[0] = ad_value_text(name, n);
  doc = encode(t, &rec, 1);
  o = json_tokener_parse(doc);
  ck_assert_ptr_nonnull(o);
  s = json_object_object_get(o, "title");
  ck_assert_int_eq(json_object_get_string_len(s), 6 + 506 * 2);
  ck_assert(strncmp(json_object_get_string(s), "Bugs: ", 6) == 0);
  s = json_object_object_get(o, "text"); /* title, "\nName: ", value */
  ck_assert_int_eq(json_object_get_string_len(s), 1206 + 7 + 1200);
  json_object_put(o);
  free(doc);

  t->flags = AD_TABLE_FIELDS_AS_TAGS;
  doc = encode(t, &rec, 1);
  o = json_tokener_parse(doc);
  s = json_object_array_get_idx(json_object_object_get(o, "tags"), 0);
  ck_assert_int_eq(json_object_get_string_len(s), 5 + 507 * 2);
  ck_assert(strncmp(json_object_get_string(s), "Name:", 5) == 0);
  json_object_put(o);
  free(doc);
  ad_table_unref(t);
}
END_TEST

/* An emoji is two UTF-16 units: at the edge it goes whole or not at all.
 * "Bugs: " + 505 "a" is 511 units: the title stops before the emoji;
 * "Name:" + 505 "a" is 510: the tag takes it (512) and stops before the
 * "b". */
START_TEST(test_document_cut_emoji_exact) {
  char name[600], want[700];
  ad_value_t v[5] = {V_NULL, V_NULL, V_NULL, V_NULL, V_NULL};
  ad_record_t rec = {"recE", 0, NULL, v};
  ad_table_t *t = bugs(NULL, 0);
  char *doc, *p;

  memset(name, 'a', 505);
  memcpy(name + 505,
         "\xf0\x9f\x8e\x89"
         "b",
         6); /* 🎉 b NUL */
  v[0] = ad_value_text(name, strlen(name));
  doc = encode(t, &rec, 1);
  snprintf(want, sizeof(want), "{\"title\":\"Bugs: %.505s\",\"text\":", name);
  ck_assert(strncmp(doc, want, strlen(want)) == 0);
  free(doc);

  t->flags = AD_TABLE_FIELDS_AS_TAGS;
  doc = encode(t, &rec, 1);
  snprintf(want, sizeof(want), "\"tags\":[\"Name:%.509s\",", name);
  p = strstr(doc, "\"tags\":[");
  ck_assert_ptr_nonnull(p);
  ck_assert(strncmp(p, want, strlen(want)) == 0);
  free(doc);
  ad_table_unref(t);
}
END_TEST

START_TEST(test_utf16_prefix) {
  const char *s = "ab🎉é";
  ck_assert_uint_eq(ad_dust_utf16_prefix(s, strlen(s), 100), strlen(s));
  ck_assert_uint_eq(ad_dust_utf16_prefix(s, strlen(s), 2), 2);
  ck_assert_uint_eq(ad_dust_utf16_prefix(s, strlen(s), 3), 2); /* no half 🎉 */
  ck_assert_uint_eq(ad_dust_utf16_prefix(s, strlen(s), 4), 6);
  ck_assert_uint_eq(ad_dust_utf16_prefix(s, strlen(s), 5), 8);
  ck_assert_uint_eq(ad_dust_utf16_prefix(s, 5, 100), 2); /* a cut 🎉 */
  ck_assert_uint_eq(ad_dust_utf16_prefix(NULL, 0, 5), 0);
}
END_TEST

/* The title: without ": primary" when the primary reads empty (an empty
 * string, null, an empty list) or the table has no primary column; no
 * source_url without a record URL; no timestamp without a creation time;
 * an origin names the source's tags. */
START_TEST(test_document_titles_and_members) {
  static const col_t cols[] = {{"Name", AD_KIND_TEXT, AD_COLUMN_PRIMARY},
                               {"Note", AD_KIND_TEXT, 0}};
  static const col_t plain[] = {{"Name", AD_KIND_TEXT, 0},
                                {"Note", AD_KIND_TEXT, 0}};
  ad_table_t *t = table_of("airtable", "Ops", "Bugs", cols, 2);
  ad_value_t v[] = {V_TEXT(""), V_TEXT("n")};
  ad_record_t rec = {"rec1", 0, NULL, v};

  CHECK_BYTES(
      encode(t, &rec, 1),
      "{\"title\":\"Ops > Bugs\",\"text\":\"Ops > Bugs\\nNote: n\","
      "\"tags\":[\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]}");
  v[0] = (ad_value_t)V_NULL;
  CHECK_BYTES(title_of(t, &rec), "Ops > Bugs");
  v[0] = (ad_value_t)V_LIST(l_empty_items);
  CHECK_BYTES(title_of(t, &rec), "Ops > Bugs");
  v[0] = (ad_value_t)V_LIST(l_ab);
  CHECK_BYTES(title_of(t, &rec), "Ops > Bugs: a, b");
  v[0] = (ad_value_t)V_INT(7);
  rec.created_ms = -1000; /* before 1970 still has a time */
  rec.url = "https://x/y";
  CHECK_BYTES(
      encode(t, &rec, 1),
      "{\"title\":\"Ops > Bugs: 7\",\"text\":\"Ops > Bugs: 7\\nName: 7\\n"
      "Note: n\",\"source_url\":\"https://x/y\",\"timestamp\":-1000,"
      "\"tags\":[\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]}");
  ad_table_unref(t);

  t = table_of("airtable", NULL, "Bugs", plain, 2);
  CHECK_BYTES(title_of(t, &rec), "Bugs");
  ad_table_unref(t);

  t = table_of("", NULL, "Bugs", plain, 2);
  rec.url = NULL;
  rec.created_ms = 0;
  CHECK_BYTES(encode(t, &rec, 1),
              "{\"title\":\"Bugs\",\"text\":\"Bugs\\nName: 7\\nNote: n\","
              "\"tags\":[\"base_id:appB\",\"table_id:tblA\"]}");
  ad_table_unref(t);
}
END_TEST

/* Each kind as document text, lines only for what reads as something;
 * as tags, one per list item, empty items and nulls skipped, files never
 * tags. */
START_TEST(test_document_kinds_and_tags) {
  static const col_t cols[] = {{"Name", AD_KIND_TEXT, AD_COLUMN_PRIMARY},
                               {"Due", AD_KIND_DATETIME, 0},
                               {"At", AD_KIND_DATETIME, 0},
                               {"Done?", AD_KIND_BOOL, 0},
                               {"Big", AD_KIND_INT, 0},
                               {"Ratio", AD_KIND_FLOAT, 0},
                               {"Meta", AD_KIND_JSON, 0},
                               {"Labels", AD_KIND_LIST, 0},
                               {"Blank", AD_KIND_LIST, 0},
                               {"Gone", AD_KIND_TEXT, 0},
                               {"Files", AD_KIND_LIST, AD_COLUMN_FILES},
                               {"More files", AD_KIND_LIST, AD_COLUMN_FILES}};
  ad_table_t *t = table_of("airtable", NULL, "K", cols, 12);
  ad_value_t v[] = {V_TEXT("n"),
                    V_DATE(1662336000000LL),
                    V_TIME(1662361200000LL),
                    V_BOOL(1),
                    V_INT(12345678901234567LL),
                    V_FLOAT("0.25"),
                    V_JSON("{\"a\":1}"),
                    V_LIST(l_holes),
                    V_LIST(l_empty_items),
                    V_TEXT(""),
                    V_LIST(l_files),
                    V_NULL};
  ad_record_t rec = {"rec1", 0, NULL, v};

  CHECK_BYTES(
      encode(t, &rec, 1),
      "{\"title\":\"K: n\",\"text\":\"K: n\\nName: n\\n"
      "Due: 2022-09-05\\nAt: 2022-09-05T07:00:00.000Z\\nDone?: true\\n"
      "Big: 12345678901234567\\nRatio: 0.25\\nMeta: {\\\"a\\\":1}\\n"
      "Labels: x, y\\nFiles: a.pdf, b.png\","
      "\"tags\":[\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]}");
  t->flags = AD_TABLE_FIELDS_AS_TAGS;
  CHECK_BYTES(encode(t, &rec, 1),
              "{\"title\":\"K: n\",\"text\":\"K: n\\nFiles: a.pdf, b.png\","
              "\"tags\":[\"Name:n\",\"Due:2022-09-05\","
              "\"At:2022-09-05T07:00:00.000Z\",\"Done?:true\","
              "\"Big:12345678901234567\",\"Ratio:0.25\","
              "\"Meta:{\\\"a\\\":1}\",\"Labels:x\",\"Labels:y\","
              "\"airtable_base_id:appB\",\"airtable_table_id:tblA\"]}");
  ad_table_unref(t);
}
END_TEST

/* ---- the encoder, through a sink ----------------------------------------
 * A real sink on a loop that is never run: prepare and encode need no
 * request, nor does a table failed up front. */

typedef struct fixture {
  uv_loop_t loop;
  ad_config_t cfg;
  ad_http_t http;
  ad_limiter_t limiter;
  ad_timers_t timers;
  ad_queue_t queue;
  ad_stats_t stats;
  ad_host_t host; /* the engine's side of the sink */
  ad_dust_sink_t sink;
} fixture_t;

static void fixture_init(fixture_t *f, const char *format) {
  char json[512], err[256];
  ad_http_opts_t ho;
  ad_queue_opts_t qo;
  ad_dust_sink_opts_t so;
  ad_services_t *svc;

  memset(f, 0, sizeof(*f));
  ck_assert_int_eq(uv_loop_init(&f->loop), 0);
  snprintf(json, sizeof(json),
           "{\"source\":{\"api_key\":\"patFAKEtoken0123456789\"},"
           "\"sink\":{\"api_key\":\"sk-fake0123456789\",\"workspace_id\":"
           "\"w1\",\"space_id\":\"s1\",\"data_source_id\":\"d1\","
           "\"base_url\":\"http://127.0.0.1:%d\",\"data_format\":\"%s\"}}",
           ad_test_free_port(), format);
  ck_assert_int_eq(ad_config_parse(&f->cfg, json, strlen(json),
                                   ad_builtin_plugins(), NULL, NULL, err, 256),
                   0);
  ad_http_opts_default(&ho);
  ck_assert_int_eq(ad_http_init(&f->http, &f->loop, &ho), 0);
  ck_assert_int_eq(ad_limiter_init(&f->limiter, &f->loop, NULL), 0);
  ck_assert_int_eq(ad_timers_init(&f->timers, &f->loop), 0);
  memset(&qo, 0, sizeof(qo));
  qo.max_rows = 10000;
  ck_assert_int_eq(ad_queue_init(&f->queue, &qo), 0);
  ad_stats_init(&f->stats);
  ad_host_init(&f->host, &f->loop, NULL, &f->queue, &f->stats, 0, NULL);
  f->host.sink.plugin = &ad_dust_sink_plugin;
  f->host.sink.ctx = &f->sink;
  svc = &f->host.sink.services;
  svc->config = &f->cfg;
  svc->http = &f->http;
  svc->limiter = &f->limiter;
  svc->timers = &f->timers;
  svc->stats = &f->stats;
  memset(&so, 0, sizeof(so));
  so.host = &f->host.sink;
  so.conf = f->cfg.sink.conf;
  so.svc = svc;
  ck_assert_int_eq(ad_dust_sink_init(&f->sink, &so), 0);
}

static void fixture_close(fixture_t *f) {
  ad_dust_sink_close(&f->sink);
  ad_host_close(&f->host);
  ad_http_close(&f->http, NULL);
  ad_limiter_close(&f->limiter, NULL);
  ad_timers_close(&f->timers, NULL);
  ck_assert_int_eq(ad_test_loop_close(&f->loop), 0);
  ad_stats_free(&f->stats);
  ad_config_free(&f->cfg);
}

/* Encodes rec into a new page of t through the sink's encoder. */
static int encode_page(fixture_t *f, const ad_table_t *t,
                       const ad_record_t *rec, ad_page_t *page, char *err) {
  ad_buf_t scratch;
  int rc;

  ad_buf_init(&scratch, 0);
  err[0] = '\0';
  rc = ad_dust_encoder_encode(&f->sink, t, rec, page, &scratch, err, 256);
  ad_buf_free(&scratch);
  return rc;
}

static const char tasks_row[] =
    "{\"row_id\":\"rec1\",\"value\":{\"name\":\"Ship it\",\"name_2\":3,"
    "\"done\":false,\"due\":{\"type\":\"datetime\",\"epoch\":1662336000000},"
    "\"score\":null}}";

START_TEST(test_encoder_tables) {
  fixture_t f;
  ad_table_t *t, *u, *wide;
  ad_page_t *page;
  const ad_dust_layout_t *l;
  ad_value_t v[] = {V_TEXT("Ship it"), V_INT(3), V_BOOL(0),
                    V_DATE(1662336000000LL), V_NULL};
  ad_record_t rec = {"rec1", 0, NULL, v}, anon = {NULL, 0, NULL, v};
  char err[256];

  fixture_init(&f, "tables");
  ck_assert_uint_eq(ad_dust_encoder_wants(&f.sink), 0);
  t = table_of("airtable", "Ops", "Tasks / Q1", tasks_cols, 5);
  ck_assert_ptr_null(ad_dust_sink_layout(t));
  ck_assert_int_eq(ad_dust_encoder_prepare(&f.sink, t, err, sizeof(err)), 0);
  ck_assert_ptr_nonnull(t->sink_data); /* the sink's state of the table */
  l = ad_dust_sink_layout(t);
  ck_assert_ptr_nonnull(l);
  ck_assert_str_eq(l->keys[1], "name_2");
  ck_assert_uint_eq(l->primary, 0);
  ck_assert_int_eq(ad_dust_encoder_prepare(&f.sink, t, err, sizeof(err)), 0); /* again */
  ck_assert_ptr_eq(ad_dust_sink_layout(t), l);

  page = ad_page_new(t);
  ck_assert_int_eq(encode_page(&f, t, &rec, page, err), 0);
  ck_assert_int_eq(encode_page(&f, t, &anon, page, err), AD_EPARSE);
  ck_assert_str_eq(err, "a record without an id");
  ck_assert_uint_eq(page->nunits, 1);
  ck_assert_str_eq(ad_page_unit_id(page, 0), "rec1");
  ck_assert_uint_eq(page->units[0].len, strlen(tasks_row));
  ck_assert(memcmp(ad_page_unit(page, 0), tasks_row, strlen(tasks_row)) == 0);
  ad_page_free(page);

  /* Not prepared: the same bytes, the layout made for the record alone. */
  u = table_of("airtable", "Ops", "Tasks / Q1", tasks_cols, 5);
  page = ad_page_new(u);
  ck_assert_int_eq(encode_page(&f, u, &rec, page, err), 0);
  ck_assert_ptr_null(u->sink_data);
  ck_assert(memcmp(ad_page_unit(page, 0), tasks_row, strlen(tasks_row)) == 0);
  ad_page_free(page);
  ad_table_unref(u);

  /* Too wide: refused, nothing kept or counted (the caller fails it). */
  wide = wide_table(513);
  ck_assert_int_eq(ad_dust_encoder_prepare(&f.sink, wide, err, sizeof(err)), AD_EINVAL);
  ck_assert_str_eq(err, WIDE_513);
  ck_assert_ptr_null(wide->sink_data);
  ck_assert_ptr_null(ad_dust_sink_layout(wide));
  ck_assert_uint_eq(f.stats.tables_failed, 0);
  ck_assert_uint_eq(f.stats.nfailures, 0);
  page = ad_page_new(wide);
  ck_assert_int_eq(encode_page(&f, wide, &rec, page, err), AD_EPARSE);
  ck_assert_str_eq(err, WIDE_513);
  ck_assert_uint_eq(page->nunits, 0);
  ck_assert_uint_eq(page->data.len, 0);
  ad_page_free(page);
  ad_table_unref(wide);

  ad_table_unref(t); /* the sink holds its own reference */
  fixture_close(&f);
}
END_TEST

START_TEST(test_encoder_documents) {
  fixture_t f;
  ad_table_t *t, *wide;
  ad_page_t *page;
  ad_value_t bad[] = {V_TEXT("x"), V_NULL, V_NULL, V_NULL, V_NULL};
  ad_record_t rec = {"recX", 0, NULL, bad};
  char err[256];

  fixture_init(&f, "documents");
  ck_assert_uint_eq(ad_dust_encoder_wants(&f.sink),
                    AD_ENCODE_URL | AD_ENCODE_CREATED);
  t = bugs("Tracker", 0);
  ck_assert_int_eq(ad_dust_encoder_prepare(&f.sink, t, err, sizeof(err)), 0);
  ck_assert_ptr_nonnull(ad_dust_sink_layout(t));
  ck_assert_ptr_null(ad_dust_sink_layout(t)->keys);
  page = ad_page_new(t);
  ck_assert_int_eq(encode_page(&f, t, &bug, page, err), 0);
  ck_assert_str_eq(ad_page_unit_id(page, 0), "recR");
  ck_assert(strncmp(ad_page_unit(page, 0),
                    "{\"title\":\"Tracker > Bugs: Crash\",",
                    page->units[0].len < 33 ? page->units[0].len : 33) == 0);
  ck_assert(page->units[0].len > 33);
  /* A value of no kind fails its record alone, named. */
  bad[2].kind = (ad_kind_t)99;
  ck_assert_int_eq(encode_page(&f, t, &rec, page, err), AD_EPARSE);
  ck_assert_str_eq(err, "field \"Points\" holds a value of no known kind (99)");
  ck_assert_uint_eq(page->nunits, 1);
  ck_assert_uint_eq(page->data.len, page->units[0].off + page->units[0].len);
  ad_page_free(page);

  wide = wide_table(600); /* documents: no column limit */
  ck_assert_int_eq(ad_dust_encoder_prepare(&f.sink, wide, err, sizeof(err)), 0);
  ad_table_unref(wide);
  ad_table_unref(t);
  fixture_close(&f);
}
END_TEST

/* A table the sink first meets in a page (not prepared) still gets its
 * state, and one too wide for Dust fails there, with every row of it,
 * before any request. */
START_TEST(test_sink_wide_page_unprepared) {
  fixture_t f;
  ad_table_t *wide = wide_table(513);
  ad_page_t *page = ad_page_new(wide);

  fixture_init(&f, "tables");
  ck_assert_int_eq(ad_page_begin(page, "rec1", 4), 0);
  ck_assert_int_eq(
      ad_buf_puts(&page->data, "{\"row_id\":\"rec1\",\"value\":{}}"), 0);
  ad_page_commit(page);
  ck_assert_int_eq(ad_page_begin(page, "rec2", 4), 0);
  ck_assert_int_eq(
      ad_buf_puts(&page->data, "{\"row_id\":\"rec2\",\"value\":{}}"), 0);
  ad_page_commit(page);
  ck_assert_int_eq(ad_queue_reserve(&f.queue, 2, page->data.len), 0);
  /* as a source pushes it: numbered, then taken by the sink */
  ad_source_push(&f.host.source, page, 2, page->data.len, 1);
  ck_assert_int_eq(wide->failed, 1);
  ck_assert_uint_eq(f.stats.tables_failed, 1);
  ck_assert_uint_eq(f.stats.records_failed, 2);
  ck_assert_uint_eq(f.stats.nfailures, 1);
  ck_assert_str_eq(f.stats.failures[0].error, WIDE_513);
  ck_assert_uint_eq(f.stats.failures[0].records, 2);
  ck_assert_int_eq(f.sink.inflight, 0);
  ck_assert_uint_eq(f.sink.held_rows, 0);
  ck_assert_ptr_null(ad_dust_sink_layout(wide)); /* state, no layout */
  ad_table_unref(wide);
  fixture_close(&f);
}
END_TEST

static Suite *dust_encode_suite(void) {
  Suite *s = suite_create("dust_encode");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_cells_and_text, 0,
                      (int)(sizeof(cell_cases) / sizeof(cell_cases[0])));
  tcase_add_test(tc, test_cell_of_no_kind);
  tcase_add_test(tc, test_row_bytes);
  tcase_add_test(tc, test_row_every_kind);
  tcase_add_test(tc, test_column_keys);
  tcase_add_test(tc, test_width);
  tcase_add_test(tc, test_document_text);
  tcase_add_test(tc, test_document_fields_as_tags);
  tcase_add_test(tc, test_document_bytes);
  tcase_add_test(tc, test_document_cuts_title_and_tags);
  tcase_add_test(tc, test_document_cut_emoji_exact);
  tcase_add_test(tc, test_utf16_prefix);
  tcase_add_test(tc, test_document_titles_and_members);
  tcase_add_test(tc, test_document_kinds_and_tags);
  tcase_add_test(tc, test_encoder_tables);
  tcase_add_test(tc, test_encoder_documents);
  tcase_add_test(tc, test_sink_wide_page_unprepared);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(dust_encode_suite()); }
