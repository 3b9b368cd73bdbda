/* airdust: move Airtable bases into Dust data sources, on your libuv loop.
 *
 * A sync is made from a JSON config (docs/config.md), started with a
 * completion callback, watched through a progress callback, stopped
 * gracefully or at once, and closed. Everything runs on the caller's loop,
 * with no blocking calls; the caller runs the loop. Airtable pages are
 * parsed on libuv's thread pool (uv_queue_work), off the loop.
 *
 *   ad_sync_t *s;
 *   char err[256];
 *   if (ad_sync_new_file(&s, loop, "airdust.json", NULL, err, sizeof err))
 *     fprintf(stderr, "%s\n", err);
 *   ad_sync_start(s, on_done, NULL);
 *   uv_run(loop, UV_RUN_DEFAULT);   // on_done runs, then ad_sync_close
 *
 * Functions return 0 or a negative AD_E* code; one that returns an error
 * never invokes its callback. API keys never appear in logs, errors or
 * stats. */
#ifndef AIRDUST_H
#define AIRDUST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AD_VERSION_MAJOR 0
#define AD_VERSION_MINOR 1
#define AD_VERSION_PATCH 0
#define AD_VERSION_STRING "0.1.0"

#define AD_ERRNO_MAP(X)                                                     \
  X(ENOMEM, -1, "out of memory")                                            \
  X(EINVAL, -2, "invalid argument")                                         \
  X(ETIMEDOUT, -3, "request timed out")                                     \
  X(ECONNREFUSED, -4, "connection refused")                                 \
  X(ECONNRESET, -5, "connection reset or closed by the server")             \
  X(ETOOBIG, -6, "response body larger than the configured cap")            \
  X(ECANCELED, -7, "operation canceled")                                    \
  X(ETRANSPORT, -8, "transport error")                                      \
  X(EDNS, -9, "host name could not be resolved")                            \
  X(ETLS, -10, "TLS handshake or certificate verification failed")          \
  X(ECLOSING, -11, "handle is closing")                                     \
  X(EAGAIN, -12, "resource temporarily full, try again later")              \
  X(EPARSE, -13, "malformed input")                                         \
  X(ECONFIG, -14, "invalid configuration")                                  \
  X(EIO, -15, "input/output error")                                        \
  X(EBUDGET, -16, "the shared rate-limit budget is unavailable")

typedef enum {
  AD_OK = 0,
#define AD_ERRNO_ENUM(name, value, text) AD_##name = value,
  AD_ERRNO_MAP(AD_ERRNO_ENUM)
#undef AD_ERRNO_ENUM
} ad_errno_t;

/* Text for an error code; never NULL, static storage. */
const char *ad_strerror(int err);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *ad_version(void);

/* How a finished sync went; the CLI's exit codes (design.md section 7). */
typedef enum {
  AD_SYNC_OK = 0,      /* everything delivered */
  AD_SYNC_FATAL = 1,   /* the run could not go on (config, auth, scope) */
  AD_SYNC_PARTIAL = 3  /* some tables or records failed, the rest landed */
} ad_sync_result_t;

typedef struct ad_sync ad_sync_t;

/* Live counters. */
typedef struct ad_sync_progress {
  double elapsed_s;
  uint64_t bases, tables_total, tables_done, tables_failed;
  uint64_t tables_skipped; /* finished in an earlier run (state_path) */
  uint64_t records_read, rows_written, documents_written, records_failed;
  /* API calls and 429 answers of the source's and the sink's plugin
   * (named by source_type and sink_type: "airtable", "dust", …). */
  const char *source_type, *sink_type;
  uint64_t requests_source, requests_sink;
  uint64_t retries, http429_source, http429_sink;
  uint64_t rate_limit_wait_us; /* summed over requests */
  uint64_t queue_rows;         /* held in the queue now */
  /* A recurring sync (docs/mirror.md): records read and not sent, the
   * destination holding them as they are; what it deleted there. */
  uint64_t records_unchanged;
  uint64_t rows_deleted, documents_deleted, tables_deleted;
  /* Of records_failed, those the sink failed (the destination did not
   * take them; the others the source could not read as records). */
  uint64_t records_failed_sink;
} ad_sync_progress_t;

typedef void (*ad_sync_cb)(ad_sync_t *sync, void *data);
typedef void (*ad_sync_progress_cb)(ad_sync_t *sync,
                                    const ad_sync_progress_t *progress,
                                    void *data);
/* A finished log line (no newline), already redacted; level 0 error,
 * 1 warn, 2 info, 3 debug. */
typedef void (*ad_sync_log_cb)(int level, const char *line, void *data);

typedef struct ad_sync_options {
  int check;          /* validate config, credentials and scope; write
                         nothing */
  /* The sync's memory (docs/mirror.md), a SQLite file: with it the run
   * is a recurring sync — records the destination holds as they are
   * (their content hash is remembered once the sink acknowledged them)
   * are not sent again (records_unchanged), and with a sink that deletes
   * (Dust) records and tables gone at the source are deleted there; an
   * interrupted run is resumed, its finished tables skipped
   * (tables_skipped). state_path names the file; state_default asks for
   * the default one, one per source and destination in engine.state_dir
   * (none when no folder is known: a warning, and no memory). A file made
   * for another source or destination, one in use by another run, or one
   * that is not a sync's memory fails ad_sync_new with a message naming
   * it. Neither: every record is written, nothing deleted. Ignored in
   * check mode. */
  const char *state_path;
  int state_default;
  /* Deletes past engine.max_delete_share of a table's records, or of the
   * tables, anyway (`--allow-mass-delete`). */
  int allow_mass_delete;
  int log_level;      /* lines above it are dropped; default 2 (info) */
  int log_json;       /* one JSON object per line */
  FILE *log_file;     /* default stderr; ignored when log_cb is set */
  ad_sync_log_cb log_cb;
  void *log_data;
  /* Called every progress_interval_ms (default 100) while running. */
  ad_sync_progress_cb on_progress;
  uint64_t progress_interval_ms;
  void *progress_data;
  /* A program's own plugins (include/airdust_plugin.h), NULL-terminated
   * arrays, either may be NULL: `source.type` and `sink.type` find them
   * by name as they find the built-in ones, and one named like a
   * built-in replaces it. Borrowed for the sync's life. */
  const struct ad_source_plugin *const *sources;
  const struct ad_sink_plugin *const *sinks;
} ad_sync_options_t;

/* Makes a sync from len bytes of JSON config; environment variables fill
 * missing keys (AIRTABLE_API_KEY, DUST_API_KEY, …). opts may be NULL. On
 * failure *out is NULL and err (always NUL-terminated) names what is
 * wrong, e.g. "sink.batch_size: expected a positive integer, got "x"". */
int ad_sync_new(ad_sync_t **out, uv_loop_t *loop, const char *config,
                size_t len, const ad_sync_options_t *opts, char *err,
                size_t errlen);

/* The same from a file; a read failure names the path. */
int ad_sync_new_file(ad_sync_t **out, uv_loop_t *loop, const char *path,
                     const ad_sync_options_t *opts, char *err, size_t errlen);

/* Starts; on_done runs once, from the loop, when the run is over. */
int ad_sync_start(ad_sync_t *sync, ad_sync_cb on_done, void *data);

/* Graceful stop: no more discovery or reading; what was read is still
 * written. Requests still out after deadline_ms are canceled and their
 * records counted failed. on_done follows. */
void ad_sync_stop(ad_sync_t *sync, uint64_t deadline_ms);

/* Stops at once: everything in flight is canceled, every record read and
 * not yet written is counted failed. on_done follows. */
void ad_sync_abort(ad_sync_t *sync);

/* The counters now (final after on_done). */
void ad_sync_progress(const ad_sync_t *sync, ad_sync_progress_t *out);

/* After on_done: the outcome, and the fatal error if any (NULL). */
int ad_sync_result(const ad_sync_t *sync);
const char *ad_sync_error(const ad_sync_t *sync);

/* After on_done in check mode: one line per side saying what was found,
 * e.g. "airtable: 3 bases visible\ndust: data source dsX reachable". */
const char *ad_sync_check_report(const ad_sync_t *sync);

/* The stats document of design.md section 7 (--stats-json), malloc'd;
 * the caller frees it. NULL on ENOMEM. */
char *ad_sync_stats_json(const ad_sync_t *sync);

/* Frees the sync once its libuv handles are closed; on_closed (may be
 * NULL) runs then, just before the memory goes. The run must be over (this
 * may be called from on_done) or never started; the closing happens on
 * the next loop turns, so keep running the loop. */
void ad_sync_close(ad_sync_t *sync, ad_sync_cb on_closed, void *data);

#ifdef __cplusplus
}
#endif

#endif
