/* The Airbyte mapping as pure functions: the configured catalog's
 * streams as tables (kinds, primary columns, ids, tags, errors, hostile
 * names), and RECORD data as neutral records (cells, ids). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <xxhash.h>

#include "catalog.h"
#include "error.h"
#include "message.h"
#include "record.h"
#include "slug.h"
#include "testutil.h"

#define EMITTED INT64_C(1700000000123)

/* JSON written with ' for ", so the catalogs below stay readable. */
static char *jq(const char *s) {
  char *out = strdup(s), *p;
  ck_assert_ptr_nonnull(out);
  for (p = out; *p != '\0'; p++)
    if (*p == '\'')
      *p = '"';
  return out;
}

static int parse(ad_ab_catalog_t *cat, const char *quoted, char *err,
                 size_t errlen) {
  char *text = jq(quoted);
  int rc = ad_ab_catalog_parse(cat, text, strlen(text), err, errlen);
  free(text);
  return rc;
}

static void parse_ok(ad_ab_catalog_t *cat, const char *quoted) {
  char err[512] = "";
  int rc = parse(cat, quoted, err, sizeof(err));
  ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
}

/* The catalog fails with AD_ECONFIG and err equal to want. */
static void parse_fails(const char *quoted, const char *want) {
  ad_ab_catalog_t cat;
  char err[512] = "";
  ck_assert_int_eq(parse(&cat, quoted, err, sizeof(err)), AD_ECONFIG);
  ck_assert_str_eq(err, want);
  ck_assert_uint_eq(cat.n, 0);
  ck_assert_ptr_null(cat.streams);
  ad_ab_catalog_free(&cat);
}

/* A catalog of one stream "users" with these properties and these more
 * members of its configured stream (may be ""). */
static void one_stream(ad_ab_catalog_t *cat, const char *props,
                       const char *more) {
  char buf[8192];
  snprintf(buf, sizeof(buf),
           "{'streams':[{'stream':{'name':'users','json_schema':{'type':"
           "'object','properties':%s},'supported_sync_modes':["
           "'full_refresh']},'sync_mode':'full_refresh'%s%s}]}",
           props, *more ? "," : "", more);
  parse_ok(cat, buf);
}

static size_t column(const ad_ab_stream_t *s, const char *id) {
  size_t i;
  for (i = 0; i < s->table->ncolumns; i++)
    if (strcmp(s->table->columns[i].id, id) == 0)
      return i;
  ck_abort_msg("no column %s", id);
  return 0;
}

static ad_kind_t kind_of(const ad_ab_stream_t *s, const char *id) {
  return s->table->columns[column(s, id)].kind;
}

static void hex128(const char *s, size_t len, char out[33]) {
  XXH128_canonical_t c;
  size_t i;
  XXH128_canonicalFromHash(&c, XXH3_128bits(s, len));
  for (i = 0; i < 16; i++)
    snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

/* ---- catalogs: kinds ------------------------------------------------- */

static const struct {
  const char *name;
  ad_kind_t kind;
  unsigned types;
} kinds[] = {
    {"s", AD_KIND_TEXT, AD_AB_JSTRING},
    {"dt", AD_KIND_DATETIME, AD_AB_JSTRING},
    {"d", AD_KIND_DATETIME, AD_AB_JSTRING},
    {"tz", AD_KIND_DATETIME, AD_AB_JSTRING},
    {"ntz", AD_KIND_DATETIME, AD_AB_JSTRING},
    {"ad", AD_KIND_DATETIME, AD_AB_JSTRING},
    {"time", AD_KIND_TEXT, AD_AB_JSTRING},
    {"i", AD_KIND_INT, AD_AB_JINTEGER},
    {"ni", AD_KIND_INT, AD_AB_JINTEGER},
    {"f", AD_KIND_FLOAT, AD_AB_JNUMBER | AD_AB_JINTEGER},
    {"b", AD_KIND_BOOL, AD_AB_JBOOLEAN},
    {"o", AD_KIND_JSON, AD_AB_JOBJECT},
    {"a", AD_KIND_JSON, AD_AB_JARRAY},
    {"null_i", AD_KIND_INT, AD_AB_JNULL | AD_AB_JINTEGER},
    {"null_dt", AD_KIND_DATETIME, AD_AB_JNULL | AD_AB_JSTRING},
    {"i_f", AD_KIND_FLOAT, AD_AB_JNUMBER | AD_AB_JINTEGER},
    {"s_i", AD_KIND_TEXT, AD_AB_JSTRING | AD_AB_JINTEGER},
    {"b_i", AD_KIND_TEXT, AD_AB_JBOOLEAN | AD_AB_JINTEGER},
    {"o_a", AD_KIND_JSON, AD_AB_JOBJECT | AD_AB_JARRAY},
    {"s_o", AD_KIND_TEXT, AD_AB_JSTRING | AD_AB_JOBJECT},
    {"dt_i", AD_KIND_TEXT, AD_AB_JSTRING | AD_AB_JINTEGER},
    {"any_i_f", AD_KIND_FLOAT, AD_AB_JNUMBER | AD_AB_JINTEGER},
    {"any_null_b", AD_KIND_BOOL, AD_AB_JNULL | AD_AB_JBOOLEAN},
    {"one_dates", AD_KIND_DATETIME, AD_AB_JSTRING},
    {"one_mix", AD_KIND_TEXT, AD_AB_JSTRING | AD_AB_JOBJECT},
    {"nested_any", AD_KIND_INT, AD_AB_JNULL | AD_AB_JINTEGER},
    {"any_empty", AD_KIND_TEXT, AD_AB_JANY},
    {"empty", AD_KIND_JSON, AD_AB_JANY},
    {"ref", AD_KIND_JSON, AD_AB_JANY},
    {"no_type", AD_KIND_JSON, AD_AB_JANY},
    {"only_null", AD_KIND_JSON, AD_AB_JNULL},
    {"unknown_type", AD_KIND_JSON, AD_AB_JANY},
    {"bool_schema", AD_KIND_JSON, AD_AB_JANY},
};

START_TEST(test_kinds) {
  ad_ab_catalog_t cat;
  const ad_ab_stream_t *s;
  size_t i;

  one_stream(
      &cat,
      "{'s':{'type':'string'},"
      "'dt':{'type':'string','format':'date-time'},"
      "'d':{'type':'string','format':'date'},"
      "'tz':{'type':'string','airbyte_type':'timestamp_with_timezone'},"
      "'ntz':{'type':'string','airbyte_type':'timestamp_without_timezone'},"
      "'ad':{'type':'string','airbyte_type':'date'},"
      "'time':{'type':'string','airbyte_type':'time_with_timezone'},"
      "'i':{'type':'integer'},"
      "'ni':{'type':'number','airbyte_type':'integer'},"
      "'f':{'type':'number'},"
      "'b':{'type':'boolean'},"
      "'o':{'type':'object','properties':{'x':{'type':'integer'}}},"
      "'a':{'type':'array','items':{'type':'string'}},"
      "'null_i':{'type':['null','integer']},"
      "'null_dt':{'type':['null','string'],'format':'date-time'},"
      "'i_f':{'type':['integer','number']},"
      "'s_i':{'type':['string','integer']},"
      "'b_i':{'type':['boolean','integer']},"
      "'o_a':{'type':['object','array']},"
      "'s_o':{'type':['string','object']},"
      "'dt_i':{'type':['string','integer'],'format':'date-time'},"
      "'any_i_f':{'anyOf':[{'type':'integer'},{'type':'number'}]},"
      "'any_null_b':{'anyOf':[{'type':'null'},{'type':'boolean'}]},"
      "'one_dates':{'oneOf':[{'type':'string','format':'date'},"
      "{'type':'string','format':'date-time'}]},"
      "'one_mix':{'oneOf':[{'type':'string'},{'type':'object'}]},"
      "'nested_any':{'anyOf':[{'anyOf':[{'type':'integer'}]},"
      "{'type':'null'}]},"
      "'any_empty':{'anyOf':[{'type':'string'},{}]},"
      "'empty':{},"
      "'ref':{'$ref':'#/definitions/thing','type':'string'},"
      "'no_type':{'description':'whatever'},"
      "'only_null':{'type':'null'},"
      "'unknown_type':{'type':'decimal'},"
      "'bool_schema':true}",
      "");
  s = &cat.streams[0];
  /* the properties in their order, then the meta column */
  ck_assert_uint_eq(s->table->ncolumns, sizeof(kinds) / sizeof(kinds[0]) + 1);
  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    ck_assert_str_eq(s->table->columns[i].id, kinds[i].name);
    ck_assert_str_eq(s->table->columns[i].name, kinds[i].name);
    ck_assert_msg(s->table->columns[i].kind == kinds[i].kind,
                  "%s: kind %s, want %s", kinds[i].name,
                  ad_kind_name(s->table->columns[i].kind),
                  ad_kind_name(kinds[i].kind));
    ck_assert_msg(s->columns[i].types == kinds[i].types, "%s: types %#x",
                  kinds[i].name, s->columns[i].types);
    ck_assert_int_eq(s->columns[i].from, AD_AB_FROM_FIELD);
    ck_assert_uint_eq(s->table->columns[i].flags, 0);
  }
  ck_assert_str_eq(s->table->columns[i].id, "_airbyte_extracted_at");
  ck_assert_int_eq(s->table->columns[i].kind, AD_KIND_DATETIME);
  ck_assert_int_eq(s->columns[i].from, AD_AB_FROM_EXTRACTED);
  ad_ab_catalog_free(&cat);
}
END_TEST

/* No properties (none, {}, not an object): one _airbyte_data column. */
START_TEST(test_no_properties) {
  static const char *const schemas[] = {
      "{'type':'object'}", "{'type':'object','properties':{}}",
      "{'properties':[1]}"};
  ad_ab_catalog_t cat;
  char buf[512];
  size_t i;

  for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
    snprintf(buf, sizeof(buf),
             "{'streams':[{'stream':{'name':'raw','json_schema':%s},"
             "'generation_id':2}]}",
             schemas[i]);
    parse_ok(&cat, buf);
    ck_assert_uint_eq(cat.streams[0].table->ncolumns, 3);
    ck_assert_str_eq(cat.streams[0].table->columns[0].id, "_airbyte_data");
    ck_assert_int_eq(cat.streams[0].table->columns[0].kind, AD_KIND_JSON);
    ck_assert_uint_eq(cat.streams[0].table->columns[0].flags, 0);
    ck_assert_int_eq(cat.streams[0].columns[0].from, AD_AB_FROM_DATA);
    ck_assert_str_eq(cat.streams[0].table->columns[1].id,
                     "_airbyte_extracted_at");
    ck_assert_str_eq(cat.streams[0].table->columns[2].id,
                     "_airbyte_generation_id");
    ck_assert_int_eq(cat.streams[0].table->columns[2].kind, AD_KIND_INT);
    ad_ab_catalog_free(&cat);
  }
}
END_TEST

/* A property named like a meta column is the source's: it keeps its
 * schema's kind and the meta column is not added. */
START_TEST(test_meta_names_taken) {
  ad_ab_catalog_t cat;
  const ad_ab_stream_t *s;

  one_stream(&cat,
             "{'id':{'type':'integer'},"
             "'_airbyte_extracted_at':{'type':'string'},"
             "'_airbyte_generation_id':{'type':'string'}}",
             "'generation_id':4");
  s = &cat.streams[0];
  ck_assert_uint_eq(s->table->ncolumns, 3);
  ck_assert_int_eq(kind_of(s, "_airbyte_extracted_at"), AD_KIND_TEXT);
  ck_assert_int_eq(s->columns[1].from, AD_AB_FROM_FIELD);
  ck_assert_int_eq(kind_of(s, "_airbyte_generation_id"), AD_KIND_TEXT);
  ck_assert_int_eq(s->columns[2].from, AD_AB_FROM_FIELD);
  ad_ab_catalog_free(&cat);
}
END_TEST

/* ---- catalogs: primary column ----------------------------------------- */

static const struct {
  const char *props;
  const char *primary; /* NULL: none */
} primaries[] = {
    {"{'id':{},'Name':{},'subject':{},'TITLE':{}}", "TITLE"},
    {"{'name':{},'title':{}}", "title"},
    {"{'label':{},'name':{}}", "name"},
    {"{'Label':{},'headline':{},'Subject':{}}", "Subject"},
    {"{'label':{},'HeadLine':{}}", "HeadLine"},
    {"{'Label':{},'label':{}}", "Label"},
    {"{'id':{},'names':{},'title_x':{}}", NULL},
};

START_TEST(test_primary_column) {
  ad_ab_catalog_t cat;
  const ad_ab_stream_t *s;
  size_t i, flagged = 0;

  one_stream(&cat, primaries[_i].props, "");
  s = &cat.streams[0];
  for (i = 0; i < s->table->ncolumns; i++)
    if (s->table->columns[i].flags & AD_COLUMN_PRIMARY) {
      flagged++;
      ck_assert_ptr_nonnull(primaries[_i].primary);
      ck_assert_str_eq(s->table->columns[i].id, primaries[_i].primary);
    }
  ck_assert_uint_eq(flagged, primaries[_i].primary != NULL ? 1 : 0);
  ad_ab_catalog_free(&cat);
}
END_TEST

/* ---- catalogs: streams, tables, ids ----------------------------------- */

START_TEST(test_stream_fields) {
  ad_ab_catalog_t cat;
  const ad_ab_stream_t *s;

  parse_ok(&cat,
           "{'streams':["
           "{'stream':{'name':'users','namespace':'crm','json_schema':{}},"
           "'destination_sync_mode':'append_dedup','primary_key':[['id'],"
           "['address','zip']],'cursor_field':['updated'],"
           "'generation_id':7,'minimum_generation_id':0,'sync_id':3},"
           "{'stream':{'name':'events','json_schema':{}}},"
           "{'stream':{'name':'full','json_schema':{}},"
           "'destination_sync_mode':'overwrite'},"
           "{'stream':{'name':'fulldedup','namespace':'','json_schema':{}},"
           "'destination_sync_mode':'overwrite_dedup','primary_key':[['k']]},"
           "{'stream':{'name':'gen','json_schema':{}},"
           "'destination_sync_mode':'append','generation_id':9,"
           "'minimum_generation_id':9}]}");
  ck_assert_uint_eq(cat.n, 5);

  s = &cat.streams[0];
  ck_assert_str_eq(s->name, "users");
  ck_assert_str_eq(s->ns, "crm");
  ck_assert_int_eq(s->mode, AD_AB_APPEND_DEDUP);
  ck_assert_int_eq(s->replace, 0);
  ck_assert_int_eq(s->has_generation, 1);
  ck_assert_int_eq(s->generation_id, 7);
  ck_assert_int_eq(s->minimum_generation_id, 0);
  ck_assert_uint_eq(s->npk, 2);
  ck_assert_uint_eq(s->pk[0].n, 1);
  ck_assert_str_eq(s->pk[0].keys[0], "id");
  ck_assert_uint_eq(s->pk[1].n, 2);
  ck_assert_str_eq(s->pk[1].keys[0], "address");
  ck_assert_str_eq(s->pk[1].keys[1], "zip");
  ck_assert_str_eq(s->pk[1].label, "address.zip");
  ck_assert_str_eq(s->table->origin, "");
  ck_assert_str_eq(s->table->group_id, "");
  ck_assert_str_eq(s->table->group_name, "crm");
  ck_assert_str_eq(s->table->table_id, "crm_users");
  ck_assert_str_eq(s->table->table_name, "users");
  ck_assert_str_eq(s->table->description, "Airbyte stream crm.users");
  ck_assert_uint_eq(s->table->flags, AD_TABLE_OWN_TAGS);
  ck_assert_uint_eq(s->table->ntags, 3);
  ck_assert_str_eq(s->table->tags[0], "airbyte:stream:users");
  ck_assert_str_eq(s->table->tags[1], "airbyte:namespace:crm");
  ck_assert_str_eq(s->table->tags[2], "airbyte:generation:7");
  ck_assert_str_eq(s->table->columns[s->table->ncolumns - 1].id,
                   "_airbyte_generation_id");

  s = &cat.streams[1]; /* every default */
  ck_assert_ptr_null(s->ns);
  ck_assert_int_eq(s->mode, AD_AB_APPEND);
  ck_assert_int_eq(s->replace, 0);
  ck_assert_int_eq(s->has_generation, 0);
  ck_assert_int_eq(s->generation_id, 0);
  ck_assert_uint_eq(s->npk, 0);
  ck_assert_ptr_null(s->table->group_name);
  ck_assert_str_eq(s->table->description, "Airbyte stream events");
  ck_assert_uint_eq(s->table->ntags, 2);
  ck_assert_str_eq(s->table->tags[0], "airbyte:stream:events");
  ck_assert_str_eq(s->table->tags[1], "airbyte:namespace:"); /* none */
  ck_assert_uint_eq(s->table->ncolumns, 2); /* _airbyte_data, extracted */
  ck_assert_uint_eq(s->table->flags & AD_TABLE_REPLACE, 0);

  /* overwrite without generations: everything not written goes */
  ck_assert_int_eq(cat.streams[2].mode, AD_AB_OVERWRITE);
  ck_assert_int_eq(cat.streams[2].replace, 1);
  ck_assert_uint_eq(cat.streams[2].table->flags & AD_TABLE_REPLACE,
                    AD_TABLE_REPLACE);
  ck_assert_int_eq(cat.streams[2].table->keep_column, 0);
  ck_assert_ptr_null(cat.streams[2].table->keep_tag);
  /* a refresh: an earlier attempt's rows of generation 9 or later stay */
  s = &cat.streams[4];
  ck_assert_uint_eq(s->table->flags & AD_TABLE_REPLACE, AD_TABLE_REPLACE);
  ck_assert_int_eq(s->table->keep_from, 9);
  ck_assert_int_gt(s->table->keep_column, 0);
  ck_assert_str_eq(s->table->columns[s->table->keep_column - 1].id,
                   "_airbyte_generation_id");
  ck_assert_str_eq(s->table->keep_tag, "airbyte:generation:");
  ck_assert_int_eq(cat.streams[3].mode, AD_AB_OVERWRITE);
  ck_assert_int_eq(cat.streams[3].replace, 1);
  ck_assert_ptr_null(cat.streams[3].ns); /* "" is no namespace */
  ck_assert_uint_eq(cat.streams[3].npk, 1);
  ck_assert_int_eq(cat.streams[4].mode, AD_AB_APPEND);
  ck_assert_int_eq(cat.streams[4].replace, 1); /* minimum_generation_id */
  ck_assert_int_eq(cat.streams[4].minimum_generation_id, 9);
  ck_assert_str_eq(cat.streams[4].table->tags[2], "airbyte:generation:9");
  ad_ab_catalog_free(&cat);
}
END_TEST

START_TEST(test_find) {
  ad_ab_catalog_t cat;
  char buf[64 * 100 + 64];
  size_t i, len;

  parse_ok(&cat, "{'streams':["
                 "{'stream':{'name':'users','namespace':'crm','json_schema':{}}},"
                 "{'stream':{'name':'users','json_schema':{}}},"
                 "{'stream':{'name':'crm','namespace':'users','json_schema':{}}}"
                 "]}");
  ck_assert_ptr_eq(ad_ab_catalog_find(&cat, "crm", "users"), &cat.streams[0]);
  ck_assert_ptr_eq(ad_ab_catalog_find(&cat, NULL, "users"), &cat.streams[1]);
  ck_assert_ptr_eq(ad_ab_catalog_find(&cat, "", "users"), &cat.streams[1]);
  ck_assert_ptr_eq(ad_ab_catalog_find(&cat, "users", "crm"), &cat.streams[2]);
  ck_assert_ptr_null(ad_ab_catalog_find(&cat, "crm", "nope"));
  ck_assert_ptr_null(ad_ab_catalog_find(&cat, "other", "users"));
  ck_assert_ptr_null(ad_ab_catalog_find(&cat, NULL, "crm"));
  ck_assert_ptr_null(ad_ab_catalog_find(&cat, NULL, "Users"));
  ad_ab_catalog_free(&cat);

  /* Many streams: each one found, through the index's collisions. */
  len = (size_t)snprintf(buf, sizeof(buf), "{'streams':[");
  for (i = 0; i < 100; i++)
    len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                            "%s{'stream':{'name':'s%zu','json_schema':{}}}",
                            i > 0 ? "," : "", i);
  snprintf(buf + len, sizeof(buf) - len, "]}");
  parse_ok(&cat, buf);
  ck_assert_uint_eq(cat.n, 100);
  for (i = 0; i < 100; i++) {
    char name[16];
    snprintf(name, sizeof(name), "s%zu", i);
    ck_assert_ptr_eq(ad_ab_catalog_find(&cat, NULL, name), &cat.streams[i]);
  }
  ck_assert_ptr_null(ad_ab_catalog_find(&cat, NULL, "s100"));
  ad_ab_catalog_free(&cat);

  /* an empty catalog finds nothing */
  parse_ok(&cat, "{'streams':[]}");
  ck_assert_uint_eq(cat.n, 0);
  ck_assert_ptr_null(ad_ab_catalog_find(&cat, NULL, "users"));
  ad_ab_catalog_free(&cat);
}
END_TEST

static const char *table_id(const ad_ab_catalog_t *cat, const char *ns,
                            const char *name) {
  const ad_ab_stream_t *s = ad_ab_catalog_find(cat, ns, name);
  ck_assert_ptr_nonnull(s);
  return s->table->table_id;
}

/* Ids are slugs, unique, and handed out in (namespace, name) order: the
 * same whatever order the catalog lists the streams in. */
START_TEST(test_table_ids) {
  static const char *const order_a =
      "{'streams':["
      "{'stream':{'name':'users','namespace':'crm','json_schema':{}}},"
      "{'stream':{'name':'users','json_schema':{}}},"
      "{'stream':{'name':'crm_users','json_schema':{}}},"
      "{'stream':{'name':'Users!','json_schema':{}}},"
      "{'stream':{'name':'Order Lines','json_schema':{}}}]}";
  static const char *const order_b =
      "{'streams':["
      "{'stream':{'name':'Order Lines','json_schema':{}}},"
      "{'stream':{'name':'Users!','json_schema':{}}},"
      "{'stream':{'name':'crm_users','json_schema':{}}},"
      "{'stream':{'name':'users','json_schema':{}}},"
      "{'stream':{'name':'users','namespace':'crm','json_schema':{}}}]}";
  ad_ab_catalog_t a, b;

  parse_ok(&a, order_a);
  parse_ok(&b, order_b);
  /* sorted: ("", "Order Lines") ("", "Users!") ("", "crm_users")
   * ("", "users") ("crm", "users") */
  ck_assert_str_eq(table_id(&a, NULL, "Order Lines"), "order_lines");
  ck_assert_str_eq(table_id(&a, NULL, "Users!"), "users");
  ck_assert_str_eq(table_id(&a, NULL, "crm_users"), "crm_users");
  ck_assert_str_eq(table_id(&a, NULL, "users"), "users_2");
  ck_assert_str_eq(table_id(&a, "crm", "users"), "crm_users_2");
  ck_assert_str_eq(table_id(&b, NULL, "Order Lines"), "order_lines");
  ck_assert_str_eq(table_id(&b, NULL, "Users!"), "users");
  ck_assert_str_eq(table_id(&b, NULL, "crm_users"), "crm_users");
  ck_assert_str_eq(table_id(&b, NULL, "users"), "users_2");
  ck_assert_str_eq(table_id(&b, "crm", "users"), "crm_users_2");
  /* the table's name stays the stream's */
  ck_assert_str_eq(ad_ab_catalog_find(&a, NULL, "Users!")->table->table_name,
                   "Users!");
  ad_ab_catalog_free(&a);
  ad_ab_catalog_free(&b);
}
END_TEST

START_TEST(test_hostile_names) {
  ad_ab_catalog_t cat;
  char *buf, *long_name, err[512];
  const ad_ab_stream_t *s;
  size_t i;

  long_name = malloc(501);
  ck_assert_ptr_nonnull(long_name);
  memset(long_name, 'n', 500);
  long_name[500] = '\0';
  buf = malloc(4096);
  ck_assert_ptr_nonnull(buf);
  snprintf(buf, 4096,
           "{'streams':["
           "{'stream':{'name':'\\u7528\\u6237','json_schema':{}}},"
           "{'stream':{'name':'\\u00e9\\u00e9','json_schema':{}}},"
           "{'stream':{'name':'../x','json_schema':{}}},"
           "{'stream':{'name':'%s','json_schema':{'properties':{"
           "'a \\'quoted\\'\\nfield':{'type':'integer'},"
           "'':{'type':'string'}}}}},"
           "{'stream':{'name':'a\\'b\\nc','namespace':'n\\ts','json_schema':"
           "{}}},"
           "{'stream':{'name':'___','namespace':'!!','json_schema':{}}}]}",
           long_name);
  parse_ok(&cat, buf);
  ck_assert_uint_eq(cat.n, 6);
  /* slugged to nothing: "stream", made unique in (ns, name) order:
   * "!!"/"___" sorts after the ones without a namespace */
  ck_assert_str_eq(cat.streams[1].table->table_id, "stream");
  ck_assert_str_eq(cat.streams[0].table->table_id, "stream_2");
  ck_assert_str_eq(cat.streams[5].table->table_id, "stream_3");
  ck_assert_str_eq(cat.streams[0].name, "\xe7\x94\xa8\xe6\x88\xb7");
  ck_assert_str_eq(cat.streams[0].table->table_name,
                   "\xe7\x94\xa8\xe6\x88\xb7");
  ck_assert_str_eq(cat.streams[0].table->tags[0],
                   "airbyte:stream:\xe7\x94\xa8\xe6\x88\xb7");
  ck_assert_str_eq(cat.streams[2].table->table_id, "x");
  ck_assert_str_eq(cat.streams[2].table->table_name, "../x");
  /* a 500-byte name: a 64-byte id, the whole name kept */
  s = &cat.streams[3];
  ck_assert_uint_eq(strlen(s->table->table_id), AD_SLUG_MAX);
  ck_assert_str_eq(s->table->table_name, long_name);
  ck_assert_str_eq(s->table->columns[0].id, "a \"quoted\"\nfield");
  ck_assert_str_eq(s->columns[0].label, "a \"quoted\"?field");
  ck_assert_str_eq(s->table->columns[1].id, "");
  /* quotes, newlines, tabs */
  s = &cat.streams[4];
  ck_assert_str_eq(s->table->table_id, "n_s_a_b_c");
  ck_assert_str_eq(s->name, "a\"b\nc");
  ck_assert_str_eq(s->label, "n?s.a\"b?c");
  ck_assert_str_eq(s->table->description, "Airbyte stream n\ts.a\"b\nc");
  for (i = 0; i < cat.n; i++)
    ck_assert_ptr_eq(ad_ab_catalog_find(&cat, cat.streams[i].ns,
                                        cat.streams[i].name),
                     &cat.streams[i]);
  ad_ab_catalog_free(&cat);

  /* messages quote a long name cut short, with no control bytes */
  snprintf(buf, 4096,
           "{'streams':[{'stream':{'name':'%s\\n','json_schema':{}},"
           "'destination_sync_mode':'x\\ny'}]}",
           long_name);
  ck_assert_int_eq(parse(&cat, buf, err, sizeof(err)), AD_ECONFIG);
  ck_assert_msg(strlen(err) < 300, "%s", err);
  ck_assert_ptr_null(strchr(err, '\n'));
  ck_assert_msg(strncmp(err, "stream \"nnnn", 12) == 0, "%s", err);
  ck_assert_msg(strstr(err, "nnn...\": destination_sync_mode \"x?y\" is not "
                            "one airdust writes") != NULL,
                "%s", err);
  free(buf);
  free(long_name);
}
END_TEST

/* A catalog file as tools write it: indented, a newline at its end. */
START_TEST(test_pretty_catalog) {
  static const char text[] =
      "{\n"
      "  \"streams\": [\n"
      "    {\n"
      "      \"stream\": {\n"
      "        \"name\": \"users\",\n"
      "        \"json_schema\": { \"type\": \"object\",\r\n"
      "          \"properties\": { \"id\": { \"type\": \"integer\" } } },\n"
      "        \"supported_sync_modes\": [\"full_refresh\", \"incremental\"]\n"
      "      },\n"
      "      \"sync_mode\": \"incremental\",\n"
      "\t\"destination_sync_mode\": \"append_dedup\",\n"
      "      \"primary_key\": [ [ \"id\" ] ]\n"
      "    }\n"
      "  ]\n"
      "}\n\n";
  ad_ab_catalog_t cat;
  char err[256] = "";

  ck_assert_int_eq(ad_ab_catalog_parse(&cat, text, strlen(text), err,
                                       sizeof(err)),
                   0);
  ck_assert_uint_eq(cat.n, 1);
  ck_assert_str_eq(cat.streams[0].table->table_id, "users");
  ck_assert_int_eq(kind_of(&cat.streams[0], "id"), AD_KIND_INT);
  ck_assert_int_eq(cat.streams[0].mode, AD_AB_APPEND_DEDUP);
  ad_ab_catalog_free(&cat);
  /* only the len bytes given are read: what follows is not the catalog */
  ck_assert_int_eq(ad_ab_catalog_parse(&cat, "{\"streams\":[]}garbage", 14,
                                       err, sizeof(err)),
                   0);
  ck_assert_uint_eq(cat.n, 0);
  ad_ab_catalog_free(&cat);
}
END_TEST

/* ---- catalogs: errors ------------------------------------------------- */

static const struct {
  const char *catalog;
  const char *err;
} bad_catalogs[] = {
    {"not json", "the configured catalog is not JSON"},
    {"", "the configured catalog is not JSON"},
    {"{'streams':[]} x", "the configured catalog is not JSON"},
    {"{'streams':[", "the configured catalog is not JSON"},
    {"[]", "the configured catalog has no \"streams\" array"},
    {"{}", "the configured catalog has no \"streams\" array"},
    {"{'streams':{}}", "the configured catalog has no \"streams\" array"},
    {"{'streams':[1]}", "streams[0]: no \"stream\" object"},
    {"{'streams':[{'stream':{'name':'a','json_schema':{}}},"
     "{'stream':{'json_schema':{}}}]}",
     "streams[1]: the stream has no name (a non-empty string)"},
    {"{'streams':[{'stream':{'name':'','json_schema':{}}}]}",
     "streams[0]: the stream has no name (a non-empty string)"},
    {"{'streams':[{'stream':{'name':5,'json_schema':{}}}]}",
     "streams[0]: the stream has no name (a non-empty string)"},
    {"{'streams':[{'stream':{'name':'a\\u0000b','json_schema':{}}}]}",
     "streams[0]: the stream has no name (a non-empty string)"},
    {"{'streams':[{'stream':{'name':'users'}}]}",
     "stream \"users\": no json_schema object"},
    {"{'streams':[{'stream':{'name':'users','json_schema':true}}]}",
     "stream \"users\": no json_schema object"},
    {"{'streams':[{'stream':{'name':'users','namespace':1,"
     "'json_schema':{}}}]}",
     "stream \"users\": namespace must be a string or null"},
    {"{'streams':[{'stream':{'name':'users','namespace':'crm',"
     "'json_schema':{}}},{'stream':{'name':'other','json_schema':{}}},"
     "{'stream':{'name':'users','namespace':'crm','json_schema':{}}}]}",
     "stream \"crm.users\" is in the catalog twice (streams[0] and "
     "streams[2])"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}}},"
     "{'stream':{'name':'users','namespace':'','json_schema':{}}}]}",
     "stream \"users\" is in the catalog twice (streams[0] and streams[1])"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'destination_sync_mode':'upsert'}]}",
     "stream \"users\": destination_sync_mode \"upsert\" is not one airdust "
     "writes (append, append_dedup, overwrite, overwrite_dedup)"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'destination_sync_mode':3}]}",
     "stream \"users\": destination_sync_mode must be a string"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'destination_sync_mode':'append_dedup'}]}",
     "stream \"users\": destination_sync_mode \"append_dedup\" needs a "
     "primary_key"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'destination_sync_mode':'overwrite_dedup','primary_key':[]}]}",
     "stream \"users\": destination_sync_mode \"overwrite_dedup\" needs a "
     "primary_key"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'primary_key':['id']}]}",
     "stream \"users\": primary_key must be a list of field paths, each a "
     "list of names ([[\"id\"], [\"address\", \"zip\"]])"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'primary_key':[[]]}]}",
     "stream \"users\": primary_key must be a list of field paths, each a "
     "list of names ([[\"id\"], [\"address\", \"zip\"]])"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'primary_key':[['id',1]]}]}",
     "stream \"users\": primary_key must be a list of field paths, each a "
     "list of names ([[\"id\"], [\"address\", \"zip\"]])"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'generation_id':'3'}]}",
     "stream \"users\": generation_id must be an integer >= 0"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'generation_id':-1}]}",
     "stream \"users\": generation_id must be an integer >= 0"},
    {"{'streams':[{'stream':{'name':'users','json_schema':{}},"
     "'minimum_generation_id':1.5}]}",
     "stream \"users\": minimum_generation_id must be an integer >= 0"},
};

START_TEST(test_bad_catalog) {
  parse_fails(bad_catalogs[_i].catalog, bad_catalogs[_i].err);
}
END_TEST

/* ---- records ---------------------------------------------------------- */

/* One stream's records read one after the other. */
typedef struct reader {
  ad_ab_catalog_t cat;
  const ad_ab_stream_t *s;
  ad_ab_decoder_t d;
  json_object *data;
  ad_record_t rec;
  char err[512];
} reader_t;

static void reader_open(reader_t *r, const char *catalog) {
  memset(r, 0, sizeof(*r));
  parse_ok(&r->cat, catalog);
  r->s = &r->cat.streams[0];
  ad_ab_decoder_init(&r->d);
}

static void reader_close(reader_t *r) {
  json_object_put(r->data);
  ad_ab_decoder_free(&r->d);
  ad_ab_catalog_free(&r->cat);
}

/* Reads data (' for ") emitted at EMITTED. */
static int reader_read_at(reader_t *r, const char *quoted, int documents,
                          int64_t emitted_at) {
  char *text = jq(quoted);
  json_object_put(r->data);
  r->data = json_tokener_parse(text);
  ck_assert_msg(r->data != NULL, "not JSON: %s", text);
  free(text);
  r->err[0] = '\0';
  return ad_ab_record_read(&r->d, r->s, r->data, emitted_at, documents,
                           &r->rec, r->err, sizeof(r->err));
}

static int reader_read(reader_t *r, const char *quoted, int documents) {
  return reader_read_at(r, quoted, documents, EMITTED);
}

static void read_ok(reader_t *r, const char *quoted, int documents) {
  int rc = reader_read(r, quoted, documents);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, r->err);
  ck_assert_ptr_nonnull(r->rec.id);
}

static void read_fails(reader_t *r, const char *quoted, const char *want) {
  ck_assert_int_eq(reader_read(r, quoted, 0), AD_EPARSE);
  ck_assert_str_eq(r->err, want);
  ck_assert_ptr_null(r->rec.id);
}

static const ad_value_t *cell(const reader_t *r, const char *id) {
  return &r->rec.values[column(r->s, id)];
}

static void check_bytes(const ad_value_t *v, ad_kind_t kind,
                        const char *want) {
  ck_assert_msg(v->kind == kind, "kind %s, want %s", ad_kind_name(v->kind),
                ad_kind_name(kind));
  ck_assert_msg(v->n == strlen(want) && memcmp(v->u.s, want, v->n) == 0,
                "got %.*s, want %s", (int)v->n, v->u.s, want);
}

static void check_int(const ad_value_t *v, int64_t want) {
  ck_assert_int_eq(v->kind, AD_KIND_INT);
  ck_assert_int_eq(v->u.i, want);
}

static void check_null(const ad_value_t *v) {
  ck_assert_int_eq(v->kind, AD_KIND_NULL);
}

static const char *const every_kind =
    "{'streams':[{'stream':{'name':'things','json_schema':{'properties':{"
    "'id':{'type':'integer'},"
    "'title':{'type':'string'},"
    "'n':{'type':['null','integer']},"
    "'f':{'type':'number'},"
    "'b':{'type':'boolean'},"
    "'at':{'type':'string','format':'date-time'},"
    "'day':{'type':'string','format':'date'},"
    "'j':{},"
    "'o':{'type':'object'},"
    "'t':{'type':['string','integer','boolean','object']}}}},"
    "'destination_sync_mode':'append_dedup','primary_key':[['id']],"
    "'generation_id':5}]}";

START_TEST(test_cells_text_and_json) {
  reader_t r;
  reader_open(&r, every_kind);
  read_ok(&r,
          "{'id':1,'title':'Ada \\u00e9','t':'plain','j':'s',"
          "'o':{'u':'http://x/y','n':[1,2.50,null]},'zzz':'ignored'}",
          0);
  ck_assert_uint_eq(r.s->table->ncolumns, 12);
  check_bytes(cell(&r, "title"), AD_KIND_TEXT, "Ada \xc3\xa9");
  /* borrowed from the data, not copied */
  ck_assert_ptr_eq(cell(&r, "title")->u.s,
                   json_object_get_string(
                       json_object_object_get(r.data, "title")));
  check_bytes(cell(&r, "t"), AD_KIND_TEXT, "plain");
  check_bytes(cell(&r, "j"), AD_KIND_JSON, "\"s\"");
  check_bytes(cell(&r, "o"), AD_KIND_JSON,
              "{\"u\":\"http://x/y\",\"n\":[1,2.50,null]}");

  read_ok(&r, "{'id':1,'t':42,'j':1.50}", 0);
  check_bytes(cell(&r, "t"), AD_KIND_TEXT, "42");
  check_bytes(cell(&r, "j"), AD_KIND_JSON, "1.50");
  read_ok(&r, "{'id':1,'t':1.50,'j':[1,{'a':null}]}", 0);
  check_bytes(cell(&r, "t"), AD_KIND_TEXT, "1.50");
  check_bytes(cell(&r, "j"), AD_KIND_JSON, "[1,{\"a\":null}]");
  read_ok(&r, "{'id':1,'t':true,'j':false}", 0);
  check_bytes(cell(&r, "t"), AD_KIND_TEXT, "true");
  check_bytes(cell(&r, "j"), AD_KIND_JSON, "false");
  read_ok(&r, "{'id':1,'t':{'a':[1,'b']},'j':{}}", 0);
  check_bytes(cell(&r, "t"), AD_KIND_TEXT, "{\"a\":[1,\"b\"]}");
  check_bytes(cell(&r, "j"), AD_KIND_JSON, "{}");
  /* a string with a NUL byte keeps all its bytes */
  read_ok(&r, "{'id':1,'title':'a\\u0000b'}", 0);
  ck_assert_uint_eq(cell(&r, "title")->n, 3);
  ck_assert_int_eq(memcmp(cell(&r, "title")->u.s, "a\0b", 3), 0);
  reader_close(&r);
}
END_TEST

START_TEST(test_cells_numbers) {
  reader_t r;
  reader_open(&r, every_kind);
  read_ok(&r, "{'id':7,'n':-42,'f':1.50}", 0);
  check_int(cell(&r, "id"), 7);
  check_int(cell(&r, "n"), -42);
  check_bytes(cell(&r, "f"), AD_KIND_FLOAT, "1.50");
  read_ok(&r, "{'id':3.0,'n':'-42','f':2}", 0);
  check_int(cell(&r, "id"), 3);
  check_int(cell(&r, "n"), -42);
  check_bytes(cell(&r, "f"), AD_KIND_FLOAT, "2");
  read_ok(&r, "{'id':1,'n':'007','f':'2e3'}", 0);
  check_int(cell(&r, "n"), 7);
  check_bytes(cell(&r, "f"), AD_KIND_FLOAT, "2e3");
  read_ok(&r, "{'id':1,'n':'9223372036854775807','f':-0.5E-7}", 0);
  check_int(cell(&r, "n"), INT64_MAX);
  check_bytes(cell(&r, "f"), AD_KIND_FLOAT, "-0.5E-7");
  read_ok(&r, "{'id':1,'n':'-9223372036854775808','f':'-0.25'}", 0);
  check_int(cell(&r, "n"), INT64_MIN);
  check_bytes(cell(&r, "f"), AD_KIND_FLOAT, "-0.25");
  read_ok(&r, "{'id':1,'n':9223372036854775807,'f':18446744073709551615}",
          0);
  check_int(cell(&r, "n"), INT64_MAX);
  check_bytes(cell(&r, "f"), AD_KIND_FLOAT, "18446744073709551615");
  read_ok(&r, "{'id':1,'n':-4.0e3}", 0);
  check_int(cell(&r, "n"), -4000);

  read_fails(&r, "{'id':1,'n':'abc'}",
             "field \"n\": expected an integer, got \"abc\"");
  read_fails(&r, "{'id':1,'n':1.5}",
             "field \"n\": expected an integer, got 1.5");
  read_fails(&r, "{'id':1,'n':'1.5'}",
             "field \"n\": expected an integer, got \"1.5\"");
  read_fails(&r, "{'id':1,'n':'9223372036854775808'}",
             "field \"n\": expected an integer, got "
             "\"9223372036854775808\"");
  read_fails(&r, "{'id':1,'n':9223372036854775808}",
             "field \"n\": expected an integer, got 9223372036854775808");
  read_fails(&r, "{'id':1,'n':1e300}",
             "field \"n\": expected an integer, got 1e300");
  read_fails(&r, "{'id':1,'n':''}",
             "field \"n\": expected an integer, got \"\"");
  read_fails(&r, "{'id':1,'n':'-'}",
             "field \"n\": expected an integer, got \"-\"");
  read_fails(&r, "{'id':1,'n':' 1'}",
             "field \"n\": expected an integer, got \" 1\"");
  read_fails(&r, "{'id':1,'n':true}",
             "field \"n\": expected an integer, got true");
  read_fails(&r, "{'id':1,'n':[1]}",
             "field \"n\": expected an integer, got an array");
  read_fails(&r, "{'id':1,'f':'abc'}",
             "field \"f\": expected a number, got \"abc\"");
  read_fails(&r, "{'id':1,'f':'1e999'}",
             "field \"f\": expected a number, got \"1e999\"");
  read_fails(&r, "{'id':1,'f':1e999}",
             "field \"f\": expected a number, got 1e999");
  read_fails(&r, "{'id':1,'f':NaN}",
             "field \"f\": expected a number, got NaN");
  read_fails(&r, "{'id':1,'f':'NaN'}",
             "field \"f\": expected a number, got \"NaN\"");
  read_fails(&r, "{'id':1,'f':'1.'}",
             "field \"f\": expected a number, got \"1.\"");
  read_fails(&r, "{'id':1,'f':' 1'}",
             "field \"f\": expected a number, got \" 1\"");
  read_fails(&r, "{'id':1,'f':false}",
             "field \"f\": expected a number, got false");
  read_fails(&r, "{'id':1,'f':{'x':1}}",
             "field \"f\": expected a number, got an object");
  reader_close(&r);
}
END_TEST

START_TEST(test_cells_bool_and_dates) {
  reader_t r;
  reader_open(&r, every_kind);
  read_ok(&r, "{'id':1,'b':true,'at':'2024-01-02T03:04:05Z',"
              "'day':'2024-01-02'}",
          0);
  ck_assert_int_eq(cell(&r, "b")->kind, AD_KIND_BOOL);
  ck_assert_int_eq(cell(&r, "b")->u.b, 1);
  ck_assert_int_eq(cell(&r, "at")->kind, AD_KIND_DATETIME);
  ck_assert_int_eq(cell(&r, "at")->u.ms, INT64_C(1704164645000));
  ck_assert_uint_eq(cell(&r, "at")->n, 0);
  ck_assert_int_eq(cell(&r, "day")->kind, AD_KIND_DATETIME);
  ck_assert_int_eq(cell(&r, "day")->u.ms, INT64_C(1704153600000));
  ck_assert_uint_eq(cell(&r, "day")->n, 1);
  /* Airbyte's microseconds and offsets; a date-time in a date column */
  read_ok(&r, "{'id':1,'b':'false','at':'2024-01-02T05:04:05.123456+02:00',"
              "'day':'2024-01-02T00:00:00'}",
          0);
  ck_assert_int_eq(cell(&r, "b")->u.b, 0);
  ck_assert_int_eq(cell(&r, "at")->u.ms, INT64_C(1704164645123));
  ck_assert_int_eq(cell(&r, "day")->u.ms, INT64_C(1704153600000));
  ck_assert_uint_eq(cell(&r, "day")->n, 0);
  read_ok(&r, "{'id':1,'b':'true'}", 0);
  ck_assert_int_eq(cell(&r, "b")->u.b, 1);

  read_fails(&r, "{'id':1,'b':'yes'}",
             "field \"b\": expected a boolean, got \"yes\"");
  read_fails(&r, "{'id':1,'b':1}", "field \"b\": expected a boolean, got 1");
  read_fails(&r, "{'id':1,'b':'True'}",
             "field \"b\": expected a boolean, got \"True\"");
  read_fails(&r, "{'id':1,'at':1700000000}",
             "field \"at\": expected an ISO 8601 date or date-time string, "
             "got 1700000000");
  read_fails(&r, "{'id':1,'at':'yesterday'}",
             "field \"at\": expected an ISO 8601 date or date-time string, "
             "got \"yesterday\"");
  read_fails(&r, "{'id':1,'day':'2024-01-02\\u0000'}",
             "field \"day\": expected an ISO 8601 date or date-time string, "
             "got \"2024-01-02\\u0000\"");
  /* a long value is cut in the message */
  read_fails(&r,
             "{'id':1,'at':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}",
             "field \"at\": expected an ISO 8601 date or date-time string, "
             "got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
  reader_close(&r);
}
END_TEST

START_TEST(test_cells_null_and_meta) {
  reader_t r;
  size_t i;

  reader_open(&r, every_kind);
  read_ok(&r, "{'id':1,'title':null,'n':null,'f':null,'b':null,'at':null,"
              "'day':null,'j':null,'o':null,'t':null}",
          0);
  for (i = 1; i < 10; i++)
    check_null(&r.rec.values[i]);
  ck_assert_int_eq(cell(&r, "_airbyte_extracted_at")->kind,
                   AD_KIND_DATETIME);
  ck_assert_int_eq(cell(&r, "_airbyte_extracted_at")->u.ms, EMITTED);
  ck_assert_uint_eq(cell(&r, "_airbyte_extracted_at")->n, 0);
  check_int(cell(&r, "_airbyte_generation_id"), 5);
  ck_assert_int_eq(r.rec.created_ms, EMITTED);
  ck_assert_ptr_null(r.rec.url);
  ck_assert_str_eq(r.rec.id, "1");

  /* absent is null too; emitted_at 0 is not known */
  ck_assert_int_eq(reader_read_at(&r, "{'id':2}", 0, 0), 0);
  for (i = 1; i < 10; i++)
    check_null(&r.rec.values[i]);
  check_null(cell(&r, "_airbyte_extracted_at"));
  ck_assert_int_eq(r.rec.created_ms, 0);
  reader_close(&r);
}
END_TEST

START_TEST(test_airbyte_data) {
  reader_t r;
  reader_open(&r, "{'streams':[{'stream':{'name':'raw','json_schema':"
                  "{'type':'object'}},'primary_key':[['k']]}]}");
  read_ok(&r, "{'k':'a','n':1.50,'u':'http://x/y','l':[true,null]}", 0);
  ck_assert_uint_eq(r.s->table->ncolumns, 2);
  check_bytes(&r.rec.values[0], AD_KIND_JSON,
              "{\"k\":\"a\",\"n\":1.50,\"u\":\"http://x/y\",\"l\":[true,null]}");
  ck_assert_int_eq(r.rec.values[1].u.ms, EMITTED);
  ck_assert_str_eq(r.rec.id, "a");
  read_ok(&r, "{'k':'b'}", 1);
  check_bytes(&r.rec.values[0], AD_KIND_JSON, "{\"k\":\"b\"}");
  ck_assert_str_eq(r.rec.id, "raw-b");
  reader_close(&r);
}
END_TEST

START_TEST(test_data_not_object) {
  static const char *const not_objects[] = {"[1]", "1", "'s'", "null"};
  reader_t r;
  size_t i;

  reader_open(&r, every_kind);
  for (i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
    char *text = jq(not_objects[i]);
    json_object *v = json_tokener_parse(text);
    free(text);
    ck_assert_int_eq(ad_ab_record_read(&r.d, r.s, v, EMITTED, 0, &r.rec,
                                       r.err, sizeof(r.err)),
                     AD_EPARSE);
    ck_assert_str_eq(r.err, "data is not an object");
    ck_assert_ptr_null(r.rec.id);
    json_object_put(v);
  }
  reader_close(&r);
}
END_TEST

/* ---- ids -------------------------------------------------------------- */

static const char *const keyed =
    "{'streams':[{'stream':{'name':'members','json_schema':{'properties':{"
    "'org':{},'user':{}}}},'destination_sync_mode':'append_dedup',"
    "'primary_key':[['org'],['user']]}]}";

START_TEST(test_ids_rows) {
  reader_t r;

  reader_open(&r, "{'streams':[{'stream':{'name':'users','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  read_ok(&r, "{'id':42}", 0);
  ck_assert_str_eq(r.rec.id, "42");
  read_ok(&r, "{'id':'a|b%c'}", 0);
  ck_assert_str_eq(r.rec.id, "a%7Cb%25c"); /* escaped even alone */
  read_ok(&r, "{'id':'a\\u0000b'}", 0);
  ck_assert_str_eq(r.rec.id, "a%00b");
  read_ok(&r, "{'id':1.50}", 0);
  ck_assert_str_eq(r.rec.id, "1.50");
  read_ok(&r, "{'id':true}", 0);
  ck_assert_str_eq(r.rec.id, "true");
  read_ok(&r, "{'id':'\\u00e9t\\u00e9 x'}", 0);
  ck_assert_str_eq(r.rec.id, "\xc3\xa9t\xc3\xa9 x");
  reader_close(&r);

  reader_open(&r, keyed);
  read_ok(&r, "{'org':'acme','user':7}", 0);
  ck_assert_str_eq(r.rec.id, "acme|7");
  /* two keys that would meet unescaped stay apart */
  read_ok(&r, "{'org':'a|b','user':'c'}", 0);
  ck_assert_str_eq(r.rec.id, "a%7Cb|c");
  read_ok(&r, "{'org':'a','user':'b|c'}", 0);
  ck_assert_str_eq(r.rec.id, "a|b%7Cc");
  read_ok(&r, "{'org':'','user':''}", 0);
  ck_assert_str_eq(r.rec.id, "|");
  reader_close(&r);

  reader_open(&r, "{'streams':[{'stream':{'name':'items','json_schema':{}},"
                  "'primary_key':[['meta','id'],['v']]}]}");
  read_ok(&r, "{'meta':{'id':'abc-123'},'v':false}", 0);
  ck_assert_str_eq(r.rec.id, "abc-123|false");
  reader_close(&r);
}
END_TEST

START_TEST(test_ids_documents) {
  reader_t r;
  char hex[33], want[128];

  /* the Python destination's ids, as its own tests have them */
  reader_open(&r, "{'streams':[{'stream':{'name':'users','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  read_ok(&r, "{'id':42,'name':'Alice'}", 1);
  ck_assert_str_eq(r.rec.id, "users-42");
  reader_close(&r);
  reader_open(&r, keyed);
  read_ok(&r, "{'org':'acme','user':7}", 1);
  ck_assert_str_eq(r.rec.id, "members-acme-7");
  reader_close(&r);
  reader_open(&r, "{'streams':[{'stream':{'name':'items','json_schema':{}},"
                  "'primary_key':[['meta','id']]}]}");
  read_ok(&r, "{'meta':{'id':'abc-123'},'value':'x'}", 1);
  ck_assert_str_eq(r.rec.id, "items-abc-123");
  reader_close(&r);

  /* a byte replaced: the hash of the rows id follows */
  reader_open(&r, "{'streams':[{'stream':{'name':'s','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  read_ok(&r, "{'id':'hello world/foo@bar'}", 1);
  /* the exact key, then the namespace ("") and the stream, NUL-separated */
  hex128("hello world/foo@bar\0\0s", 22, hex);
  snprintf(want, sizeof(want), "s-hello_world_foo_bar-%.12s", hex);
  ck_assert_str_eq(r.rec.id, want);
  /* a key that only looks replaced has no suffix: it was not */
  read_ok(&r, "{'id':'hello_world_foo_bar'}", 1);
  ck_assert_str_eq(r.rec.id, "s-hello_world_foo_bar");
  read_ok(&r, "{'id':'a|b%c'}", 1);
  hex128("a%7Cb%25c\0\0s", 12, hex);
  snprintf(want, sizeof(want), "s-a_b_c-%.12s", hex);
  ck_assert_str_eq(r.rec.id, want);
  reader_close(&r);

  /* composite keys hash their rows id (escaped, joined) */
  reader_open(&r, keyed);
  read_ok(&r, "{'org':'a b','user':1.5}", 1);
  hex128("a b|1.5\0\0members", 16, hex);
  snprintf(want, sizeof(want), "members-a_b-1_5-%.12s", hex);
  ck_assert_str_eq(r.rec.id, want);
  reader_close(&r);

  /* a stream name with bytes replaced, no other stream alike: the
   * Python destination's id */
  reader_open(&r, "{'streams':[{'stream':{'name':'order lines',"
                  "'namespace':'shop','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  read_ok(&r, "{'id':1}", 1);
  ck_assert_str_eq(r.rec.id, "order_lines-1");
  reader_close(&r);

  /* an empty key is an id in documents ("users-"), not in rows */
  reader_open(&r, "{'streams':[{'stream':{'name':'users','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  read_ok(&r, "{'id':''}", 1);
  ck_assert_str_eq(r.rec.id, "users-");
  read_fails(&r, "{'id':''}", "primary key \"id\" is empty");
  reader_close(&r);
}
END_TEST

START_TEST(test_ids_missing_key) {
  reader_t r;
  reader_open(&r, "{'streams':[{'stream':{'name':'items','json_schema':{}},"
                  "'primary_key':[['id'],['meta','id']]}]}");
  read_fails(&r, "{'meta':{'id':1}}", "primary key \"id\" is missing");
  read_fails(&r, "{'id':null,'meta':{'id':1}}", "primary key \"id\" is null");
  read_fails(&r, "{'id':1}", "primary key \"meta.id\" is missing");
  read_fails(&r, "{'id':1,'meta':5}", "primary key \"meta.id\" is missing");
  read_fails(&r, "{'id':1,'meta':null}",
             "primary key \"meta.id\" is missing");
  read_fails(&r, "{'id':1,'meta':{'id':null}}",
             "primary key \"meta.id\" is null");
  read_fails(&r, "{'id':{'a':1},'meta':{'id':1}}",
             "primary key \"id\" is an object, not a string, number or "
             "boolean");
  read_fails(&r, "{'id':[1],'meta':{'id':1}}",
             "primary key \"id\" is an array, not a string, number or "
             "boolean");
  ck_assert_int_eq(reader_read(&r, "{'meta':{'id':1}}", 1), AD_EPARSE);
  ck_assert_str_eq(r.err, "primary key \"id\" is missing");
  read_ok(&r, "{'id':1,'meta':{'id':2}}", 0);
  ck_assert_str_eq(r.rec.id, "1|2");
  reader_close(&r);
}
END_TEST

START_TEST(test_ids_without_key) {
  reader_t r;
  char hex[33], first[64], want[128];
  static const char *const plain = "{\"a\":1,\"b\":\"x\\/y\",\"c\":[1.50]}";

  reader_open(&r, "{'streams':[{'stream':{'name':'events','json_schema':"
                  "{'properties':{'a':{'type':'integer'}}}}}]}");
  read_ok(&r, "{'a':1,'b':'x/y','c':[1.50]}", 0);
  hex128(plain, strlen(plain), hex);
  ck_assert_str_eq(r.rec.id, hex);
  ck_assert_uint_eq(strlen(r.rec.id), 32);
  snprintf(first, sizeof(first), "%s", r.rec.id);
  /* the same data, parsed again: the same id */
  read_ok(&r, "{ 'a': 1, 'b': 'x/y', 'c': [1.50] }", 0);
  ck_assert_str_eq(r.rec.id, first);
  /* different data: another id */
  read_ok(&r, "{'a':2,'b':'x/y','c':[1.50]}", 0);
  ck_assert_str_ne(r.rec.id, first);
  read_ok(&r, "{'a':1,'b':'x/y','c':[1.5]}", 0);
  ck_assert_str_ne(r.rec.id, first);
  read_ok(&r, "{'a':1,'b':'x/y','c':[1.50]}", 1);
  snprintf(want, sizeof(want), "events-%s", first);
  ck_assert_str_eq(r.rec.id, want);
  reader_close(&r);

  reader_open(&r, "{'streams':[{'stream':{'name':'my events!',"
                  "'json_schema':{}}}]}");
  read_ok(&r, "{}", 1);
  hex128("{}", 2, hex);
  snprintf(want, sizeof(want), "my_events_-%s", hex);
  ck_assert_str_eq(r.rec.id, want);
  read_ok(&r, "{}", 0);
  ck_assert_str_eq(r.rec.id, hex);
  reader_close(&r);
}
END_TEST

/* Two records never share a document: a '-' inside a composite key's
 * part, one stream name in two namespaces, two names alike once made
 * safe. */
START_TEST(test_ids_documents_unique) {
  reader_t r;
  char a[128], b[128];

  reader_open(&r, keyed);
  read_ok(&r, "{'org':'a-b','user':'c'}", 1);
  snprintf(a, sizeof(a), "%s", r.rec.id);
  read_ok(&r, "{'org':'a','user':'b-c'}", 1);
  ck_assert_str_ne(r.rec.id, a);
  ck_assert_int_eq(strncmp(r.rec.id, "members-a-b-c-", 14), 0);
  reader_close(&r);
  /* single keys keep their '-' without a suffix (Python's ids) */
  reader_open(&r, "{'streams':[{'stream':{'name':'s','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  read_ok(&r, "{'id':'a-b'}", 1);
  ck_assert_str_eq(r.rec.id, "s-a-b");
  reader_close(&r);

  reader_open(&r, "{'streams':["
                  "{'stream':{'name':'users','namespace':'a',"
                  "'json_schema':{}},'primary_key':[['id']]},"
                  "{'stream':{'name':'users','namespace':'b',"
                  "'json_schema':{}},'primary_key':[['id']]},"
                  "{'stream':{'name':'x y','json_schema':{}}},"
                  "{'stream':{'name':'x.y','json_schema':{}}},"
                  "{'stream':{'name':'solo','json_schema':{}},"
                  "'primary_key':[['id']]}]}");
  r.s = &r.cat.streams[0];
  read_ok(&r, "{'id':1}", 1);
  snprintf(a, sizeof(a), "%s", r.rec.id);
  r.s = &r.cat.streams[1];
  read_ok(&r, "{'id':1}", 1);
  snprintf(b, sizeof(b), "%s", r.rec.id);
  ck_assert_str_ne(a, b);
  ck_assert_int_eq(strncmp(a, "users-1-", 8), 0);
  ck_assert_int_eq(strncmp(b, "users-1-", 8), 0);
  r.s = &r.cat.streams[2];
  read_ok(&r, "{'k':1}", 1);
  snprintf(a, sizeof(a), "%s", r.rec.id);
  r.s = &r.cat.streams[3];
  read_ok(&r, "{'k':1}", 1);
  ck_assert_str_ne(r.rec.id, a);
  r.s = &r.cat.streams[4]; /* a name no other stream shares: Python's id */
  read_ok(&r, "{'id':1}", 1);
  ck_assert_str_eq(r.rec.id, "solo-1");
  reader_close(&r);
}
END_TEST

START_TEST(test_id_cap) {
  reader_t r;
  char *key = malloc(1000), *data = malloc(1100), *full = malloc(1100);
  char hex[33], tail[40];
  size_t len;

  ck_assert_ptr_nonnull(key);
  ck_assert_ptr_nonnull(data);
  ck_assert_ptr_nonnull(full);
  reader_open(&r, "{'streams':[{'stream':{'name':'users','json_schema':{}},"
                  "'primary_key':[['id']]}]}");

  /* 512 bytes: kept */
  memset(key, 'x', 512);
  key[512] = '\0';
  snprintf(data, 1100, "{'id':'%s'}", key);
  read_ok(&r, data, 0);
  ck_assert_str_eq(r.rec.id, key);

  /* 600: its head and the hash of the whole */
  memset(key, 'x', 600);
  key[600] = '\0';
  snprintf(data, 1100, "{'id':'%s'}", key);
  read_ok(&r, data, 0);
  hex128(key, 600, hex);
  snprintf(tail, sizeof(tail), "-%s", hex);
  len = strlen(r.rec.id);
  ck_assert_uint_eq(len, AD_AB_ID_MAX);
  ck_assert_str_eq(r.rec.id + len - 33, tail);
  ck_assert_int_eq(strspn(r.rec.id, "x"), AD_AB_ID_MAX - 33);
  /* another long key with the same head: another id */
  snprintf(full, 1100, "%s", r.rec.id);
  key[599] = 'y';
  snprintf(data, 1100, "{'id':'%s'}", key);
  read_ok(&r, data, 0);
  ck_assert_uint_eq(strlen(r.rec.id), AD_AB_ID_MAX);
  ck_assert_str_ne(r.rec.id, full);

  /* documents are capped the same way */
  read_ok(&r, data, 1);
  len = strlen(r.rec.id);
  ck_assert_uint_eq(len, AD_AB_ID_MAX);
  snprintf(full, 1100, "users-%s", key);
  hex128(full, strlen(full), hex);
  ck_assert_str_eq(r.rec.id + len - 32, hex);

  /* never cut inside a UTF-8 sequence */
  for (len = 0; len < 300; len++)
    memcpy(key + 2 * len, "\xc3\xa9", 2);
  key[600] = '\0';
  snprintf(data, 1100, "{'id':'%s'}", key);
  read_ok(&r, data, 0);
  ck_assert_uint_eq(strlen(r.rec.id), AD_AB_ID_MAX - 1);
  ck_assert_int_eq(memcmp(r.rec.id, key, AD_AB_ID_MAX - 34), 0);
  ck_assert_int_eq(r.rec.id[AD_AB_ID_MAX - 34], '-');
  reader_close(&r);
  free(key);
  free(data);
  free(full);
}
END_TEST

/* The decoder is reused across streams of different widths. */
START_TEST(test_decoder_reuse) {
  ad_ab_catalog_t cat;
  ad_ab_decoder_t d;
  ad_record_t rec;
  json_object *a, *b;
  char err[256];

  parse_ok(&cat, "{'streams':["
                 "{'stream':{'name':'narrow','json_schema':{}}},"
                 "{'stream':{'name':'wide','json_schema':{'properties':{"
                 "'a':{'type':'integer'},'b':{'type':'integer'},"
                 "'c':{'type':'integer'},'d':{'type':'integer'}}}}}]}");
  ad_ab_decoder_init(&d);
  a = json_tokener_parse("{\"x\":1}");
  b = json_tokener_parse("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}");
  ck_assert_int_eq(ad_ab_record_read(&d, &cat.streams[0], a, 0, 0, &rec, err,
                                     sizeof(err)),
                   0);
  ck_assert_int_eq(ad_ab_record_read(&d, &cat.streams[1], b, 0, 0, &rec, err,
                                     sizeof(err)),
                   0);
  ck_assert_int_eq(rec.values[3].u.i, 4);
  check_null(&rec.values[4]);
  ck_assert_int_eq(ad_ab_record_read(&d, &cat.streams[0], a, 0, 1, &rec, err,
                                     sizeof(err)),
                   0);
  ck_assert_int_eq(strncmp(rec.id, "narrow-", 7), 0);
  json_object_put(a);
  json_object_put(b);
  ad_ab_decoder_free(&d);
  ad_ab_catalog_free(&cat);
}
END_TEST

/* ---- messages (message.h) ---------------------------------------------- */

static int msg_read(const char *line, ad_ab_msg_t *m, json_object **obj,
                    char *err, size_t errlen) {
  *obj = json_tokener_parse(line);
  ck_assert_ptr_nonnull(*obj);
  return ad_ab_msg_read(*obj, m, err, errlen);
}

START_TEST(test_messages_read) {
  ad_ab_msg_t m;
  json_object *o;
  char err[256];

  ck_assert_int_eq(msg_read("{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\","
                            "\"namespace\":\"\",\"emitted_at\":12,"
                            "\"data\":{\"a\":1}}}", &m, &o, err, sizeof(err)),
                   0);
  ck_assert_int_eq(m.type, AD_AB_MSG_RECORD);
  ck_assert_str_eq(m.stream, "s");
  ck_assert_ptr_null(m.ns); /* "" is none */
  ck_assert_int_eq(m.emitted_at, 12);
  json_object_put(o);
  ck_assert_int_eq(msg_read("{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\","
                            "\"stream\":{\"stream_descriptor\":{\"name\":\"s\","
                            "\"namespace\":\"n\"}}}}", &m, &o, err,
                            sizeof(err)), 0);
  ck_assert_int_eq(m.type, AD_AB_MSG_STATE);
  ck_assert_int_eq(m.state_kind, AD_AB_STATE_STREAM);
  ck_assert_str_eq(m.stream, "s");
  ck_assert_str_eq(m.ns, "n");
  json_object_put(o);
  ck_assert_int_eq(msg_read("{\"type\":\"STATE\",\"state\":{\"data\":{}}}", &m,
                            &o, err, sizeof(err)), 0);
  ck_assert_int_eq(m.state_kind, AD_AB_STATE_LEGACY);
  json_object_put(o);
  ck_assert_int_eq(msg_read("{\"type\":\"TRACE\",\"trace\":{}}", &m, &o, err,
                            sizeof(err)), 0);
  ck_assert_int_eq(m.type, AD_AB_MSG_OTHER);
  json_object_put(o);
}
END_TEST

START_TEST(test_messages_refused) {
  static const struct {
    const char *line, *why;
  } bad[] = {
      {"[1]", "not a JSON object"},
      {"{\"record\":{}}", "without a \"type\""},
      {"{\"type\":\"RECORD\"}", "without its \"record\""},
      {"{\"type\":\"RECORD\",\"record\":{\"data\":{}}}", "without a stream"},
      {"{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\",\"data\":[1]}}",
       "object of data"},
      {"{\"type\":\"STATE\"}", "without its \"state\""},
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"SIDEWAYS\"}}", "SIDEWAYS"},
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\"}}",
       "stream_descriptor"},
  };
  ad_ab_msg_t m;
  json_object *o;
  char err[256];
  size_t i;
  for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    err[0] = '\0';
    ck_assert_int_eq(msg_read(bad[i].line, &m, &o, err, sizeof(err)),
                     AD_EPARSE);
    ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: %s", bad[i].line,
                  err);
    json_object_put(o);
  }
}
END_TEST

/* The echo is the state as it came, plus destinationStats, on one line;
 * the parsed state is left as it was. */
START_TEST(test_state_echo) {
  json_object *o = json_tokener_parse(
      "{\"type\":\"GLOBAL\",\"global\":{\"shared_state\":{\"u\":\"a/b\"}},"
      "\"sourceStats\":{\"recordCount\":3.0}}"), *e, *v;
  ad_buf_t out;
  ad_buf_init(&out, 0);
  ck_assert_int_eq(ad_ab_state_echo(o, 3, &out), 0);
  ck_assert_uint_eq(out.data[out.len - 1], '\n');
  ck_assert_ptr_null(memchr(out.data, '\n', out.len - 1));
  e = json_tokener_parse(out.data);
  ck_assert(json_object_object_get_ex(e, "type", &v));
  ck_assert_str_eq(json_object_get_string(v), "STATE");
  ck_assert(json_object_object_get_ex(e, "state", &v));
  ck_assert(json_object_object_get_ex(v, "sourceStats", NULL));
  ck_assert(json_object_object_get_ex(v, "destinationStats", &v));
  ck_assert(json_object_object_get_ex(v, "recordCount", &v));
  ck_assert(json_object_get_double(v) == 3.0);
  ck_assert_ptr_nonnull(strstr(out.data, "\"a/b\"")); /* as it came */
  ck_assert(!json_object_object_get_ex(o, "destinationStats", NULL));
  json_object_put(e);
  json_object_put(o);
  ad_buf_free(&out);
}
END_TEST

START_TEST(test_outputs) {
  ad_buf_t out;
  json_object *o, *v;
  ad_buf_init(&out, 0);
  ck_assert_int_eq(ad_ab_trace_error(AD_AB_CONFIG_ERROR, "bad \"key\"", NULL,
                                     1.5e12, &out), 0);
  o = json_tokener_parse(out.data);
  ck_assert(json_object_object_get_ex(o, "trace", &v));
  ck_assert(json_object_object_get_ex(v, "error", &v));
  ck_assert(json_object_object_get_ex(v, "failure_type", &v));
  ck_assert_str_eq(json_object_get_string(v), "config_error");
  json_object_put(o);
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_ab_log_line(1, "line\nbreak", &out), 0);
  ck_assert_ptr_null(memchr(out.data, '\n', out.len - 1)); /* escaped */
  ck_assert_ptr_nonnull(strstr(out.data, "\"WARN\""));
  ad_buf_reset(&out);
  ck_assert_int_eq(ad_ab_spec(&out), 0);
  o = json_tokener_parse(out.data);
  ck_assert_ptr_nonnull(o); /* the spec text is JSON */
  json_object_put(o);
  ad_buf_free(&out);
}
END_TEST

static Suite *airbyte_catalog_suite(void) {
  Suite *s = suite_create("airbyte_catalog");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_kinds);
  tcase_add_test(tc, test_no_properties);
  tcase_add_test(tc, test_meta_names_taken);
  tcase_add_loop_test(tc, test_primary_column, 0,
                      (int)(sizeof(primaries) / sizeof(primaries[0])));
  tcase_add_test(tc, test_stream_fields);
  tcase_add_test(tc, test_find);
  tcase_add_test(tc, test_table_ids);
  tcase_add_test(tc, test_hostile_names);
  tcase_add_test(tc, test_pretty_catalog);
  tcase_add_loop_test(tc, test_bad_catalog, 0,
                      (int)(sizeof(bad_catalogs) / sizeof(bad_catalogs[0])));
  tcase_add_test(tc, test_cells_text_and_json);
  tcase_add_test(tc, test_cells_numbers);
  tcase_add_test(tc, test_cells_bool_and_dates);
  tcase_add_test(tc, test_cells_null_and_meta);
  tcase_add_test(tc, test_airbyte_data);
  tcase_add_test(tc, test_data_not_object);
  tcase_add_test(tc, test_ids_rows);
  tcase_add_test(tc, test_ids_documents);
  tcase_add_test(tc, test_ids_documents_unique);
  tcase_add_test(tc, test_ids_missing_key);
  tcase_add_test(tc, test_ids_without_key);
  tcase_add_test(tc, test_id_cap);
  tcase_add_test(tc, test_decoder_reuse);
  tcase_add_test(tc, test_messages_read);
  tcase_add_test(tc, test_messages_refused);
  tcase_add_test(tc, test_state_echo);
  tcase_add_test(tc, test_outputs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(airbyte_catalog_suite()); }
