/* ad_dust_sink: writes the queue's pages into a Dust data source.
 *
 * tables format: each table is upserted once before its rows (a name Dust
 * says is taken is retried once under a fallback name); rows are cut into
 * batches at batch_size rows and AD_DUST_MAX_ROWS_BODY bytes, and batches
 * of any tables are written concurrently, up to sink_concurrency requests
 * in flight. With truncate, a table's first batch carries truncate:true
 * and its other batches wait until it is acknowledged, so none of them can
 * be wiped. A 413 splits a batch; a 500 on rows re-upserts the table once
 * (it may have gone), then retries.
 *
 * documents format: one upsert per record, paced by one limiter key per
 * workspace (dust_documents_per_minute), up to sink_concurrency in flight.
 *
 * The sink pops pages only while what it holds (buffered, waiting and in
 * flight) stays under a bound of about sink_concurrency batches: a slow
 * Dust leaves pages in the queue, which stops the readers. Every row ends
 * written or failed; failures carry the base, the table, the record when
 * there is one, and Dust's message. */
#ifndef AD_DUST_SINK_H
#define AD_DUST_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "airdust_plugin.h"
#include "client.h"
#include "config.h"
#include "host.h"
#include "limiter.h"
#include "list.h"
#include "slug.h"
#include "table.h"
#include "timers.h"

typedef enum { AD_FORMAT_TABLES = 0, AD_FORMAT_DOCUMENTS = 1 } ad_format_t;

/* The sink's config keys (sinks/dust/plugin.c parses them). */
typedef struct ad_dust_config {
  char *api_key;
  char *base_url;
  char *workspace_id;
  char *space_id;
  char *data_source_id;
  int data_format; /* ad_format_t */
  char *table_id_prefix;
  long batch_size;
  int truncate;
} ad_dust_config_t;

typedef struct ad_dust_sink ad_dust_sink_t;

typedef struct ad_dust_sink_opts {
  ad_sink_t *host;               /* the engine's side: queue, accounting */
  const ad_dust_config_t *conf;  /* borrowed for the sink's life */
  /* The HTTP client, limiter, timers, log and the run's config (engine
   * limits, dust_documents_per_minute). */
  const ad_services_t *svc;
} ad_dust_sink_opts_t;

struct ad_dust_sink {
  /* Readable at any time. */
  uint64_t held_rows, held_bytes; /* popped and not yet written or failed */
  uint64_t peak_held_rows;
  long inflight;                  /* requests out now */
  uint64_t max_rows, max_bytes;   /* it pops no page past these */
  /* Private. */
  ad_dust_sink_opts_t o;
  ad_dust_client_t client;
  ad_limiter_key_t documents_key;
  char documents_key_name[64]; /* "dust-<server>/ws-<workspace>" */
  ad_slugset_t names;
  ad_list_t tables;   /* every table seen */
  ad_list_t upserts;  /* tables waiting to be upserted */
  ad_list_t ready;    /* batches that may be sent */
  ad_list_t flying;   /* batches in flight */
  ad_list_t removals; /* deletions waiting for a slot (remove.c) */
  ad_list_t removing; /* deletions in flight */
  ad_list_t listings; /* the inventory's requests (inventory.c) */
  ad_list_t sweeps;   /* replaced tables being listed (sweep.c) */
  int inventorying;
  int finishing, aborted, drained;
  int flushing; /* a source waits on what it pushed: seal partial batches */
  ad_timers_entry_t drained_entry;
  char abort_reason[512];
  ad_dust_call_t check_call;
  char check_report[640];
};

/* Returns AD_EINVAL (a missing member) or AD_ENOMEM. */
int ad_dust_sink_init(ad_dust_sink_t *sink, const ad_dust_sink_opts_t *opts);

/* Pages may be waiting in the queue: take what the bound allows. */
void ad_dust_sink_kick(ad_dust_sink_t *sink);

/* No page will be pushed any more: partial batches go out, and
 * ad_sink_drained follows once the queue is empty and everything is
 * written or failed. */
void ad_dust_sink_finish(ad_dust_sink_t *sink);
/* Partial batches go out as slots free up (a table not yet upserted:
 * once it is), until none is left open. */
void ad_dust_sink_flush(ad_dust_sink_t *sink);

/* ---- Sweeps (sweep.c): replacing a table (AD_TABLE_REPLACE) ---- */

typedef struct ad_dust_sweep ad_dust_sweep_t;
typedef void (*ad_dust_sweep_cb)(void *data, const char *error);

/* A sweep of table (one reference taken) whose Dust id is dust_id
 * (copied); NULL on ENOMEM. */
ad_dust_sweep_t *ad_dust_sweep_new(ad_dust_sink_t *sink, ad_table_t *table,
                                   const char *dust_id);
/* Stops its listing (no callback) and frees it. */
void ad_dust_sweep_free(ad_dust_sweep_t *sweep);
/* Dust acknowledged a write of record id: it is never deleted. Out of
 * memory keeping it, the sweep deletes nothing (start says so). */
void ad_dust_sweep_written(ad_dust_sweep_t *sweep, const char *id);
/* Lists what Dust holds of the table and hands the records the run did
 * not write (and no earlier attempt kept: keep_column, keep_tag) to the
 * sink's deletions; done(data, error) when the listing is over (error
 * NULL: it was complete; the deletions report on their own). Returns 0,
 * AD_EINVAL (started already, or the sink stopped), AD_ENOMEM. */
int ad_dust_sweep_start(ad_dust_sweep_t *sweep, ad_dust_sweep_cb done,
                        void *data);
int ad_dust_sweeps_idle(const ad_dust_sink_t *sink);
/* Ends every listing with the abort's reason. */
void ad_dust_sweeps_abort(ad_dust_sink_t *sink);

/* Stops at once: requests in flight are canceled, and every row held or
 * still queued is failed with reason (copied). ad_sink_drained follows
 * once finish has been called. */
void ad_dust_sink_abort(ad_dust_sink_t *sink, const char *reason);

/* check mode: reads the data source's table list (a GET; nothing is
 * written) to prove the key, workspace, space and data source.
 * ad_sink_checked follows, with sink->check_report saying what was
 * found; a refusal is also fatal. Returns AD_E* (then nothing follows). */
int ad_dust_sink_check(ad_dust_sink_t *sink);

/* Frees everything; the sink must be drained or aborted. */
void ad_dust_sink_close(ad_dust_sink_t *sink);

/* Deletions (remove.c), the plugin's remove (include/airdust_plugin.h):
 * records are deleted one request each — a row of the table's Dust table,
 * or a document —, and a whole table of the tables format with one
 * DELETE of its Dust table; a 404 counts as deleted. They wait behind the
 * writes for a slot of sink_concurrency. Returns 0 or AD_ENOMEM. */
int ad_dust_sink_remove(ad_dust_sink_t *sink, ad_table_t *table,
                        const char *const *ids, size_t n, int whole);
/* Starts the next waiting deletion; 0 when none waits. */
int ad_dust_removals_start(ad_dust_sink_t *sink);
/* Whether no deletion waits or flies. */
int ad_dust_removals_idle(const ad_dust_sink_t *sink);
/* Cancels them all, each reported failed with the abort's reason. */
void ad_dust_removals_abort(ad_dust_sink_t *sink);
/* Inventory (inventory.c), the plugin's inventory: after a lost memory,
 * lists what this sink wrote — tables format: the data source's tables
 * whose ids it makes (the prefix, then a group and a table id of letters
 * and digits), and each one's rows; documents format: the documents
 * named "<origin>__<id>" that carry its "<origin>_base_id" and
 * "<origin>_table_id" tags. Reports them (ad_sink_owned_table,
 * ad_sink_owned), then ad_sink_inventoried; up to sink_concurrency
 * listings at once, each page AD_DS_LIST_PAGE long. Returns 0, AD_EINVAL
 * (one is running, or the sink stopped) or AD_ENOMEM. */
int ad_dust_sink_inventory(ad_dust_sink_t *sink);
/* Stops it: ad_sink_inventoried follows with the abort's reason. */
void ad_dust_inventory_abort(ad_dust_sink_t *sink);

/* The sink's Dust target (request.h), and whether it writes documents. */
struct ad_dust_target;
void ad_dust_sink_target(const ad_dust_sink_t *sink,
                         struct ad_dust_target *t);
static inline int ad_dust_sink_documents(const ad_dust_sink_t *sink) {
  return sink->o.conf->data_format == AD_FORMAT_DOCUMENTS;
}

/* The encoder's side of the sink (encoder.h; ad_dust_encoder calls these).
 *
 * prepare: on the loop, before any record of table is encoded. Makes the
 * sink's state of the table (table->sink_data: its Dust id and name, its
 * batches) holding the table's layout (column keys, primary column), or
 * refuses a table Dust cannot hold: AD_EINVAL with the reason in err
 * (nothing is kept, nothing counted: the caller fails the table). Again
 * for the same table: 0. AD_ENOMEM. A table whose first page comes
 * without prepare still gets its state then, and fails there if too
 * wide. */
typedef struct ad_dust_layout ad_dust_layout_t;
int ad_dust_sink_prepare(ad_dust_sink_t *sink, ad_table_t *table, char *err,
                         size_t errlen);

/* The layout prepare made for table, or NULL when it was not prepared.
 * Safe on a worker: it reads only what prepare wrote. */
const ad_dust_layout_t *ad_dust_sink_layout(const ad_table_t *table);

#endif
