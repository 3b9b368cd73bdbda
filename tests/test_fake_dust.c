/* The fake Dust must be as strict as the real API: these tests hold it to
 * dust-api.md, talking to it through the engine's HTTP client. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "fake_dust.h"
#include "http.h"
#include "testutil.h"

static uv_loop_t loop;
static ad_http_t http;
static ad_fake_dust_t *fake;
static ad_fake_dust_opts_t opts;

/* An answer and its body parsed. */
typedef struct reply {
  long status;
  char *body;
  json_object *json;
} reply_t;

static void setup(void) {
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  ad_fake_dust_opts_default(&opts);
  fake = NULL;
}

static void teardown(void) {
  ad_http_close(&http, NULL);
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
  ad_fake_dust_stop(fake);
}

static void start(void) {
  fake = ad_fake_dust_start(&opts);
  ck_assert_ptr_nonnull(fake);
}

/* One request; path is relative to the data source unless it starts with
 * "/"; auth NULL sends the right key, "" sends none. */
static reply_t call(const char *method, const char *path, const char *body,
                    const char *auth) {
  char url[4096], hdr[300];
  const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
  ad_test_reply_t got;
  reply_t r = {0};

  if (path[0] == '/')
    snprintf(url, sizeof(url), "%s%s", ad_fake_dust_url(fake), path);
  else
    snprintf(url, sizeof(url),
             "%s/api/v1/w/wFake/spaces/vltFake/data_sources/dsFake/%s",
             ad_fake_dust_url(fake), path);
  if (auth == NULL || *auth) {
    snprintf(hdr, sizeof(hdr), "Authorization: %s",
             auth ? auth : "Bearer sk-fake0123456789");
    headers[1] = hdr;
  }
  got = ad_test_http(&loop, &http, method, url, headers, body);
  ck_assert_int_eq(got.error, 0);
  r.status = got.status;
  r.body = got.body;
  r.json = json_tokener_parse(r.body);
  return r;
}

static void done(reply_t r) {
  free(r.body);
  json_object_put(r.json);
}

static void expect(reply_t r, long status, const char *type) {
  json_object *e, *t;
  ck_assert_msg(r.status == status, "HTTP %ld, wanted %ld: %s", r.status,
                status, r.body);
  if (type != NULL) {
    ck_assert(json_object_object_get_ex(r.json, "error", &e));
    ck_assert(json_object_object_get_ex(e, "type", &t));
    ck_assert_str_eq(json_object_get_string(t), type);
    ck_assert(json_object_object_get_ex(e, "message", NULL));
  }
  done(r);
}

static const char table_ok[] =
    "{\"name\":\"bugs\",\"title\":\"Bugs\",\"description\":\"\","
    "\"table_id\":\"airtable_appX_tblY\"}";

START_TEST(test_auth_and_ids) {
  start();
  expect(call("GET", "tables", NULL, ""), 401,
         "missing_authorization_header_error");
  expect(call("GET", "tables", NULL, "Bearer patABC"), 401,
         "malformed_authorization_header_error");
  expect(call("GET", "tables", NULL, "Bearer sk-wrong"), 401,
         "invalid_api_key_error");
  expect(call("GET", "/api/v1/w/wNope/spaces/vltFake/data_sources/dsFake/tables",
              NULL, NULL), 404, "workspace_not_found");
  expect(call("GET", "/api/v1/w/wFake/spaces/vltNope/data_sources/dsFake/tables",
              NULL, NULL), 404, "space_not_found");
  expect(call("GET", "/api/v1/w/wFake/spaces/vltFake/data_sources/dsNope/tables",
              NULL, NULL), 404, "data_source_not_found");
  expect(call("GET", "/api/v1/w/wFake/spaces/vltFake/data-sources/dsFake/tables",
              NULL, NULL), 404, "not_found");
  expect(call("GET", "tables", NULL, NULL), 200, NULL);
}
END_TEST

START_TEST(test_table_rules) {
  reply_t r;
  json_object *t;

  start();
  expect(call("POST", "tables", "{\"name\":\"a\",\"description\":\"\"}", NULL),
         400, "invalid_request_error"); /* no title */
  expect(call("POST", "tables", "{\"name\":\"a\",\"title\":\"A\","
              "\"description\":\"\",\"mime_type\":\"text/csv\"}", NULL),
         400, "invalid_request_error");
  expect(call("POST", "tables", "{\"name\":\"a\",\"title\":\"A\","
              "\"description\":\"\",\"parents\":[\"x\"]}", NULL),
         400, "invalid_request_error");
  expect(call("POST", "tables", "{\"name\":", NULL), 400,
         "invalid_request_error");
  r = call("POST", "tables", table_ok, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert(json_object_object_get_ex(r.json, "table", &t));
  ck_assert_str_eq(json_object_get_string(json_object_object_get(t, "table_id")),
                   "airtable_appX_tblY");
  done(r);
  expect(call("POST", "tables", table_ok, NULL), 200, NULL); /* idempotent */
  /* The same name under another table id: Dust answers 500. */
  expect(call("POST", "tables", "{\"name\":\"bugs\",\"title\":\"B\","
              "\"description\":\"\",\"table_id\":\"other\"}", NULL),
         500, "internal_server_error");
  expect(call("GET", "tables/airtable_appX_tblY", NULL, NULL), 200, NULL);
  expect(call("GET", "tables/nope", NULL, NULL), 404, "table_not_found");
  r = call("GET", "tables", NULL, NULL);
  ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json,
                                                                   "tables")), 1);
  done(r);
}
END_TEST

static const char *rows_path = "tables/airtable_appX_tblY/rows";

START_TEST(test_row_rules) {
  ad_fake_dust_counters_t c;
  char *big, *wide;
  size_t i, n;

  start();
  expect(call("POST", "tables/none/rows", "{\"rows\":[]}", NULL), 500,
         "internal_server_error"); /* unknown table */
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r1\",\"value\":"
              "{\"Name\":\"x\"}}]}", NULL), 400, "invalid_request_error");
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":1,\"value\":{}}]}",
              NULL), 400, "invalid_request_error");
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r1\",\"value\":"
              "{\"a\":[1]}}]}", NULL), 400, "invalid_request_error");
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r1\",\"value\":"
              "{\"a\":{\"type\":\"datetime\",\"epoch\":1.5}}}]}", NULL), 500,
         "internal_server_error");
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r1\",\"value\":"
              "{\"a\":{\"type\":\"datetime\",\"epoch\":1662336000000},"
              "\"b\":1,\"c\":true,\"d\":null,\"e\":\"t\"}}]}", NULL), 200, NULL);
  /* 513 columns: core refuses, the front says 500. */
  wide = malloc(20000);
  n = (size_t)sprintf(wide, "{\"rows\":[{\"row_id\":\"w\",\"value\":{");
  for (i = 0; i < 513; i++)
    n += (size_t)sprintf(wide + n, "%s\"c%zu\":1", i ? "," : "", i);
  sprintf(wide + n, "}}]}");
  expect(call("POST", rows_path, wide, NULL), 500, "internal_server_error");
  free(wide);
  /* Over 1 MB: 413 with a plain-text body, as Next's parser answers. */
  big = malloc(1100000);
  n = (size_t)sprintf(big, "{\"rows\":[{\"row_id\":\"r\",\"value\":{\"a\":\"");
  memset(big + n, 'x', 1050000);
  strcpy(big + n + 1050000, "\"}}]}");
  {
    reply_t r = call("POST", rows_path, big, NULL);
    ck_assert_int_eq(r.status, 413);
    ck_assert_str_eq(r.body, "Body exceeded 1mb limit");
    done(r);
  }
  free(big);
  ad_fake_dust_counters(fake, &c);
  ck_assert_int_eq(c.validation_failures, 4);
  ck_assert_int_eq(c.rows_stored, 1);
  ck_assert_int_ge(c.largest_request, 1050000);
}
END_TEST

static const char *schema_type(const char *col) {
  static char out[32];
  reply_t r = call("GET", "tables/airtable_appX_tblY", NULL, NULL);
  json_object *schema = json_object_object_get(
      json_object_object_get(r.json, "table"), "schema");
  size_t i;
  out[0] = '\0';
  for (i = 0; schema && i < json_object_array_length(schema); i++) {
    json_object *c = json_object_array_get_idx(schema, i);
    if (!strcmp(json_object_get_string(json_object_object_get(c, "name")), col))
      snprintf(out, sizeof(out), "%s",
               json_object_get_string(json_object_object_get(c, "value_type")));
  }
  done(r);
  return out;
}

START_TEST(test_type_inference_and_duplicates) {
  ad_fake_dust_counters_t c;
  reply_t r;

  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r1\",\"value\":"
              "{\"n\":1,\"m\":1,\"d\":{\"type\":\"datetime\",\"epoch\":0}}},"
              "{\"row_id\":\"r2\",\"value\":{\"n\":2.5,\"m\":null}}]}", NULL),
         200, NULL);
  ck_assert_str_eq(schema_type("n"), "float"); /* int + float */
  ck_assert_str_eq(schema_type("m"), "int");   /* nulls are skipped */
  ck_assert_str_eq(schema_type("d"), "datetime");
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r1\",\"value\":"
              "{\"n\":1,\"m\":\"x\"}}]}", NULL), 200, NULL);
  ck_assert_str_eq(schema_type("m"), "text"); /* int + text: a conflict */
  ad_fake_dust_counters(fake, &c);
  ck_assert_int_eq(c.type_conflicts, 1);
  ck_assert_int_eq(c.rows_received, 3);
  ck_assert_int_eq(c.rows_stored, 2);
  ck_assert_int_eq(c.duplicate_rows, 1);
  r = call("GET", "tables/airtable_appX_tblY/rows?limit=1&offset=1", NULL, NULL);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "total")), 2);
  ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "rows")), 1);
  done(r);
  /* truncate replaces the rows and the schema. */
  expect(call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r9\",\"value\":"
              "{\"z\":true}}],\"truncate\":true}", NULL), 200, NULL);
  ck_assert_str_eq(schema_type("n"), "");
  ck_assert_str_eq(schema_type("z"), "bool");
  ad_fake_dust_reject_table(fake, "airtable_appX_tblY");
  expect(call("POST", rows_path, "{\"rows\":[]}", NULL), 400,
         "invalid_request_error");
}
END_TEST

START_TEST(test_documents) {
  char title[600], body[800];
  json_object *dump, *docs;
  reply_t r;
  int i;

  /* Dust's limiter counts an upsert before its body is checked: the four
   * refused below take four of the seven places of the minute. */
  opts.documents_per_minute = 7;
  start();
  expect(call("POST", "documents/airtable__rec1", "{\"title\":\"t\"}", NULL),
         400, "invalid_request_error"); /* no text or section */
  memset(title, 'x', 513);
  title[513] = '\0';
  snprintf(body, sizeof(body), "{\"title\":\"%s\",\"text\":\"a\"}", title);
  expect(call("POST", "documents/airtable__rec1", body, NULL), 400,
         "invalid_request_error");
  expect(call("POST", "documents/airtable__rec1", "{\"text\":\"a\","
              "\"source_url\":\"not a url\"}", NULL), 400,
         "invalid_request_error");
  expect(call("POST", "documents/airtable__rec1", "{\"text\":\"a\","
              "\"tags\":[1]}", NULL), 400, "invalid_request_error");
  for (i = 0; i < 3; i++)
    expect(call("POST", "documents/airtable__rec1",
                "{\"title\":\"Bugs: Crash 🐛\",\"text\":\"Bugs\\nName: Crash\","
                "\"source_url\":\"https://airtable.com/appX/tblY/recZ\","
                "\"timestamp\":1663016628000,\"tags\":[\"a:b\"],"
                "\"light_document_output\":true}", NULL), 200, NULL);
  /* The eighth upsert within the minute is refused. */
  expect(call("POST", "documents/airtable__rec2", "{\"text\":\"b\"}", NULL), 429,
         "rate_limit_error");
  r = call("GET", "documents", NULL, NULL);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "total")), 1);
  done(r);
  dump = ad_fake_dust_dump(fake);
  docs = json_object_object_get(dump, "documents");
  ck_assert(json_object_object_get_ex(docs, "airtable__rec1", NULL));
  json_object_put(dump);
}
END_TEST

START_TEST(test_faults) {
  ad_fake_dust_counters_t c;
  int i, n429 = 0, least;
  uint64_t t0;
  reply_t r;

  opts.max_rps = 2;
  start();
  t0 = uv_hrtime();
  for (i = 0; i < 5; i++) {
    r = call("GET", "tables", NULL, NULL);
    n429 += r.status == 429;
    done(r);
  }
  /* At most 2 of them in any second were answered; a loaded machine may
   * spread the 5 calls over more than one second, which admits 2 more
   * for each second they took. */
  least = 5 - 2 * (1 + (int)((uv_hrtime() - t0) / 1000000000ull));
  ck_assert_int_ge(n429, least > 0 ? least : 0);
  ck_assert_int_le(n429, 3);
  ad_fake_dust_counters(fake, &c);
  ck_assert_int_eq(c.sent_429, n429);
  ck_assert_int_ge(c.max_concurrent, 1);
}
END_TEST

/* A 200 that is not JSON, and a 500 on rows: neither stores anything. */
START_TEST(test_non_json_and_rows_500) {
  ad_fake_dust_counters_t c;
  json_object *dump;
  reply_t r;

  opts.non_json = 1.0;
  start();
  r = call("POST", "tables", table_ok, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_null(r.json);
  ck_assert_ptr_nonnull(strstr(r.body, "<html>"));
  done(r);
  ad_fake_dust_stop(fake);
  ad_fake_dust_opts_default(&opts);
  opts.rows_500 = 1.0;
  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  expect(call("POST", "tables/airtable_appX_tblY/rows",
              "{\"rows\":[{\"row_id\":\"r1\",\"value\":{\"a\":1}}]}",
              NULL),
         500, "internal_server_error");
  dump = ad_fake_dust_dump(fake);
  ck_assert_str_eq(json_object_to_json_string_ext(
                       json_object_object_get(json_object_array_get_idx(
                           json_object_object_get(dump, "tables"), 0),
                                              "rows"),
                       JSON_C_TO_STRING_PLAIN),
                   "{}");
  json_object_put(dump);
  ad_fake_dust_counters(fake, &c);
  ck_assert_int_eq(c.sent_rows_500, 1);
}
END_TEST

/* slow answers come slow_ms late. */
START_TEST(test_slow) {
  ad_fake_dust_counters_t c;
  uint64_t t0;

  opts.slow = 1.0;
  opts.slow_ms = 300;
  start();
  t0 = uv_hrtime();
  expect(call("GET", "tables", NULL, NULL), 200, NULL);
  ck_assert_uint_ge(uv_hrtime() - t0, 300 * 1000000ull);
  ad_fake_dust_counters(fake, &c);
  ck_assert_int_eq(c.slow_answers, 1);
}
END_TEST

/* ---- deletes, listings, another writer ---------------------------------- */

static json_object *member(json_object *o, const char *key) {
  json_object *v = NULL;
  ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
                json_object_to_json_string(o));
  return v;
}

static long counter(const char *name) {
  json_object *c = ad_fake_dust_counters_json(fake);
  long v = (long)json_object_get_int64(member(c, name));
  json_object_put(c);
  return v;
}

/* POSTs one row {"row_id": id, "value": value} to the test table. */
static void put(const char *id, const char *value) {
  char body[512];
  snprintf(body, sizeof(body), "{\"rows\":[{\"row_id\":\"%s\",\"value\":%s}]}",
           id, value);
  expect(call("POST", rows_path, body, NULL), 200, NULL);
}

/* The test table's schema as a string: "a:int,b:text"; "-" when null. */
static const char *schema_of(void) {
  static char out[256];
  reply_t r = call("GET", "tables/airtable_appX_tblY", NULL, NULL);
  json_object *schema = member(member(r.json, "table"), "schema");
  size_t i, n = 0;
  ck_assert_int_eq(r.status, 200);
  out[0] = '\0';
  if (schema == NULL)
    snprintf(out, sizeof(out), "-");
  for (i = 0; schema && i < json_object_array_length(schema); i++) {
    json_object *c = json_object_array_get_idx(schema, i);
    n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s:%s", i ? "," : "",
                          json_object_get_string(member(c, "name")),
                          json_object_get_string(member(c, "value_type")));
  }
  done(r);
  return out;
}

START_TEST(test_delete_table) {
  json_object *dump;
  reply_t r;

  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  put("r1", "{\"a\":1}");
  /* 200 with an empty body, as Next's res.end() answers. */
  r = call("DELETE", "tables/airtable_appX_tblY", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "");
  done(r);
  expect(call("GET", "tables/airtable_appX_tblY", NULL, NULL), 404,
         "table_not_found");
  r = call("GET", "tables", NULL, NULL);
  ck_assert_int_eq(json_object_array_length(member(r.json, "tables")), 0);
  done(r);
  /* Its rows went with it: a rows write is core's 404, a 500 here. */
  expect(call("POST", rows_path, "{\"rows\":[]}", NULL), 500,
         "internal_server_error");
  /* Core answers success for a table it does not have. */
  r = call("DELETE", "tables/airtable_appX_tblY", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "");
  done(r);
  /* The name is free again, and the new table starts empty. */
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  r = call("GET", "tables/airtable_appX_tblY/rows", NULL, NULL);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 0);
  done(r);
  /* DELETE on the list is no route of Dust's. */
  expect(call("DELETE", "tables", NULL, NULL), 405,
         "method_not_supported_error");
  expect(call("PUT", "tables/airtable_appX_tblY", "{}", NULL), 405,
         "method_not_supported_error");
  ck_assert_int_eq(counter("requests_tables_delete"), 3);
  ck_assert_int_eq(counter("tables_deleted"), 1);
  ck_assert_int_eq(counter("delete_not_found"), 1);
  dump = ad_fake_dust_dump(fake);
  ck_assert_int_eq(json_object_array_length(member(dump, "tables")), 1);
  json_object_put(dump);
}
END_TEST

START_TEST(test_delete_row) {
  reply_t r;

  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  put("r1", "{\"a\":1,\"b\":\"x\"}");
  put("r2", "{\"a\":2}");
  r = call("DELETE", "tables/airtable_appX_tblY/rows/r1", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(json_object_to_json_string_ext(r.json, JSON_C_TO_STRING_PLAIN),
                   "{\"success\":true}");
  done(r);
  r = call("GET", "tables/airtable_appX_tblY/rows", NULL, NULL);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 1);
  ck_assert_str_eq(json_object_get_string(member(
                       json_object_array_get_idx(member(r.json, "rows"), 0),
                       "row_id")),
                   "r2");
  done(r);
  /* b was r1's alone: gone from the schema on the next read. */
  ck_assert_str_eq(schema_of(), "a:int");
  /* A row core does not have: DELETE ... WHERE matches nothing, success. */
  r = call("DELETE", "tables/airtable_appX_tblY/rows/r1", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert(json_object_get_boolean(member(r.json, "success")));
  done(r);
  expect(call("DELETE", "tables/nope/rows/r1", NULL, NULL), 404,
         "table_not_found");
  expect(call("DELETE", rows_path, NULL, NULL), 405,
         "method_not_supported_error");
  /* The last row goes: no column left. */
  expect(call("DELETE", "tables/airtable_appX_tblY/rows/r2", NULL, NULL), 200,
         NULL);
  ck_assert_str_eq(schema_of(), "-");
  ck_assert_int_eq(counter("requests_rows_delete"), 5);
  ck_assert_int_eq(counter("rows_deleted"), 2);
  ck_assert_int_eq(counter("delete_not_found"), 1);
}
END_TEST

/* Core recomputes a stale schema from every stored row: a rewritten row
 * can narrow a column back or leave it without any row. */
START_TEST(test_schema_recomputed) {
  json_object *dump, *schema;

  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  put("r1", "{\"n\":1,\"f\":1.5}");
  put("r2", "{\"n\":\"x\"}");
  ck_assert_str_eq(schema_of(), "n:text,f:float");
  ck_assert_int_eq(counter("type_conflicts"), 1);
  put("r2", "{\"n\":2}"); /* the only text is gone: n narrows back */
  ck_assert_str_eq(schema_of(), "n:int,f:float");
  put("r1", "{\"n\":1}"); /* f's only row no longer holds it */
  ck_assert_str_eq(schema_of(), "n:int");
  put("r3", "{\"n\":2.5,\"g\":null}"); /* nulls make no column */
  ck_assert_str_eq(schema_of(), "n:float");
  expect(call("DELETE", "tables/airtable_appX_tblY/rows/r3", NULL, NULL), 200,
         NULL);
  ck_assert_str_eq(schema_of(), "n:int");
  /* The dump and the list report the same schema. */
  dump = ad_fake_dust_dump(fake);
  schema = member(json_object_array_get_idx(member(dump, "tables"), 0), "schema");
  ck_assert_int_eq(json_object_array_length(schema), 1);
  ck_assert_str_eq(json_object_get_string(member(
                       json_object_array_get_idx(schema, 0), "value_type")),
                   "int");
  json_object_put(dump);
  ck_assert_int_eq(counter("type_conflicts"), 1);
}
END_TEST

/* discard_values keeps ids: deletes and listings work, the schema is the
 * merged one (no values to recompute from) and empties with the last row. */
START_TEST(test_discard_values_deletes) {
  json_object *dump;
  reply_t r;

  opts.discard_values = 1;
  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  put("r1", "{\"a\":1,\"b\":\"x\"}");
  put("r2", "{\"a\":2}");
  expect(call("DELETE", "tables/airtable_appX_tblY/rows/r1", NULL, NULL), 200,
         NULL);
  ck_assert_str_eq(schema_of(), "a:int,b:text");
  r = call("GET", "tables/airtable_appX_tblY/rows", NULL, NULL);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 1);
  done(r);
  expect(call("DELETE", "tables/airtable_appX_tblY/rows/r2", NULL, NULL), 200,
         NULL);
  ck_assert_str_eq(schema_of(), "-");
  expect(call("POST", "documents/d1", "{\"title\":\"T\",\"text\":\"abc\"}", NULL),
         200, NULL);
  r = call("GET", "documents", NULL, NULL);
  ck_assert_str_eq(json_object_get_string(member(
                       json_object_array_get_idx(member(r.json, "documents"), 0),
                       "title")),
                   "T");
  done(r);
  expect(call("DELETE", "documents/d1", NULL, NULL), 200, NULL);
  dump = ad_fake_dust_dump(fake);
  ck_assert_int_eq(json_object_object_length(member(dump, "documents")), 0);
  json_object_put(dump);
}
END_TEST

START_TEST(test_rows_listing) {
  char seen[40] = {0};
  long offset, got = 0;
  size_t i;
  reply_t r;

  start();
  expect(call("POST", "tables", table_ok, NULL), 200, NULL);
  {
    char body[4096];
    size_t n = (size_t)sprintf(body, "{\"rows\":[");
    for (i = 0; i < 25; i++)
      n += (size_t)sprintf(body + n, "%s{\"row_id\":\"r%zu\",\"value\":{\"i\":%zu}}",
                           i ? "," : "", i, i);
    sprintf(body + n, "]}");
    expect(call("POST", rows_path, body, NULL), 200, NULL);
  }
  /* The default page is 10 rows. */
  r = call("GET", "tables/airtable_appX_tblY/rows", NULL, NULL);
  ck_assert_int_eq(json_object_array_length(member(r.json, "rows")), 10);
  ck_assert_int_eq(json_object_get_int(member(r.json, "limit")), 10);
  ck_assert_int_eq(json_object_get_int(member(r.json, "offset")), 0);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 25);
  done(r);
  /* Pages of 7 see every row once. */
  for (offset = 0; offset < 25; offset += 7) {
    char path[128];
    json_object *rows;
    snprintf(path, sizeof(path),
             "tables/airtable_appX_tblY/rows?limit=7&offset=%ld", offset);
    r = call("GET", path, NULL, NULL);
    rows = member(r.json, "rows");
    ck_assert_int_eq(json_object_array_length(rows), offset < 21 ? 7 : 4);
    for (i = 0; i < json_object_array_length(rows); i++) {
      int k = atoi(json_object_get_string(member(json_object_array_get_idx(rows, i),
                                                  "row_id")) + 1);
      ck_assert_int_eq(seen[k]++, 0);
      got++;
    }
    done(r);
  }
  ck_assert_int_eq(got, 25);
  /* No maximum: a limit above the total gives them all. */
  r = call("GET", "tables/airtable_appX_tblY/rows?limit=100000", NULL, NULL);
  ck_assert_int_eq(json_object_array_length(member(r.json, "rows")), 25);
  done(r);
  r = call("GET", "tables/airtable_appX_tblY/rows?limit=0", NULL, NULL);
  ck_assert_int_eq(json_object_array_length(member(r.json, "rows")), 0);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 25);
  done(r);
  r = call("GET", "tables/airtable_appX_tblY/rows?offset=30", NULL, NULL);
  ck_assert_int_eq(json_object_array_length(member(r.json, "rows")), 0);
  done(r);
  expect(call("GET", "tables/airtable_appX_tblY/rows?limit=-1", NULL, NULL), 400,
         "invalid_request_error");
  expect(call("GET", "tables/airtable_appX_tblY/rows?offset=abc", NULL, NULL),
         400, "invalid_request_error");
  /* Core's 404 for the table, turned into a 500 by the rows route. */
  expect(call("GET", "tables/nope/rows", NULL, NULL), 500,
         "internal_server_error");
}
END_TEST

/* The ids of a documents listing, in order: "a,b,c". */
static const char *listed_ids(reply_t r) {
  static char out[256];
  json_object *docs = member(r.json, "documents");
  size_t i, n = 0;
  out[0] = '\0';
  for (i = 0; i < json_object_array_length(docs); i++)
    n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "",
                          json_object_get_string(member(
                              json_object_array_get_idx(docs, i), "document_id")));
  return out;
}

static json_object *listed_doc(reply_t r, size_t i) {
  return json_object_array_get_idx(member(r.json, "documents"), i);
}

START_TEST(test_documents_listing) {
  json_object *d, *tags;
  reply_t r;

  start();
  expect(call("POST", "documents/a", "{\"title\":\" Alpha \",\"text\":\"abc\","
              "\"tags\":[\"k:v\"],\"timestamp\":1000,"
              "\"source_url\":\"https://x.test/a\"}", NULL), 200, NULL);
  expect(call("POST", "documents/b", "{\"text\":\"b\",\"timestamp\":3000,"
              "\"tags\":[\"title:From tag\"]}", NULL), 200, NULL);
  expect(call("POST", "documents/c", "{\"section\":{\"prefix\":\"p\","
              "\"content\":\"cc\",\"sections\":[{\"prefix\":null,"
              "\"content\":\"ddd\",\"sections\":[]}]},\"timestamp\":2000.7}",
              NULL), 200, NULL);
  /* Newest timestamp first, {documents, total} and nothing else. */
  r = call("GET", "documents", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "b,c,a");
  ck_assert_int_eq(json_object_object_length(r.json), 2);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 3);
  /* a: trimmed title, a "title:" tag added after its own, no text. */
  d = listed_doc(r, 2);
  ck_assert_str_eq(json_object_get_string(member(d, "title")), "Alpha");
  tags = member(d, "tags");
  ck_assert_int_eq(json_object_array_length(tags), 2);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(tags, 0)), "k:v");
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(tags, 1)),
                   "title:Alpha");
  ck_assert_int_eq(json_object_get_int64(member(d, "timestamp")), 1000);
  ck_assert_int_eq(json_object_get_int(member(d, "text_size")), 3);
  ck_assert_str_eq(json_object_get_string(member(d, "source_url")),
                   "https://x.test/a");
  ck_assert(!json_object_object_get_ex(d, "text", NULL));
  ck_assert_int_eq(json_object_array_length(member(d, "chunks")), 0);
  /* b: the title from its tag, no second title tag. */
  d = listed_doc(r, 0);
  ck_assert_str_eq(json_object_get_string(member(d, "title")), "From tag");
  ck_assert_int_eq(json_object_array_length(member(d, "tags")), 1);
  /* c: no title, no tags array: titled by its id, no tags at all; the
   * timestamp floored, the size that of the whole section. */
  d = listed_doc(r, 1);
  ck_assert_str_eq(json_object_get_string(member(d, "title")), "c");
  ck_assert_int_eq(json_object_array_length(member(d, "tags")), 0);
  ck_assert_int_eq(json_object_get_int64(member(d, "timestamp")), 2000);
  ck_assert_int_eq(json_object_get_int(member(d, "text_size")), 6);
  done(r);
  /* Pages; no maximum limit. */
  r = call("GET", "documents?limit=2", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "b,c");
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 3);
  done(r);
  r = call("GET", "documents?limit=2&offset=2", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "a");
  done(r);
  r = call("GET", "documents?limit=100000", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "b,c,a");
  done(r);
  r = call("GET", "documents?offset=5", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "");
  done(r);
  /* document_ids, repeated: those only; total stays the data source's. */
  r = call("GET", "documents?document_ids=a&document_ids=c&document_ids=zz",
           NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "c,a");
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 3);
  done(r);
  expect(call("GET", "documents?limit=1.5", NULL, NULL), 400,
         "invalid_request_error");
  expect(call("POST", "documents", "{}", NULL), 405,
         "method_not_supported_error");
  ck_assert_int_eq(counter("requests_documents_get"), 7);
}
END_TEST

START_TEST(test_delete_document) {
  json_object *dump;
  reply_t r;
  int i;

  opts.documents_per_minute = 1;
  start();
  expect(call("POST", "documents/d1", "{\"text\":\"a\"}", NULL), 200, NULL);
  r = call("DELETE", "documents/d1", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(json_object_to_json_string_ext(r.json, JSON_C_TO_STRING_PLAIN),
                   "{\"document\":{\"document_id\":\"d1\"}}");
  done(r);
  r = call("GET", "documents", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "");
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 0);
  done(r);
  dump = ad_fake_dust_dump(fake);
  ck_assert_int_eq(json_object_object_length(member(dump, "documents")), 0);
  json_object_put(dump);
  /* Unknown: the same answer. Deletes take nothing from the 1 per minute,
   * which the upsert spent. */
  for (i = 0; i < 3; i++) {
    r = call("DELETE", "documents/never%20there", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_object_get_string(member(member(r.json, "document"),
                                                   "document_id")),
                     "never there");
    done(r);
  }
  expect(call("POST", "documents/d2", "{\"text\":\"b\"}", NULL), 429,
         "rate_limit_error");
  expect(call("DELETE", "documents", NULL, NULL), 405,
         "method_not_supported_error");
  ck_assert_int_eq(counter("requests_documents_delete"), 5);
  ck_assert_int_eq(counter("documents_deleted"), 1);
  ck_assert_int_eq(counter("delete_not_found"), 3);
  ck_assert_int_eq(counter("documents_stored"), 0);
  ck_assert_int_eq(counter("sent_429"), 1);
}
END_TEST

/* What another writer stored is there to list, and to leave alone. */
START_TEST(test_another_writer) {
  json_object *v, *tags;
  reply_t r;

  start();
  ad_fake_dust_add_table(fake, "airtable_appX_tblY", "bugs");
  v = json_tokener_parse("{\"x\":1,\"y\":\"t\"}");
  ck_assert_int_eq(ad_fake_dust_put_row(fake, "airtable_appX_tblY", "theirs", v), 0);
  ck_assert_int_eq(ad_fake_dust_put_row(fake, "nope", "theirs", v), -1);
  json_object_put(v);
  v = json_tokener_parse("{\"Bad\":1}"); /* not a slug: Dust refuses it */
  ck_assert_int_eq(ad_fake_dust_put_row(fake, "airtable_appX_tblY", "r", v), -1);
  json_object_put(v);
  put("ours", "{\"x\":2.5}");
  ck_assert_str_eq(schema_of(), "x:float,y:text");
  r = call("GET", "tables/airtable_appX_tblY/rows", NULL, NULL);
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 2);
  ck_assert_str_eq(json_object_get_string(member(
                       member(json_object_array_get_idx(member(r.json, "rows"), 0),
                              "value"),
                       "y")),
                   "t");
  done(r);
  ad_fake_dust_put_document(fake, "their_doc", "Theirs", "src:other", NULL);
  ad_fake_dust_put_document(fake, "their_doc2", "Theirs 2", NULL);
  r = call("GET", "documents?document_ids=their_doc", NULL, NULL);
  ck_assert_str_eq(listed_ids(r), "their_doc");
  ck_assert_int_eq(json_object_get_int(member(r.json, "total")), 2);
  tags = member(listed_doc(r, 0), "tags");
  ck_assert_int_eq(json_object_array_length(tags), 2);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(tags, 0)),
                   "src:other");
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(tags, 1)),
                   "title:Theirs");
  done(r);
  /* Only our request counted. */
  ck_assert_int_eq(counter("rows_received"), 1);
  ck_assert_int_eq(counter("requests_documents_post"), 0);
  ck_assert_int_eq(counter("documents_received"), 0);
  ck_assert_int_eq(counter("documents_stored"), 2);
}
END_TEST

/* Dust's shapes of a table: full on GET, four members on a rows write. */
START_TEST(test_table_shapes) {
  json_object *t;
  reply_t r;

  start();
  expect(call("POST", "tables", "{\"name\":\"bugs\",\"title\":\"Bugs\","
              "\"description\":\"\",\"table_id\":\"airtable_appX_tblY\","
              "\"tags\":[\"a\"],\"timestamp\":1234.9}", NULL), 200, NULL);
  expect(call("POST", "tables", "{\"name\":\"b\",\"title\":\"B\","
              "\"description\":\"\",\"tags\":[1]}", NULL), 400,
         "invalid_request_error");
  expect(call("POST", "tables", "{\"name\":\"b\",\"title\":\"B\","
              "\"description\":\"\",\"timestamp\":\"now\"}", NULL), 400,
         "invalid_request_error");
  r = call("GET", "tables/airtable_appX_tblY", NULL, NULL);
  t = member(r.json, "table");
  ck_assert_int_eq(json_object_get_int64(member(t, "timestamp")), 1234);
  ck_assert_str_eq(json_object_to_json_string_ext(member(t, "tags"),
                                                  JSON_C_TO_STRING_PLAIN),
                   "[\"a\"]");
  ck_assert_str_eq(json_object_to_json_string_ext(member(t, "parents"),
                                                  JSON_C_TO_STRING_PLAIN),
                   "[\"airtable_appX_tblY\"]");
  ck_assert_ptr_null(member(t, "parent_id"));
  ck_assert_ptr_null(member(t, "schema"));
  ck_assert_str_eq(json_object_get_string(member(t, "mime_type")),
                   "application/vnd.dust.table");
  done(r);
  r = call("POST", rows_path, "{\"rows\":[{\"row_id\":\"r\",\"value\":{\"a\":1}}]}",
           NULL);
  t = member(r.json, "table");
  ck_assert_int_eq(json_object_object_length(t), 4);
  ck_assert_int_eq(json_object_array_length(member(t, "schema")), 1);
  done(r);
}
END_TEST

/* Faults reach DELETEs and listings as any request, and change nothing. */
START_TEST(test_faults_on_deletes) {
  json_object *dump;
  reply_t r;
  int i, n429 = 0, least;
  uint64_t t0;

  opts.fail_5xx = 1.0;
  start();
  ad_fake_dust_add_table(fake, "airtable_appX_tblY", "bugs");
  ad_fake_dust_put_document(fake, "d1", "D", NULL);
  expect(call("DELETE", "tables/airtable_appX_tblY", NULL, NULL), 503,
         "service_unavailable");
  expect(call("DELETE", "documents/d1", NULL, NULL), 503, "service_unavailable");
  expect(call("DELETE", "tables/airtable_appX_tblY/rows/r", NULL, NULL), 503,
         "service_unavailable");
  expect(call("GET", "documents", NULL, NULL), 503, "service_unavailable");
  ck_assert_int_eq(counter("sent_5xx"), 4);
  dump = ad_fake_dust_dump(fake);
  ck_assert_int_eq(json_object_array_length(member(dump, "tables")), 1);
  ck_assert_int_eq(json_object_object_length(member(dump, "documents")), 1);
  json_object_put(dump);
  ck_assert_int_eq(counter("tables_deleted") + counter("documents_deleted"), 0);
  ad_fake_dust_stop(fake);

  ad_fake_dust_opts_default(&opts);
  opts.non_json = 1.0;
  start();
  ad_fake_dust_put_document(fake, "d1", "D", NULL);
  r = call("DELETE", "documents/d1", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_null(r.json);
  done(r);
  ck_assert_int_eq(counter("documents_stored"), 1);
  ad_fake_dust_stop(fake);

  ad_fake_dust_opts_default(&opts);
  opts.max_rps = 2;
  start();
  t0 = uv_hrtime();
  for (i = 0; i < 5; i++) {
    r = call("DELETE", "documents/d1", NULL, NULL);
    n429 += r.status == 429;
    done(r);
  }
  /* As test_faults: at most 2 a second answered, 2 more per extra second
   * a loaded machine took. */
  least = 5 - 2 * (1 + (int)((uv_hrtime() - t0) / 1000000000ull));
  ck_assert_int_ge(n429, least > 0 ? least : 0);
  ck_assert_int_le(n429, 3);
  ck_assert_int_eq(counter("sent_429"), n429);
}
END_TEST

static Suite *fake_dust_suite(void) {
  Suite *s = suite_create("fake_dust");
  TCase *tc = tcase_create("api");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_auth_and_ids);
  tcase_add_test(tc, test_table_rules);
  tcase_add_test(tc, test_row_rules);
  tcase_add_test(tc, test_type_inference_and_duplicates);
  tcase_add_test(tc, test_documents);
  tcase_add_test(tc, test_faults);
  tcase_add_test(tc, test_non_json_and_rows_500);
  tcase_add_test(tc, test_slow);
  tcase_add_test(tc, test_delete_table);
  tcase_add_test(tc, test_delete_row);
  tcase_add_test(tc, test_schema_recomputed);
  tcase_add_test(tc, test_discard_values_deletes);
  tcase_add_test(tc, test_rows_listing);
  tcase_add_test(tc, test_documents_listing);
  tcase_add_test(tc, test_delete_document);
  tcase_add_test(tc, test_another_writer);
  tcase_add_test(tc, test_table_shapes);
  tcase_add_test(tc, test_faults_on_deletes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(fake_dust_suite()); }
