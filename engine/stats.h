/* ad_stats: the run's counters and failures, serialized to the JSON of
 * design.md section 7 (--stats-json). */
#ifndef AD_STATS_H
#define AD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "redact.h"

#define AD_STATS_MAX_FAILURES 1000

typedef struct ad_failure {
  char *base;   /* base id, "" if not known */
  char *table;  /* table id, "" if not known */
  char *record; /* record id, NULL for a whole table or batch */
  char *error;
  uint64_t records; /* records this failure accounts for */
} ad_failure_t;

/* One base's share of the counters, for the per-base summary. */
typedef struct ad_stats_base {
  char *id;
  char *name; /* "" when not known */
  uint64_t tables, tables_failed, records_read, written, records_failed;
  uint64_t unchanged, deleted;
} ad_stats_base_t;

typedef struct ad_stats {
  double elapsed_s;
  uint64_t bases, tables, tables_failed;
  uint64_t tables_skipped; /* finished in an earlier run (sync --state) */
  uint64_t records_read, rows_written, documents_written, records_failed;
  /* A recurring sync (docs/mirror.md): records read and not sent (the
   * destination holds them as they are), and what it deleted there. */
  uint64_t records_unchanged;
  uint64_t rows_deleted, documents_deleted, tables_deleted;
  /* What the mass-delete guard held back: records, and tables. */
  uint64_t deletes_held, tables_held;
  /* The API calls of each side (0 for a plugin that calls none). */
  uint64_t requests_source, requests_sink;
  uint64_t http429_source, http429_sink;
  const char *source_type, *sink_type; /* the plugins' names; static */
  uint64_t retries;
  uint64_t bytes_received, bytes_sent;
  uint64_t peak_queue_rows;
  uint64_t rate_limit_wait_us; /* time requests spent waiting for grants */
  uint64_t rate_limit_late_us; /* requests out after the limits allowed */
  const char *rate_limit_sharing; /* "file", "redis", "none"; static */
  double safety_margin_ms;     /* Airtable's, at the end of the run */
  uint64_t margin_widened;     /* times a 429 widened it in this run */
  char *fatal_error;           /* set when the run could not go on */
  ad_failure_t *failures;      /* the first AD_STATS_MAX_FAILURES */
  size_t nfailures;
  size_t failures_dropped; /* failures past the cap, counted only */
  ad_stats_base_t *per_base; /* in discovery order */
  size_t nper_base;
  ad_stats_base_t unknown;   /* absorbs counts of bases not kept; unused */
} ad_stats_t;

void ad_stats_init(ad_stats_t *stats);
void ad_stats_free(ad_stats_t *stats);

/* Records a failure (strings copied; record may be NULL). Counts only the
 * failure, not records_failed, which the caller keeps. */
int ad_stats_add_failure(ad_stats_t *stats, const char *base,
                         const char *table, const char *record,
                         const char *error, uint64_t records);

/* Sets the fatal error (copied); the first one wins. */
int ad_stats_set_fatal(ad_stats_t *stats, const char *error);

/* The index of base id's counters, added (name copied, may be NULL) when
 * new; AD_ENOMEM. */
int ad_stats_base(ad_stats_t *stats, const char *id, const char *name);

/* Base i's counters; for a base not known (a negative i), a scratch set
 * that is never reported, so callers count without checking. The pointer
 * is valid until the next ad_stats_base. */
static inline ad_stats_base_t *ad_stats_base_at(ad_stats_t *stats, int i) {
  return i >= 0 && (size_t)i < stats->nper_base ? &stats->per_base[i]
                                                : &stats->unknown;
}

/* ok = nothing failed and nothing fatal. */
int ad_stats_ok(const ad_stats_t *stats);

/* The stats as a JSON document (malloc'd, caller frees), passed through
 * redact (may be NULL). NULL on allocation failure. */
char *ad_stats_to_json(const ad_stats_t *stats, const ad_redact_t *redact);

#endif
