/* ad_host: the engine's side of a running source and sink — the functions
 * of include/airdust_plugin.h that plugins call.
 *
 * It keeps the accounting, so no plugin has to: a page pushed counts its
 * records read, records are counted written or failed as the sink (or the
 * source, for what it could not turn into records) reports them, each
 * table keeps its own three counts, and a table that fails on both sides
 * counts once. At the end ad_host_balance says whether the totals add
 * up.
 *
 * The layer above (pipeline/) makes one host per run, binds a source and
 * a sink instance to it and hears of the run's turns through its
 * callbacks; plugins in this tree also get the services they share
 * (HTTP clients, rate limiter, timers) through ad_source_services and
 * ad_sink_services. */
#ifndef AD_HOST_H
#define AD_HOST_H

#include <stdint.h>

#include <uv.h>

#include "airdust_plugin.h"
#include "apicall.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "queue.h"
#include "stats.h"
#include "timers.h"

typedef struct ad_host ad_host_t;

/* What a plugin of this tree may use besides the public contract: the
 * run's config, its side's HTTP client, the rate limiter, the timers and
 * where its API calls count. Borrowed for the plugin's life. */
typedef struct ad_services {
  const ad_config_t *config;
  ad_http_t *http;
  ad_limiter_t *limiter;
  ad_timers_t *timers;
  ad_log_t *log; /* may be NULL */
  /* The run's stats, for what only the plugin knows (its rate-limit
   * margin); the accounting goes through the host's functions. */
  ad_stats_t *stats;
  ad_apicall_counts_t counts;
  int check;
  uint64_t backoff_base_ms;     /* 0: the plugin's default */
  uint64_t documents_window_ms; /* 0: 60 000 */
} ad_services_t;

struct ad_source {
  ad_host_t *host;
  const ad_source_plugin_t *plugin;
  void *ctx;
  ad_services_t services;
  char name[48]; /* "source:airtable" */
  uint64_t tables_total, tables_done;
  int started, done;
};

struct ad_sink {
  ad_host_t *host;
  const ad_sink_plugin_t *plugin;
  void *ctx;
  ad_services_t services;
  char name[48]; /* "sink:dust" */
  int documents, drained;
  int rewrites; /* ad_sink_set_rewrites */
};

/* The pipeline's ears. Each may be NULL. */
typedef struct ad_host_cbs {
  /* 1: the table finished in an earlier run (skip it). */
  int (*skip)(const ad_table_t *table, void *data);
  void (*table_done)(ad_table_t *table, void *data);
  void (*source_done)(void *data);
  void (*sink_drained)(void *data);
  void (*sink_checked)(void *data);
  void (*sink_fatal)(void *data);
  /* The source reported a fatal error: stop it (from a loop turn of its
   * own). NULL: the host stops it at once. */
  void (*source_fatal)(void *data);
  /* A recurring sync's ears (pipeline/mirror.h); all NULL otherwise.
   * Strings are borrowed for the call. */
  /* The table was announced and prepared; its pages follow. */
  void (*table_begin)(ad_table_t *table, void *data);
  /* A page on its way to the queue: drops the units the destination
   * holds as they are, returning how many, and hashes the others. */
  size_t (*filter)(ad_page_t *page, void *data);
  /* The table was read to its end: its last page was pushed and the
   * source ended it without error (a stop ends tables short of that). */
  void (*table_read)(ad_table_t *table, void *data);
  void (*group)(const char *group, void *data); /* announced */
  void (*complete)(const char *group, void *data);
  void (*written_id)(ad_table_t *table, const char *id,
                     const unsigned char *hash, void *data);
  void (*removed)(ad_table_t *table, const char *id, const char *error,
                  void *data);
  void (*owned_table)(const char *origin, const char *group_id,
                      const char *table_id, void *data);
  void (*owned)(const char *group_id, const char *table_id, const char *id,
                void *data);
  void (*inventoried)(const char *error, void *data);
  int (*table_same)(ad_table_t *table, const void *desc, size_t len,
                    void *data);
  void (*described)(ad_table_t *table, const void *desc, size_t len,
                    void *data);
  void *data;
} ad_host_cbs_t;

struct ad_host {
  uv_loop_t *loop;
  ad_log_t *log;     /* may be NULL */
  ad_queue_t *queue;
  ad_stats_t *stats;
  int check;
  ad_host_cbs_t cbs;
  ad_source_t source;
  ad_sink_t sink;
  /* Units by number (ad_sink_acked, ad_sink_nacked): those below
   * settled_below have all ended, those below acked_below (never above
   * settled_below) all reached the destination; ring[seq & (ring_cap -
   * 1)] marks the ones ended above settled_below, out of order (1
   * acknowledged, 2 failed). */
  uint64_t next_seq, acked_below, settled_below;
  unsigned char *ring;
  size_t ring_cap; /* a power of two, or 0 */
  int acks_seen, ring_failed;
  uint64_t sink_failed; /* records the sink failed */
};

/* Binds the parts (borrowed for the host's life); the plugins are bound
 * with ad_host_source / ad_host_sink, then made with their init. */
void ad_host_init(ad_host_t *host, uv_loop_t *loop, ad_log_t *log,
                  ad_queue_t *queue, ad_stats_t *stats, int check,
                  const ad_host_cbs_t *cbs);

const ad_services_t *ad_source_services(const ad_source_t *src);
const ad_services_t *ad_sink_services(const ad_sink_t *sink);

/* Records that failed on a worker thread, kept until the loop can report
 * them (the accounting is the loop's): ad_failures_add packs one (id may
 * be "" when the record had none) into pending, a buffer of the worker's;
 * ad_source_failed_pending reports each to the engine, as
 * ad_source_failed, and empties pending. ad_failures_add returns 0 or
 * AD_ENOMEM. */
int ad_failures_add(ad_buf_t *pending, const char *id, const char *reason);
void ad_source_failed_pending(ad_source_t *src, ad_table_t *table,
                              ad_buf_t *pending);

/* Frees what the host holds itself (the plugins are closed apart). */
void ad_host_close(ad_host_t *host);

/* 1 when every record read ended written or failed (the run's totals);
 * else 0, with what does not add up in why. */
int ad_host_balance(const ad_host_t *host, char *why, size_t len);

#endif
