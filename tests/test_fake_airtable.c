/* The fake Airtable must be as strict as the real API: these tests hold it
 * to airtable-api.md, talking to it through the engine's HTTP client and
 * parsing its answers with the source's own parsers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api.h"
#include "error.h"
#include "fake_airtable.h"
#include "http.h"
#include "mapping.h"
#include "testutil.h"

static uv_loop_t loop;
static ad_http_t http;
static ad_fake_airtable_t *fake;
static ad_fake_airtable_opts_t opts;

typedef ad_test_reply_t reply_t;

static void setup(void) {
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(ad_http_init(&http, &loop, NULL), 0);
  ad_fake_airtable_opts_default(&opts);
  fake = NULL;
}

static void teardown(void) {
  ad_http_close(&http, NULL);
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
  ad_fake_airtable_stop(fake);
}

static void start(void) {
  fake = ad_fake_airtable_start(&opts);
  ck_assert_ptr_nonnull(fake);
}

/* One request to the fake; path is appended to its URL. */
static reply_t call(const char *method, const char *path, const char *body,
                    const char *token) {
  char url[2048], auth[300];
  const char *headers[] = {auth, "Content-Type: application/json", NULL};

  snprintf(url, sizeof(url), "%s%s", ad_fake_airtable_url(fake), path);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
           token ? token : opts.token);
  return ad_test_http(&loop, &http, method, url, headers, body);
}

static void expect_error(reply_t r, long status, const char *type) {
  char t[64], m[256];
  ck_assert_int_eq(r.error, 0);
  ck_assert_int_eq(r.status, status);
  ad_at_error_parse(r.body, r.len, t, sizeof(t), m, sizeof(m));
  ck_assert_str_eq(t, type);
  free(r.body);
}

static char *records_path(int b, int t, const char *query) {
  static char path[1024];
  snprintf(path, sizeof(path), "/v0/%s/%s%s",
           ad_fake_airtable_base_id(fake, b),
           ad_fake_airtable_table_id(fake, b, t), query);
  return path;
}

START_TEST(test_auth) {
  start();
  expect_error(call("GET", "/v0/meta/bases", NULL, "patWRONG"), 401,
               "AUTHENTICATION_REQUIRED");
  expect_error(call("GET", "/v0/nothing", NULL, NULL), 404, "NOT_FOUND");
  expect_error(call("GET", "/v0/appNOPENOPENOPENO/tblX", NULL, NULL), 403,
               "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
}
END_TEST

START_TEST(test_bases_pagination) {
  ad_at_base_t *bases = NULL;
  size_t n = 0;
  char *offset = NULL, path[256], err[128];
  int pages = 0;
  reply_t r;

  opts.bases = 5;
  opts.bases_page_size = 2;
  start();
  snprintf(path, sizeof(path), "/v0/meta/bases");
  do {
    r = call("GET", path, NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    free(offset);
    ck_assert_int_eq(ad_at_bases_parse(r.body, r.len, &bases, &n, &offset,
                                       err, sizeof(err)), 0);
    free(r.body);
    pages++;
    if (offset != NULL) {
      char *esc = curl_escape(offset, 0);
      snprintf(path, sizeof(path), "/v0/meta/bases?offset=%s", esc);
      curl_free(esc);
    }
  } while (offset != NULL);
  ck_assert_int_eq(pages, 3);
  ck_assert_uint_eq(n, 5);
  ck_assert_str_eq(bases[4].id, ad_fake_airtable_base_id(fake, 4));
  ck_assert_str_ne(bases[0].id, bases[1].id);
  ad_at_bases_free(bases, n);
  expect_error(call("GET", "/v0/meta/bases?offset=123", NULL, NULL), 422,
               "INVALID_OFFSET_VALUE");
}
END_TEST

START_TEST(test_schema_parses) {
  ad_at_schema_t schema;
  char path[256], err[256];
  reply_t r;

  start();
  snprintf(path, sizeof(path), "/v0/meta/bases/%s/tables",
           ad_fake_airtable_base_id(fake, 1));
  r = call("GET", path, NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(ad_at_schema_parse(r.body, r.len, &schema, err,
                                      sizeof(err)), 0);
  free(r.body);
  ck_assert_uint_eq(schema.ntables, 2);
  ck_assert_str_eq(schema.tables[1].name, ad_fake_airtable_table_name(fake, 1, 1));
  ck_assert_ptr_nonnull(schema.tables[0].primary);
  ck_assert_str_eq(schema.tables[0].fields[1].slug, "name_2");
  ck_assert_str_eq(schema.tables[0].fields[2].slug, "name_3");
  ck_assert_ptr_nonnull(schema.tables[0].first_view_id);
  ad_at_schema_free(&schema);
}
END_TEST

/* Reads a whole table page by page; returns the records seen. */
static int read_table(const char *base_path, int post, int *pages) {
  ad_at_page_t page;
  char path[1024], body[512], err[128];
  json_object *seen = json_object_new_object();
  char *offset = NULL;
  int count;
  reply_t r;

  *pages = 0;
  do {
    if (post) {
      snprintf(path, sizeof(path), "%s/listRecords", base_path);
      snprintf(body, sizeof(body),
               "{\"pageSize\":100,\"returnFieldsByFieldId\":true%s%s%s}",
               offset ? ",\"offset\":\"" : "", offset ? offset : "",
               offset ? "\"" : "");
      r = call("POST", path, body, NULL);
    } else {
      char *esc = offset ? curl_escape(offset, 0) : NULL;
      snprintf(path, sizeof(path), "%s?pageSize=100&returnFieldsByFieldId=1%s%s",
               base_path, esc ? "&offset=" : "", esc ? esc : "");
      curl_free(esc);
      r = call("GET", path, NULL, NULL);
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(ad_at_page_parse(r.body, r.len, &page, err, sizeof(err)), 0);
    free(r.body);
    free(offset);
    offset = page.offset ? strdup(page.offset) : NULL;
    for (size_t i = 0; i < json_object_array_length(page.records); i++) {
      json_object *rec = json_object_array_get_idx(page.records, i), *id, *f;
      ck_assert(json_object_object_get_ex(rec, "id", &id));
      ck_assert(!json_object_object_get_ex(seen, json_object_get_string(id), NULL));
      json_object_object_add(seen, json_object_get_string(id), NULL);
      ck_assert(json_object_object_get_ex(rec, "fields", &f));
      json_object_object_foreach(f, key, v) {
        (void)v;
        ck_assert_msg(strncmp(key, "fld", 3) == 0, "key %s is not an id", key);
      }
    }
    ad_at_page_free(&page);
    (*pages)++;
  } while (offset != NULL);
  count = json_object_object_length(seen);
  json_object_put(seen);
  return count;
}

START_TEST(test_records_paging_get_and_post) {
  char base_path[512], *esc;
  int pages;

  opts.per_base_rps = 0;
  opts.per_token_rps = 0;
  start();
  ck_assert_int_eq(read_table(records_path(0, 0, ""), 0, &pages), 250);
  ck_assert_int_eq(pages, 3);
  ck_assert_int_eq(read_table(records_path(0, 1, ""), 1, &pages), 250);
  /* By URL-encoded name (slash, accents, a check mark). */
  esc = curl_escape(ad_fake_airtable_table_name(fake, 1, 1), 0);
  snprintf(base_path, sizeof(base_path), "/v0/%s/%s",
           ad_fake_airtable_base_id(fake, 1), esc);
  curl_free(esc);
  ck_assert_int_eq(read_table(base_path, 0, &pages), 250);
}
END_TEST

START_TEST(test_records_validation) {
  reply_t r;
  opts.per_base_rps = 0; /* seven quick requests to one base */
  start();
  expect_error(call("GET", records_path(0, 0, "?pageSize=0"), NULL, NULL), 422,
               "INVALID_REQUEST_UNKNOWN");
  expect_error(call("GET", records_path(0, 0, "?pageSize=101"), NULL, NULL), 422,
               "INVALID_REQUEST_UNKNOWN");
  expect_error(call("GET", records_path(0, 0, "?offset=12"), NULL, NULL), 422,
               "INVALID_OFFSET_VALUE");
  expect_error(call("GET", records_path(0, 0, "?fields%5B%5D=Nope"), NULL, NULL),
               422, "UNKNOWN_FIELD_NAME");
  expect_error(call("GET", records_path(0, 0, "?view=viwNOPE"), NULL, NULL), 422,
               "VIEW_NAME_NOT_FOUND");
  expect_error(call("POST", records_path(0, 0, "/listRecords"), "{\"pageSize\":",
                    NULL), 400, "INVALID_REQUEST_BODY");
  r = call("GET", records_path(0, 0, "?pageSize=3&fields%5B%5D=Name"), NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_null(strstr(r.body, "\"Notes\""));
  ck_assert_ptr_nonnull(strstr(r.body, "\"Name\""));
  free(r.body);
}
END_TEST

START_TEST(test_rate_limit_and_penalty) {
  ad_fake_airtable_counters_t c;
  int i, ok = 0, limited = 0, attempt;
  uint64_t t0;
  reply_t r;

  opts.penalty_ms = 2500;
  /* The 7 requests must land within one second; on a machine too loaded
   * for that, start over with a fresh fake (its counters included). */
  for (attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0)
      ad_fake_airtable_stop(fake);
    start();
    ok = limited = 0;
    t0 = uv_hrtime();
    for (i = 0; i < 7; i++) {
      r = call("GET", records_path(0, 0, "?pageSize=1"), NULL, NULL);
      ok += r.status == 200;
      limited += r.status == 429;
      free(r.body);
    }
    if (uv_hrtime() - t0 < 800 * 1000000ull)
      break;
  }
  ck_assert_int_eq(ok, 5);
  ck_assert_int_eq(limited, 2);
  /* Another base is not affected... */
  r = call("GET", records_path(1, 0, "?pageSize=1"), NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  free(r.body);
  /* ...while this one stays refused for the whole penalty (wide margins:
   * this runs on shared machines). */
  usleep(1100 * 1000);
  expect_error(call("GET", records_path(0, 0, "?pageSize=1"), NULL, NULL), 429,
               "RATE_LIMIT_REACHED");
  usleep(1600 * 1000);
  r = call("GET", records_path(0, 0, "?pageSize=1"), NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  free(r.body);
  ad_fake_airtable_counters(fake, &c);
  ck_assert_int_eq(c.sent_429, 3);
  ck_assert_int_eq(c.refused_in_penalty, 2);
  ck_assert_int_eq(c.max_per_base_window, 7);
}
END_TEST

START_TEST(test_offset_expiry) {
  ad_at_page_t page;
  char path[1024], err[128], *esc;
  reply_t r;

  opts.offset_ttl_ms = 100;
  start();
  r = call("GET", records_path(0, 0, "?pageSize=100"), NULL, NULL);
  ck_assert_int_eq(ad_at_page_parse(r.body, r.len, &page, err, sizeof(err)), 0);
  free(r.body);
  esc = curl_escape(page.offset, 0);
  snprintf(path, sizeof(path), "%s", records_path(0, 0, "?offset="));
  strncat(path, esc, sizeof(path) - strlen(path) - 1);
  curl_free(esc);
  ad_at_page_free(&page);
  usleep(250 * 1000);
  expect_error(call("GET", path, NULL, NULL), 422,
               "LIST_RECORDS_ITERATOR_NOT_AVAILABLE");
}
END_TEST

START_TEST(test_faults) {
  ad_at_page_t page;
  char err[128];
  reply_t r;

  opts.fail_5xx = 1.0;
  start();
  expect_error(call("GET", records_path(0, 0, ""), NULL, NULL), 503,
               "RETRIABLE_ERROR");
  ad_fake_airtable_stop(fake);
  ad_fake_airtable_opts_default(&opts);
  opts.drop = 1.0;
  start();
  r = call("GET", records_path(0, 0, ""), NULL, NULL);
  ck_assert_int_eq(r.error, AD_ECONNRESET);
  free(r.body);
  ad_fake_airtable_stop(fake);
  ad_fake_airtable_opts_default(&opts);
  opts.truncate = 1.0;
  start();
  r = call("GET", records_path(0, 0, ""), NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(ad_at_page_parse(r.body, r.len, &page, err, sizeof(err)),
                   AD_EPARSE);
  free(r.body);
}
END_TEST

/* A 503 may say when to come back; a request to that base before then is
 * counted as early. */
START_TEST(test_retry_after) {
  ad_fake_airtable_counters_t c;
  reply_t r;

  opts.fail_5xx = 1.0;
  opts.retry_after_s = 2;
  start();
  r = call("GET", records_path(0, 0, ""), NULL, NULL);
  ck_assert_int_eq(r.status, 503);
  ck_assert_int_eq(r.retry_after_s, 2);
  free(r.body);
  expect_error(call("GET", records_path(0, 0, ""), NULL, NULL), 503,
               "RETRIABLE_ERROR");
  ad_fake_airtable_counters(fake, &c);
  ck_assert_int_eq(c.early_retries, 1);
}
END_TEST

/* The spent monthly quota refuses every call with its own 429 type. */
START_TEST(test_billing_exhausted) {
  opts.billing_exhausted = 1;
  start();
  expect_error(call("GET", "/v0/meta/bases", NULL, NULL), 429,
               "PUBLIC_API_BILLING_LIMIT_EXCEEDED");
  expect_error(call("GET", records_path(1, 0, ""), NULL, NULL), 429,
               "PUBLIC_API_BILLING_LIMIT_EXCEEDED");
}
END_TEST

/* Another client spent the token's budget: every base is refused for the
 * penalty; a base that was told on a connection and comes back on it
 * early is counted, past the one request that may have been in flight. */
START_TEST(test_token_blocked) {
  ad_fake_airtable_counters_t c;
  reply_t r;

  opts.penalty_ms = 1500;
  start();
  ad_fake_airtable_block_token(fake);
  expect_error(call("GET", records_path(0, 0, ""), NULL, NULL), 429,
               "RATE_LIMIT_REACHED");
  expect_error(call("GET", records_path(1, 0, ""), NULL, NULL), 429,
               "RATE_LIMIT_REACHED");
  usleep(100 * 1000);
  expect_error(call("GET", records_path(1, 0, ""), NULL, NULL), 429,
               "RATE_LIMIT_REACHED");
  usleep(1600 * 1000);
  r = call("GET", records_path(0, 0, ""), NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  free(r.body);
  ad_fake_airtable_counters(fake, &c);
  ck_assert_int_eq(c.refused_in_penalty, 3);
  ck_assert_int_eq(c.ignored_penalty, 1); /* base 1's second request */
}
END_TEST

START_TEST(test_deterministic_dataset) {
  reply_t a, b;
  char first[64];

  opts.seed = 42;
  start();
  a = call("GET", records_path(0, 0, "?pageSize=5"), NULL, NULL);
  snprintf(first, sizeof(first), "%s", ad_fake_airtable_base_id(fake, 0));
  ad_fake_airtable_stop(fake);
  start();
  ck_assert_str_eq(first, ad_fake_airtable_base_id(fake, 0));
  b = call("GET", records_path(0, 0, "?pageSize=5"), NULL, NULL);
  ck_assert_str_eq(a.body, b.body);
  free(a.body);
  free(b.body);
  ad_fake_airtable_stop(fake);
  opts.seed = 43;
  start();
  ck_assert_str_ne(first, ad_fake_airtable_base_id(fake, 0));
}
END_TEST

static Suite *fake_suite(void) {
  Suite *s = suite_create("fake_airtable");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_auth);
  tcase_add_test(tc, test_bases_pagination);
  tcase_add_test(tc, test_schema_parses);
  tcase_add_test(tc, test_records_paging_get_and_post);
  tcase_add_test(tc, test_records_validation);
  tcase_add_test(tc, test_rate_limit_and_penalty);
  tcase_add_test(tc, test_offset_expiry);
  tcase_add_test(tc, test_faults);
  tcase_add_test(tc, test_retry_after);
  tcase_add_test(tc, test_billing_exhausted);
  tcase_add_test(tc, test_token_blocked);
  tcase_add_test(tc, test_deterministic_dataset);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(fake_suite()); }
