/* The plugin contract itself, with plugins of the test's own through the
 * public API: a full queue pauses the source and an emptied one resumes
 * it, every record ends written or failed, a sink that loses records
 * makes the run fatal instead of successful, and a section's type lists
 * the plugins there are. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <uv.h>

#include "airdust.h"
#include "airdust_plugin.h"
#include "testutil.h"

#define PAGE 100

/* ---- a source that makes pages on a timer ---------------------------------- */

typedef struct gen_config {
  long records;
} gen_config_t;

static const ad_config_key_t gen_keys[] = {
    {"records", AD_KEY_POSINT, offsetof(gen_config_t, records), "2000", NULL,
     0, NULL, NULL, NULL},
    {NULL}};

typedef struct gen {
  ad_source_t *src;
  const gen_config_t *conf;
  uv_timer_t timer;
  ad_table_t *table;
  long made;
  int paused, pauses, resumes, done;
} gen_t;

static void gen_tick(uv_timer_t *t) {
  gen_t *g = t->data;
  ad_value_t v = {AD_KIND_INT, 0, {0}};
  ad_record_t rec = {NULL, 0, NULL, &v};
  ad_page_t *page;
  char id[32], err[128];
  long i;

  if (ad_source_is_check(g->src)) { /* nothing to prove, nothing read */
    uv_timer_stop(&g->timer);
    g->done = 1;
    ad_source_done(g->src);
    return;
  }
  if (g->made == g->conf->records) {
    uv_timer_stop(&g->timer);
    ad_source_table_end(g->src, g->table, NULL);
    g->done = 1;
    ad_source_done(g->src);
    return;
  }
  if (g->paused)
    return;
  if (ad_source_reserve(g->src, PAGE, PAGE * 16) != 0)
    return; /* full: pause or resume follows */
  page = ad_page_new(g->table);
  ck_assert_ptr_nonnull(page);
  for (i = 0; i < PAGE && g->made < g->conf->records; i++, g->made++) {
    snprintf(id, sizeof(id), "r%ld", g->made);
    rec.id = id;
    v.u.i = g->made;
    ck_assert_int_eq(ad_source_encode(g->src, page, &rec, NULL, err,
                                      sizeof(err)),
                     0);
  }
  ad_source_push(g->src, page, PAGE, PAGE * 16,
                 g->made == g->conf->records);
}

static int gen_init(ad_source_t *src, const void *config, void **ctx,
                    char *err, size_t errlen) {
  gen_t *g = calloc(1, sizeof(*g));
  (void)err;
  (void)errlen;
  g->src = src;
  g->conf = config;
  uv_timer_init(ad_source_loop(src), &g->timer);
  g->timer.data = g;
  *ctx = g;
  return 0;
}

static int gen_start(void *ctx) {
  gen_t *g = ctx;
  if (ad_source_is_check(g->src)) {
    uv_timer_start(&g->timer, gen_tick, 1, 1);
    return 0;
  }
  g->table = ad_table_new("test", "grp", "Group", "tbl", "Table", "");
  ck_assert_int_eq(ad_table_add_column(g->table, "n", "N", AD_KIND_INT, 0),
                   0);
  ad_source_group(g->src, "grp", "Group");
  ck_assert_int_eq(ad_source_table(g->src, g->table), 0);
  uv_timer_start(&g->timer, gen_tick, 1, 1);
  return 0;
}

static void gen_pause(void *ctx) {
  gen_t *g = ctx;
  g->paused = 1;
  g->pauses++;
}

static void gen_resume(void *ctx) {
  gen_t *g = ctx;
  g->paused = 0;
  g->resumes++;
}

static void gen_stop(void *ctx) {
  gen_t *g = ctx;
  g->made = g->conf->records; /* the next tick ends */
}

/* What the last run's source saw, kept past its close. */
static int last_pauses, last_resumes;

static void gen_closed(uv_handle_t *h) {
  gen_t *g = h->data;
  ad_table_unref(g->table);
  free(g);
}

static void gen_close(void *ctx) {
  gen_t *g = ctx;
  last_pauses = g->pauses;
  last_resumes = g->resumes;
  uv_close((uv_handle_t *)&g->timer, gen_closed);
}

static const ad_source_plugin_t gen_source = {
    .name = "gen",
    .keys = gen_keys,
    .config_size = sizeof(gen_config_t),
    .init = gen_init,
    .start = gen_start,
    .pause = gen_pause,
    .resume = gen_resume,
    .stop = gen_stop,
    .close = gen_close,
};

/* ---- a sink that takes a page every few ms --------------------------------- */

typedef struct slow_config {
  int lose;  /* pop pages and report nothing: a broken sink */
  int fatal; /* refuse the run at the first page it is offered */
} slow_config_t;

static const ad_config_key_t slow_keys[] = {
    {"lose", AD_KEY_BOOL, offsetof(slow_config_t, lose), "false", NULL, 0,
     NULL, NULL, NULL},
    {"fatal", AD_KEY_BOOL, offsetof(slow_config_t, fatal), "false", NULL, 0,
     NULL, NULL, NULL},
    {NULL}};

typedef struct slow {
  ad_sink_t *sink;
  const slow_config_t *conf;
  uv_timer_t timer;
  int finishing, drained, refused;
} slow_t;

static void slow_drain(slow_t *k) {
  if (k->finishing && !k->drained && !ad_sink_has_page(k->sink)) {
    k->drained = 1;
    uv_timer_stop(&k->timer);
    ad_sink_drained(k->sink);
  }
}

static void slow_tick(uv_timer_t *t) {
  slow_t *k = t->data;
  ad_page_t *page = ad_sink_pop(k->sink);
  if (page != NULL) {
    if (!k->conf->lose) {
      ad_sink_written(k->sink, ad_page_table(page), ad_page_count(page));
      if (ad_page_is_last(page))
        ad_sink_table_done(k->sink, ad_page_table(page));
    }
    ad_page_free(page);
  }
  slow_drain(k);
}

static int slow_init(ad_sink_t *sink, const void *config, void **ctx,
                     char *err, size_t errlen) {
  slow_t *k = calloc(1, sizeof(*k));
  (void)err;
  (void)errlen;
  k->sink = sink;
  k->conf = config;
  uv_timer_init(ad_sink_loop(sink), &k->timer);
  k->timer.data = k;
  uv_timer_start(&k->timer, slow_tick, 3, 3);
  *ctx = k;
  return 0;
}

static int slow_prepare(void *ctx, ad_table_t *t, char *err, size_t errlen) {
  (void)ctx;
  (void)t;
  (void)err;
  (void)errlen;
  return 0;
}

static int slow_encode(void *ctx, const ad_table_t *t, const ad_record_t *rec,
                       ad_page_t *page, ad_buf_t *scratch, char *err,
                       size_t errlen) {
  int rc;
  (void)ctx;
  (void)t;
  (void)scratch;
  (void)err;
  (void)errlen;
  if ((rc = ad_page_begin(page, rec->id, strlen(rec->id))) != 0 ||
      (rc = ad_page_append(page, "x", 1)) != 0)
    return rc;
  ad_page_commit(page);
  return 0;
}

/* The timer takes; a fatal sink refuses the run from inside the push that
 * offered its first page, the hardest moment for the source. */
static void slow_take(void *ctx) {
  slow_t *k = ctx;
  if (k->conf->fatal && !k->refused) {
    k->refused = 1;
    ad_sink_fatal(k->sink, "the destination refused the run");
  }
}

static void slow_finish(void *ctx) {
  slow_t *k = ctx;
  k->finishing = 1;
  slow_drain(k);
}

static void slow_abort(void *ctx, const char *reason) {
  slow_t *k = ctx;
  ad_page_t *page;
  while ((page = ad_sink_pop(k->sink)) != NULL) {
    ad_sink_failed(k->sink, ad_page_table(page), NULL, reason,
                   ad_page_count(page));
    ad_page_free(page);
  }
  uv_timer_stop(&k->timer); /* takes nothing more */
  slow_drain(k);
}

static void slow_closed(uv_handle_t *h) { free(h->data); }

static void slow_close(void *ctx) {
  slow_t *k = ctx;
  uv_close((uv_handle_t *)&k->timer, slow_closed);
}

static const ad_sink_plugin_t slow_sink = {
    .name = "slow",
    .keys = slow_keys,
    .config_size = sizeof(slow_config_t),
    .init = slow_init,
    .prepare = slow_prepare,
    .encode = slow_encode,
    .take = slow_take,
    .finish = slow_finish,
    .abort = slow_abort,
    .close = slow_close,
};

/* ---- running ------------------------------------------------------------- */

static const ad_source_plugin_t *const sources[] = {&gen_source, NULL};
static const ad_sink_plugin_t *const sinks[] = {&slow_sink, NULL};

typedef struct run {
  int result;
  ad_sync_progress_t p;
  char error[256];
} run_t;

static void on_done(ad_sync_t *s, void *data) {
  (void)s;
  *(int *)data = 1;
}

static void on_closed(ad_sync_t *s, void *data) {
  (void)s;
  *(int *)data = 1;
}

static int run_sync(const char *config, run_t *r, char *err, size_t errlen) {
  ad_sync_options_t o;
  uv_loop_t loop;
  ad_sync_t *s;
  int done = 0, closed = 0, rc;

  memset(r, 0, sizeof(*r));
  memset(&o, 0, sizeof(o));
  o.log_level = 1;
  o.sources = sources;
  o.sinks = sinks;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  rc = ad_sync_new(&s, &loop, config, strlen(config), &o, err, errlen);
  if (rc != 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(ad_test_loop_close(&loop), 0);
    return rc;
  }
  ck_assert_int_eq(ad_sync_start(s, on_done, &done), 0);
  ck_assert_msg(ad_test_run_until(&loop, &done, 60000), "the sync hung");
  r->result = ad_sync_result(s);
  ad_sync_progress(s, &r->p);
  snprintf(r->error, sizeof(r->error), "%s",
           ad_sync_error(s) ? ad_sync_error(s) : "");
  ad_sync_close(s, on_closed, &closed);
  ck_assert(ad_test_run_until(&loop, &closed, 10000));
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
  return 0;
}

/* A queue of 300 rows before a sink that takes 100 every 3 ms, after a
 * source that makes 100 every 1 ms: the source is paused and resumed,
 * and every record arrives. */
START_TEST(test_backpressure_pauses_and_resumes) {
  static const char config[] =
      "{\"source\":{\"type\":\"gen\",\"records\":3000},"
      "\"sink\":{\"type\":\"slow\"},"
      "\"engine\":{\"queue_rows\":300},"
      "\"rate_limits\":{\"shared\":{\"type\":\"none\"}}}";
  char err[256];
  run_t r;

  ck_assert_int_eq(run_sync(config, &r, err, sizeof(err)), 0);
  ck_assert_int_eq(r.result, AD_SYNC_OK);
  ck_assert_uint_eq(r.p.records_read, 3000);
  ck_assert_uint_eq(r.p.rows_written, 3000);
  ck_assert_str_eq(r.p.source_type, "gen");
  ck_assert_str_eq(r.p.sink_type, "slow");
  ck_assert_int_gt(last_pauses, 0);
  ck_assert_int_gt(last_resumes, 0);
}
END_TEST

/* A sink that drops pages without a word: the engine's accounting
 * catches it, and the run is fatal, not successful. */
START_TEST(test_lost_records_are_fatal) {
  static const char config[] =
      "{\"source\":{\"type\":\"gen\",\"records\":500},"
      "\"sink\":{\"type\":\"slow\",\"lose\":true},"
      "\"rate_limits\":{\"shared\":{\"type\":\"none\"}}}";
  char err[256];
  run_t r;

  ck_assert_int_eq(run_sync(config, &r, err, sizeof(err)), 0);
  ck_assert_int_eq(r.result, AD_SYNC_FATAL);
  ck_assert_uint_eq(r.p.records_read, 500);
  ck_assert_uint_eq(r.p.rows_written, 0);
  ck_assert_ptr_nonnull(strstr(r.error, "records unaccounted for"));
}
END_TEST

/* A type that is not there lists every plugin of its side, the program's
 * own among them; a key the plugin does not have is named. */
START_TEST(test_config_errors_name_the_plugins) {
  static const char bad_type[] =
      "{\"source\":{\"type\":\"nope\"},\"sink\":{\"type\":\"slow\"}}";
  static const char bad_key[] =
      "{\"source\":{\"type\":\"gen\",\"colour\":1},\"sink\":{\"type\":\"slow\"}}";
  char err[256];
  run_t r;

  ck_assert_int_eq(run_sync(bad_type, &r, err, sizeof(err)), AD_ECONFIG);
  ck_assert_str_eq(err, "source.type: expected \"airtable\", \"jsonl\", "
                        "\"airbyte\" or \"gen\", got \"nope\"");
  ck_assert_int_eq(run_sync(bad_key, &r, err, sizeof(err)), AD_ECONFIG);
  ck_assert_str_eq(err, "source.colour: unknown key");
}
END_TEST

/* A sink that refuses the run while the source is pushing: the run is
 * fatal with the sink's reason, the source is stopped (from a loop turn
 * of its own, so the push it was in finishes), and every record read is
 * failed, none lost. */
START_TEST(test_sink_fatal_during_a_push) {
  static const char config[] =
      "{\"source\":{\"type\":\"gen\",\"records\":5000},"
      "\"sink\":{\"type\":\"slow\",\"fatal\":true},"
      "\"rate_limits\":{\"shared\":{\"type\":\"none\"}}}";
  char err[256];
  run_t r;

  ck_assert_int_eq(run_sync(config, &r, err, sizeof(err)), 0);
  ck_assert_int_eq(r.result, AD_SYNC_FATAL);
  ck_assert_str_eq(r.error, "the destination refused the run");
  ck_assert_uint_gt(r.p.records_read, 0);
  ck_assert_uint_lt(r.p.records_read, 5000); /* stopped early */
  ck_assert_uint_eq(r.p.rows_written + r.p.records_failed, r.p.records_read);
}
END_TEST

/* Check mode with plugins that have nothing to prove: it ends, OK, on a
 * later loop turn (never inside ad_sync_start), and reads nothing. */
START_TEST(test_check_without_checks) {
  static const char config[] =
      "{\"source\":{\"type\":\"gen\"},\"sink\":{\"type\":\"slow\"},"
      "\"rate_limits\":{\"shared\":{\"type\":\"none\"}}}";
  ad_sync_options_t o;
  uv_loop_t loop;
  ad_sync_t *s;
  char err[256];
  int done = 0, closed = 0;

  memset(&o, 0, sizeof(o));
  o.log_level = 1;
  o.check = 1;
  o.sources = sources;
  o.sinks = sinks;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(ad_sync_new(&s, &loop, config, strlen(config), &o, err,
                               sizeof(err)),
                   0);
  ck_assert_int_eq(ad_sync_start(s, on_done, &done), 0);
  ck_assert_int_eq(done, 0); /* not from inside start */
  ck_assert(ad_test_run_until(&loop, &done, 10000));
  ck_assert_msg(ad_sync_result(s) == AD_SYNC_OK, "%s",
                ad_sync_error(s) ? ad_sync_error(s) : "");
  ck_assert_str_eq(ad_sync_check_report(s), "gen: ready\nslow: ready");
  ad_sync_close(s, on_closed, &closed);
  ck_assert(ad_test_run_until(&loop, &closed, 10000));
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
}
END_TEST

static Suite *plugins_suite(void) {
  Suite *s = suite_create("plugins");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_backpressure_pauses_and_resumes);
  tcase_add_test(tc, test_lost_records_are_fatal);
  tcase_add_test(tc, test_sink_fatal_during_a_push);
  tcase_add_test(tc, test_check_without_checks);
  tcase_add_test(tc, test_config_errors_name_the_plugins);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(plugins_suite()); }
