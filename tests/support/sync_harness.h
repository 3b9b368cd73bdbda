/* One end-to-end sync in-process, for the suites that need both fakes and
 * the pipeline: the fakes start from the options the test filled in, the
 * config is built from the fields below, the run goes to its end, and the
 * accounting invariant (read = written + failed) is asserted on the way
 * out. */
#ifndef AD_SYNC_HARNESS_H
#define AD_SYNC_HARNESS_H

#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "config.h"
#include "fake_airtable.h"
#include "fake_dust.h"
#include "log.h"
#include "pipeline.h"
#include "stats.h"

#define AD_TH_DUST_KEY "sk-fake0123456789"
#define AD_TH_PREFIX "airtable_"

typedef struct ad_th ad_th_t;

struct ad_th {
  uv_loop_t loop;
  ad_pipeline_t p;
  ad_config_t cfg;
  ad_fake_airtable_t *at;
  ad_fake_airtable_opts_t ao;
  ad_fake_dust_t *dust;
  ad_fake_dust_opts_t dop;
  const char *format;
  const char *dust_key;
  /* JSON members appended to each section (each starting with ','). */
  char source_extra[512], sink_extra[256], rate_extra[256], engine_extra[256];
  double backoff_on_429_s; /* default 2 */
  uint64_t documents_window_ms;
  int max_retries;
  int log_level; /* -1 (default): no log; else lines go to stderr */
  uint64_t deadline_ms; /* the run must end within; default 120 000 */
  int done;
  ad_stats_t st;      /* the run's counters (pointers cleared) */
  uint64_t sink_peak, sink_max; /* rows the sink held at most, its bound */
  json_object *stats; /* the run's --stats-json document */
  /* A hook on a 2 ms timer while the run goes, e.g. to drop a table. */
  void (*tick)(ad_th_t *th);
  uv_timer_t tick_timer;
  ad_log_t log;
  char state_dir[64]; /* engine.state_dir: a fresh folder per test */
  /* The sync's memory (state/store.h) for a recurring sync: NULL for
   * none; a file name inside state_dir otherwise. */
  const char *store_name;
  int allow_mass_delete;
};

/* Defaults: penalty 2 s in the fake Airtable, no document limit in the
 * fake Dust, tables format, 8 retries. */
void ad_th_setup(ad_th_t *th);
void ad_th_teardown(ad_th_t *th);

void ad_th_start_fakes(ad_th_t *th);

/* One sync to the end; the stats are kept in th->st and th->stats. The
 * accounting invariant holds: read = written + failed + unchanged. */
void ad_th_run(ad_th_t *th);

long ad_th_total_records(const ad_th_t *th);
void ad_th_dust_table_id(const ad_th_t *th, char *out, size_t len, int b,
                         int t);
/* The stored table (b, t) in dump, or NULL; its rows, -1 when absent. */
json_object *ad_th_stored_table(const ad_th_t *th, json_object *dump, int b,
                                int t);
long ad_th_stored_rows(const ad_th_t *th, json_object *dump, int b, int t);

/* Every record of every table is stored once, as a row of its table or
 * as one document, and none failed. */
void ad_th_assert_all_landed(const ad_th_t *th);

#endif
