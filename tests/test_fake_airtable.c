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
#include "fake_server.h"
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
  ck_assert_str_eq(schema.tables[0].fields[1].name, "name ");
  ck_assert_int_eq(schema.tables[0].fields[2].kind, AD_KIND_FLOAT);
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

/* ---- many requests in flight ------------------------------------------
 * Sent at once through the engine's client; each answer's status and the
 * order the answers came in are kept, and when each request went on the
 * wire (on_wire: after its bytes reached the kernel). */

#define FLIGHT_MAX 160

typedef struct flight flight_t;

typedef struct slot {
  flight_t *f;
  long status;      /* -error for a transport failure */
  uint64_t wire_ms; /* ad_fake_now_ms when written */
} slot_t;

struct flight {
  slot_t slot[FLIGHT_MAX];
  int order[FLIGHT_MAX]; /* slot indexes, in the order answered */
  int sent, done, target, reached;
};

static void flight_wired(void *data) {
  ((slot_t *)data)->wire_ms = ad_fake_now_ms();
}

static void flight_answered(ad_http_req_t *req, const ad_http_response_t *res,
                            void *data) {
  slot_t *sl = data;
  flight_t *f = sl->f;
  (void)req;
  sl->status = res->error != 0 ? -(long)res->error : res->status;
  f->order[f->done++] = (int)(sl - f->slot);
  f->reached = f->done >= f->target;
}

/* Queues GET path as the flight's next request. */
static void flight_send(flight_t *f, const char *path) {
  char url[1024], auth[300];
  const char *headers[] = {auth, NULL};
  ad_http_request_t rq;
  slot_t *sl;

  ck_assert_int_lt(f->sent, FLIGHT_MAX);
  sl = &f->slot[f->sent++];
  sl->f = f;
  snprintf(url, sizeof(url), "%s%s", ad_fake_airtable_url(fake), path);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", opts.token);
  memset(&rq, 0, sizeof(rq));
  rq.method = "GET";
  rq.url = url;
  rq.headers = headers;
  rq.on_wire = flight_wired;
  rq.wire_data = sl;
  ck_assert_int_eq(ad_http_send(&http, &rq, flight_answered, sl, NULL), 0);
}

/* Runs the loop until every request sent so far is answered. */
static void flight_wait(flight_t *f) {
  f->target = f->sent;
  f->reached = f->done >= f->target;
  ck_assert(ad_test_run_until(&loop, &f->reached, 20000));
}

/* Slots [first, first + n): how many got status, and when the first and
 * the last of them went on the wire. */
static int flight_count(const flight_t *f, int first, int n, long status,
                        uint64_t *wire_min, uint64_t *wire_max) {
  int i, count = 0;
  *wire_min = UINT64_MAX;
  *wire_max = 0;
  for (i = first; i < first + n; i++) {
    count += f->slot[i].status == status;
    if (f->slot[i].wire_ms < *wire_min)
      *wire_min = f->slot[i].wire_ms;
    if (f->slot[i].wire_ms > *wire_max)
      *wire_max = f->slot[i].wire_ms;
  }
  return count;
}

/* Opens n connections to the fake (GET /_fake/counters, which no limit
 * counts and no worker serves), so that a burst then goes out at once
 * rather than as fast as connections open. */
static void warm_connections(flight_t *f, int n) {
  int i;
  for (i = 0; i < n; i++)
    flight_send(f, "/_fake/counters");
  flight_wait(f);
}

static void sleep_until_ms(uint64_t due) {
  uint64_t now;
  while ((now = ad_fake_now_ms()) < due)
    usleep((useconds_t)(due - now) * 1000);
}

#define BURST 50

/* Two bursts of BURST requests to as many bases (one each, so that only
 * the token's limit of 50 can be broken), the second one gap_ms after the
 * first began, and at least margin_ms (>= 1 000) after its last request
 * went out: the client keeps the limit at send time. Starts a fresh fake
 * with opts. Returns the 429s, with the counters in c; *planned is 0 when
 * the machine was too loaded to send as planned (the second burst went
 * out over 40 ms, or 60 ms late). */
static int two_bursts(int gap_ms, int margin_ms,
                      ad_fake_airtable_counters_t *c, int *planned) {
  static flight_t f;
  uint64_t w1_min, w1_max, w2_min, w2_max, due;
  int i, limited;

  ad_fake_airtable_stop(fake);
  opts.bases = BURST;
  opts.tables_per_base = 1;
  opts.records_per_table = 1;
  opts.per_token_rps = BURST;
  start();
  memset(&f, 0, sizeof(f));
  warm_connections(&f, BURST);
  for (i = 0; i < BURST; i++)
    flight_send(&f, records_path(i, 0, "?pageSize=1"));
  flight_wait(&f);
  limited = flight_count(&f, BURST, BURST, 429, &w1_min, &w1_max);
  due = w1_min + (uint64_t)gap_ms;
  if (due < w1_max + (uint64_t)margin_ms)
    due = w1_max + (uint64_t)margin_ms;
  sleep_until_ms(due);
  for (i = 0; i < BURST; i++)
    flight_send(&f, records_path(i, 0, "?pageSize=1"));
  flight_wait(&f);
  limited += flight_count(&f, 2 * BURST, BURST, 429, &w2_min, &w2_max);
  ad_fake_airtable_counters(fake, c);
  ck_assert_uint_ge(w2_min, w1_max + (uint64_t)margin_ms);
  ck_assert_int_eq(flight_count(&f, BURST, 2 * BURST, 200, &w1_min,
                                &w1_max) + limited, 2 * BURST);
  *planned = w2_max - w2_min <= 40 && w2_min <= due + 60;
  return limited;
}

/* A busy gateway's one worker stamps a burst late and spread out; the
 * next burst, sent 1.01 s after the first began, is stamped on time and
 * lands in the same second as the first one's tail: 429, although the
 * client never sent 51 requests within a second. A steady worker alone
 * keeps a limit the client kept (each burst is spread the same way), so
 * what breaks it is a first burst served slower, here on connections
 * the worker had not served yet (connect_us, as a TLS handshake). */
START_TEST(test_stamp_worker_bursts) {
  ad_fake_airtable_counters_t c;
  int limited = 0, attempt, planned = 0;

  opts.stamp_mode = AD_FAKE_STAMP_WORKER;
  opts.connect_us = 3200;
  opts.penalty_ms = 1000;
  /* The worker's stamps leave room: a second burst up to ~1.15 s later
   * still lands in the first one's tail; a late one is tried again. */
  for (attempt = 0; attempt < 3 && !planned; attempt++)
    limited = two_bursts(1010, 1000, &c, &planned);
  ck_assert_int_ge(limited, 1);
  ck_assert_int_ge(c.sent_429, limited);
  ck_assert_int_gt(c.max_per_token_window, BURST);
  ck_assert_int_ge(c.tightest_token_span_ms, 0);
  ck_assert_int_lt(c.tightest_token_span_ms, 1000);
  /* The first burst queued for 50 x (6.4 to 7.2) ms; generous slack. */
  ck_assert_int_ge(c.max_stamp_delay_ms, 150);
  ck_assert_int_le(c.max_per_base_window, 2);
}
END_TEST

/* The same traffic judged on kernel arrivals, with the second burst
 * 1.05 s after the first: nothing queues, so nothing is stamped late, and
 * the token's second never holds more than one burst. (At 1.01 s it drew
 * no 429 in 15 runs either, but an arrival can read up to 2 kernel ticks
 * late, 8 ms: docs/architecture.md, "Arrivals and latency".) */
START_TEST(test_stamp_kernel_bursts) {
  ad_fake_airtable_counters_t c;
  json_object *j, *v;
  int limited, planned;

  opts.penalty_ms = 1000;
  /* 30 ms after the first burst's last request, whatever its spread:
   * more than the kernel's ticks can take back. */
  limited = two_bursts(1050, 1030, &c, &planned);
  ck_assert_int_eq(limited, 0);
  ck_assert_int_eq(c.sent_429, 0);
  ck_assert_int_eq(c.max_per_token_window, BURST);
  ck_assert_int_ge(c.tightest_token_span_ms, 1000);
  ck_assert_int_eq(c.max_stamp_delay_ms, 0);
  j = ad_fake_airtable_counters_json(fake);
  ck_assert(json_object_object_get_ex(j, "max_stamp_delay_ms", &v));
  ck_assert_int_eq(json_object_get_int64(v), 0);
  json_object_put(j);
}
END_TEST

/* A client that spaces its requests out (1.03 s / 50, one at a time, each
 * sent that long after the previous one went out) never queues behind
 * itself at the worker: no 429 over 2 s at the token's full rate, and no
 * stamp trails its arrival by as much as the spacing (the slack covers the
 * kernel's 4 ms ticks). */
START_TEST(test_stamp_worker_spaced) {
  static flight_t f;
  ad_fake_airtable_counters_t c;
  const uint64_t spacing_us = 1030000 / BURST; /* 20.6 ms */
  uint64_t next_us = 0, wire_us;
  int i;

  opts.stamp_mode = AD_FAKE_STAMP_WORKER;
  opts.bases = BURST;
  opts.tables_per_base = 1;
  opts.records_per_table = 1;
  start();
  memset(&f, 0, sizeof(f));
  for (i = 0; i < 2 * BURST; i++) {
    if (next_us > 0)
      while (uv_hrtime() / 1000 < next_us)
        usleep((useconds_t)(next_us - uv_hrtime() / 1000));
    flight_send(&f, records_path(i % BURST, 0, "?pageSize=1"));
    flight_wait(&f);
    ck_assert_int_eq(f.slot[i].status, 200);
    wire_us = f.slot[i].wire_ms * 1000;
    next_us = wire_us + spacing_us + 1000; /* wire_ms is rounded down */
  }
  ad_fake_airtable_counters(fake, &c);
  ck_assert_int_eq(c.sent_429, 0);
  ck_assert_int_le(c.max_per_token_window, BURST);
  ck_assert_int_lt(c.max_stamp_delay_ms, 21 + 10);
}
END_TEST

/* latency_jitter_ms holds each answer a different time, so answers to
 * requests sent at once come back in another order, in either stamp mode
 * (20 requests: all in order has odds of about 1 in 20!). */
START_TEST(test_latency_jitter) {
  static flight_t f;
  int mode, try, i, shuffled;

  for (mode = 0; mode < 2; mode++) {
    ad_fake_airtable_opts_default(&opts);
    opts.stamp_mode = mode ? AD_FAKE_STAMP_WORKER : AD_FAKE_STAMP_KERNEL;
    opts.latency_jitter_ms = 40;
    opts.per_token_rps = 0;
    ad_fake_airtable_stop(fake);
    start();
    memset(&f, 0, sizeof(f));
    warm_connections(&f, 20);
    shuffled = 0;
    for (try = 0; try < 5 && !shuffled; try++) {
      int first = f.sent;
      for (i = 0; i < 20; i++)
        flight_send(&f, "/v0/meta/bases");
      flight_wait(&f);
      for (i = 0; i < 20; i++) {
        ck_assert_int_eq(f.slot[f.order[first + i]].status, 200);
        shuffled |= f.order[first + i] != first + i;
      }
    }
    ck_assert_msg(shuffled, "answers in send order (mode %d)", mode);
  }
}
END_TEST

/* The standalone program's new flags: a bad --stamp is refused with exit
 * status 2 before anything starts; the usage text names every flag. */
START_TEST(test_main_stamp_flags) {
  char *bad[] = {"fake-airtable", "--stamp", "gateway", NULL};
  char *help[] = {"fake-airtable", "--stamp", "worker", "--service-us", "100",
                  "--help", NULL};
  char text[4096];
  FILE *out = tmpfile();
  int saved = dup(STDOUT_FILENO);
  size_t len;

  ck_assert_int_eq(ad_fake_airtable_main(3, bad), 2);
  ck_assert_ptr_nonnull(out);
  fflush(stdout);
  dup2(fileno(out), STDOUT_FILENO);
  ck_assert_int_eq(ad_fake_airtable_main(6, help), 0);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  rewind(out);
  len = fread(text, 1, sizeof(text) - 1, out);
  text[len] = '\0';
  fclose(out);
  ck_assert_ptr_nonnull(strstr(text, "--stamp kernel|worker"));
  ck_assert_ptr_nonnull(strstr(text, "--service-us N"));
  ck_assert_ptr_nonnull(strstr(text, "--service-jitter-us N"));
  ck_assert_ptr_nonnull(strstr(text, "--connect-us N"));
  ck_assert_ptr_nonnull(strstr(text, "--latency-jitter-ms N"));
}
END_TEST

/* ---- mutations ----------------------------------------------------------
 * What a base becomes between two syncs, as the API then answers it. */

/* GET path: its answer must be 200 and JSON; the caller puts it. */
static json_object *get_json(const char *path) {
  reply_t r = call("GET", path, NULL, NULL);
  json_object *o;
  ck_assert_msg(r.error == 0 && r.status == 200, "GET %s: %ld %s", path,
                r.status, r.body ? r.body : "");
  o = json_tokener_parse(r.body);
  ck_assert_ptr_nonnull(o);
  free(r.body);
  return o;
}

/* Every record of table (b, t) in listing order, read 100 a page by GET
 * (fields by name, or by id): an array the caller puts. No id twice;
 * *pages gets the page count. */
static json_object *list_records(int b, int t, int by_id, int *pages) {
  json_object *all = json_object_new_array(), *seen = json_object_new_object();
  json_object *page, *recs, *off, *id;
  char path[1024], query[512], *esc = NULL;
  size_t i;

  *pages = 0;
  do {
    snprintf(query, sizeof(query), "?pageSize=100%s%s%s",
             by_id ? "&returnFieldsByFieldId=1" : "", esc ? "&offset=" : "",
             esc ? esc : "");
    curl_free(esc);
    esc = NULL;
    snprintf(path, sizeof(path), "%s", records_path(b, t, query));
    page = get_json(path);
    (*pages)++;
    ck_assert(json_object_object_get_ex(page, "records", &recs));
    ck_assert_uint_le(json_object_array_length(recs), 100);
    for (i = 0; i < json_object_array_length(recs); i++) {
      json_object *rec = json_object_array_get_idx(recs, i);
      ck_assert(json_object_object_get_ex(rec, "id", &id));
      ck_assert_msg(!json_object_object_get_ex(seen, json_object_get_string(id),
                                               NULL),
                    "%s listed twice", json_object_get_string(id));
      json_object_object_add(seen, json_object_get_string(id), NULL);
      json_object_array_add(all, json_object_get(rec));
    }
    if (json_object_object_get_ex(page, "offset", &off))
      esc = curl_escape(json_object_get_string(off), 0);
    json_object_put(page);
  } while (esc != NULL);
  json_object_put(seen);
  return all;
}

static const char *rec_id(json_object *records, size_t i) {
  json_object *id;
  ck_assert(json_object_object_get_ex(json_object_array_get_idx(records, i),
                                      "id", &id));
  return json_object_get_string(id);
}

static json_object *rec_fields(json_object *records, size_t i) {
  json_object *f;
  ck_assert(json_object_object_get_ex(json_object_array_get_idx(records, i),
                                      "fields", &f));
  return f;
}

static const char *json_text(json_object *o) {
  return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* Base b's schema entry for table id tbl (NULL when not listed), from a
 * GET …/tables answer. */
static json_object *schema_table(json_object *schema, const char *tbl) {
  json_object *tables, *id;
  size_t i;
  ck_assert(json_object_object_get_ex(schema, "tables", &tables));
  for (i = 0; i < json_object_array_length(tables); i++) {
    json_object *t = json_object_array_get_idx(tables, i);
    ck_assert(json_object_object_get_ex(t, "id", &id));
    if (strcmp(json_object_get_string(id), tbl) == 0)
      return t;
  }
  return NULL;
}

static json_object *get_schema(int b) {
  char path[256];
  snprintf(path, sizeof(path), "/v0/meta/bases/%s/tables",
           ad_fake_airtable_base_id(fake, b));
  return get_json(path);
}

/* Field f of table tbl in schema: its id, name, type (and options). */
static json_object *schema_field(json_object *schema, const char *tbl, int f) {
  json_object *t = schema_table(schema, tbl), *fields;
  ck_assert_ptr_nonnull(t);
  ck_assert(json_object_object_get_ex(t, "fields", &fields));
  ck_assert_int_lt(f, (int)json_object_array_length(fields));
  return json_object_array_get_idx(fields, (size_t)f);
}

static const char *member(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                               : NULL;
}

static void start_unlimited(void) {
  opts.per_base_rps = 0;
  opts.per_token_rps = 0;
  start();
}

/* A deleted record leaves the listing, even midway through a read, and
 * moves no other one: the offset handed out before still continues
 * where it was. */
START_TEST(test_mut_delete_record) {
  static const int gone[] = {0, 5, 99, 100, 150, 249};
  json_object *page, *recs, *off, *all;
  char path[1024], id[18], *esc;
  int i, pages, seen = 0, slot;
  size_t k;

  start_unlimited();
  page = get_json(records_path(0, 0, "?pageSize=100"));
  ck_assert(json_object_object_get_ex(page, "records", &recs));
  seen += (int)json_object_array_length(recs);
  ck_assert(json_object_object_get_ex(page, "offset", &off));
  esc = curl_escape(json_object_get_string(off), 0);
  json_object_put(page);
  for (i = 0; i < 6; i++)
    ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 0, gone[i]), 0);
  ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 0, 5), -1);
  ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 0, 250), -1);
  ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 0, -1), -1);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 0), 244);
  ck_assert_int_eq(ad_fake_airtable_record_slots(fake, 0, 0), 250);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 1), 250);
  /* The rest of the read: slots 100-249 less the three deleted there. */
  do {
    snprintf(path, sizeof(path), "%s", records_path(0, 0, "?offset="));
    strncat(path, esc, sizeof(path) - strlen(path) - 1);
    curl_free(esc);
    esc = NULL;
    page = get_json(path);
    ck_assert(json_object_object_get_ex(page, "records", &recs));
    if (seen == 100) { /* the second page starts after the deleted slot 100 */
      ad_fake_airtable_record_id(fake, 0, 0, 101, id);
      ck_assert_str_eq(rec_id(recs, 0), id);
      ck_assert_uint_eq(json_object_array_length(recs), 100);
    }
    seen += (int)json_object_array_length(recs);
    if (json_object_object_get_ex(page, "offset", &off))
      esc = curl_escape(json_object_get_string(off), 0);
    json_object_put(page);
  } while (esc != NULL);
  ck_assert_int_eq(seen, 247);
  /* A new read: 244 records over 3 pages, in slot order, none deleted. */
  all = list_records(0, 0, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(all), 244);
  ck_assert_int_eq(pages, 3);
  for (slot = 0, k = 0; slot < 250; slot++) {
    int live = ad_fake_airtable_record_id(fake, 0, 0, slot, id);
    ck_assert_int_ge(live, 0);
    if (live)
      ck_assert_str_eq(rec_id(all, k++), id);
  }
  ck_assert_uint_eq(k, 244);
  ck_assert_int_eq(ad_fake_airtable_record_id(fake, 0, 0, 5, id), 0);
  ck_assert_int_eq(ad_fake_airtable_record_id(fake, 0, 0, 250, id), -1);
  json_object_put(all);
  /* Every record of a table deleted: one empty page, no offset. */
  for (slot = 0; slot < 250; slot++)
    ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 1, slot), 0);
  all = list_records(0, 1, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(all), 0);
  ck_assert_int_eq(pages, 1);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 1), 0);
  json_object_put(all);
}
END_TEST

/* An edited record keeps its id and createdTime; its text shows the
 * revision; no other record changes. */
START_TEST(test_mut_edit_record) {
  json_object *before, *after, *again, *name;
  int pages;
  size_t i;

  start_unlimited();
  before = list_records(0, 0, 0, &pages);
  ck_assert_int_eq(ad_fake_airtable_edit_record(fake, 0, 0, 3), 0);
  ck_assert_int_eq(ad_fake_airtable_edit_record(fake, 0, 0, 180), 0);
  ck_assert_int_eq(ad_fake_airtable_edit_record(fake, 0, 0, 250), -1);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 0), 250);
  after = list_records(0, 0, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(after), 250);
  for (i = 0; i < 250; i++) {
    json_object *a = json_object_array_get_idx(before, i);
    json_object *b = json_object_array_get_idx(after, i);
    ck_assert_str_eq(rec_id(before, i), rec_id(after, i));
    ck_assert_str_eq(member(a, "createdTime"), member(b, "createdTime"));
    if (i == 3 || i == 180)
      ck_assert_str_ne(json_text(rec_fields(before, i)),
                       json_text(rec_fields(after, i)));
    else
      ck_assert_str_eq(json_text(rec_fields(before, i)),
                       json_text(rec_fields(after, i)));
  }
  ck_assert(json_object_object_get_ex(rec_fields(after, 3), "Name", &name));
  ck_assert_ptr_nonnull(strstr(json_object_get_string(name), "(edit 1)"));
  /* Edited again: another revision, other values again. */
  ck_assert_int_eq(ad_fake_airtable_edit_record(fake, 0, 0, 3), 0);
  again = list_records(0, 0, 0, &pages);
  ck_assert_str_eq(rec_id(again, 3), rec_id(before, 3));
  ck_assert(json_object_object_get_ex(rec_fields(again, 3), "Name", &name));
  ck_assert_ptr_nonnull(strstr(json_object_get_string(name), "(edit 2)"));
  ck_assert_str_ne(json_text(rec_fields(after, 3)),
                   json_text(rec_fields(again, 3)));
  /* A deleted record cannot be edited. */
  ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 0, 7), 0);
  ck_assert_int_eq(ad_fake_airtable_edit_record(fake, 0, 0, 7), -1);
  json_object_put(before);
  json_object_put(after);
  json_object_put(again);
}
END_TEST

/* Added records come last with ids never seen in the table; inserted
 * ones still come first; neither moves the others. */
START_TEST(test_mut_add_records) {
  json_object *before, *after, *ids = json_object_new_object();
  int pages;
  size_t i;

  start_unlimited();
  before = list_records(0, 0, 0, &pages);
  for (i = 0; i < 250; i++)
    json_object_object_add(ids, rec_id(before, i), NULL);
  ck_assert_int_eq(ad_fake_airtable_add_records(fake, 0, 0, 30), 0);
  ck_assert_int_eq(ad_fake_airtable_add_records(fake, 0, 0, -1), -1);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 0), 280);
  after = list_records(0, 0, 0, &pages);
  ck_assert_int_eq(pages, 3);
  ck_assert_uint_eq(json_object_array_length(after), 280);
  for (i = 0; i < 250; i++)
    ck_assert_str_eq(rec_id(before, i), rec_id(after, i));
  for (i = 250; i < 280; i++) {
    ck_assert(!json_object_object_get_ex(ids, rec_id(after, i), NULL));
    json_object_object_add(ids, rec_id(after, i), NULL);
  }
  json_object_put(after);
  /* Inserted first (the reader race), then more added: 5 + 280 + 10. */
  ad_fake_airtable_insert_records(fake, 0, 0, 5);
  ck_assert_int_eq(ad_fake_airtable_add_records(fake, 0, 0, 10), 0);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 0), 295);
  after = list_records(0, 0, 0, &pages); /* no id twice */
  ck_assert_uint_eq(json_object_array_length(after), 295);
  for (i = 0; i < 5; i++)
    ck_assert(!json_object_object_get_ex(ids, rec_id(after, i), NULL));
  for (i = 0; i < 250; i++)
    ck_assert_str_eq(rec_id(before, i), rec_id(after, 5 + i));
  for (i = 285; i < 295; i++)
    ck_assert(!json_object_object_get_ex(ids, rec_id(after, i), NULL));
  json_object_put(before);
  json_object_put(after);
  json_object_put(ids);
}
END_TEST

/* A new field: a new id, a name, the generic options of its type, values
 * in the records (old and new); the other values do not change. */
START_TEST(test_mut_add_field) {
  json_object *schema, *fo, *before, *after, *v, *precision, *options;
  ad_at_schema_t parsed;
  char err[256], fid[18], path[256];
  const char *tbl;
  int f, pages, g, valued = 0;
  size_t i;
  reply_t r;

  start_unlimited();
  tbl = ad_fake_airtable_table_id(fake, 0, 0);
  before = list_records(0, 0, 0, &pages);
  f = ad_fake_airtable_add_field(fake, 0, 0, "number");
  ck_assert_int_eq(f, 35);
  ck_assert_int_eq(ad_fake_airtable_nfields(fake, 0, 0), 36);
  ck_assert_int_eq(ad_fake_airtable_add_field(fake, 0, 0, ""), -1);
  snprintf(fid, sizeof(fid), "%s", ad_fake_airtable_field_id(fake, 0, 0, f));
  schema = get_schema(0);
  fo = schema_field(schema, tbl, f);
  ck_assert_str_eq(member(fo, "id"), fid);
  ck_assert_str_eq(member(fo, "name"), "Added 1");
  ck_assert_str_eq(member(fo, "type"), "number");
  ck_assert(json_object_object_get_ex(fo, "options", &options));
  ck_assert(json_object_object_get_ex(options, "precision", &precision));
  for (g = 0; g < f; g++)
    ck_assert_str_ne(member(schema_field(schema, tbl, g), "id"), fid);
  /* The other table of the base is as it was. */
  ck_assert_int_eq(ad_fake_airtable_nfields(fake, 0, 1), 35);
  json_object_put(schema);
  /* The source's parser takes it. */
  snprintf(path, sizeof(path), "/v0/meta/bases/%s/tables",
           ad_fake_airtable_base_id(fake, 0));
  r = call("GET", path, NULL, NULL);
  ck_assert_int_eq(ad_at_schema_parse(r.body, r.len, &parsed, err, sizeof(err)),
                   0);
  free(r.body);
  ck_assert_uint_eq(parsed.tables[0].nfields, 36);
  ck_assert_int_eq(parsed.tables[0].fields[35].kind, AD_KIND_FLOAT);
  ad_at_schema_free(&parsed);
  /* Added records get values too. */
  ck_assert_int_eq(ad_fake_airtable_add_records(fake, 0, 0, 20), 0);
  after = list_records(0, 0, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(after), 270);
  for (i = 0; i < 270; i++) {
    json_object *fields = rec_fields(after, i);
    if (json_object_object_get_ex(fields, "Added 1", &v)) {
      ck_assert(json_object_is_type(v, json_type_int));
      valued++;
      json_object_object_del(fields, "Added 1");
    }
    if (i < 250)
      ck_assert_str_eq(json_text(rec_fields(before, i)), json_text(fields));
  }
  ck_assert_int_gt(valued, 200); /* a cell in 8 is left empty */
  json_object_put(after);
  /* By id: the field's id is the key. */
  after = list_records(0, 0, 1, &pages);
  for (i = 0, valued = 0; i < 270; i++)
    valued += json_object_object_get_ex(rec_fields(after, i), fid, NULL);
  ck_assert_int_gt(valued, 200);
  json_object_put(after);
  json_object_put(before);
}
END_TEST

/* A renamed field keeps its id and values; records are keyed by its new
 * name; the old name is unknown to fields[]. */
START_TEST(test_mut_rename_field) {
  json_object *schema, *fo, *before, *after, *v, *w;
  char fid[18];
  const char *tbl;
  int pages;
  size_t i;
  reply_t r;

  start_unlimited();
  tbl = ad_fake_airtable_table_id(fake, 0, 0);
  snprintf(fid, sizeof(fid), "%s", ad_fake_airtable_field_id(fake, 0, 0, 3));
  ck_assert_str_eq(ad_fake_airtable_field_name(fake, 0, 0, 3), "Notes");
  before = list_records(0, 0, 0, &pages);
  ck_assert_int_eq(ad_fake_airtable_rename_field(fake, 0, 0, 3, "Remarks ✎"), 0);
  ck_assert_int_eq(ad_fake_airtable_rename_field(fake, 0, 0, 3, "Name"), -1);
  ck_assert_int_eq(ad_fake_airtable_rename_field(fake, 0, 0, 99, "X"), -1);
  ck_assert_int_eq(ad_fake_airtable_rename_field(fake, 0, 0, 3, "Remarks ✎"), 0);
  ck_assert_int_eq(ad_fake_airtable_rename_field(fake, 0, 0, 0, "Title"), 0);
  schema = get_schema(0);
  fo = schema_field(schema, tbl, 3);
  ck_assert_str_eq(member(fo, "id"), fid);
  ck_assert_str_eq(member(fo, "name"), "Remarks ✎");
  ck_assert_str_eq(member(fo, "type"), "multilineText");
  ck_assert_str_eq(member(schema_field(schema, tbl, 0), "name"), "Title");
  ck_assert_str_eq(member(schema_table(schema, tbl), "primaryFieldId"),
                   ad_fake_airtable_field_id(fake, 0, 0, 0));
  json_object_put(schema);
  after = list_records(0, 0, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(after), 250);
  for (i = 0; i < 250; i++) {
    json_object *old = rec_fields(before, i), *now = rec_fields(after, i);
    ck_assert(!json_object_object_get_ex(now, "Notes", NULL));
    ck_assert_int_eq(json_object_object_get_ex(old, "Notes", &v),
                     json_object_object_get_ex(now, "Remarks ✎", &w));
    if (v != NULL && w != NULL)
      ck_assert_str_eq(json_object_get_string(v), json_object_get_string(w));
    ck_assert(json_object_object_get_ex(old, "Name", &v));
    ck_assert(json_object_object_get_ex(now, "Title", &w));
    ck_assert_str_eq(json_object_get_string(v), json_object_get_string(w));
  }
  json_object_put(before);
  json_object_put(after);
  expect_error(call("GET", records_path(0, 0, "?fields%5B%5D=Notes"), NULL,
                    NULL), 422, "UNKNOWN_FIELD_NAME");
  r = call("GET", records_path(0, 0, "?pageSize=2&fields%5B%5D=Title"), NULL,
           NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.body, "\"Title\""));
  free(r.body);
}
END_TEST

/* A retyped field keeps its id and name; its values follow the new type
 * and the other fields' values stay. */
START_TEST(test_mut_retype_field) {
  json_object *schema, *fo, *before, *after, *v;
  char fid[18];
  const char *tbl;
  int pages, strings = 0, numbers = 0;
  size_t i;

  start_unlimited();
  tbl = ad_fake_airtable_table_id(fake, 0, 0);
  ck_assert_str_eq(ad_fake_airtable_field_name(fake, 0, 0, 8), "Amount");
  ck_assert_str_eq(ad_fake_airtable_field_type(fake, 0, 0, 8), "number");
  snprintf(fid, sizeof(fid), "%s", ad_fake_airtable_field_id(fake, 0, 0, 8));
  before = list_records(0, 0, 0, &pages);
  ck_assert_int_eq(ad_fake_airtable_retype_field(fake, 0, 0, 8,
                                                 "singleLineText"), 0);
  ck_assert_int_eq(ad_fake_airtable_retype_field(fake, 0, 0, 8, ""), -1);
  ck_assert_int_eq(ad_fake_airtable_retype_field(fake, 0, 0, 77, "number"), -1);
  schema = get_schema(0);
  fo = schema_field(schema, tbl, 8);
  ck_assert_str_eq(member(fo, "id"), fid);
  ck_assert_str_eq(member(fo, "name"), "Amount");
  ck_assert_str_eq(member(fo, "type"), "singleLineText");
  ck_assert(!json_object_object_get_ex(fo, "options", NULL));
  json_object_put(schema);
  after = list_records(0, 0, 0, &pages);
  for (i = 0; i < 250; i++) {
    json_object *old = rec_fields(before, i), *now = rec_fields(after, i);
    if (json_object_object_get_ex(now, "Amount", &v)) {
      ck_assert(json_object_is_type(v, json_type_string));
      strings++;
    }
    json_object_object_del(old, "Amount");
    json_object_object_del(now, "Amount");
    ck_assert_str_eq(json_text(old), json_text(now));
  }
  ck_assert_int_gt(strings, 200);
  json_object_put(after);
  /* And back: numbers again, with the number's options. */
  ck_assert_int_eq(ad_fake_airtable_retype_field(fake, 0, 0, 8, "currency"), 0);
  ck_assert_str_eq(ad_fake_airtable_field_type(fake, 0, 0, 8), "currency");
  schema = get_schema(0);
  fo = schema_field(schema, tbl, 8);
  ck_assert_str_eq(member(fo, "type"), "currency");
  ck_assert(json_object_object_get_ex(fo, "options", NULL));
  json_object_put(schema);
  after = list_records(0, 0, 0, &pages);
  for (i = 0; i < 250; i++)
    if (json_object_object_get_ex(rec_fields(after, i), "Amount", &v)) {
      ck_assert(json_object_is_type(v, json_type_double));
      numbers++;
    }
  ck_assert_int_gt(numbers, 200);
  json_object_put(after);
  json_object_put(before);
}
END_TEST

/* A dropped table leaves the schema; its records routes answer as for a
 * table that never was (airtable-api.md 2.2: 403). */
START_TEST(test_mut_drop_table) {
  json_object *schema, *tables, *all;
  char path[512], *esc;
  int pages;

  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_drop_table(fake, 0, 1), 0);
  ck_assert_int_eq(ad_fake_airtable_drop_table(fake, 0, 1), -1);
  ck_assert_int_eq(ad_fake_airtable_table_dropped(fake, 0, 1), 1);
  ck_assert_int_eq(ad_fake_airtable_table_dropped(fake, 0, 0), 0);
  ck_assert_int_eq(ad_fake_airtable_ntables(fake, 0), 2);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 1), 0);
  schema = get_schema(0);
  ck_assert(json_object_object_get_ex(schema, "tables", &tables));
  ck_assert_uint_eq(json_object_array_length(tables), 1);
  ck_assert_ptr_null(schema_table(schema, ad_fake_airtable_table_id(fake, 0, 1)));
  ck_assert_ptr_nonnull(schema_table(schema,
                                     ad_fake_airtable_table_id(fake, 0, 0)));
  json_object_put(schema);
  expect_error(call("GET", records_path(0, 1, ""), NULL, NULL), 403,
               "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
  expect_error(call("POST", records_path(0, 1, "/listRecords"), "{}", NULL),
               403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
  esc = curl_escape(ad_fake_airtable_table_name(fake, 0, 1), 0);
  snprintf(path, sizeof(path), "/v0/%s/%s", ad_fake_airtable_base_id(fake, 0),
           esc);
  curl_free(esc);
  expect_error(call("GET", path, NULL, NULL), 403,
               "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
  ck_assert_int_eq(ad_fake_airtable_add_records(fake, 0, 1, 1), -1);
  ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 1, 1), -1);
  all = list_records(0, 0, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(all), 250);
  json_object_put(all);
}
END_TEST

/* A dropped base leaves the bases listing (its pages and offsets too);
 * its routes answer as for a base that never was. */
START_TEST(test_mut_drop_base) {
  json_object *page, *bases, *off;
  char path[512], *esc;
  int pages = 0, n = 0, b;
  size_t i;

  opts.bases = 5;
  opts.bases_page_size = 2;
  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_drop_base(fake, 1), 0);
  ck_assert_int_eq(ad_fake_airtable_drop_base(fake, 2), 0);
  ck_assert_int_eq(ad_fake_airtable_drop_base(fake, 2), -1);
  ck_assert_int_eq(ad_fake_airtable_drop_base(fake, 5), -1);
  ck_assert_int_eq(ad_fake_airtable_nbases(fake), 5);
  ck_assert_int_eq(ad_fake_airtable_base_dropped(fake, 1), 1);
  ck_assert_int_eq(ad_fake_airtable_table_dropped(fake, 1, 0), 1);
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 1, 0), 0);
  snprintf(path, sizeof(path), "/v0/meta/bases");
  do {
    page = get_json(path);
    pages++;
    ck_assert(json_object_object_get_ex(page, "bases", &bases));
    ck_assert_uint_ge(json_object_array_length(bases), 1);
    for (i = 0; i < json_object_array_length(bases); i++) {
      const char *id = member(json_object_array_get_idx(bases, i), "id");
      ck_assert_str_ne(id, ad_fake_airtable_base_id(fake, 1));
      ck_assert_str_ne(id, ad_fake_airtable_base_id(fake, 2));
      n++;
    }
    off = NULL;
    if (json_object_object_get_ex(page, "offset", &off)) {
      esc = curl_escape(json_object_get_string(off), 0);
      snprintf(path, sizeof(path), "/v0/meta/bases?offset=%s", esc);
      curl_free(esc);
    }
    json_object_put(page);
  } while (off != NULL);
  ck_assert_int_eq(n, 3);
  ck_assert_int_eq(pages, 2);
  for (b = 1; b <= 2; b++) {
    snprintf(path, sizeof(path), "/v0/meta/bases/%s/tables",
             ad_fake_airtable_base_id(fake, b));
    expect_error(call("GET", path, NULL, NULL), 403,
                 "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
    expect_error(call("GET", records_path(b, 0, ""), NULL, NULL), 403,
                 "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
  }
  ck_assert_int_eq(ad_fake_airtable_add_field(fake, 1, 0, "number"), -1);
  page = get_schema(3);
  json_object_put(page);
}
END_TEST

/* A table whose read fails midway: `pages` pages, then 500 for good. */
START_TEST(test_mut_fail_table_after) {
  json_object *page, *off, *all;
  char path[1024], *esc;
  int i, pages;
  reply_t r;

  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_fail_table_after(fake, 0, 0, 2), 0);
  ck_assert_int_eq(ad_fake_airtable_fail_table_after(fake, 0, 9, 2), -1);
  /* A refused request is not a page. */
  expect_error(call("GET", records_path(0, 0, "?pageSize=0"), NULL, NULL), 422,
               "INVALID_REQUEST_UNKNOWN");
  page = get_json(records_path(0, 0, "?pageSize=100"));
  ck_assert(json_object_object_get_ex(page, "offset", &off));
  esc = curl_escape(json_object_get_string(off), 0);
  json_object_put(page);
  snprintf(path, sizeof(path), "%s", records_path(0, 0, "?offset="));
  strncat(path, esc, sizeof(path) - strlen(path) - 1);
  curl_free(esc);
  page = get_json(path);
  ck_assert(json_object_object_get_ex(page, "offset", &off));
  esc = curl_escape(json_object_get_string(off), 0);
  json_object_put(page);
  snprintf(path, sizeof(path), "%s", records_path(0, 0, "?offset="));
  strncat(path, esc, sizeof(path) - strlen(path) - 1);
  curl_free(esc);
  for (i = 0; i < 3; i++) /* the third page, retried: 500 each time */
    expect_error(call("GET", path, NULL, NULL), 500, "SERVER_ERROR");
  expect_error(call("GET", records_path(0, 0, ""), NULL, NULL), 500,
               "SERVER_ERROR");
  expect_error(call("POST", records_path(0, 0, "/listRecords"), "{}", NULL),
               500, "SERVER_ERROR");
  /* The schema and the other tables answer. */
  json_object_put(get_schema(0));
  all = list_records(0, 1, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(all), 250);
  json_object_put(all);
  /* Turned off, then at once. */
  ck_assert_int_eq(ad_fake_airtable_fail_table_after(fake, 0, 0, -1), 0);
  r = call("GET", path, NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  free(r.body);
  ck_assert_int_eq(ad_fake_airtable_fail_table_after(fake, 0, 1, 0), 0);
  expect_error(call("GET", records_path(0, 1, ""), NULL, NULL), 500,
               "SERVER_ERROR");
}
END_TEST

/* The demo dataset stays as it is: every mutation is refused. */
START_TEST(test_mut_demo_refused) {
  ad_fake_mutation_t m;
  json_object *all;
  int pages;

  opts.demo = 1;
  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_delete_record(fake, 0, 0, 0), -1);
  ck_assert_int_eq(ad_fake_airtable_edit_record(fake, 0, 0, 0), -1);
  ck_assert_int_eq(ad_fake_airtable_add_records(fake, 0, 0, 1), -1);
  ck_assert_int_eq(ad_fake_airtable_add_field(fake, 0, 0, "number"), -1);
  ck_assert_int_eq(ad_fake_airtable_rename_field(fake, 0, 0, 0, "X"), -1);
  ck_assert_int_eq(ad_fake_airtable_retype_field(fake, 0, 0, 1, "number"), -1);
  ck_assert_int_eq(ad_fake_airtable_drop_table(fake, 0, 0), -1);
  ck_assert_int_eq(ad_fake_airtable_drop_base(fake, 0), -1);
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 1, AD_FAKE_MUT_ALL, 0.5, &m),
                   -1);
  ck_assert_int_eq(m.deleted + m.edited + m.added, 0);
  ck_assert_ptr_nonnull(strstr(m.summary, "refused"));
  ck_assert_int_eq(ad_fake_airtable_nrecords(fake, 0, 0), 120);
  all = list_records(0, 0, 0, &pages);
  ck_assert_uint_eq(json_object_array_length(all), 120);
  json_object_put(all);
}
END_TEST

/* Every answer a full sync reads from the fake, as one JSON text per
 * route, in order: the bases, then per live base its schema and each of
 * its tables' records. */
static void dataset_answers(json_object *out) {
  json_object *schema, *records;
  int b, t, pages;
  char key[64];

  json_object_object_add(out, "bases", get_json("/v0/meta/bases"));
  for (b = 0; b < ad_fake_airtable_nbases(fake); b++) {
    if (ad_fake_airtable_base_dropped(fake, b))
      continue;
    schema = get_schema(b);
    snprintf(key, sizeof(key), "schema %d", b);
    json_object_object_add(out, key, schema);
    for (t = 0; t < ad_fake_airtable_ntables(fake, b); t++) {
      if (ad_fake_airtable_table_dropped(fake, b, t)) {
        expect_error(call("GET", records_path(b, t, ""), NULL, NULL), 403,
                     "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
        continue;
      }
      records = list_records(b, t, 0, &pages);
      ck_assert_int_eq((int)json_object_array_length(records),
                       ad_fake_airtable_nrecords(fake, b, t));
      snprintf(key, sizeof(key), "records %d %d", b, t);
      json_object_object_add(out, key, records);
    }
  }
}

/* Random mutations: every kind asked for happens, within the limits, and
 * the same seed and calls on a fresh fake give the same answers. */
START_TEST(test_mutate_deterministic) {
  ad_fake_airtable_t *first;
  ad_fake_mutation_t m1, m2, m3;
  json_object *a = json_object_new_object(), *b = json_object_new_object();
  json_object *c = json_object_new_object(), *unmutated = json_object_new_object();
  int base, t, live, total_live = 0;

  opts.seed = 7;
  opts.bases = 3;
  opts.tables_per_base = 3;
  opts.records_per_table = 150;
  start_unlimited();
  dataset_answers(unmutated);
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 99, AD_FAKE_MUT_ALL, 0.1, &m1),
                   0);
  fprintf(stderr, "mutate: %s\n", m1.summary);
  /* 9 tables of 150: 15 deleted, then 14 edited, 14 added in each. */
  ck_assert_int_eq(m1.deleted, 9 * 15);
  ck_assert_int_eq(m1.edited, 9 * 14);
  ck_assert_int_eq(m1.added, 9 * 14);
  ck_assert_int_eq(m1.fields_added, 1);
  ck_assert_int_ge(m1.fields_renamed, 30);
  ck_assert_int_ge(m1.fields_retyped, 30);
  ck_assert_int_eq(m1.tables_dropped, 1);
  ck_assert_ptr_nonnull(strstr(m1.summary, "tables: 1 dropped"));
  for (base = 0; base < 3; base++) {
    for (live = 0, t = 0; t < 3; t++) {
      live += !ad_fake_airtable_table_dropped(fake, base, t);
      if (!ad_fake_airtable_table_dropped(fake, base, t))
        total_live += ad_fake_airtable_nrecords(fake, base, t);
    }
    ck_assert_int_ge(live, 1);
  }
  ck_assert_int_eq(total_live, 8 * (150 - 15 + 14));
  dataset_answers(a);
  ck_assert_str_ne(json_text(a), json_text(unmutated));
  first = fake;
  /* A fresh fake, the same calls: the same answers. */
  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 99, AD_FAKE_MUT_ALL, 0.1, &m2),
                   0);
  ck_assert_str_eq(m1.summary, m2.summary);
  dataset_answers(b);
  ck_assert_str_eq(json_text(a), json_text(b));
  /* Another mutation seed: other answers. */
  ad_fake_airtable_stop(fake);
  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 100, AD_FAKE_MUT_ALL, 0.1, &m3),
                   0);
  dataset_answers(c);
  ck_assert_str_ne(json_text(a), json_text(c));
  /* Refused: a share out of [0, 1]; nothing is asked: nothing changes. */
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 1, AD_FAKE_MUT_ALL, 1.5, &m3),
                   -1);
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 1, 0, 0.5, &m3), 0);
  ck_assert_int_eq(m3.deleted + m3.edited + m3.added + m3.fields_added +
                       m3.tables_dropped, 0);
  ad_fake_airtable_stop(first);
  json_object_put(a);
  json_object_put(b);
  json_object_put(c);
  json_object_put(unmutated);
}
END_TEST

/* Tables never lose their last table to DROP_TABLE, whatever the share. */
START_TEST(test_mutate_keeps_a_table) {
  ad_fake_mutation_t m;
  int b, t, live;

  opts.bases = 4;
  opts.tables_per_base = 2;
  opts.records_per_table = 3;
  start_unlimited();
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 5, AD_FAKE_MUT_DROP_TABLE, 1.0,
                                           &m), 0);
  ck_assert_int_eq(m.tables_dropped, 4);
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 6, AD_FAKE_MUT_DROP_TABLE, 1.0,
                                           &m), 0);
  ck_assert_int_eq(m.tables_dropped, 0);
  for (b = 0; b < 4; b++) {
    for (live = 0, t = 0; t < 2; t++)
      live += !ad_fake_airtable_table_dropped(fake, b, t);
    ck_assert_int_eq(live, 1);
  }
  /* share 1 of records: every one deleted, then as many added. */
  ck_assert_int_eq(ad_fake_airtable_mutate(fake, 7, AD_FAKE_MUT_DELETE |
                                           AD_FAKE_MUT_ADD, 1.0, &m), 0);
  ck_assert_int_eq(m.deleted, 4 * 3);
  ck_assert_int_eq(m.added, 4 * 1); /* at least one, into empty tables */
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
  tcase_add_test(tc, test_stamp_worker_bursts);
  tcase_add_test(tc, test_stamp_kernel_bursts);
  tcase_add_test(tc, test_stamp_worker_spaced);
  tcase_add_test(tc, test_latency_jitter);
  tcase_add_test(tc, test_main_stamp_flags);
  tcase_add_test(tc, test_mut_delete_record);
  tcase_add_test(tc, test_mut_edit_record);
  tcase_add_test(tc, test_mut_add_records);
  tcase_add_test(tc, test_mut_add_field);
  tcase_add_test(tc, test_mut_rename_field);
  tcase_add_test(tc, test_mut_retype_field);
  tcase_add_test(tc, test_mut_drop_table);
  tcase_add_test(tc, test_mut_drop_base);
  tcase_add_test(tc, test_mut_fail_table_after);
  tcase_add_test(tc, test_mut_demo_refused);
  tcase_add_test(tc, test_mutate_deterministic);
  tcase_add_test(tc, test_mutate_keeps_a_table);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(fake_suite()); }
