#include "sync_harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "builtin.h"
#include "sink.h"
#include "testutil.h"

void ad_th_setup(ad_th_t *th) {
  memset(th, 0, sizeof(*th));
  ad_fake_airtable_opts_default(&th->ao);
  ad_fake_dust_opts_default(&th->dop);
  th->ao.penalty_ms = 2000;
  th->dop.documents_per_minute = 0;
  th->format = "tables";
  th->dust_key = AD_TH_DUST_KEY;
  th->max_retries = 8;
  th->backoff_on_429_s = 2;
  th->log_level = -1;
  th->deadline_ms = 120000;
  snprintf(th->rate_extra, sizeof(th->rate_extra),
           ",\"dust_documents_per_minute\":100000");
  snprintf(th->state_dir, sizeof(th->state_dir), "/tmp/ad_th.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(th->state_dir));
}

/* What a run leaves in its state folder: the shared budget, the learned
 * margins and their lock. */
static void ad_th_remove_state(ad_th_t *th) {
  static const char *const names[] = {AD_BUDGET_FILE_NAME, "margins.json",
                                      "margins.json.lock", "margins.json.tmp"};
  char path[512];
  size_t i;
  char cmd[600];
  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", th->state_dir, names[i]);
    unlink(path);
  }
  if (rmdir(th->state_dir) != 0) { /* stores a test made, and their WAL */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", th->state_dir);
    ck_assert_int_eq(system(cmd), 0);
  }
}

void ad_th_teardown(ad_th_t *th) {
  json_object_put(th->stats);
  ad_fake_airtable_stop(th->at);
  ad_fake_dust_stop(th->dust);
  th->stats = NULL;
  th->at = NULL;
  th->dust = NULL;
  ad_th_remove_state(th);
}

void ad_th_start_fakes(ad_th_t *th) {
  if (th->at == NULL)
    th->at = ad_fake_airtable_start(&th->ao);
  ck_assert_ptr_nonnull(th->at);
  if (th->dust == NULL)
    th->dust = ad_fake_dust_start(&th->dop);
  ck_assert_ptr_nonnull(th->dust);
}

static void ad_th_configure(ad_th_t *th) {
  char text[4096], err[256];
  snprintf(text, sizeof(text),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\"%s},"
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"%s\",\"base_url\":\"%s\","
           "\"workspace_id\":\"wFake\",\"space_id\":\"vltFake\","
           "\"data_source_id\":\"dsFake\",\"data_format\":\"%s\"%s},"
           "\"rate_limits\":{\"backoff_on_429_s\":%g%s},"
           "\"engine\":{\"max_retries\":%d,\"state_dir\":\"%s\"%s}}",
           th->ao.token, ad_fake_airtable_url(th->at),
           th->source_extra[0] ? th->source_extra : ",\"index_all\":true",
           th->dust_key, ad_fake_dust_url(th->dust), th->format,
           th->sink_extra, th->backoff_on_429_s, th->rate_extra,
           th->max_retries, th->state_dir, th->engine_extra);
  ck_assert_msg(ad_config_parse(&th->cfg, text, strlen(text),
                                ad_builtin_plugins(), NULL, NULL, err,
                                sizeof(err)) == 0,
                "config: %s", err);
}

static void ad_th_on_done(ad_pipeline_t *p, void *data) {
  ad_th_t *th = data;
  (void)p;
  th->done = 1;
}

static void ad_th_on_tick(uv_timer_t *t) {
  ad_th_t *th = t->data;
  th->tick(th);
}

/* The product registers both keys before its first line (ad_sync); so do
 * the runs here, whose lines the secrets check then reads. */
static ad_log_t *ad_th_log(ad_th_t *th) {
  if (th->log_level < 0)
    return NULL;
  ad_log_init(&th->log, stderr, th->log_level, AD_LOG_TEXT);
  ck_assert_int_eq(ad_log_add_secret(&th->log, th->ao.token), 0);
  ck_assert_int_eq(ad_log_add_secret(&th->log, th->dust_key), 0);
  return &th->log;
}

/* The Dust sink the run wrote through. */
static const ad_dust_sink_t *ad_th_dust(const ad_th_t *th) {
  return th->p.host.sink.ctx;
}

static void ad_th_keep_stats(ad_th_t *th) {
  char *json = ad_stats_to_json(&th->p.stats, NULL);
  ck_assert_ptr_nonnull(json);
  json_object_put(th->stats);
  th->stats = json_tokener_parse(json);
  free(json);
  th->st = th->p.stats;
  th->st.failures = NULL;
  th->st.fatal_error = NULL;
  th->sink_peak = ad_th_dust(th)->peak_held_rows;
  th->sink_max = ad_th_dust(th)->max_rows;
}

/* The memory named store_name, for this sync of the fakes. */
static ad_store_t *ad_th_store(ad_th_t *th) {
  ad_store_t *store = NULL;
  char path[256], err[512];
  if (th->store_name == NULL)
    return NULL;
  snprintf(path, sizeof(path), "%s/%s", th->state_dir, th->store_name);
  ck_assert_msg(ad_store_open(&store, path, "{\"type\":\"airtable\"}",
                              "{\"type\":\"dust\"}", NULL, err,
                              sizeof(err)) == 0,
                "store: %s", err);
  return store;
}

void ad_th_run(ad_th_t *th) {
  ad_pipeline_opts_t o;

  ad_th_start_fakes(th);
  ad_th_configure(th);
  th->done = 0;
  ck_assert_int_eq(uv_loop_init(&th->loop), 0);
  memset(&o, 0, sizeof(o));
  o.store = ad_th_store(th);
  o.allow_mass_delete = th->allow_mass_delete;
  o.config = &th->cfg;
  o.log = ad_th_log(th);
  o.backoff_base_ms = 20;
  o.documents_window_ms = th->documents_window_ms;
  o.on_done = ad_th_on_done;
  o.data = th;
  ck_assert_int_eq(ad_pipeline_init(&th->p, &th->loop, &o), 0);
  if (th->tick != NULL) {
    uv_timer_init(&th->loop, &th->tick_timer);
    th->tick_timer.data = th;
    uv_timer_start(&th->tick_timer, ad_th_on_tick, 2, 2);
  }
  ck_assert_int_eq(ad_pipeline_start(&th->p), 0);
  ck_assert_msg(ad_test_run_until(&th->loop, &th->done, th->deadline_ms),
                "the sync did not finish within %llu ms",
                (unsigned long long)th->deadline_ms);
  if (th->tick != NULL)
    uv_close((uv_handle_t *)&th->tick_timer, NULL);
  ad_th_keep_stats(th);
  ck_assert_uint_eq(th->p.queue.items, 0);
  ad_pipeline_close(&th->p, NULL, NULL);
  ck_assert_int_eq(ad_test_loop_close(&th->loop), 0);
  ad_config_free(&th->cfg);
  ad_store_close(o.store);
  if (o.log != NULL)
    ad_log_close(o.log);
  /* Nothing lost: every record read is written, failed or unchanged. */
  ck_assert_uint_eq(th->st.records_read,
                    th->st.rows_written + th->st.documents_written +
                        th->st.records_failed + th->st.records_unchanged);
}

long ad_th_total_records(const ad_th_t *th) {
  long n = 0;
  int b, t;
  for (b = 0; b < ad_fake_airtable_nbases(th->at); b++)
    for (t = 0; t < ad_fake_airtable_ntables(th->at, b); t++)
      n += ad_fake_airtable_nrecords(th->at, b, t);
  return n;
}

void ad_th_dust_table_id(const ad_th_t *th, char *out, size_t len, int b,
                         int t) {
  snprintf(out, len, AD_TH_PREFIX "%s_%s", ad_fake_airtable_base_id(th->at, b),
           ad_fake_airtable_table_id(th->at, b, t));
}

json_object *ad_th_stored_table(const ad_th_t *th, json_object *dump, int b,
                                int t) {
  char id[64];
  size_t i;
  json_object *tables = json_object_object_get(dump, "tables"), *x;
  ad_th_dust_table_id(th, id, sizeof(id), b, t);
  for (i = 0; i < json_object_array_length(tables); i++) {
    x = json_object_array_get_idx(tables, i);
    if (strcmp(json_object_get_string(json_object_object_get(x, "table_id")),
               id) == 0)
      return x;
  }
  return NULL;
}

long ad_th_stored_rows(const ad_th_t *th, json_object *dump, int b, int t) {
  json_object *x = ad_th_stored_table(th, dump, b, t);
  return x ? (long)json_object_object_length(json_object_object_get(x, "rows"))
           : -1;
}

void ad_th_assert_all_landed(const ad_th_t *th) {
  json_object *dump = ad_fake_dust_dump(th->dust);
  ad_fake_dust_counters_t c;
  long total = ad_th_total_records(th), docs;
  int b, t;

  ad_fake_dust_counters(th->dust, &c);
  ck_assert_msg(th->st.records_failed == 0, "failed: %s",
                json_object_to_json_string(th->stats));
  if (strcmp(th->format, "tables") == 0) {
    for (b = 0; b < ad_fake_airtable_nbases(th->at); b++)
      for (t = 0; t < ad_fake_airtable_ntables(th->at, b); t++)
        ck_assert_int_eq(ad_th_stored_rows(th, dump, b, t),
                         ad_fake_airtable_nrecords(th->at, b, t));
    ck_assert_int_eq(c.rows_stored, total);
    ck_assert_uint_eq(th->st.rows_written, (uint64_t)total);
  } else {
    docs = (long)json_object_object_length(
        json_object_object_get(dump, "documents"));
    ck_assert_int_eq(docs, total);
    ck_assert_uint_eq(th->st.documents_written, (uint64_t)total);
  }
  ck_assert_uint_eq(th->st.records_read, (uint64_t)total);
  json_object_put(dump);
}
