/* The Airtable source against the fake Airtable over real HTTP, into a
 * capturing test sink: exactly-once delivery, the rate limits as a strict
 * server counts them, 429 penalties, expired offsets, failing tables, a
 * rejected key, backpressure, and check mode. A test encoder writes each
 * neutral record as a small JSON unit, and checks on its way that tables
 * are prepared on the loop before any record and that values are
 * well-formed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "error.h"
#include "fake_airtable.h"
#include "fake_airtable_data.h"
#include "builtin.h"
#include "host.h"
#include "http.h"
#include "jsonw.h"
#include "limiter.h"
#include "page.h"
#include "queue.h"
#include "source.h"
#include "stats.h"
#include "testutil.h"
#include "timers.h"

typedef struct harness {
  uv_loop_t loop;
  ad_http_t http;
  ad_limiter_t limiter;
  ad_timers_t timers;
  ad_queue_t queue;
  ad_stats_t stats;
  ad_config_t cfg;
  ad_host_t host; /* the engine's side, with the capturing sink */
  ad_at_source_t src;
  ad_fake_airtable_t *fake;
  ad_fake_airtable_opts_t fo;
  /* The capturing sink. */
  json_object *seen;   /* "table/record" -> times delivered */
  json_object *sample; /* one unit of each table, parsed */
  long units, duplicates, pages, empty_pages, bad_units;
  int slow;            /* pop one page per 20 ms instead of at once */
  int insert_count;    /* records table (0,0) gains after each page... */
  int insert_times;    /* ...for this many of its pages */
  int block_token_at_page; /* the token is blocked once this page is in */
  int inject_429_at_page;  /* base 0's next request gets a 429 then */
  ad_margin_t margin;      /* the Airtable server's, not remembered */
  long token_pauses;        /* log lines pausing the whole token */
  const char *engine_extra; /* spliced into "engine" */
  long http_timeout_ms;     /* 0: the HTTP client's default */
  uv_timer_t drain;
  int stop_while_parsing; /* stop the source while a page is parsing */
  int stopped;
  uv_check_t stopper;
  ad_log_t log;
  int done;
  double elapsed_s;
  /* The test encoder. Set before a run, read on the workers: */
  int fail_every;             /* refuse the records whose id hashes to 0 */
  /* On the loop only: */
  uv_thread_t loop_thread;
  const char *refuse_table;   /* prepare refuses this table id */
  long prepared, bad_prepares, bad_columns, generic_tables, tag_tables;
} harness_t;

static harness_t h;

#define AT_CONF() ((const ad_at_config_t *)h.cfg.source.conf)

static void setup(void) {
  memset(&h, 0, sizeof(h));
  ad_fake_airtable_opts_default(&h.fo);
  h.fo.penalty_ms = 2000;
  h.seen = json_object_new_object();
  h.sample = json_object_new_object();
}

static void teardown(void) {
  json_object_put(h.seen);
  json_object_put(h.sample);
  ad_fake_airtable_stop(h.fake);
}

/* ---- the test encoder --------------------------------------------------- */

/* The column kinds and flags of the fake's generic tables, in field order
 * (fake_airtable_data.c, docs/mapping.md). */
static const struct {
  ad_kind_t kind;
  unsigned flags;
} generic_columns[] = {
    {AD_KIND_TEXT, AD_COLUMN_PRIMARY}, /* Name */
    {AD_KIND_TEXT, 0}, {AD_KIND_FLOAT, 0}, {AD_KIND_TEXT, 0},
    {AD_KIND_TEXT, 0}, {AD_KIND_TEXT, 0}, {AD_KIND_TEXT, 0},
    {AD_KIND_TEXT, 0},                   /* Phone */
    {AD_KIND_FLOAT, 0}, {AD_KIND_FLOAT, 0}, {AD_KIND_FLOAT, 0},
    {AD_KIND_INT, 0},                    /* Stars (rating) */
    {AD_KIND_FLOAT, 0},                  /* Time spent (duration) */
    {AD_KIND_INT, 0}, {AD_KIND_INT, 0},  /* Auto, Links count */
    {AD_KIND_BOOL, 0},                   /* Done? */
    {AD_KIND_DATETIME, 0}, {AD_KIND_DATETIME, 0}, {AD_KIND_DATETIME, 0},
    {AD_KIND_DATETIME, 0},               /* Modified */
    {AD_KIND_TEXT, 0},                   /* Status */
    {AD_KIND_LIST, 0}, {AD_KIND_LIST, 0}, /* Tags, Related */
    {AD_KIND_LIST, AD_COLUMN_FILES},     /* Files */
    {AD_KIND_TEXT, 0}, {AD_KIND_LIST, 0}, /* Owner, Team */
    {AD_KIND_TEXT, 0}, {AD_KIND_TEXT, 0}, {AD_KIND_TEXT, 0},
    {AD_KIND_TEXT, 0}, {AD_KIND_TEXT, 0}, /* ..., Open, Summary */
    {AD_KIND_FLOAT, 0},                  /* Score: formula of a number */
    {AD_KIND_JSON, 0},                   /* Total: rollup, no result type */
    {AD_KIND_LIST, 0},                   /* Lookup */
    {AD_KIND_TEXT, 0},                   /* Source */
};

static void free_mark(void *data) { free(data); }

/* On the loop, once per table before any of its records. */
static int tenc_prepare(void *data, ad_table_t *t, char *err, size_t errlen) {
  uv_thread_t self = uv_thread_self();
  size_t i;

  (void)data;
  if (!uv_thread_equal(&self, &h.loop_thread) || t->sink_data != NULL ||
      strcmp(t->origin, "airtable") != 0)
    h.bad_prepares++;
  h.prepared++;
  if (t->flags & AD_TABLE_FIELDS_AS_TAGS)
    h.tag_tables++;
  for (i = 0; i < t->ncolumns; i++)
    if (t->columns[i].id[0] == '\0' || ad_kind_name(t->columns[i].kind) == NULL)
      h.bad_columns++;
  if (t->ncolumns == fa_generic_nfields &&
      strcmp(t->columns[0].name, fa_generic_fields[0].name) == 0) {
    ck_assert_uint_eq(fa_generic_nfields,
                      sizeof(generic_columns) / sizeof(generic_columns[0]));
    h.generic_tables++;
    for (i = 0; i < t->ncolumns; i++)
      if (t->columns[i].kind != generic_columns[i].kind ||
          t->columns[i].flags != generic_columns[i].flags ||
          strcmp(t->columns[i].name, fa_generic_fields[i].name) != 0)
        h.bad_columns++;
  }
  if (h.refuse_table != NULL && strcmp(t->table_id, h.refuse_table) == 0) {
    snprintf(err, errlen, "test encoder: table %s refused", t->table_id);
    return AD_EINVAL;
  }
  if ((t->sink_data = malloc(1)) == NULL)
    return AD_ENOMEM;
  t->sink_free = free_mark;
  return 0;
}

/* One value as JSON; AD_EPARSE for one that is not well-formed. */
static int tenc_value(ad_buf_t *b, const ad_value_t *v, int in_list) {
  uint32_t i;
  int rc = 0;

  switch (v->kind) {
  case AD_KIND_NULL:
    return ad_buf_puts(b, "null");
  case AD_KIND_TEXT:
    return ad_jsonw_string(b, v->u.s, v->n);
  case AD_KIND_INT:
    return ad_jsonw_int(b, v->u.i);
  case AD_KIND_FLOAT: /* its literal, finite and non-empty */
    return v->n > 0 && isfinite(ad_value_float(v)) ? ad_buf_append(b, v->u.s, v->n)
                                                   : AD_EPARSE;
  case AD_KIND_BOOL:
    return v->u.b == 0 || v->u.b == 1 ? ad_buf_puts(b, v->u.b ? "true" : "false")
                                      : AD_EPARSE;
  case AD_KIND_DATETIME:
    if (v->n > 1)
      return AD_EPARSE;
    return ad_buf_printf(b, "{\"ms\":%lld,\"date_only\":%u}",
                         (long long)v->u.ms, v->n);
  case AD_KIND_JSON:
    rc = ad_buf_puts(b, "{\"json\":");
    if (rc == 0)
      rc = ad_jsonw_string(b, v->u.s, v->n);
    return rc == 0 ? ad_buf_puts(b, "}") : rc;
  case AD_KIND_LIST:
    if (in_list || v->n == 0)
      return AD_EPARSE;
    rc = ad_buf_puts(b, "[");
    for (i = 0; i < v->n && rc == 0; i++) {
      if (i > 0)
        rc = ad_buf_puts(b, ",");
      if (rc == 0)
        rc = tenc_value(b, &v->u.items[i], 1);
    }
    return rc == 0 ? ad_buf_puts(b, "]") : rc;
  default:
    return AD_EPARSE;
  }
}

static unsigned tenc_hash(const char *s) {
  unsigned x = 2166136261u;
  for (; *s != '\0'; s++)
    x = (x ^ (unsigned char)*s) * 16777619u;
  return x;
}

/* On a worker: {"row_id","url","created_ms","base_name","table_name",
 * "values":{column name: value}}, built in scratch. */
static int tenc_encode(void *data, const ad_table_t *t, const ad_record_t *r,
                       ad_page_t *page, ad_buf_t *scratch, char *err,
                       size_t errlen) {
  size_t i;
  int rc;

  (void)data;
  if (t->sink_data == NULL) {
    snprintf(err, errlen, "test encoder: table not prepared");
    return AD_EPARSE;
  }
  if (h.fail_every > 0 && tenc_hash(r->id) % (unsigned)h.fail_every == 0) {
    /* Half a unit left behind: the source drops it. */
    if ((rc = ad_page_begin(page, r->id, strlen(r->id))) != 0)
      return rc;
    ad_buf_puts(&page->data, "{\"partial");
    snprintf(err, errlen, "test encoder: record refused");
    return AD_EPARSE;
  }
  ad_buf_reset(scratch);
  rc = ad_buf_puts(scratch, "{\"row_id\":");
  if (rc == 0)
    rc = ad_jsonw_string(scratch, r->id, strlen(r->id));
  if (rc == 0)
    rc = ad_buf_puts(scratch, ",\"url\":");
  if (rc == 0)
    rc = ad_jsonw_string(scratch, r->url, strlen(r->url));
  if (rc == 0)
    rc = ad_buf_printf(scratch, ",\"created_ms\":%lld,\"base_name\":",
                       (long long)r->created_ms);
  if (rc == 0)
    rc = t->group_name ? ad_jsonw_string(scratch, t->group_name,
                                        strlen(t->group_name))
                      : ad_buf_puts(scratch, "null");
  if (rc == 0)
    rc = ad_buf_puts(scratch, ",\"table_name\":");
  if (rc == 0)
    rc = ad_jsonw_string(scratch, t->table_name, strlen(t->table_name));
  if (rc == 0)
    rc = ad_buf_puts(scratch, ",\"values\":{");
  for (i = 0; i < t->ncolumns && rc == 0; i++) {
    if (i > 0)
      rc = ad_buf_puts(scratch, ",");
    if (rc == 0)
      rc = ad_jsonw_string(scratch, t->columns[i].name,
                           strlen(t->columns[i].name));
    if (rc == 0)
      rc = ad_buf_puts(scratch, ":");
    if (rc == 0)
      rc = tenc_value(scratch, &r->values[i], 0);
  }
  if (rc == 0)
    rc = ad_buf_puts(scratch, "}}");
  if (rc == AD_EPARSE)
    snprintf(err, errlen, "test encoder: a value is not well-formed");
  if (rc != 0)
    return rc;
  if ((rc = ad_page_begin(page, r->id, strlen(r->id))) != 0)
    return rc;
  if ((rc = ad_buf_append(&page->data, scratch->data, scratch->len)) != 0) {
    ad_page_abort(page);
    return rc;
  }
  ad_page_commit(page);
  return 0;
}

static unsigned tenc_wants(void *data) {
  (void)data;
  return AD_ENCODE_URL | AD_ENCODE_CREATED;
}

/* ---- the capturing sink ------------------------------------------------ */

static void take_page(ad_page_t *p) {
  char key[128];
  json_object *n, *unit, *id;
  size_t i, bytes = 0;

  h.pages++;
  if (h.pages == h.inject_429_at_page)
    ad_fake_airtable_inject_429(h.fake, 0, 1);
  if (h.pages == h.block_token_at_page)
    ad_fake_airtable_block_token(h.fake);
  if (h.insert_times > 0 &&
      strcmp(p->table->table_id, ad_fake_airtable_table_id(h.fake, 0, 0)) == 0) {
    ad_fake_airtable_insert_records(h.fake, 0, 0, h.insert_count);
    h.insert_times--;
  }
  if (p->nunits == 0)
    h.empty_pages++;
  for (i = 0; i < p->nunits; i++) {
    snprintf(key, sizeof(key), "%s/%s", p->table->table_id,
             ad_page_unit_id(p, i));
    if (json_object_object_get_ex(h.seen, key, &n)) {
      h.duplicates++;
      json_object_object_add(h.seen, key,
                             json_object_new_int(json_object_get_int(n) + 1));
    } else {
      json_object_object_add(h.seen, key, json_object_new_int(1));
    }
    h.units++;
    bytes += p->units[i].id_len + 1 + p->units[i].len;
    unit = json_tokener_parse(ad_page_unit(p, i)); /* NUL follows the unit */
    if (unit == NULL) {
      h.bad_units++;
      continue;
    }
    if (json_object_object_get_ex(unit, "row_id", &id) &&
        strcmp(json_object_get_string(id), ad_page_unit_id(p, i)) != 0)
      h.bad_units++;
    if (!json_object_object_get_ex(h.sample, p->table->table_id, NULL))
      json_object_object_add(h.sample, p->table->table_id, unit);
    else
      json_object_put(unit);
  }
  if (bytes != p->data.len) /* nothing but its units */
    h.bad_units++;
  ad_page_free(p);
}

static void drain(void) {
  ad_queue_item_t *item;
  while ((item = ad_queue_pop(&h.queue)) != NULL)
    take_page(ad_container_of(item, ad_page_t, item));
}

static void on_drain_tick(uv_timer_t *t) {
  ad_queue_item_t *item = ad_queue_pop(&h.queue);
  (void)t;
  if (item != NULL)
    take_page(ad_container_of(item, ad_page_t, item));
}

/* The capturing sink as the engine sees it: the test encoder, and pages
 * taken as they come (or by the slow timer). */
static void tsink_take(void *ctx) {
  (void)ctx;
  if (!h.slow)
    drain();
}

static void tsink_nothing(void *ctx) { (void)ctx; }

static const ad_sink_plugin_t test_sink = {
    .name = "test",
    .prepare = tenc_prepare,
    .encode = tenc_encode,
    .wants = tenc_wants,
    .take = tsink_take,
    .finish = tsink_nothing,
    .close = tsink_nothing,
};

/* The source under test as the engine sees it (a fatal error stops it). */
static void tsource_stop(void *ctx) { ad_at_source_stop(ctx); }

static const ad_source_plugin_t test_source = {
    .name = "airtable",
    .stop = tsource_stop,
};

static void on_done(void *data) {
  (void)data;
  h.done = 1;
}

static void on_low(ad_queue_t *q, void *data) {
  (void)q;
  (void)data;
  ad_at_source_resume(&h.src);
}

/* Config for the fake; extra is spliced into "source" (may be ""). */
static void configure(const char *key, const char *source_extra,
                      const char *format, const char *rate_extra,
                      long queue_rows) {
  char text[4096], err[256];
  snprintf(text, sizeof(text),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\"%s},"
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-test\","
           "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\","
           "\"data_format\":\"%s\"},"
           "\"rate_limits\":{\"backoff_on_429_s\":2%s},"
           "\"engine\":{\"queue_rows\":%ld%s}}",
           key ? key : h.fo.token, ad_fake_airtable_url(h.fake), source_extra,
           format, rate_extra, queue_rows,
           h.engine_extra ? h.engine_extra : "");
  ck_assert_msg(ad_config_parse(&h.cfg, text, strlen(text),
                                ad_builtin_plugins(), NULL, NULL, err,
                                sizeof(err)) == 0, "config: %s", err);
}

static void start_fake(void) {
  h.fake = ad_fake_airtable_start(&h.fo);
  ck_assert_ptr_nonnull(h.fake);
}

static void on_log(int level, const char *line, void *data) {
  (void)level;
  (void)data;
  if (strstr(line, "pausing every request of the token") != NULL)
    h.token_pauses++;
}

/* Runs after the loop's I/O callbacks: a page handed to the thread pool
 * in them is still parsing, since its completion comes in a later poll. */
static void on_stopper(uv_check_t *c) {
  (void)c;
  if (h.stopped || h.src.parse_q.running == 0)
    return;
  h.stopped = 1;
  ad_at_source_stop(&h.src);
}

/* Runs one source to completion; check: check mode. */
static void run(int check, size_t max_url) {
  ad_at_source_opts_t o;
  ad_queue_opts_t qo;
  ad_host_cbs_t cbs;
  ad_services_t *svc = &h.host.source.services;
  uint64_t t0;

  ad_http_opts_t ho;

  ck_assert_int_eq(uv_loop_init(&h.loop), 0);
  ad_http_opts_default(&ho);
  if (h.http_timeout_ms > 0)
    ho.timeout_ms = h.http_timeout_ms;
  ck_assert_int_eq(ad_http_init(&h.http, &h.loop, &ho), 0);
  ck_assert_int_eq(ad_limiter_init(&h.limiter, &h.loop, NULL), 0);
  ck_assert_int_eq(ad_timers_init(&h.timers, &h.loop), 0);
  memset(&qo, 0, sizeof(qo));
  qo.max_rows = (size_t)h.cfg.engine.queue_rows;
  qo.max_bytes = (size_t)h.cfg.engine.queue_bytes;
  qo.on_low = on_low;
  ck_assert_int_eq(ad_queue_init(&h.queue, &qo), 0);
  ad_stats_init(&h.stats);
  ad_log_init(&h.log, NULL, AD_LOG_WARN, AD_LOG_TEXT);
  h.log.fn = on_log;
  memset(&cbs, 0, sizeof(cbs));
  cbs.source_done = on_done;
  ad_host_init(&h.host, &h.loop, &h.log, &h.queue, &h.stats, check, &cbs);
  h.host.source.plugin = &test_source;
  h.host.source.ctx = &h.src;
  snprintf(h.host.source.name, sizeof(h.host.source.name), "source:airtable");
  h.host.sink.plugin = &test_sink;
  memset(svc, 0, sizeof(*svc));
  svc->config = &h.cfg;
  svc->http = &h.http;
  svc->limiter = &h.limiter;
  svc->timers = &h.timers;
  svc->log = &h.log;
  svc->stats = &h.stats;
  svc->counts.requests = &h.stats.requests_source;
  svc->counts.penalties = &h.stats.http429_source;
  svc->counts.retries = &h.stats.retries;
  svc->check = check;
  svc->backoff_base_ms = 20;
  memset(&o, 0, sizeof(o));
  o.host = &h.host.source;
  o.conf = h.cfg.source.conf;
  o.svc = svc;
  o.max_url = max_url;
  ck_assert_int_eq(
      ad_margin_init(&h.margin, NULL, AT_CONF()->base_url,
                     (uint64_t)h.cfg.rate_limits.safety_margin_ms * 1000,
                     (uint64_t)h.cfg.rate_limits.max_safety_margin_ms * 1000),
      0);
  o.margin = &h.margin;
  h.loop_thread = uv_thread_self();
  ck_assert_int_eq(ad_at_source_init(&h.src, &o), 0);
  if (h.stop_while_parsing) {
    uv_check_init(&h.loop, &h.stopper);
    uv_check_start(&h.stopper, on_stopper);
  }
  if (h.slow) {
    uv_timer_init(&h.loop, &h.drain);
    uv_timer_start(&h.drain, on_drain_tick, 20, 20);
  }
  t0 = uv_hrtime();
  h.host.source.started = 1;
  ck_assert_int_eq(ad_at_source_start(&h.src), 0);
  ck_assert_msg(ad_test_run_until(&h.loop, &h.done, 120000),
                "the source did not finish");
  h.elapsed_s = (double)(uv_hrtime() - t0) / 1e9;
  drain();
  ck_assert_uint_eq(h.queue.reserved_rows, 0); /* every reservation settled */
  ad_at_source_close(&h.src);
  ad_timers_close(&h.timers, NULL);
  ad_limiter_close(&h.limiter, NULL);
  ad_http_close(&h.http, NULL);
  ck_assert_int_eq(ad_test_loop_close(&h.loop), 0);
  ad_config_free(&h.cfg);
  ad_log_close(&h.log);
  ad_margin_free(&h.margin);
}

static void finish_stats(void) { ad_stats_free(&h.stats); }

static long total_records(void) {
  long n = 0;
  int b, t;
  for (b = 0; b < ad_fake_airtable_nbases(h.fake); b++)
    for (t = 0; t < ad_fake_airtable_ntables(h.fake, b); t++)
      n += ad_fake_airtable_nrecords(h.fake, b, t);
  return n;
}

static long table_seen(int b, int t) {
  const char *id = ad_fake_airtable_table_id(h.fake, b, t);
  long n = 0;
  json_object_object_foreach(h.seen, key, val) {
    (void)val;
    if (strncmp(key, id, strlen(id)) == 0)
      n++;
  }
  return n;
}

static json_object *member(json_object *o, const char *key) {
  json_object *v = NULL;
  ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
  return v;
}

/* A record of a generic table as the test encoder wrote it: the neutral
 * values of the fake's cells (a cell the fake left out is null, or false
 * for the checkbox). */
static void check_generic_sample(const char *table_id) {
  json_object *unit, *values, *v;
  const char *s;

  ck_assert(json_object_object_get_ex(h.sample, table_id, &unit));
  ck_assert_int_eq(json_object_get_int64(member(unit, "created_ms")),
                   1663016628000LL);
  ck_assert_ptr_nonnull(strstr(json_object_get_string(member(unit, "url")),
                               table_id));
  values = member(unit, "values");
  ck_assert_int_eq(json_object_object_length(values),
                   (int)fa_generic_nfields);
  ck_assert(json_object_is_type(member(values, "Name"), json_type_string));
  ck_assert(json_object_is_type(member(values, "Done?"), json_type_boolean));
  v = member(values, "Email");
  if (v != NULL)
    ck_assert_str_eq(json_object_get_string(v), "someone@example.com");
  v = member(values, "Due");
  if (v != NULL) { /* 2024-02-29, a date */
    ck_assert_int_eq(json_object_get_int64(member(v, "ms")), 1709164800000LL);
    ck_assert_int_eq(json_object_get_int(member(v, "date_only")), 1);
  }
  v = member(values, "Meeting");
  if (v != NULL) {
    ck_assert_int_eq(json_object_get_int64(member(v, "ms")), 1662361200000LL);
    ck_assert_int_eq(json_object_get_int(member(v, "date_only")), 0);
  }
  v = member(values, "Owner");
  if (v != NULL)
    ck_assert_str_eq(json_object_get_string(v), "Ann <ann@example.com>");
  v = member(values, "Files");
  if (v != NULL)
    ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                     "[\"x.pdf\"]");
  v = member(values, "Team");
  if (v != NULL)
    ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                     "[\"Ann <a@x.io>\",\"b@x.io\"]");
  v = member(values, "Lookup");
  if (v != NULL)
    ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                     "[\"x\",\"1, 2\"]");
  v = member(values, "Stars");
  ck_assert(v == NULL || json_object_is_type(v, json_type_int));
  v = member(values, "Price");
  ck_assert(v == NULL || json_object_is_type(v, json_type_double) ||
            json_object_is_type(v, json_type_int));
  v = member(values, "Score"); /* an int, or null for #ERROR! */
  ck_assert(v == NULL || json_object_is_type(v, json_type_int));
  v = member(values, "Total"); /* 1.5, or null for NaN */
  ck_assert(v == NULL || json_object_get_double(v) == 1.5);
  v = member(values, "Summary");
  if (v != NULL)
    ck_assert_str_eq(json_object_get_string(v), "A summary");
  s = json_object_get_string(member(unit, "table_name"));
  ck_assert_ptr_nonnull(s);
}

/* 12 bases (so the token's 50/s binds, not only the bases' 5/s), paged
 * base listing, empty and non-empty tables: every record once, and a
 * strict server never sees more than the limits allow. */
START_TEST(test_index_all_exactly_once_within_limits) {
  ad_fake_airtable_counters_t c;
  double bound;

  h.fo.bases = 12;
  h.fo.tables_per_base = 2;
  h.fo.records_per_table = 250;
  h.fo.bases_page_size = 5;
  start_fake();
  configure(NULL, ",\"index_all\":true", "tables", "", 20000);
  run(0, 0);
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_eq(h.units, total_records());
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_int_eq(h.bad_units, 0);
  ck_assert_uint_eq(h.stats.records_read, (uint64_t)total_records());
  ck_assert_uint_eq(h.stats.bases, 12);
  ck_assert_uint_eq(h.stats.tables, 24);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  ck_assert_int_eq(c.sent_429, 0);
  ck_assert_int_le(c.max_per_base_window, 5);
  ck_assert_int_le(c.max_per_token_window, 50);
  ck_assert_int_eq(c.requests_bases, 3);
  ck_assert_int_eq(c.requests_schema, 12);
  ck_assert_int_eq(c.requests_records, 72);
  ck_assert_uint_eq(h.stats.requests_source, 87);
  /* Every table prepared once, on the loop, with its columns by kind. */
  ck_assert_int_eq(h.prepared, 24);
  ck_assert_int_eq(h.generic_tables, 24);
  ck_assert_int_eq(h.bad_prepares, 0);
  ck_assert_int_eq(h.bad_columns, 0);
  ck_assert_int_eq(h.tag_tables, 0);
  ck_assert_uint_eq(h.stats.records_failed, 0);
  check_generic_sample(ad_fake_airtable_table_id(h.fake, 0, 0));
  /* No schedule can beat one window: the token's 51st request and each
   * base's 6th wait a second after the first. Report, never assert, time. */
  bound = 1.02; /* the window with the default 20 ms margin */
  fprintf(stderr, "index_all: 87 requests in %.2f s (the limits allow "
                  "%.2f s plus round trips); busiest second: %ld/base, "
                  "%ld/token; 6 base requests in no less than %ld ms, 51 "
                  "token requests in no less than %ld ms\n",
          h.elapsed_s, bound, c.max_per_base_window, c.max_per_token_window,
          c.tightest_base_span_ms, c.tightest_token_span_ms);
  /* -1: never that many within the fake's memory of 3 s (a slow run). */
  ck_assert(c.tightest_base_span_ms == -1 || c.tightest_base_span_ms >= 1000);
  ck_assert(c.tightest_token_span_ms == -1 ||
            c.tightest_token_span_ms >= 1000);
  finish_stats();
}
END_TEST

/* One table by its (URL-unsafe) name, view and share ids in the links,
 * documents format with every field as tags, and POST listRecords forced
 * by a tiny URL limit. */
START_TEST(test_specific_table_documents_post) {
  char extra[512];
  ad_fake_airtable_counters_t c;
  json_object *doc, *v;
  const char *id;

  h.fo.bases = 2;
  h.fo.records_per_table = 150;
  start_fake();
  snprintf(extra, sizeof(extra),
           ",\"index_all\":false,\"base_id\":\"%s\",\"table_name_or_id\":"
           "\"%s\",\"view_id\":\"viwCustom\",\"share_id\":\"shrShare\","
           "\"treat_all_non_attachment_fields_as_metadata\":true",
           ad_fake_airtable_base_id(h.fake, 1),
           ad_fake_airtable_table_name(h.fake, 1, 1));
  configure(NULL, extra, "documents", "", 20000);
  run(0, 10);
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_eq(h.units, 150);
  ck_assert_int_eq(table_seen(1, 1), 150);
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_int_eq(c.requests_records, 2);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  ck_assert_int_eq(h.prepared, 1);
  ck_assert_int_eq(h.tag_tables, 1);
  ck_assert_int_eq(h.bad_columns, 0);
  id = ad_fake_airtable_table_id(h.fake, 1, 1);
  check_generic_sample(id);
  ck_assert(json_object_object_get_ex(h.sample, id, &doc));
  v = json_object_object_get(doc, "url");
  ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "/shrShare/"));
  ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "/viwCustom/rec"));
  /* One-table mode: no base name. */
  ck_assert(json_object_is_type(member(doc, "base_name"), json_type_null));
  ck_assert_str_eq(json_object_get_string(member(doc, "table_name")),
                   ad_fake_airtable_table_name(h.fake, 1, 1));
  finish_stats();
}
END_TEST

/* Another client's traffic draws a 429 on base 0: the source pauses that
 * base for the penalty (the fake refuses nothing during it), retries, and
 * every record still arrives once. */
START_TEST(test_429_pauses_the_base) {
  ad_fake_airtable_counters_t c;

  h.fo.bases = 3;
  h.fo.records_per_table = 300;
  start_fake();
  ad_fake_airtable_inject_429(h.fake, 0, 1);
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_eq(c.injected_429, 1);
  ck_assert_int_eq(c.sent_429, 1);
  ck_assert_int_eq(c.refused_in_penalty, 0);
  ck_assert_uint_eq(h.stats.http429_source, 1);
  ck_assert_uint_ge(h.stats.retries, 1);
  ck_assert_int_eq(h.units, total_records());
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  ck_assert_double_ge(h.elapsed_s, 2.0); /* the penalty was waited out */
  /* It came on a base's first request: our pace was not at its limit,
   * so the margin did not widen. */
  ck_assert_int_eq(h.margin.widened, 0);
  ck_assert_uint_eq(h.margin.current_us, 20000);
  finish_stats();
}
END_TEST

/* A 429 that comes while the base is at its limit (one table's pages, a
 * window's worth in a row) proves the margin too small: it doubles, and
 * every key is spaced over the wider window from then on. */
START_TEST(test_429_at_the_limit_widens_the_margin) {
  ad_fake_airtable_counters_t c;

  h.fo.bases = 1;
  h.fo.tables_per_base = 1;
  h.fo.records_per_table = 1000;
  start_fake();
  h.inject_429_at_page = 6;
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_eq(c.sent_429, 1);
  ck_assert_int_eq(h.units, total_records());
  ck_assert_int_eq(h.margin.widened, 1);
  ck_assert_uint_eq(h.margin.current_us, 40000);
  /* The base's and the token's windows widened with it. */
  ck_assert_uint_eq(h.src.token_key.window_us, 1040000);
  finish_stats();
}
END_TEST

/* Table (0,0)'s offset expires once: it restarts and delivers no record
 * twice. Table (0,1)'s always expire: it fails after the bounded restarts,
 * alone. */
START_TEST(test_expired_offsets_restart_without_duplicates) {
  h.fo.bases = 2;
  h.fo.records_per_table = 350;
  start_fake();
  ad_fake_airtable_expire_offsets(h.fake, 0, 0, 1);
  ad_fake_airtable_expire_offsets(h.fake, 0, 1, 1000);
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_int_eq(table_seen(0, 0), 350);
  ck_assert_int_eq(table_seen(0, 1), 100); /* its first page, kept once */
  ck_assert_int_eq(table_seen(1, 0), 350);
  ck_assert_int_eq(table_seen(1, 1), 350);
  ck_assert_uint_eq(h.stats.records_read, 350 * 3 + 100);
  ck_assert_uint_eq(h.stats.tables_failed, 1);
  ck_assert_uint_eq(h.stats.nfailures, 1);
  ck_assert_str_eq(h.stats.failures[0].table,
                   ad_fake_airtable_table_id(h.fake, 0, 1));
  ck_assert_ptr_nonnull(strstr(h.stats.failures[0].error,
                               "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"));
  ck_assert_int_eq(ad_stats_ok(&h.stats), 0);
  finish_stats();
}
END_TEST

/* Table (0,0) gains 5 records at its start after its first page, and its
 * offset expires: the restarted read finds a different first 100 records,
 * so it cannot skip them and reads once more, sending everything. Every
 * record of the table as it now is arrives; the 100 of the first page
 * arrive twice (Dust keeps one copy) and are counted twice. */
START_TEST(test_changed_table_is_sent_again_after_restart) {
  h.fo.records_per_table = 350;
  start_fake();
  ad_fake_airtable_expire_offsets(h.fake, 0, 0, 1);
  h.insert_count = 5;
  h.insert_times = 1;
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(table_seen(0, 0), 355);
  ck_assert_int_eq(h.duplicates, 100);
  ck_assert_int_eq(table_seen(0, 1), 350);
  ck_assert_int_eq(table_seen(1, 0), 350);
  ck_assert_uint_eq(h.stats.records_read, 350 * 3 + 355 + 100);
  ck_assert_uint_eq(h.stats.tables_failed, 0);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  finish_stats();
}
END_TEST

/* Table (0,0) changes after every page it delivers and its offsets always
 * expire: each restarted read finds a new first record, so the restarts
 * run out and the table fails, saying why; the others land. */
START_TEST(test_table_that_keeps_changing_fails_alone) {
  h.fo.records_per_table = 350;
  start_fake();
  ad_fake_airtable_expire_offsets(h.fake, 0, 0, 1000);
  h.insert_count = 1;
  h.insert_times = 1000;
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(table_seen(0, 1), 350);
  ck_assert_int_eq(table_seen(1, 0), 350);
  ck_assert_uint_eq(h.stats.tables_failed, 1);
  ck_assert_uint_eq(h.stats.nfailures, 1);
  ck_assert_str_eq(h.stats.failures[0].table,
                   ad_fake_airtable_table_id(h.fake, 0, 0));
  ck_assert_ptr_nonnull(strstr(h.stats.failures[0].error, "kept changing"));
  ck_assert_int_eq(ad_stats_ok(&h.stats), 0);
  finish_stats();
}
END_TEST

START_TEST(test_forbidden_table_fails_alone) {
  h.fo.bases = 2;
  start_fake();
  ad_fake_airtable_deny_table(h.fake, 1, 0);
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(table_seen(1, 0), 0);
  ck_assert_int_eq(h.units, total_records() - 250);
  ck_assert_uint_eq(h.stats.tables_failed, 1);
  ck_assert_uint_eq(h.stats.nfailures, 1);
  ck_assert_str_eq(h.stats.failures[0].base,
                   ad_fake_airtable_base_id(h.fake, 1));
  ck_assert_ptr_nonnull(strstr(h.stats.failures[0].error,
                               "HTTP 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"));
  ck_assert_ptr_null(h.stats.fatal_error);
  finish_stats();
}
END_TEST

/* The sink's encoder refuses a table (one it cannot hold): that table
 * fails alone, up front, with the encoder's reason, and nothing of it is
 * read; the others land. */
START_TEST(test_refused_table_fails_alone) {
  ad_fake_airtable_counters_t c;
  char msg[128];

  h.fo.bases = 2;
  start_fake();
  h.refuse_table = ad_fake_airtable_table_id(h.fake, 0, 1);
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_eq(table_seen(0, 1), 0);
  ck_assert_int_eq(h.units, total_records() - 250);
  ck_assert_int_eq(c.requests_records, 3 * 3); /* 3 tables of 3 pages */
  ck_assert_int_eq(h.prepared, 4);
  ck_assert_uint_eq(h.stats.tables, 4);
  ck_assert_uint_eq(h.stats.tables_failed, 1);
  ck_assert_uint_eq(h.stats.nfailures, 1);
  ck_assert_str_eq(h.stats.failures[0].base, ad_fake_airtable_base_id(h.fake, 0));
  ck_assert_str_eq(h.stats.failures[0].table, h.refuse_table);
  ck_assert_ptr_null(h.stats.failures[0].record);
  snprintf(msg, sizeof(msg), "test encoder: table %s refused", h.refuse_table);
  ck_assert_str_eq(h.stats.failures[0].error, msg);
  ck_assert_ptr_null(h.stats.fatal_error);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 0);
  finish_stats();
}
END_TEST

/* Records the encoder cannot write are counted failed, each with the
 * encoder's reason and its id; the half unit one left behind is dropped;
 * the other records land. */
START_TEST(test_encoder_refusing_records) {
  uint64_t i;

  h.fo.bases = 1;
  h.fo.records_per_table = 300;
  start_fake();
  h.fail_every = 5;
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.bad_units, 0);
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_uint_gt(h.stats.records_failed, 0);
  ck_assert_uint_eq(h.stats.records_read, (uint64_t)total_records());
  ck_assert_uint_eq((uint64_t)h.units + h.stats.records_failed,
                    (uint64_t)total_records());
  ck_assert_uint_eq(h.stats.tables_failed, 0);
  ck_assert_uint_ge(h.stats.nfailures, 1);
  for (i = 0; i < h.stats.nfailures; i++) {
    ck_assert_str_eq(h.stats.failures[i].error, "test encoder: record refused");
    ck_assert_ptr_nonnull(h.stats.failures[i].record);
    ck_assert(strncmp(h.stats.failures[i].record, "rec", 3) == 0);
  }
  finish_stats();
}
END_TEST

START_TEST(test_rejected_key_is_fatal) {
  start_fake();
  configure("patWRONGkey000000", "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, 0);
  ck_assert_ptr_nonnull(h.stats.fatal_error);
  ck_assert_ptr_nonnull(strstr(h.stats.fatal_error,
                               "list of bases: HTTP 401 AUTHENTICATION_REQUIRED"));
  ck_assert_ptr_null(strstr(h.stats.fatal_error, "patWRONG"));
  ck_assert_uint_eq(h.stats.requests_source, 1); /* no retry of a 401 */
  finish_stats();
}
END_TEST

START_TEST(test_missing_table_is_fatal) {
  char extra[256];
  start_fake();
  snprintf(extra, sizeof(extra),
           ",\"index_all\":false,\"base_id\":\"%s\",\"table_name_or_id\":"
           "\"Nope\"", ad_fake_airtable_base_id(h.fake, 0));
  configure(NULL, extra, "tables", "", 20000);
  run(0, 0);
  ck_assert_ptr_nonnull(h.stats.fatal_error);
  ck_assert_ptr_nonnull(strstr(h.stats.fatal_error, "\"Nope\""));
  finish_stats();
}
END_TEST

/* A slow sink: the queue holds at most 300 rows, the source waits for room
 * and still delivers everything. */
START_TEST(test_backpressure_bounds_the_queue) {
  h.fo.bases = 2;
  h.fo.records_per_table = 400;
  start_fake();
  h.slow = 1;
  configure(NULL, "", "tables", "", 300);
  run(0, 0);
  ck_assert_uint_le(h.queue.peak_rows, 300);
  ck_assert_int_eq(h.units, total_records());
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  finish_stats();
}
END_TEST

/* 5xx answers, dropped connections and truncated pages are retried. */
START_TEST(test_faults_are_retried) {
  h.fo.bases = 3;
  h.fo.fail_5xx = 0.1;
  h.fo.drop = 0.05;
  h.fo.truncate = 0.1;
  h.fo.seed = 7;
  start_fake();
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, total_records());
  ck_assert_int_eq(h.duplicates, 0);
  ck_assert_uint_gt(h.stats.retries, 0);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  finish_stats();
}
END_TEST

/* A 503 that says when to come back is not retried before then. One
 * table, so one call at a time goes to its base and the fake can tell. */
START_TEST(test_503_retry_after_is_honoured) {
  ad_fake_airtable_counters_t c;
  h.fo.bases = 1;
  h.fo.tables_per_base = 1;
  h.fo.fail_5xx = 0.3;
  h.fo.retry_after_s = 1;
  h.fo.seed = 3;
  start_fake();
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, total_records());
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_gt(c.sent_5xx, 0);
  ck_assert_int_eq(c.early_retries, 0);
  ck_assert_uint_ge(h.elapsed_s, (double)c.sent_5xx * 1.0);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  finish_stats();
}
END_TEST

/* The monthly quota is spent: waiting does not help, so the run stops at
 * once and says why, instead of retrying for ever. */
START_TEST(test_billing_429_is_fatal) {
  h.fo.billing_exhausted = 1;
  start_fake();
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, 0);
  ck_assert_ptr_nonnull(h.stats.fatal_error);
  ck_assert_ptr_nonnull(strstr(h.stats.fatal_error,
                               "PUBLIC_API_BILLING_LIMIT_EXCEEDED"));
  ck_assert_uint_eq(h.stats.requests_source, 1);
  finish_stats();
}
END_TEST

/* Another client spends the token's budget mid-run: 429s from two bases
 * within a second pause the whole token, and no base is asked again
 * during the penalty on a connection that told it so. */
START_TEST(test_token_429_pauses_every_base) {
  ad_fake_airtable_counters_t c;
  h.fo.bases = 4;
  h.fo.tables_per_base = 1;
  h.fo.records_per_table = 300;
  start_fake();
  h.block_token_at_page = 1;
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, total_records());
  ad_fake_airtable_counters(h.fake, &c);
  ck_assert_int_ge(c.sent_429, 2);
  ck_assert_int_eq(c.ignored_penalty, 0);
  ck_assert_int_ge(h.token_pauses, 1);
  ck_assert_uint_eq(h.stats.http429_source, (uint64_t)c.sent_429);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  finish_stats();
}
END_TEST

/* When retries run out the failure says what and why: a page that never
 * parses fails its table; a bases list that always times out is fatal. */
START_TEST(test_retries_spent_fail_clearly) {
  h.fo.bases = 1;
  h.fo.tables_per_base = 1;
  h.fo.truncate = 1.0;
  start_fake();
  h.engine_extra = ",\"max_retries\":1";
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, 0);
  ck_assert_uint_eq(h.stats.tables_failed, 1);
  ck_assert_uint_eq(h.stats.nfailures, 1);
  ck_assert_ptr_nonnull(strstr(h.stats.failures[0].error,
                               "malformed answer (HTTP 200)"));
  ck_assert_ptr_nonnull(strstr(h.stats.failures[0].error,
                               "(gave up after 2 attempts)"));
  ck_assert_ptr_null(h.stats.fatal_error);
  finish_stats();
  ad_fake_airtable_stop(h.fake);

  memset(&h.fo, 0, sizeof(h.fo));
  ad_fake_airtable_opts_default(&h.fo);
  h.fo.latency_ms = 500;
  h.done = 0;
  h.http_timeout_ms = 100;
  start_fake();
  configure(NULL, "", "tables", "", 20000);
  run(0, 0);
  ck_assert_ptr_nonnull(h.stats.fatal_error);
  ck_assert_ptr_nonnull(strstr(h.stats.fatal_error,
                               "list of bases: request timed out"));
  ck_assert_ptr_nonnull(strstr(h.stats.fatal_error,
                               "(gave up after 2 attempts)"));
  finish_stats();
}
END_TEST

/* A stop that comes while a page is on the thread pool: the source waits
 * for it, and its records, read, are delivered rather than lost. */
START_TEST(test_stop_while_a_page_is_parsing) {
  h.fo.bases = 1;
  h.fo.tables_per_base = 2;
  h.fo.records_per_table = 500;
  start_fake();
  configure(NULL, "", "tables", "", 20000);
  h.stop_while_parsing = 1;
  run(0, 0);
  ck_assert_int_eq(h.stopped, 1);
  ck_assert_int_gt(h.units, 0);
  ck_assert_int_lt(h.units, total_records());
  ck_assert_uint_eq(h.stats.records_read, (uint64_t)h.units);
  ck_assert_uint_eq(h.stats.records_failed, 0);
  ck_assert_int_eq(h.duplicates, 0);
  finish_stats();
}
END_TEST

START_TEST(test_check_modes) {
  char extra[256];
  h.fo.bases = 3;
  start_fake();
  configure(NULL, "", "tables", "", 20000);
  run(1, 0);
  ck_assert_str_eq(ad_at_source_check_result(&h.src), "3 bases visible");
  ck_assert_ptr_null(h.stats.fatal_error);
  ck_assert_int_eq(h.pages, 0);
  ck_assert_int_eq(h.prepared, 0);
  finish_stats();

  h.done = 0;
  snprintf(extra, sizeof(extra),
           ",\"index_all\":false,\"base_id\":\"%s\",\"table_name_or_id\":"
           "\"%s\"", ad_fake_airtable_base_id(h.fake, 2),
           ad_fake_airtable_table_id(h.fake, 2, 1));
  configure(NULL, extra, "tables", "", 20000);
  run(1, 0);
  ck_assert_ptr_nonnull(strstr(ad_at_source_check_result(&h.src),
                               "is readable: 35 fields"));
  ck_assert_int_eq(h.pages, 0);
  ck_assert_int_eq(h.prepared, 1); /* so a table the sink refuses shows */
  finish_stats();
}
END_TEST

START_TEST(test_demo_dataset) {
  json_object *doc;
  h.fo.demo = 1;
  start_fake();
  configure(NULL, "", "documents", "", 20000);
  run(0, 0);
  ck_assert_int_eq(h.units, total_records());
  ck_assert_int_eq(h.units, 326);
  ck_assert_uint_eq(h.stats.tables, 8);
  ck_assert_int_eq(ad_stats_ok(&h.stats), 1);
  ck_assert_int_eq(h.prepared, 8);
  ck_assert_int_eq(h.bad_columns, 0);
  ck_assert_uint_eq(h.stats.records_failed, 0);
  ck_assert(json_object_object_get_ex(
      h.sample, ad_fake_airtable_table_id(h.fake, 0, 0), &doc));
  ck_assert_str_eq(json_object_get_string(member(doc, "base_name")),
                   "Bug Tracking System");
  ck_assert_str_eq(json_object_get_string(member(doc, "table_name")),
                   "Bugs and issues");
  ck_assert_str_eq(json_object_get_string(member(member(doc, "values"), "Name")),
                   "Login page crashes on Safari 17");
  finish_stats();
}
END_TEST

static Suite *source_suite(void) {
  Suite *s = suite_create("airtable_source");
  TCase *tc = tcase_create("over_http");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 180);
  tcase_add_test(tc, test_index_all_exactly_once_within_limits);
  tcase_add_test(tc, test_specific_table_documents_post);
  tcase_add_test(tc, test_429_pauses_the_base);
  tcase_add_test(tc, test_429_at_the_limit_widens_the_margin);
  tcase_add_test(tc, test_expired_offsets_restart_without_duplicates);
  tcase_add_test(tc, test_changed_table_is_sent_again_after_restart);
  tcase_add_test(tc, test_table_that_keeps_changing_fails_alone);
  tcase_add_test(tc, test_forbidden_table_fails_alone);
  tcase_add_test(tc, test_refused_table_fails_alone);
  tcase_add_test(tc, test_encoder_refusing_records);
  tcase_add_test(tc, test_rejected_key_is_fatal);
  tcase_add_test(tc, test_missing_table_is_fatal);
  tcase_add_test(tc, test_backpressure_bounds_the_queue);
  tcase_add_test(tc, test_faults_are_retried);
  tcase_add_test(tc, test_503_retry_after_is_honoured);
  tcase_add_test(tc, test_billing_429_is_fatal);
  tcase_add_test(tc, test_token_429_pauses_every_base);
  tcase_add_test(tc, test_retries_spent_fail_clearly);
  tcase_add_test(tc, test_stop_while_a_page_is_parsing);
  tcase_add_test(tc, test_check_modes);
  tcase_add_test(tc, test_demo_dataset);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(source_suite()); }
