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

  opts.documents_per_minute = 3;
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
  /* The fourth upsert within the minute is refused. */
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
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(fake_dust_suite()); }
