#include "stats.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"

void ad_stats_init(ad_stats_t *stats) { memset(stats, 0, sizeof(*stats)); }

static void ad_failure_free(ad_failure_t *f) {
  free(f->base);
  free(f->table);
  free(f->record);
  free(f->error);
}

void ad_stats_free(ad_stats_t *stats) {
  size_t i;
  for (i = 0; i < stats->nfailures; i++)
    ad_failure_free(&stats->failures[i]);
  free(stats->failures);
  free(stats->fatal_error);
  for (i = 0; i < stats->nper_base; i++) {
    free(stats->per_base[i].id);
    free(stats->per_base[i].name);
  }
  free(stats->per_base);
  ad_stats_init(stats);
}

int ad_stats_base(ad_stats_t *stats, const char *id, const char *name) {
  ad_stats_base_t *grown, *b;
  size_t i;
  for (i = 0; i < stats->nper_base; i++)
    if (strcmp(stats->per_base[i].id, id) == 0)
      return (int)i;
  grown = realloc(stats->per_base, (stats->nper_base + 1) * sizeof(*grown));
  if (grown == NULL)
    return AD_ENOMEM;
  stats->per_base = grown;
  b = &grown[stats->nper_base];
  memset(b, 0, sizeof(*b));
  b->id = strdup(id);
  b->name = strdup(name != NULL ? name : "");
  if (b->id == NULL || b->name == NULL) {
    free(b->id);
    free(b->name);
    return AD_ENOMEM;
  }
  return (int)stats->nper_base++;
}

static void ad_json_u64(json_object *obj, const char *key, uint64_t v);

static json_object *ad_stats_per_base(const ad_stats_t *stats) {
  json_object *arr = json_object_new_array(), *o;
  const ad_stats_base_t *b;
  size_t i;
  for (i = 0; i < stats->nper_base; i++) {
    b = &stats->per_base[i];
    o = json_object_new_object();
    json_object_object_add(o, "base", json_object_new_string(b->id));
    json_object_object_add(o, "name", json_object_new_string(b->name));
    ad_json_u64(o, "tables", b->tables);
    ad_json_u64(o, "tables_failed", b->tables_failed);
    ad_json_u64(o, "records_read", b->records_read);
    ad_json_u64(o, "written", b->written);
    ad_json_u64(o, "records_failed", b->records_failed);
    ad_json_u64(o, "unchanged", b->unchanged);
    ad_json_u64(o, "deleted", b->deleted);
    json_object_array_add(arr, o);
  }
  return arr;
}

static char *ad_strdup_or_empty(const char *s) {
  return strdup(s != NULL ? s : "");
}

int ad_stats_add_failure(ad_stats_t *stats, const char *base,
                         const char *table, const char *record,
                         const char *error, uint64_t records) {
  ad_failure_t *f, *grown;

  if (stats->nfailures == AD_STATS_MAX_FAILURES) {
    stats->failures_dropped++;
    return 0;
  }
  if ((stats->nfailures & (stats->nfailures - 1)) == 0) { /* 0, 1, 2, 4.. */
    grown = realloc(stats->failures,
                    (stats->nfailures ? stats->nfailures * 2 : 1) *
                        sizeof(*grown));
    if (grown == NULL)
      return AD_ENOMEM;
    stats->failures = grown;
  }
  f = &stats->failures[stats->nfailures];
  memset(f, 0, sizeof(*f));
  f->base = ad_strdup_or_empty(base);
  f->table = ad_strdup_or_empty(table);
  f->record = record != NULL ? strdup(record) : NULL;
  f->error = ad_strdup_or_empty(error);
  f->records = records;
  if (f->base == NULL || f->table == NULL || f->error == NULL ||
      (record != NULL && f->record == NULL)) {
    ad_failure_free(f);
    return AD_ENOMEM;
  }
  stats->nfailures++;
  return 0;
}

int ad_stats_set_fatal(ad_stats_t *stats, const char *error) {
  if (stats->fatal_error != NULL)
    return 0;
  stats->fatal_error = strdup(error);
  return stats->fatal_error == NULL ? AD_ENOMEM : 0;
}

int ad_stats_ok(const ad_stats_t *stats) {
  return stats->fatal_error == NULL && stats->tables_failed == 0 &&
         stats->records_failed == 0 && stats->nfailures == 0 &&
         stats->deletes_held == 0 && stats->tables_held == 0;
}

static void ad_json_u64(json_object *obj, const char *key, uint64_t v) {
  json_object_object_add(obj, key, json_object_new_uint64(v));
}

static json_object *ad_json_pair(const char *ka, uint64_t a, const char *kb,
                                 uint64_t b) {
  json_object *obj = json_object_new_object();
  ad_json_u64(obj, ka, a);
  ad_json_u64(obj, kb, b);
  return obj;
}

static json_object *ad_stats_failures(const ad_stats_t *stats) {
  json_object *arr = json_object_new_array();
  size_t i;

  for (i = 0; i < stats->nfailures; i++) {
    const ad_failure_t *f = &stats->failures[i];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "base", json_object_new_string(f->base));
    json_object_object_add(o, "table", json_object_new_string(f->table));
    if (f->record != NULL)
      json_object_object_add(o, "record", json_object_new_string(f->record));
    json_object_object_add(o, "error", json_object_new_string(f->error));
    ad_json_u64(o, "records", f->records);
    json_object_array_add(arr, o);
  }
  return arr;
}

static json_object *ad_stats_rate_limits(const ad_stats_t *stats) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  json_object_object_add(o, "shared",
                         json_object_new_string(stats->rate_limit_sharing));
  json_object_object_add(o, "safety_margin_ms",
                         json_object_new_double(stats->safety_margin_ms));
  ad_json_u64(o, "margin_widened", stats->margin_widened);
  return o;
}

char *ad_stats_to_json(const ad_stats_t *stats, const ad_redact_t *redact) {
  json_object *o = json_object_new_object();
  const char *src = stats->source_type ? stats->source_type : "airtable";
  const char *dst = stats->sink_type ? stats->sink_type : "dust";
  ad_buf_t buf;
  char *out;

  if (o == NULL)
    return NULL;
  json_object_object_add(o, "ok", json_object_new_boolean(ad_stats_ok(stats)));
  json_object_object_add(o, "elapsed_s",
                         json_object_new_double(stats->elapsed_s));
  ad_json_u64(o, "bases", stats->bases);
  ad_json_u64(o, "tables", stats->tables);
  ad_json_u64(o, "tables_failed", stats->tables_failed);
  ad_json_u64(o, "tables_skipped", stats->tables_skipped);
  ad_json_u64(o, "records_read", stats->records_read);
  ad_json_u64(o, "rows_written", stats->rows_written);
  ad_json_u64(o, "documents_written", stats->documents_written);
  ad_json_u64(o, "records_failed", stats->records_failed);
  ad_json_u64(o, "records_unchanged", stats->records_unchanged);
  ad_json_u64(o, "rows_deleted", stats->rows_deleted);
  ad_json_u64(o, "documents_deleted", stats->documents_deleted);
  ad_json_u64(o, "tables_deleted", stats->tables_deleted);
  ad_json_u64(o, "deletes_held", stats->deletes_held);
  ad_json_u64(o, "tables_held", stats->tables_held);
  json_object_object_add(o, "source",
                         json_object_new_string(src));
  json_object_object_add(o, "sink", json_object_new_string(dst));
  /* Keyed by plugin, {"airtable": …, "dust": …} as before plugins; by
   * side when both sides are one plugin (jsonl to jsonl). */
  if (strcmp(src, dst) == 0)
    src = "source", dst = "sink";
  json_object_object_add(o, "requests",
                         ad_json_pair(src, stats->requests_source, dst,
                                      stats->requests_sink));
  json_object_object_add(o, "http_429",
                         ad_json_pair(src, stats->http429_source, dst,
                                      stats->http429_sink));
  ad_json_u64(o, "retries", stats->retries);
  json_object_object_add(o, "bytes",
                         ad_json_pair("received", stats->bytes_received,
                                      "sent", stats->bytes_sent));
  ad_json_u64(o, "peak_queue_rows", stats->peak_queue_rows);
  json_object_object_add(
      o, "rate_limit_wait_s",
      json_object_new_double((double)stats->rate_limit_wait_us / 1e6));
  json_object_object_add(
      o, "rate_limit_late_s",
      json_object_new_double((double)stats->rate_limit_late_us / 1e6));
  if (stats->rate_limit_sharing != NULL)
    json_object_object_add(o, "rate_limits", ad_stats_rate_limits(stats));
  if (stats->fatal_error != NULL)
    json_object_object_add(o, "error",
                           json_object_new_string(stats->fatal_error));
  json_object_object_add(o, "per_base", ad_stats_per_base(stats));
  json_object_object_add(o, "failures", ad_stats_failures(stats));
  if (stats->failures_dropped > 0)
    ad_json_u64(o, "failures_not_listed", stats->failures_dropped);
  ad_buf_init(&buf, 0);
  if (ad_buf_puts(&buf, json_object_to_json_string_ext(
                            o, JSON_C_TO_STRING_PRETTY |
                                   JSON_C_TO_STRING_NOSLASHESCAPE)) != 0 ||
      (redact != NULL && ad_redact_apply(redact, &buf) != 0)) {
    json_object_put(o);
    ad_buf_free(&buf);
    return NULL;
  }
  json_object_put(o);
  out = ad_buf_steal(&buf, NULL);
  return out;
}
