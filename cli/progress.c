#include "progress.h"

#include <string.h>

#include <json-c/json.h>

#define AD_CLI_SHOWN_FAILURES 10

void ad_cli_progress_init(ad_cli_progress_t *p, FILE *out, int enabled) {
  memset(p, 0, sizeof(*p));
  p->out = out;
  p->enabled = enabled;
}

static uint64_t ad_cli_written(const ad_sync_progress_t *s) {
  return s->rows_written + s->documents_written;
}

static uint64_t ad_cli_deleted(const ad_sync_progress_t *s) {
  return s->rows_deleted + s->documents_deleted;
}

void ad_cli_progress_draw(ad_cli_progress_t *p, const ad_sync_progress_t *s) {
  double dt = s->elapsed_s - p->last_s;
  if (!p->enabled)
    return;
  if (dt >= 0.5) { /* a rate over the last half second or more, smoothed */
    double now = (double)(ad_cli_written(s) - p->last_written) / dt;
    p->rate = p->last_s > 0 ? 0.5 * p->rate + 0.5 * now : now;
    p->last_s = s->elapsed_s;
    p->last_written = ad_cli_written(s);
  }
  fprintf(p->out,
          "\r[%6.1fs] tables %llu/%llu | records %llu | written %llu "
          "(%.0f/s)",
          s->elapsed_s, (unsigned long long)s->tables_done,
          (unsigned long long)s->tables_total,
          (unsigned long long)s->records_read,
          (unsigned long long)ad_cli_written(s), p->rate);
  if (s->records_unchanged > 0 || ad_cli_deleted(s) > 0) /* a rerun */
    fprintf(p->out, " | unchanged %llu | deleted %llu",
            (unsigned long long)s->records_unchanged,
            (unsigned long long)ad_cli_deleted(s));
  fprintf(p->out,
          " | rate-limit wait %.1fs | retries %llu | failed %llu\033[K",
          (double)s->rate_limit_wait_us / 1e6,
          (unsigned long long)s->retries,
          (unsigned long long)s->records_failed);
  fflush(p->out);
  p->drawn = 1;
}

void ad_cli_progress_clear(ad_cli_progress_t *p) {
  if (!p->drawn)
    return;
  fputs("\r\033[K", p->out);
  fflush(p->out);
  p->drawn = 0;
}

static uint64_t ad_cli_u64(json_object *o, const char *key) {
  return (uint64_t)json_object_get_int64(json_object_object_get(o, key));
}

static void ad_cli_bases(FILE *out, json_object *per_base) {
  size_t i, n = json_object_array_length(per_base);
  json_object *b;
  const char *name;

  if (n == 0)
    return;
  fprintf(out, "\n  %-19s %-28s %7s %9s %9s %8s\n", "base", "name", "tables",
          "records", "written", "failed");
  for (i = 0; i < n; i++) {
    b = json_object_array_get_idx(per_base, i);
    name = json_object_get_string(json_object_object_get(b, "name"));
    fprintf(out, "  %-19s %-28.28s %7llu %9llu %9llu %8llu\n",
            json_object_get_string(json_object_object_get(b, "base")),
            name[0] ? name : "-",
            (unsigned long long)ad_cli_u64(b, "tables"),
            (unsigned long long)ad_cli_u64(b, "records_read"),
            (unsigned long long)ad_cli_u64(b, "written"),
            (unsigned long long)ad_cli_u64(b, "records_failed"));
  }
}

static void ad_cli_failures(FILE *out, json_object *failures) {
  size_t i, n = json_object_array_length(failures);
  json_object *f;
  const char *table, *record;

  if (n == 0)
    return;
  fprintf(out, "\n  failures%s:\n",
          n > AD_CLI_SHOWN_FAILURES ? " (the first ones; all in --stats-json)"
                                    : "");
  for (i = 0; i < n && i < AD_CLI_SHOWN_FAILURES; i++) {
    f = json_object_array_get_idx(failures, i);
    table = json_object_get_string(json_object_object_get(f, "table"));
    record = json_object_get_string(json_object_object_get(f, "record"));
    fprintf(out, "  - %s%s%s%s%s (%llu records): %s\n",
            json_object_get_string(json_object_object_get(f, "base")),
            table[0] ? "/" : "", table, record ? "/" : "",
            record ? record : "", (unsigned long long)ad_cli_u64(f, "records"),
            json_object_get_string(json_object_object_get(f, "error")));
  }
}

/* A plugin as the summary names it: Airtable and Dust as before. */
static const char *ad_cli_side(const char *type) {
  static const char *const names[][2] = {{"airtable", "Airtable"},
                                         {"dust", "Dust"}};
  size_t i;
  if (type == NULL)
    return "?";
  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(type, names[i][0]) == 0)
      return names[i][1];
  return type;
}

void ad_cli_summary(FILE *out, const ad_sync_progress_t *s,
                    const char *stats_json) {
  json_object *stats = stats_json ? json_tokener_parse(stats_json) : NULL;
  char skipped[64] = "";
  if (s->tables_skipped > 0)
    snprintf(skipped, sizeof(skipped), ", %llu skipped as finished before",
             (unsigned long long)s->tables_skipped);
  fprintf(out,
          "%.1f s: %llu bases, %llu tables (%llu failed%s), %llu records "
          "read, %llu rows and %llu documents written, %llu failed; "
          "requests: %llu %s, %llu %s; 429s: %llu %s, %llu %s; %llu "
          "retries\n",
          s->elapsed_s, (unsigned long long)s->bases,
          (unsigned long long)s->tables_total,
          (unsigned long long)s->tables_failed, skipped,
          (unsigned long long)s->records_read,
          (unsigned long long)s->rows_written,
          (unsigned long long)s->documents_written,
          (unsigned long long)s->records_failed,
          (unsigned long long)s->requests_source, ad_cli_side(s->source_type),
          (unsigned long long)s->requests_sink, ad_cli_side(s->sink_type),
          (unsigned long long)s->http429_source, ad_cli_side(s->source_type),
          (unsigned long long)s->http429_sink, ad_cli_side(s->sink_type),
          (unsigned long long)s->retries);
  if (s->records_unchanged > 0 || ad_cli_deleted(s) > 0 ||
      s->tables_deleted > 0)
    fprintf(out,
            "mirror: %llu records unchanged (not sent), %llu rows and %llu "
            "documents deleted, %llu tables deleted\n",
            (unsigned long long)s->records_unchanged,
            (unsigned long long)s->rows_deleted,
            (unsigned long long)s->documents_deleted,
            (unsigned long long)s->tables_deleted);
  if (stats != NULL) {
    ad_cli_bases(out, json_object_object_get(stats, "per_base"));
    ad_cli_failures(out, json_object_object_get(stats, "failures"));
  }
  json_object_put(stats);
}
