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
 * Failures go to the engine (include/airdust_plugin.h), which counts
 * them: a table that fails (403, 404, other 4xx, retries spent, refused
 * by the sink) is reported and the others go on; a record the encoder
 * cannot write is counted failed; a fatal error (401, exhausted billing
 * quota, a missing table in one-table mode) stops the run.
 *
 * Rate limits: every request takes from its base's key and the token's
 * (per_base_rps, per_token_rps), each window widened by the server's
 * safety margin, which a 429 at the limit widens for all keys at once. */
#ifndef AD_AT_SOURCE_H
#define AD_AT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "airdust_plugin.h"
#include "client.h"
#include "config.h"
#include "host.h"
#include "list.h"
#include "margin.h"
#include "timers.h"
#include "workq.h"

/* The source's config keys (sources/airtable/plugin.c parses them). */
typedef struct ad_at_config {
  char *api_key;
  char *base_url;
  int index_all;
  char *base_id;
  char *table_name_or_id;
  char *view_id;  /* NULL when unset */
  char *share_id; /* NULL when unset */
  int treat_all_non_attachment_fields_as_metadata;
} ad_at_config_t;

typedef struct ad_at_source ad_at_source_t;

typedef struct ad_at_source_opts {
  ad_source_t *host;          /* the engine's side: queue, accounting */
  const ad_at_config_t *conf; /* borrowed for the source's life */
  /* The HTTP client, limiter, timers, log and the run's config. */
  const ad_services_t *svc;
  /* The Airtable server's safety margin (margin.h), borrowed; NULL: the
   * configured one, never widened. */
  ad_margin_t *margin;
  size_t max_url;        /* 0 = AD_AT_MAX_URL; longer goes as POST */
  int max_restarts;      /* per table after expired offsets; 0 = 3 */
} ad_at_source_opts_t;

struct ad_at_source {
    ad_at_source_opts_t o;
  ad_at_client_t client;
  ad_limiter_key_t token_key;
  /* Rate-limit key names, shared by every process that uses the same
   * server and token (budget.h): "at-<server>/token-<token hash>" and
   * "at-<server>/base-<id>". The token is hashed, never written. */
  char group[32], token_name[64];
  ad_at_call_t bases_call;
  ad_list_t bases, readers, waiters;
  /* Pages to parse and encode on the thread pool: one per core at once,
   * up to a few. */
  ad_workq_t parse_q;
  uint64_t nbases;    /* found */
  int pending; /* discovery steps and readers not yet finished */
  int started, stopping, finished;
  ad_timers_entry_t done_entry;
  char summary[256];
};

/* Returns AD_EINVAL (a missing member, a queue smaller than one page) or
 * AD_ENOMEM. */
int ad_at_source_init(ad_at_source_t *src, const ad_at_source_opts_t *opts);

/* Starts discovery; ad_source_done follows, always from a later loop
 * turn. */
int ad_at_source_start(ad_at_source_t *src);

/* The queue has room again (its on_low): waiting readers go on. */
void ad_at_source_resume(ad_at_source_t *src);

/* Cancels everything in flight; ad_source_done follows. */
void ad_at_source_stop(ad_at_source_t *src);

/* Frees the source; it must be done (or never started). */
void ad_at_source_close(ad_at_source_t *src);

/* In check mode, after on_done: a line saying what was found, e.g.
 * "3 bases visible" or "table \"Bugs\" (tbl…) of base app… is readable". */
const char *ad_at_source_check_result(const ad_at_source_t *src);

#endif
