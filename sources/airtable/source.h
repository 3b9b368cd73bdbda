/* ad_at_source: reads an Airtable account (or one table) into the queue.
 *
 * Discovery lists every base (all pages), fetches each base's schema once,
 * and starts one reader per table at once, so tables of many bases are in
 * flight together and both rate limits can be saturated. A reader reserves
 * queue room for a page before it asks for it (backpressure: a full queue
 * stops the fetching), then chains offsets page after page. Each table's
 * columns come from its schema (kinds by field type, docs/mapping.md) and
 * the sink's encoder prepares it, or refuses it, before it is read. Each
 * page is parsed once, off the loop; its records are made neutral
 * (engine/record.h) and encoded there by the sink's encoder into an
 * ad_page of the sink's units, pushed into the queue. Record ids are
 * de-duplicated per table, so a restart after an expired offset (422
 * LIST_RECORDS_ITERATOR_NOT_AVAILABLE) delivers no record twice.
 *
 * Failures are accounted in the stats: a table that fails (403, 404, other
 * 4xx, retries spent, refused by the encoder) is reported and the others
 * go on; a record the encoder cannot write is counted failed; a fatal error
 * (401, exhausted billing quota, a missing table in one-table mode) sets
 * stats->fatal_error and stops the source.
 *
 * Rate limits: every request takes from its base's key and the token's
 * (per_base_rps, per_token_rps), each window widened by the server's
 * safety margin, which a 429 at the limit widens for all keys at once. */
#ifndef AD_AT_SOURCE_H
#define AD_AT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "client.h"
#include "config.h"
#include "encode.h"
#include "http.h"
#include "limiter.h"
#include "list.h"
#include "log.h"
#include "margin.h"
#include "queue.h"
#include "timers.h"
#include "stats.h"

typedef struct ad_at_source ad_at_source_t;
typedef void (*ad_at_source_cb)(ad_at_source_t *src, void *data);

typedef struct ad_at_source_opts {
  const ad_config_t *config; /* borrowed for the source's life */
  ad_http_t *http;
  ad_limiter_t *limiter;
  ad_timers_t *timers;
  ad_queue_t *queue;
  ad_stats_t *stats;
  /* The sink's (borrowed, outlives the source): prepare runs on the loop
   * for each table before it is read, encode on the thread pool for each
   * record. Required. */
  const ad_encoder_t *encoder;
  ad_log_t *log;         /* may be NULL */
  /* The Airtable server's safety margin (margin.h), borrowed; NULL: the
   * configured one, never widened. */
  ad_margin_t *margin;
  int check;             /* read nothing: see ad_at_source_check_result */
  size_t max_url;        /* 0 = AD_AT_MAX_URL; longer goes as POST */
  int max_restarts;      /* per table after expired offsets; 0 = 3 */
  uint64_t backoff_base_ms; /* 0 = 500 */
  /* May be NULL. Returns 1 for a table not to read at all (finished in an
   * earlier run: `sync --state`); it counts in stats->tables_skipped. */
  int (*skip_table)(const char *base_id, const char *table_id, void *data);
  ad_at_source_cb on_page; /* a page was pushed into the queue */
  ad_at_source_cb on_done; /* every reader is done; runs from the loop */
  void *data;
} ad_at_source_opts_t;

struct ad_at_source {
  /* Progress, readable at any time. */
  uint64_t tables_total, tables_done;
  /* Private. */
  ad_at_source_opts_t o;
  ad_at_client_t client;
  ad_limiter_key_t token_key;
  /* Rate-limit key names, shared by every process that uses the same
   * server and token (budget.h): "at-<server>/token-<token hash>" and
   * "at-<server>/base-<id>". The token is hashed, never written. */
  char group[32], token_name[64];
  ad_at_call_t bases_call;
  ad_list_t bases, readers, waiters;
  ad_list_t to_parse; /* readers whose page waits for a parse worker */
  int parsing;        /* pages on the thread pool */
  int max_parsing;    /* at once: one per core, up to a few */
  uint64_t parsed;    /* pages handed to it so far */
  int pending; /* discovery steps and readers not yet finished */
  int started, stopping, finished;
  ad_timers_entry_t done_entry;
  char summary[256];
};

/* Returns AD_EINVAL (a missing member or encoder, a queue smaller than
 * one page) or AD_ENOMEM. */
int ad_at_source_init(ad_at_source_t *src, const ad_at_source_opts_t *opts);

/* Starts discovery; on_done follows, always from a later loop turn. */
int ad_at_source_start(ad_at_source_t *src);

/* The queue has room again (its on_low): waiting readers go on. */
void ad_at_source_resume(ad_at_source_t *src);

/* Cancels everything in flight; on_done follows. */
void ad_at_source_stop(ad_at_source_t *src);

/* Frees the source; it must be done (or never started). */
void ad_at_source_close(ad_at_source_t *src);

/* In check mode, after on_done: a line saying what was found, e.g.
 * "3 bases visible" or "table \"Bugs\" (tbl…) of base app… is readable". */
const char *ad_at_source_check_result(const ad_at_source_t *src);

#endif
