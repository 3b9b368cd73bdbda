/* The pure Airtable side: response parsers, Airtable values as neutral
 * values (engine/record.h), columns, records, ids. */
#include <check.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "isotime.h"
#include "mapping.h"
#include "table.h"
#include "testutil.h"

/* A neutral value as text, to compare: "null", "text:…", "int:…",
 * "float:…", "bool:…", "datetime:<ms>", "date:<ms>" (a date without a
 * time), "json:…", "list[item,item]". */
static void describe(const ad_value_t *v, ad_buf_t *out) {
  uint32_t i;
  switch (v->kind) {
  case AD_KIND_NULL:
    ad_buf_puts(out, "null");
    break;
  case AD_KIND_TEXT:
    ad_buf_puts(out, "text:");
    ad_buf_append(out, v->u.s, v->n);
    break;
  case AD_KIND_INT:
    ad_buf_printf(out, "int:%" PRId64, v->u.i);
    break;
  case AD_KIND_FLOAT:
    ad_buf_puts(out, "float:");
    ad_buf_append(out, v->u.s, v->n);
    break;
  case AD_KIND_BOOL:
    ad_buf_puts(out, v->u.b ? "bool:true" : "bool:false");
    break;
  case AD_KIND_DATETIME:
    ck_assert_uint_le(v->n, 1);
    ad_buf_printf(out, "%s:%" PRId64, v->n ? "date" : "datetime", v->u.ms);
    break;
  case AD_KIND_JSON:
    ad_buf_puts(out, "json:");
    ad_buf_append(out, v->u.s, v->n);
    break;
  case AD_KIND_LIST:
    ad_buf_puts(out, "list[");
    for (i = 0; i < v->n; i++) {
      ck_assert_int_ne(v->u.items[i].kind, AD_KIND_LIST);
      if (i > 0)
        ad_buf_puts(out, ",");
      describe(&v->u.items[i], out);
    }
    ad_buf_puts(out, "]");
    break;
  default:
    ck_abort_msg("kind %d", (int)v->kind);
  }
}

/* Reads one JSON value (json NULL: the record has no such key) as a field
 * of `type` and describes the neutral value. */
static const char *read_value(const char *type, const char *json) {
  static char out[512];
  json_object *v = json ? json_tokener_parse(json) : NULL;
  ad_at_read_t read;
  ad_kind_t kind;
  unsigned flags;
  ad_at_arena_t arena;
  ad_buf_t work, text;
  ad_value_t value;

  ck_assert_msg(json == NULL || v != NULL || strcmp(json, "null") == 0,
                "bad test JSON %s", json);
  ad_at_field_type(type, NULL, &read, &kind, &flags);
  ad_at_arena_init(&arena);
  ad_buf_init(&work, 0);
  ad_buf_init(&text, 0);
  if (json == NULL)
    ad_at_absent(read, &value);
  else
    ck_assert_int_eq(ad_at_value(read, v, &arena, &work, &value), 0);
  describe(&value, &text);
  snprintf(out, sizeof(out), "%s", text.data);
  ad_buf_free(&text);
  ad_buf_free(&work);
  ad_at_arena_free(&arena);
  json_object_put(v);
  return out;
}

typedef struct value_case {
  const char *type;
  const char *input; /* NULL: the record has no such key */
  const char *value;
} value_case_t;

static const value_case_t value_cases[] = {
    /* Text: strings as they are, the empty one too. */
    {"singleLineText", "\"héllo 🎉\"", "text:héllo 🎉"},
    {"singleLineText", "\"\"", "text:"},
    {"multilineText", "\"a\\nb\"", "text:a\nb"},
    {"richText", "\"**bold**\"", "text:**bold**"},
    {"email", "\"a@b.c\"", "text:a@b.c"},
    {"url", "\"https://x.y/z\"", "text:https://x.y/z"},
    {"phoneNumber", "\"+1 555\"", "text:+1 555"},
    {"singleSelect", "\"Open\"", "text:Open"},
    {"externalSyncSource", "\"Jira\"", "text:Jira"},
    {"singleLineText", NULL, "null"},
    {"singleLineText", "null", "null"},
    {"singleLineText", "{\"error\":\"#ERROR!\"}", "null"},
    /* Not a string in a text field: its readable text. */
    {"singleLineText", "42", "text:42"},
    {"singleLineText", "true", "text:true"},
    {"singleLineText", "[\"a\",\"\",{\"name\":\"b\"}]", "text:a, b"},
    {"singleLineText", "{\"x\":1}", "text:{\"x\":1}"},
    {"singleLineText", "{}", "text:{}"},
    {"singleLineText", "[]", "null"},
    /* Objects, by their first known key. */
    {"singleCollaborator", "{\"id\":\"usr1\",\"email\":\"a@b.c\",\"name\":\"Ann\"}",
     "text:Ann <a@b.c>"},
    {"singleCollaborator", "{\"id\":\"usr1\",\"email\":null,\"name\":\"Ann\"}",
     "text:Ann"},
    {"createdBy", "{\"id\":\"usr1\",\"email\":\"a@b.c\"}", "text:a@b.c"},
    {"lastModifiedBy", "{\"id\":\"usr1\"}", "text:usr1"},
    {"barcode", "{\"text\":\"0123\",\"type\":\"upce\"}", "text:0123"},
    {"button", "{\"label\":\"Open\",\"url\":null}", "text:Open"},
    {"aiText", "{\"state\":\"generated\",\"isStale\":false,\"value\":\"Sum\"}",
     "text:Sum"},
    {"aiText", "{\"state\":\"empty\",\"isStale\":false,\"value\":null}", "null"},
    {"aiText", "{\"state\":\"error\",\"errorType\":\"x\",\"isStale\":false,"
               "\"value\":null}",
     "null"},
    {"aiText", "{\"state\":null,\"value\":\"x\"}", "null"},
    {"aiText", "{\"state\":\"generated\"}", "null"},
    /* Numbers: INT when json-c holds an int (every digit of an int64),
     * else FLOAT; kinds of the columns aside. */
    {"number", "42", "int:42"},
    {"number", "3.25", "float:3.25"},
    {"number", "-0.5", "float:-0.5"},
    {"number", "1e3", "float:1e3"}, /* the digits it came with */
    {"number", "12345678901234567", "int:12345678901234567"},
    {"number", "9223372036854775807", "int:9223372036854775807"},
    {"number", "-9223372036854775808", "int:-9223372036854775808"},
    {"number", "9223372036854775808", "text:9223372036854775808"},
    {"number", "18446744073709551615", "text:18446744073709551615"},
    {"number", "NaN", "null"},
    {"number", "\"12\"", "text:12"},
    {"number", "[1,2]", "text:1, 2"},
    {"number", "{\"specialValue\":\"NaN\"}", "null"},
    {"number", NULL, "null"},
    {"percent", "0.123", "float:0.123"},
    {"currency", "10.5", "float:10.5"},
    {"rating", "4", "int:4"},
    {"duration", "3600", "int:3600"},
    {"duration", "90.5", "float:90.5"},
    {"autoNumber", "7", "int:7"},
    {"count", "0", "int:0"},
    /* Checkboxes: absent is false. */
    {"checkbox", "true", "bool:true"},
    {"checkbox", "false", "bool:false"},
    {"checkbox", NULL, "bool:false"},
    {"checkbox", "null", "null"},
    {"checkbox", "{\"error\":\"#ERROR!\"}", "null"},
    /* Dates: a date alone is its midnight UTC, marked as a date. */
    {"date", "\"2022-09-05\"", "date:1662336000000"},
    {"date", "\"1969-12-31\"", "date:-86400000"},
    {"dateTime", "\"2022-09-05T07:00:00.000Z\"", "datetime:1662361200000"},
    {"createdTime", "\"2018-01-01T00:00:00.000Z\"", "datetime:1514764800000"},
    {"lastModifiedTime", "\"2018-01-01T02:00:00+02:00\"",
     "datetime:1514764800000"},
    {"dateTime", "\"2022-09-05T07:00:00.5Z\"", "datetime:1662361200500"},
    {"dateTime", "\"not a date\"", "text:not a date"},
    {"date", "\"2022-13-05\"", "text:2022-13-05"},
    {"date", "\"\"", "text:"},
    {"dateTime", "{\"error\":\"#ERROR!\"}", "null"},
    {"date", "20220905", "text:20220905"},
    {"date", NULL, "null"},
    /* Lists: the items' readable text, empty ones left out. */
    {"multipleSelects", "[\"a\",\"b\"]", "list[text:a,text:b]"},
    {"multipleSelects", "[]", "null"},
    {"multipleSelects", "[\"\",null]", "null"},
    {"multipleSelects", "\"solo\"", "text:solo"},
    {"multipleRecordLinks", "[\"recA\",\"recB\"]", "list[text:recA,text:recB]"},
    {"multipleAttachments",
     "[{\"id\":\"att1\",\"url\":\"https://x/1\",\"filename\":\"a.pdf\"},"
     "{\"id\":\"att2\",\"url\":\"https://x/2\",\"filename\":\"b.png\"}]",
     "list[text:a.pdf,text:b.png]"},
    {"multipleCollaborators",
     "[{\"id\":\"u1\",\"name\":\"Ann\",\"email\":\"a@x\"},{\"id\":\"u2\",\"name\":"
     "\"Bo\",\"email\":\"b@x\"}]",
     "list[text:Ann <a@x>,text:Bo <b@x>]"},
    {"multipleLookupValues", "[\"x\",{\"error\":\"#ERROR!\"},\"y\"]",
     "list[text:x,text:y]"},
    {"multipleLookupValues", "[[1,2],[3]]", "list[text:1, 2,text:3]"},
    {"multipleLookupValues", "[1.10,2,true]", "list[text:1.10,text:2,text:true]"},
    {"multipleLookupValues", "{\"error\":\"#ERROR!\"}", "null"},
    /* formula, rollup: by the value's own JSON type. */
    {"formula", "7", "int:7"},
    {"formula", "2.5", "float:2.5"},
    {"formula", "\"text\"", "text:text"},
    {"formula", "\"2022-09-05\"", "text:2022-09-05"},
    {"formula", "true", "bool:true"},
    {"formula", "[\"a\",1]", "list[text:a,text:1]"},
    {"formula", "{\"name\":\"Ann\"}", "text:Ann"},
    {"formula", "{\"error\":\"#ERROR!\"}", "null"},
    {"formula", "{\"specialValue\":\"NaN\"}", "null"},
    {"formula", "null", "null"},
    {"rollup", "{\"specialValue\":\"Infinity\"}", "null"},
    {"rollup", "12.5", "float:12.5"},
    {"rollup", "12345678901234567", "int:12345678901234567"},
    /* Unknown types: scalars by their JSON type, the rest as JSON text. */
    {"someFutureType", "{\"a\":[1,2]}", "json:{\"a\":[1,2]}"},
    {"someFutureType", "[1,\"a/b\",{\"q\":\"\\\"\"}]",
     "json:[1,\"a/b\",{\"q\":\"\\\"\"}]"},
    {"someFutureType", "\"plain\"", "text:plain"},
    {"someFutureType", "5", "int:5"},
    {"someFutureType", "0.5", "float:0.5"},
    {"someFutureType", "false", "bool:false"},
    {"someFutureType", "{\"error\":\"#ERROR!\"}", "null"},
    {"someFutureType", NULL, "null"},
};

START_TEST(test_values) {
  const value_case_t *c = &value_cases[_i];
  const char *got = read_value(c->type, c->input);
  ck_assert_msg(strcmp(got, c->value) == 0, "%s %s -> %s, expected %s",
                c->type, c->input ? c->input : "(absent)", got, c->value);
}
END_TEST

/* Strings are not copied: a value points into the parsed tree, and only
 * what had to be built (a collaborator's "name <email>", list items' array)
 * lives in the arena. */
START_TEST(test_values_borrow) {
  json_object *text = json_tokener_parse("\"hello\""),
              *files = json_tokener_parse(
                  "[{\"filename\":\"a.pdf\"},{\"filename\":\"b.png\"}]"),
              *who = json_tokener_parse("{\"name\":\"Ann\",\"email\":\"a@x\"}");
  ad_at_arena_t arena;
  ad_buf_t work;
  ad_value_t v, w;

  ad_at_arena_init(&arena);
  ad_buf_init(&work, 0);
  ck_assert_int_eq(ad_at_value(AD_AT_READ_TEXT, text, &arena, &work, &v), 0);
  ck_assert_ptr_eq(v.u.s, json_object_get_string(text));
  ck_assert_int_eq(ad_at_value(AD_AT_READ_LIST, files, &arena, &work, &v), 0);
  ck_assert_int_eq(v.kind, AD_KIND_LIST);
  ck_assert_uint_eq(v.n, 2);
  ck_assert_uint_eq((uintptr_t)v.u.items % alignof(ad_value_t), 0);
  ck_assert_ptr_eq(v.u.items[1].u.s,
                   json_object_get_string(json_object_object_get(
                       json_object_array_get_idx(files, 1), "filename")));
  ck_assert_int_eq(ad_at_value(AD_AT_READ_TEXT, who, &arena, &work, &w), 0);
  ck_assert_int_eq(w.kind, AD_KIND_TEXT);
  ck_assert_uint_eq(w.n, 9);
  ck_assert_int_eq(memcmp(w.u.s, "Ann <a@x>", 9), 0);
  /* Built in work, kept in the arena: work goes on to other things. */
  ad_buf_reset(&work);
  ad_buf_puts(&work, "something else entirely");
  ck_assert_int_eq(memcmp(w.u.s, "Ann <a@x>", 9), 0);
  ck_assert_str_eq(v.u.items[0].u.s, "a.pdf");
  ad_buf_free(&work);
  ad_at_arena_free(&arena);
  json_object_put(text);
  json_object_put(files);
  json_object_put(who);
}
END_TEST

/* Blocks are kept and reused after a reset; a request larger than a block
 * gets one of its own; alignment holds. */
START_TEST(test_arena) {
  ad_at_arena_t a;
  char *p, *first = NULL, *big;
  int i;

  ad_at_arena_init(&a);
  for (i = 0; i < 1000; i++) {
    p = ad_at_arena_alloc(&a, 100, 1);
    ck_assert_ptr_nonnull(p);
    memset(p, 'x', 100);
    if (i == 0)
      first = p;
  }
  big = ad_at_arena_alloc(&a, 100000, 8);
  ck_assert_ptr_nonnull(big);
  memset(big, 'y', 100000);
  p = ad_at_arena_alloc(&a, 3, 1);
  ck_assert_ptr_nonnull(p);
  p = ad_at_arena_alloc(&a, sizeof(double), alignof(double));
  ck_assert_uint_eq((uintptr_t)p % alignof(double), 0);
  ad_at_arena_reset(&a);
  ck_assert_ptr_eq(ad_at_arena_alloc(&a, 100, 1), first);
  big = ad_at_arena_alloc(&a, 200000, 16); /* larger than any kept block */
  ck_assert_ptr_nonnull(big);
  memset(big, 'z', 200000);
  ck_assert_uint_eq((uintptr_t)big % 16, 0);
  ad_at_arena_free(&a);
  ad_at_arena_free(&a); /* freeing twice is harmless */
}
END_TEST

START_TEST(test_iso8601) {
  int64_t ms;
  int date_only = -1;
  ck_assert_int_eq(ad_iso_parse("1970-01-01", &ms, &date_only), 0);
  ck_assert_int_eq(ms, 0);
  ck_assert_int_eq(date_only, 1);
  ck_assert_int_eq(ad_iso_parse("1969-12-31T23:59:59.5Z", &ms, &date_only), 0);
  ck_assert_int_eq(ms, -500);
  ck_assert_int_eq(date_only, 0);
  ck_assert_int_eq(ad_iso_parse("2024-02-29T12:00:00Z", &ms, NULL), 0);
  ck_assert_int_eq(ms, 1709208000000LL);
  ck_assert_int_eq(ad_iso_parse("2024-02-29 12:00:00", &ms, &date_only), 0);
  ck_assert_int_eq(ms, 1709208000000LL);
  ck_assert_int_eq(date_only, 0);
  ck_assert_int_eq(ad_iso_parse("2024-13-01", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024-01-01T10:00", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024-01-01Zjunk", &ms, NULL), -1);
  /* Exactly the digits ISO 8601 has: no signs, spaces or short fields. */
  ck_assert_int_eq(ad_iso_parse("+024-01-01", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse(" 2024-01-01", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024-1-01", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024-01-01T1:00:00Z", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024-01-01T10:00:00+5:30", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("", &ms, NULL), -1);
  ck_assert_int_eq(ad_iso_parse("2024-01-01T10:00:00+05:30", &ms, NULL), 0);
  ck_assert_int_eq(ms, 1704083400000LL);
}
END_TEST

/* Each field type's column: its kind and flags. */
static const struct {
  const char *type, *result; /* result: options.result.type, or NULL */
  ad_kind_t kind;
  unsigned flags;
} column_cases[] = {
    {"singleLineText", NULL, AD_KIND_TEXT, 0},
    {"multilineText", NULL, AD_KIND_TEXT, 0},
    {"richText", NULL, AD_KIND_TEXT, 0},
    {"email", NULL, AD_KIND_TEXT, 0},
    {"url", NULL, AD_KIND_TEXT, 0},
    {"phoneNumber", NULL, AD_KIND_TEXT, 0},
    {"singleSelect", NULL, AD_KIND_TEXT, 0},
    {"externalSyncSource", NULL, AD_KIND_TEXT, 0},
    {"singleCollaborator", NULL, AD_KIND_TEXT, 0},
    {"createdBy", NULL, AD_KIND_TEXT, 0},
    {"lastModifiedBy", NULL, AD_KIND_TEXT, 0},
    {"barcode", NULL, AD_KIND_TEXT, 0},
    {"button", NULL, AD_KIND_TEXT, 0},
    {"aiText", NULL, AD_KIND_TEXT, 0},
    {"number", NULL, AD_KIND_FLOAT, 0},
    {"percent", NULL, AD_KIND_FLOAT, 0},
    {"currency", NULL, AD_KIND_FLOAT, 0},
    {"duration", NULL, AD_KIND_FLOAT, 0},
    {"rating", NULL, AD_KIND_INT, 0},
    {"autoNumber", NULL, AD_KIND_INT, 0},
    {"count", NULL, AD_KIND_INT, 0},
    {"checkbox", NULL, AD_KIND_BOOL, 0},
    {"date", NULL, AD_KIND_DATETIME, 0},
    {"dateTime", NULL, AD_KIND_DATETIME, 0},
    {"createdTime", NULL, AD_KIND_DATETIME, 0},
    {"lastModifiedTime", NULL, AD_KIND_DATETIME, 0},
    {"multipleSelects", NULL, AD_KIND_LIST, 0},
    {"multipleRecordLinks", NULL, AD_KIND_LIST, 0},
    {"multipleAttachments", NULL, AD_KIND_LIST, AD_COLUMN_FILES},
    {"multipleCollaborators", NULL, AD_KIND_LIST, 0},
    {"multipleLookupValues", "number", AD_KIND_LIST, 0},
    {"formula", NULL, AD_KIND_JSON, 0},
    {"formula", "number", AD_KIND_FLOAT, 0},
    {"formula", "singleLineText", AD_KIND_TEXT, 0},
    {"formula", "checkbox", AD_KIND_BOOL, 0},
    {"formula", "dateTime", AD_KIND_DATETIME, 0},
    {"formula", "formula", AD_KIND_JSON, 0},
    {"formula", "somethingNew", AD_KIND_JSON, 0},
    {"rollup", NULL, AD_KIND_JSON, 0},
    {"rollup", "currency", AD_KIND_FLOAT, 0},
    {"rollup", "multipleRecordLinks", AD_KIND_LIST, 0},
    {"someFutureType", NULL, AD_KIND_JSON, 0},
};

START_TEST(test_column_kinds) {
  ad_at_read_t read;
  ad_kind_t kind;
  unsigned flags;
  ad_at_field_type(column_cases[_i].type, column_cases[_i].result, &read,
                   &kind, &flags);
  ck_assert_msg(kind == column_cases[_i].kind && flags == column_cases[_i].flags,
                "%s (%s): kind %s flags %u", column_cases[_i].type,
                column_cases[_i].result ? column_cases[_i].result : "-",
                ad_kind_name(kind), flags);
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
    "\"options\":{\"result\":{\"type\":\"number\"}}},"
    "{\"id\":\"fldR\",\"name\":\"Total\",\"type\":\"rollup\"},"
    "{\"id\":\"fldA\",\"name\":\"Files\",\"type\":\"multipleAttachments\"},"
    "{\"id\":\"fldT\",\"name\":\"Tags\",\"type\":\"multipleSelects\"},"
    "{\"id\":\"fldC\",\"name\":\"Created\",\"type\":\"createdTime\"}],"
    "\"views\":[{\"id\":\"viwGrid\",\"name\":\"Grid view\",\"type\":\"grid\"}]},"
    "{\"id\":\"tblB\",\"name\":\"Empty\",\"primaryFieldId\":\"fldX\","
    "\"fields\":[],\"views\":[]}]}";

START_TEST(test_schema_and_records) {
  static const char *const expected[] = {
      "text:Ship it", "int:3", "bool:false", "date:1662336000000", "null",
      "null", "list[text:a.pdf]", "list[text:ui,text:api]",
      "datetime:1663016628000"};
  ad_at_link_t link = {"appX", NULL, NULL};
  ad_at_schema_t schema;
  const ad_at_table_t *t;
  json_object *rec;
  ad_at_conv_t conv;
  ad_record_t r;
  ad_buf_t text;
  char err[256];
  size_t i;

  ck_assert_int_eq(ad_at_schema_parse(schema_json, strlen(schema_json),
                                      &schema, err, sizeof(err)), 0);
  ck_assert_uint_eq(schema.ntables, 2);
  t = ad_at_schema_find(&schema, "Tasks / Q1");
  ck_assert_ptr_eq(t, ad_at_schema_find(&schema, "tblA"));
  ck_assert_ptr_null(ad_at_schema_find(&schema, "nope"));
  ck_assert_str_eq(t->description, "Work items");
  ck_assert_str_eq(t->first_view_id, "viwGrid");
  ck_assert_str_eq(t->primary->id, "fldName");
  ck_assert_uint_eq(t->nfields, 9);
  ck_assert_uint_eq(t->fields[0].flags, AD_COLUMN_PRIMARY);
  ck_assert_int_eq(t->fields[0].kind, AD_KIND_TEXT);
  ck_assert_int_eq(t->fields[1].kind, AD_KIND_FLOAT);
  ck_assert_int_eq(t->fields[2].kind, AD_KIND_BOOL);
  ck_assert_int_eq(t->fields[3].kind, AD_KIND_DATETIME);
  ck_assert_int_eq(t->fields[4].kind, AD_KIND_FLOAT); /* its result's */
  ck_assert_int_eq(t->fields[5].kind, AD_KIND_JSON);  /* no result type */
  ck_assert_int_eq(t->fields[6].kind, AD_KIND_LIST);
  ck_assert_uint_eq(t->fields[6].flags, AD_COLUMN_FILES);
  ck_assert_uint_eq(t->fields[7].flags, 0);
  ck_assert_ptr_null(schema.tables[1].first_view_id);
  ck_assert_ptr_null(schema.tables[1].primary);

  rec = json_tokener_parse(
      "{\"id\":\"rec1\",\"createdTime\":\"2022-09-12T21:03:48.000Z\","
      "\"fields\":{\"fldName\":\"Ship it\",\"fldName2\":3,"
      "\"fldDue\":\"2022-09-05\",\"fldF\":{\"error\":\"#ERROR!\"},"
      "\"fldA\":[{\"id\":\"att1\",\"url\":\"https://x\",\"filename\":\"a.pdf\"}],"
      "\"fldT\":[\"ui\",\"api\"],\"fldC\":\"2022-09-12T21:03:48.000Z\","
      "\"fldUnknown\":\"not in the schema\"}}");
  ad_at_conv_init(&conv);
  ad_buf_init(&text, 0);
  ck_assert_int_eq(ad_at_record(&conv, t, &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err, sizeof(err)), 0);
  ck_assert_str_eq(r.id, "rec1");
  ck_assert_int_eq(r.created_ms, 1663016628000LL);
  ck_assert_str_eq(r.url, "https://airtable.com/appX/tblA/viwGrid/rec1");
  for (i = 0; i < t->nfields; i++) {
    ad_buf_reset(&text);
    describe(&r.values[i], &text);
    ck_assert_msg(strcmp(text.data, expected[i]) == 0, "%s: %s, expected %s",
                  t->fields[i].name, text.data, expected[i]);
  }
  json_object_put(rec);

  /* Nothing but an id: every value NULL, the checkbox false; no
   * createdTime is 0; the link's share and view. */
  rec = json_tokener_parse("{\"id\":\"rec2\",\"createdTime\":\"soon\","
                           "\"fields\":{}}");
  link.share_id = "shrS";
  link.view_id = "viwV";
  ck_assert_int_eq(ad_at_record(&conv, t, &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err, sizeof(err)), 0);
  ck_assert_str_eq(r.id, "rec2");
  ck_assert_int_eq(r.created_ms, 0);
  ck_assert_str_eq(r.url, "https://airtable.com/appX/shrS/tblA/viwV/rec2");
  for (i = 0; i < t->nfields; i++)
    ck_assert_int_eq(r.values[i].kind, i == 2 ? AD_KIND_BOOL : AD_KIND_NULL);
  ck_assert_int_eq(r.values[2].u.b, 0);
  json_object_put(rec);
  /* A checkbox that is there and null is no value. */
  rec = json_tokener_parse("{\"id\":\"rec2\",\"fields\":{\"fldDone\":null}}");
  ck_assert_int_eq(ad_at_record(&conv, t, &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err, sizeof(err)), 0);
  ck_assert_int_eq(r.values[2].kind, AD_KIND_NULL);
  json_object_put(rec);

  /* A table without fields: a record of no values. */
  rec = json_tokener_parse("{\"id\":\"rec3\",\"fields\":{}}");
  ck_assert_int_eq(ad_at_record(&conv, &schema.tables[1], &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err,
                                sizeof(err)), 0);
  ck_assert_ptr_nonnull(r.values);
  ck_assert_str_eq(r.url, "https://airtable.com/appX/shrS/tblB/viwV/rec3");
  json_object_put(rec);

  rec = json_tokener_parse("{\"fields\":{}}");
  ck_assert_int_eq(ad_at_record(&conv, t, &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err, sizeof(err)),
                   AD_EPARSE);
  ck_assert_str_eq(err, "a record lacks a string \"id\" or a \"fields\" object");
  json_object_put(rec);
  rec = json_tokener_parse("{\"id\":\"rec4\",\"fields\":[]}");
  ck_assert_int_eq(ad_at_record(&conv, t, &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err, sizeof(err)),
                   AD_EPARSE);
  json_object_put(rec);

  /* The record link: the configured view, else the table's first. */
  ad_buf_reset(&text);
  ck_assert_int_eq(ad_at_record_url("appX", NULL, NULL, t, "rec1", &text), 0);
  ck_assert_str_eq(text.data, "https://airtable.com/appX/tblA/viwGrid/rec1");
  ad_buf_reset(&text);
  ck_assert_int_eq(ad_at_record_url("appX", "shrS", "viwV", t, "rec1", &text), 0);
  ck_assert_str_eq(text.data, "https://airtable.com/appX/shrS/tblA/viwV/rec1");
  ad_buf_free(&text);
  ad_at_conv_free(&conv);
  ad_at_schema_free(&schema);
}
END_TEST

/* Readable text, as sinks get it for lists and objects: joined lists,
 * nested ones flattened, error values and empty items left out. */
START_TEST(test_readable_text) {
  static const struct {
    const char *json, *text;
  } cases[] = {
      {"\"as is\"", "as is"},
      {"[\"a\",[\"b\",[\"c\"]],null,\"\",{\"error\":1},\"d\"]", "a, b, c, d"},
      {"{\"name\":\"Ann\",\"email\":\"a@x\"}", "Ann <a@x>"},
      {"{\"filename\":\"f.txt\",\"id\":\"att\"}", "f.txt"},
      {"{\"state\":\"generated\",\"value\":[\"x\",\"y\"]}", "x, y"},
      {"{\"specialValue\":\"NaN\"}", ""},
      {"{\"k\":\"v/w\"}", "{\"k\":\"v/w\"}"},
      {"3.50", "3.50"},
      {"false", "false"},
      {"null", ""},
  };
  ad_buf_t out;
  json_object *v;
  size_t i;

  ad_buf_init(&out, 0);
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    v = json_tokener_parse(cases[i].json);
    ad_buf_reset(&out);
    ck_assert_int_eq(ad_at_text(v, &out), 0);
    ck_assert_msg(strcmp(out.data ? out.data : "", cases[i].text) == 0,
                  "%s -> %s", cases[i].json, out.data ? out.data : "");
    json_object_put(v);
  }
  ad_buf_free(&out);
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
  tcase_add_loop_test(tc, test_values, 0,
                      sizeof(value_cases) / sizeof(value_cases[0]));
  tcase_add_test(tc, test_values_borrow);
  tcase_add_test(tc, test_arena);
  tcase_add_test(tc, test_iso8601);
  tcase_add_loop_test(tc, test_column_kinds, 0,
                      sizeof(column_cases) / sizeof(column_cases[0]));
  tcase_add_test(tc, test_schema_and_records);
  tcase_add_test(tc, test_readable_text);
  tcase_add_test(tc, test_schema_errors);
  tcase_add_test(tc, test_page_parse);
  tcase_add_test(tc, test_bases_parse);
  tcase_add_test(tc, test_hostile_ids);
  tcase_add_test(tc, test_error_bodies);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(mapping_suite()); }
