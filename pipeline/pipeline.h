/* ad_pipeline: one sync on a caller's libuv loop — a source plugin, the
 * bounded queue and a sink plugin (include/airdust_plugin.h) wired
 * together through the engine's host (engine/host.h), with the HTTP
 * clients, rate limiter, budget and timers they share.
 *
 * Pages flow source -> queue -> sink; the queue's low watermark resumes
 * the source; when the source is done the sink writes out what it holds;
 * the run is done when the sink has drained. A fatal error on either side
 * (stats.fatal_error) stops the other, and the host's accounting must
 * balance at the end: every record read written or failed. Each side has
 * its own HTTP client, so a slow sink never takes connections from the
 * source's readers. */
#ifndef AD_PIPELINE_H
#define AD_PIPELINE_H

#include <stdint.h>

#include <uv.h>

#include "budget.h"
#include "config.h"
#include "host.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "queue.h"
#include "mirror.h"
#include "stats.h"
#include "store.h"
#include "timers.h"

typedef struct ad_pipeline ad_pipeline_t;
typedef void (*ad_pipeline_cb)(ad_pipeline_t *p, void *data);

typedef struct ad_pipeline_opts {
  const ad_config_t *config;    /* borrowed for the pipeline's life; it
                                   names the plugins */
  ad_log_t *log;                /* may be NULL */
  int check;                    /* prove both sides' scope; write nothing */
  uint64_t backoff_base_ms;     /* first retry delay ceiling; 0 = defaults */
  uint64_t documents_window_ms; /* 0 = 60 000 */
  /* The sync's memory (state/store.h), or NULL: every record is written
   * and nothing deleted. Borrowed; with it the run is a recurring sync
   * (mirror.h): unchanged records are not sent, what is gone at the
   * source is deleted, an interrupted run is resumed. */
  ad_store_t *store;
  double max_delete_share;      /* the mass-delete guard; 0 = 0.5 */
  int allow_mass_delete;
  ad_pipeline_cb on_done;       /* the run is over; runs from the loop */
  void *data;
} ad_pipeline_opts_t;

struct ad_pipeline {
  ad_stats_t stats; /* live counters; final once on_done runs */
  ad_host_t host;   /* host.source / host.sink: the plugin instances */
  /* Private. */
  uv_loop_t *loop;
  ad_pipeline_opts_t o;
  ad_http_t http_source, http_sink;
  ad_budget_t budget; /* where the rate limits' state lives */
  const char *sharing; /* "file", "redis" or "none" (config or fallback) */
  ad_limiter_t limiter;
  ad_timers_t timers;
  ad_queue_t queue;
  uint64_t started_ns;
  /* What the pipeline asks of a plugin from a loop turn of its own, not
   * from inside one of the plugins' calls (docs/plugins.md). */
  ad_timers_entry_t stop_entry, pause_entry, check_entry, start_entry;
  ad_mirror_t mirror; /* with a store */
  int mirror_made, inventory_pending;
  int source_made, sink_made, done, stopped;
  int check_pending;
  int open_handles;
  ad_pipeline_cb close_cb;
  void *close_data;
  char error[512]; /* why init failed with AD_ECONFIG */
};

/* Returns AD_EINVAL, AD_ENOMEM, or AD_ECONFIG with p->error naming what
 * cannot be used (a Redis URL, a budget file the config names, what a
 * plugin refused). Succeed or fail, p must be closed with
 * ad_pipeline_close (its libuv handles may already be open). */
int ad_pipeline_init(ad_pipeline_t *p, uv_loop_t *loop,
                     const ad_pipeline_opts_t *opts);

/* Starts the run; on_done follows, always from a later loop turn. */
int ad_pipeline_start(ad_pipeline_t *p);

/* Stops reading; what was read is still written, then on_done. */
void ad_pipeline_stop(ad_pipeline_t *p);

/* Stops at once: requests in flight are canceled, and every record read
 * and not yet written is failed with reason (copied). on_done follows. */
void ad_pipeline_abort(ad_pipeline_t *p, const char *reason);

/* In check mode, after on_done: what each side found, one line each,
 * named by plugin ("airtable: 3 bases visible"). */
void ad_pipeline_check_report(const ad_pipeline_t *p, char *out, size_t len);

/* Frees everything; cb (may be NULL) runs once the loop's handles are
 * closed and p's memory may go (at once when none was opened). The run
 * must be done or never started. */
void ad_pipeline_close(ad_pipeline_t *p, ad_pipeline_cb cb, void *data);

#endif
