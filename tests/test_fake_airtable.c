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
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(fake_suite()); }
