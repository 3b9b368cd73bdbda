/* airdust's benchmarks (docs/benchmarks.md): each starts the fakes as
 * their own processes, runs `airdust sync` to completion under wait4(),
 * prints a table, and appends one JSON object per result to --out.
 *
 * Figures are ratios to a bound implied by the limits or to a baseline
 * measured in the same run; nothing here passes or fails on time. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include <sys/stat.h>

#include "proc.h"

#define AD_BENCH_TOKEN "patBench.0123456789"
#define AD_BENCH_KEY "sk-fake0123456789"
#define AD_BENCH_OFF "100000" /* a rate limit that never binds */

typedef struct ad_bench {
  const char *airdust, *baseline, *work, *out_path;
  const char *only;
  int quick;
  FILE *out;
  int failures; /* runs that did not complete */
  const char *ab_baseline; /* benchmark 8's comparison writer */
} ad_bench_t;

/* One sync against a fresh pair of fakes. */
typedef struct ad_bench_run {
  const char *name;       /* names the work files */
  /* A run that continues another's sync: that run's state folder (its
   * memory) is used as it is, not cleared. */
  const char *state_of;
  const char *at_args[24]; /* fake-airtable options */
  const char *dust_args[8];
  json_object *config;    /* sections to merge over the defaults (taken) */
  ad_proc_usage_t usage;
  json_object *stats, *airtable, *dust; /* results (owned) */
} ad_bench_run_t;

/* ---- small helpers ------------------------------------------------------ */

static json_object *ad_jpath(json_object *o, const char *path) {
  char key[64];
  const char *dot;
  json_object *v = o;

  while (v != NULL && (dot = strchr(path, '.')) != NULL) {
    snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
    v = json_object_object_get(v, key);
    path = dot + 1;
  }
  return v != NULL ? json_object_object_get(v, path) : NULL;
}

static long ad_jlong(json_object *o, const char *path) {
  return (long)json_object_get_int64(ad_jpath(o, path));
}

static double ad_jdouble(json_object *o, const char *path) {
  return json_object_get_double(ad_jpath(o, path));
}

/* Appends the NULL-terminated strings after dst's last entry (dst holds
 * max entries, the last one always NULL). */
static void ad_args(const char **dst, size_t max, ...) {
  size_t n = 0;
  const char *a;
  va_list ap;

  while (n < max - 1 && dst[n] != NULL)
    n++;
  va_start(ap, max);
  while ((a = va_arg(ap, const char *)) != NULL && n < max - 1)
    dst[n++] = a;
  va_end(ap);
  dst[n] = NULL;
}

#define AD_ARGS(arr, ...)                                                      \
  ad_args(arr, sizeof(arr) / sizeof(arr[0]), __VA_ARGS__, NULL)

static json_object *ad_jsection(json_object *cfg, const char *name) {
  json_object *s;
  if (!json_object_object_get_ex(cfg, name, &s)) {
    s = json_object_new_object();
    json_object_object_add(cfg, name, s);
  }
  return s;
}

static void ad_jset(json_object *cfg, const char *section, const char *key,
                    json_object *value) {
  json_object_object_add(ad_jsection(cfg, section), key, value);
}

/* One figure of a result. */
static void ad_jnum(json_object *f, const char *key, double v) {
  json_object_object_add(f, key, json_object_new_double(v));
}

static void ad_jint(json_object *f, const char *key, long v) {
  json_object_object_add(f, key, json_object_new_int64(v));
}

static void ad_bench_path(char *out, size_t len, const ad_bench_t *b,
                          const char *name, const char *ext) {
  snprintf(out, len, "%s/%s.%s", b->work, name, ext);
}

/* Appends one result line: {"bench", "when", ...fields}. Takes fields. */
static void ad_bench_emit(ad_bench_t *b, const char *bench,
                          json_object *fields) {
  json_object *o = json_object_new_object();
  char when[32];
  time_t now = time(NULL);

  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  json_object_object_add(o, "bench", json_object_new_string(bench));
  json_object_object_add(o, "when", json_object_new_string(when));
  json_object_object_foreach(fields, k, v)
    json_object_object_add(o, k, json_object_get(v));
  fprintf(b->out, "%s\n",
          json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  fflush(b->out);
  json_object_put(o);
  json_object_put(fields);
}

/* ---- running one sync --------------------------------------------------- */

static int ad_bench_fake(ad_bench_t *b, ad_proc_t *p, const char *which,
                         const char *const *extra, const char *log,
                         char *url, size_t urllen) {
  const char *argv[32];
  int n = 0;

  argv[n++] = b->airdust;
  argv[n++] = which;
  while (*extra != NULL && n < 31)
    argv[n++] = *extra++;
  argv[n] = NULL;
  return ad_proc_start(p, (char *const *)argv, log, url, urllen);
}

/* A fresh state folder for each run, so that no run learns from the
 * one before it (margins, budgets): every figure starts from the
 * defaults, as a first run does. */
static void ad_bench_state(const ad_bench_t *b, const char *name,
                           json_object *cfg) {
  char dir[512], cmd[600];
  ad_bench_path(dir, sizeof(dir), b, name, "state");
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench: cannot clear %s\n", dir);
  ad_jset(cfg, "engine", "state_dir", json_object_new_string(dir));
}

/* Whether a section of cfg is the jsonl plugin (files: no URL, no key). */
static int ad_bench_is_jsonl(json_object *cfg, const char *section) {
  json_object *t = ad_jpath(cfg, section);
  return t != NULL && json_object_object_get_ex(t, "type", &t) &&
         strcmp(json_object_get_string(t), "jsonl") == 0;
}

/* Writes r's config with the fakes' URLs and keys to path (takes
 * r->config). */
static void ad_bench_config(const ad_bench_t *b, ad_bench_run_t *r,
                            const char *at, const char *dust,
                            const char *path) {
  json_object *cfg = r->config != NULL ? r->config : json_object_new_object();
  char dir[512];

  if (r->state_of == NULL) {
    ad_bench_state(b, r->name, cfg);
  } else {
    ad_bench_path(dir, sizeof(dir), b, r->state_of, "state");
    ad_jset(cfg, "engine", "state_dir", json_object_new_string(dir));
  }
  if (!ad_bench_is_jsonl(cfg, "source")) {
    ad_jset(cfg, "source", "api_key", json_object_new_string(AD_BENCH_TOKEN));
    ad_jset(cfg, "source", "base_url", json_object_new_string(at));
  }
  if (!ad_bench_is_jsonl(cfg, "sink")) {
    ad_jset(cfg, "sink", "api_key", json_object_new_string(AD_BENCH_KEY));
    ad_jset(cfg, "sink", "base_url", json_object_new_string(dust));
    ad_jset(cfg, "sink", "workspace_id", json_object_new_string("wFake"));
    ad_jset(cfg, "sink", "space_id", json_object_new_string("vltFake"));
    ad_jset(cfg, "sink", "data_source_id", json_object_new_string("dsFake"));
  }
  json_object_to_file_ext(path, cfg, JSON_C_TO_STRING_PRETTY);
  json_object_put(cfg);
  r->config = NULL;
}

/* Starts both fakes, runs the sync, stops the fakes. 0 when the sync ran
 * and exited 0 with its stats written. */
static int ad_bench_sync(ad_bench_t *b, ad_bench_run_t *r) {
  char at_url[256], dust_url[256], cfg[512], stats[512], log[512];
  ad_proc_t at, dust;
  const char *argv[] = {b->airdust, "sync", "--config", cfg, "--stats-json",
                        stats, "--progress", "off", "--log-level", "warn",
                        NULL};

  ad_bench_path(cfg, sizeof(cfg), b, r->name, "config.json");
  ad_bench_path(stats, sizeof(stats), b, r->name, "stats.json");
  ad_bench_path(log, sizeof(log), b, r->name, "log");
  remove(stats);
  remove(log);
  if (ad_bench_fake(b, &at, "fake-airtable", r->at_args, log, at_url,
                    sizeof(at_url)) != 0)
    return -1;
  if (ad_bench_fake(b, &dust, "fake-dust", r->dust_args, log, dust_url,
                    sizeof(dust_url)) != 0) {
    json_object_put(ad_proc_stop(&at));
    return -1;
  }
  ad_bench_config(b, r, at_url, dust_url, cfg);
  if (ad_proc_run((char *const *)argv, log, &r->usage) != 0)
    r->usage.status = -1;
  r->airtable = ad_proc_stop(&at);
  r->dust = ad_proc_stop(&dust);
  r->stats = json_object_from_file(stats);
  if (r->usage.status == 0 && r->stats != NULL && r->airtable != NULL &&
      r->dust != NULL)
    return 0;
  fprintf(stderr, "bench: %s: sync exited %d (see %s)\n", r->name,
          r->usage.status, log);
  b->failures++;
  return -1;
}

static void ad_bench_run_free(ad_bench_run_t *r) {
  json_object_put(r->config);
  json_object_put(r->stats);
  json_object_put(r->airtable);
  json_object_put(r->dust);
}

/* Airtable's limits turned off on both sides: the fake does not enforce
 * them and the engine's buckets never bind. */
static void ad_bench_limits_off(json_object *cfg) {
  ad_jset(cfg, "rate_limits", "per_base_rps",
          json_object_new_int(atoi(AD_BENCH_OFF)));
  ad_jset(cfg, "rate_limits", "per_token_rps",
          json_object_new_int(atoi(AD_BENCH_OFF)));
}

/* ---- 1. rate-limit saturation ------------------------------------------- */

/* The least wall time the limits allow for the requests the fake saw: the
 * token's (50 in any second; all but the first bases list request wait
 * for its answer), one base's (5 in any second, after the bases list
 * answered), and one table's chain of pages, each request taking the
 * fake's latency. */
static double ad_saturation_bound(json_object *fa, int bases, int pages,
                                  double latency) {
  long list = ad_jlong(fa, "requests_bases");
  long total = list + ad_jlong(fa, "requests_schema") +
               ad_jlong(fa, "requests_records");
  long per_base = (total - list + bases - 1) / bases;
  double token = latency + floor((double)(total - 2) / 50.0) + latency;
  double base = (double)list * latency + floor((double)(per_base - 1) / 5.0) +
                latency;
  double chain = (double)(list + 1 + pages) * latency;
  return fmax(token, fmax(base, chain));
}

static void ad_bench_saturation(ad_bench_t *b, const char *stamp, int bases) {
  char nb[16], name[48];
  int tables = b->quick ? 2 : 4, records = b->quick ? 200 : 1000;
  char nt[16], nr[16];
  ad_bench_run_t r = {0};
  double bound, ratio, late_ms, start_s, tail_s;
  long requests;
  json_object *f;

  snprintf(nb, sizeof(nb), "%d", bases);
  snprintf(nt, sizeof(nt), "%d", tables);
  snprintf(nr, sizeof(nr), "%d", records);
  snprintf(name, sizeof(name), "saturation-%s-%d", stamp, bases);
  r.name = name;
  AD_ARGS(r.at_args, "--token", AD_BENCH_TOKEN, "--bases", nb, "--tables", nt,
          "--records", nr, "--latency-ms", "50", "--stamp", stamp);
  AD_ARGS(r.dust_args, "--discard-values");
  if (ad_bench_sync(b, &r) == 0) {
    requests = ad_jlong(r.airtable, "requests_bases") +
               ad_jlong(r.airtable, "requests_schema") +
               ad_jlong(r.airtable, "requests_records");
    bound = ad_saturation_bound(r.airtable, bases, (records + 99) / 100, 0.05);
    ratio = r.usage.wall_s / bound;
    late_ms = ad_jdouble(r.stats, "rate_limit_late_s") * 1e3 / (double)requests;
    /* Outside the limits' reach: spawn to the first arrival, and the last
     * answer to exit (the last writes to Dust, the exit itself). */
    start_s = (double)ad_jlong(r.airtable, "first_arrival_ms") / 1e3 -
              r.usage.start_s;
    tail_s = r.usage.start_s + r.usage.wall_s -
             (double)ad_jlong(r.airtable, "last_arrival_ms") / 1e3 - 0.05;
    printf("%6s %6d %9ld %8.2f %8.2f %7.3f %6ld %11ld %12ld %8.2f %8.3f "
           "%7.3f\n",
           stamp, bases, requests, bound, r.usage.wall_s, ratio,
           ad_jlong(r.stats, "http_429.airtable"),
           ad_jlong(r.airtable, "max_per_base_window"),
           ad_jlong(r.airtable, "max_per_token_window"), late_ms, start_s,
           tail_s);
    f = json_object_new_object();
    json_object_object_add(f, "stamp", json_object_new_string(stamp));
    ad_jint(f, "bases", bases);
    ad_jint(f, "tables_per_base", tables);
    ad_jint(f, "records_per_table", records);
    ad_jint(f, "requests", requests);
    ad_jnum(f, "min_wall_s", bound);
    ad_jnum(f, "wall_s", r.usage.wall_s);
    ad_jnum(f, "ratio", ratio);
    ad_jint(f, "http_429", ad_jlong(r.stats, "http_429.airtable"));
    ad_jint(f, "fake_max_per_base_1s",
            ad_jlong(r.airtable, "max_per_base_window"));
    ad_jint(f, "fake_max_per_token_1s",
            ad_jlong(r.airtable, "max_per_token_window"));
    ad_jint(f, "tightest_base_span_ms",
            ad_jlong(r.airtable, "tightest_base_span_ms"));
    ad_jint(f, "tightest_token_span_ms",
            ad_jlong(r.airtable, "tightest_token_span_ms"));
    ad_jnum(f, "late_ms_per_request", late_ms);
    ad_jnum(f, "start_s", start_s);
    ad_jnum(f, "tail_s", tail_s);
    ad_jint(f, "fake_max_arrival_lag_ms",
            ad_jlong(r.airtable, "max_arrival_lag_ms"));
    ad_jint(f, "fake_max_stamp_delay_ms",
            ad_jlong(r.airtable, "max_stamp_delay_ms"));
    ad_bench_emit(b, "saturation", f);
  }
  ad_bench_run_free(&r);
}

/* Both ways the fake Airtable can count a request: when the kernel got
 * it, and when the one busy worker of a gateway got to it. */
static const char *const ad_bench_stamps[] = {"kernel", "worker"};

static void ad_bench_saturation_all(ad_bench_t *b) {
  static const int full[] = {2, 20, 40}, quick[] = {1, 2};
  const int *cases = b->quick ? quick : full;
  size_t i, m, n = b->quick ? sizeof(quick) / sizeof(quick[0])
                            : sizeof(full) / sizeof(full[0]);

  printf("\n1. Rate-limit saturation: 5 requests/s per base, 50/s per token, "
         "fake latency 50 ms\n");
  printf("%6s %6s %9s %8s %8s %7s %6s %11s %12s %8s %8s %7s\n", "stamp",
         "bases", "requests", "min_s", "wall_s", "ratio", "429s",
         "max/base/1s", "max/token/1s", "late_ms", "start_s", "tail_s");
  for (m = 0; m < 2; m++)
    for (i = 0; i < n; i++)
      ad_bench_saturation(b, ad_bench_stamps[m], cases[i]);
}

/* ---- 2. CPU per record -------------------------------------------------- */

/* The dataset of benchmarks 2 and 3: bases x tables x records. */
typedef struct ad_bench_size {
  int bases, tables, records;
} ad_bench_size_t;

/* Writes the dataset's size options into argv[0..5]. */
static void ad_bench_size_args(const ad_bench_size_t *s, char buf[3][16],
                               const char **argv) {
  snprintf(buf[0], 16, "%d", s->bases);
  snprintf(buf[1], 16, "%d", s->tables);
  snprintf(buf[2], 16, "%d", s->records);
  argv[0] = "--bases", argv[1] = buf[0];
  argv[2] = "--tables", argv[3] = buf[1];
  argv[4] = "--records", argv[5] = buf[2];
}

/* A fast fake Airtable of size s: no limits, no latency. */
static void ad_bench_fast_airtable(ad_bench_run_t *r, const ad_bench_size_t *s,
                                   char buf[3][16]) {
  ad_bench_size_args(s, buf, r->at_args);
  AD_ARGS(r->at_args, "--token", AD_BENCH_TOKEN, "--per-base-rps", "0",
          "--per-token-rps", "0");
  r->config = json_object_new_object();
  ad_bench_limits_off(r->config);
}

/* Runs the baseline on the same dataset: its JSON line, or NULL. */
static json_object *ad_bench_baseline(ad_bench_t *b, const ad_bench_size_t *s) {
  char buf[3][16], log[512], line[1024];
  const char *argv[10] = {b->baseline};
  ad_proc_t p;
  json_object *out;

  ad_bench_size_args(s, buf, argv + 1);
  argv[7] = NULL;
  ad_bench_path(log, sizeof(log), b, "baseline", "log");
  remove(log);
  if (ad_proc_start(&p, (char *const *)argv, log, line, sizeof(line)) != 0)
    return NULL;
  out = json_tokener_parse(line);
  json_object_put(ad_proc_stop(&p)); /* it has printed all it prints */
  return out;
}

static void ad_bench_cpu(ad_bench_t *b) {
  ad_bench_size_t s = b->quick ? (ad_bench_size_t){1, 2, 1000}
                               : (ad_bench_size_t){10, 10, 10000};
  char buf[3][16];
  ad_bench_run_t r = {.name = "cpu"};
  json_object *base, *f;
  double records, per100k, base100k, rate;

  printf("\n2. CPU per record: limits off, latency 0, tables format, batch "
         "500, %d records\n", s.bases * s.tables * s.records);
  ad_bench_fast_airtable(&r, &s, buf);
  AD_ARGS(r.dust_args, "--discard-values");
  ad_jset(r.config, "sink", "batch_size", json_object_new_int(500));
  if (ad_bench_sync(b, &r) != 0 || (base = ad_bench_baseline(b, &s)) == NULL) {
    ad_bench_run_free(&r);
    return;
  }
  records = (double)ad_jlong(r.stats, "records_read");
  rate = records / r.usage.wall_s;
  per100k = r.usage.cpu_s / records * 1e5;
  base100k = json_object_get_double(json_object_object_get(base, "cpu_s")) /
             records * 1e5;
  printf("%10s %10s %12s %12s %16s %7s\n", "records", "records/s",
         "cpu_s", "cpu_s/100k", "baseline_s/100k", "ratio");
  printf("%10.0f %10.0f %12.2f %12.3f %16.3f %7.2f\n", records, rate,
         r.usage.cpu_s, per100k, base100k, per100k / base100k);
  f = json_object_new_object();
  ad_jint(f, "records", (long)records);
  ad_jnum(f, "wall_s", r.usage.wall_s);
  ad_jnum(f, "records_per_s", rate);
  ad_jnum(f, "cpu_s", r.usage.cpu_s);
  ad_jnum(f, "cpu_s_per_100k", per100k);
  ad_jnum(f, "baseline_cpu_s_per_100k", base100k);
  ad_jnum(f, "ratio", per100k / base100k);
  ad_jint(f, "page_bytes", ad_jlong(base, "page_bytes"));
  ad_jint(f, "bytes_sent", ad_jlong(r.stats, "bytes.sent"));
  ad_bench_emit(b, "cpu", f);
  json_object_put(base);
  ad_bench_run_free(&r);
}

/* ---- 3. memory ---------------------------------------------------------- */

/* Peak RSS of one slow-sink sync, in MB; negative when it did not run. */
static double ad_bench_memory_run(ad_bench_t *b, const ad_bench_size_t *s,
                                  long *records, long *peak_queue) {
  char buf[3][16], name[32];
  ad_bench_run_t r = {0};
  double mb = -1;

  snprintf(name, sizeof(name), "memory-%d", s->records);
  r.name = name;
  ad_bench_fast_airtable(&r, s, buf);
  AD_ARGS(r.dust_args, "--discard-values", "--latency-ms", "100");
  if (ad_bench_sync(b, &r) == 0) {
    mb = (double)r.usage.maxrss_kb / 1024.0;
    *records = ad_jlong(r.stats, "records_read");
    *peak_queue = ad_jlong(r.stats, "peak_queue_rows");
  }
  ad_bench_run_free(&r);
  return mb;
}

static void ad_bench_memory(ad_bench_t *b) {
  /* The same 100 tables; only their size grows. */
  ad_bench_size_t small = {10, 10, b->quick ? 100 : 1000};
  ad_bench_size_t large = {10, 10, b->quick ? 300 : 10000};
  long rs = 0, rl = 0, qs = 0, ql = 0;
  double ms, ml;
  json_object *f;

  printf("\n3. Memory: peak RSS of the sync, slow sink (fake Dust latency "
         "100 ms), 100 tables\n");
  ms = ad_bench_memory_run(b, &small, &rs, &qs);
  ml = ad_bench_memory_run(b, &large, &rl, &ql);
  if (ms <= 0 || ml <= 0)
    return;
  printf("%10s %12s %16s\n", "records", "peak_rss_MB", "peak_queue_rows");
  printf("%10ld %12.1f %16ld\n%10ld %12.1f %16ld\n", rs, ms, qs, rl, ml, ql);
  printf("ratio %.3f\n", ml / ms);
  f = json_object_new_object();
  ad_jint(f, "records_small", rs);
  ad_jnum(f, "peak_rss_mb_small", ms);
  ad_jint(f, "records_large", rl);
  ad_jnum(f, "peak_rss_mb_large", ml);
  ad_jint(f, "peak_queue_rows_large", ql);
  ad_jnum(f, "ratio", ml / ms);
  ad_bench_emit(b, "memory", f);
}

/* ---- 4. concurrency ----------------------------------------------------- */

static void ad_bench_concurrency(ad_bench_t *b) {
  ad_bench_size_t s = b->quick ? (ad_bench_size_t){1, 2, 500}
                               : (ad_bench_size_t){1, 10, 10000};
  int conc = b->quick ? 100 : 1000;
  double latency = 0.2, ideal, rate;
  char buf[3][16];
  ad_bench_run_t r = {.name = "concurrency"};
  json_object *f;
  long docs;

  printf("\n4. Concurrency: documents, fake Dust latency 200 ms, "
         "sink_concurrency %d, %d records\n", conc,
         s.bases * s.tables * s.records);
  ad_bench_fast_airtable(&r, &s, buf);
  AD_ARGS(r.dust_args, "--discard-values", "--latency-ms", "200",
          "--documents-per-minute", "0");
  ad_jset(r.config, "rate_limits", "dust_documents_per_minute",
          json_object_new_int(10000000));
  ad_jset(r.config, "sink", "data_format", json_object_new_string("documents"));
  ad_jset(r.config, "engine", "sink_concurrency", json_object_new_int(conc));
  ad_jset(r.config, "engine", "max_connections",
          json_object_new_int(conc + 16));
  if (ad_bench_sync(b, &r) == 0) {
    docs = ad_jlong(r.stats, "documents_written");
    ideal = conc / latency;
    rate = (double)docs / r.usage.wall_s;
    printf("%10s %8s %10s %10s %7s %15s\n", "documents", "wall_s", "docs/s",
           "ideal/s", "ratio", "max_in_flight");
    printf("%10ld %8.2f %10.0f %10.0f %7.3f %15ld\n", docs, r.usage.wall_s,
           rate, ideal, rate / ideal, ad_jlong(r.dust, "max_concurrent"));
    f = json_object_new_object();
    ad_jint(f, "documents", docs);
    ad_jint(f, "sink_concurrency", conc);
    ad_jnum(f, "wall_s", r.usage.wall_s);
    ad_jnum(f, "documents_per_s", rate);
    ad_jnum(f, "ideal_per_s", ideal);
    ad_jnum(f, "ratio", rate / ideal);
    ad_jint(f, "fake_max_in_flight", ad_jlong(r.dust, "max_concurrent"));
    ad_jnum(f, "cpu_s", r.usage.cpu_s);
    ad_bench_emit(b, "concurrency", f);
  }
  ad_bench_run_free(&r);
}

/* ---- 5. one token, four processes --------------------------------------- */

#define AD_BENCH_PROCS 4

/* Four syncs of one account, started together on one token, sharing the
 * limits through Redis: what they take together against what the token's
 * limit allows for all their requests. */
static void ad_bench_shared_run(ad_bench_t *b, const char *stamp,
                                const char *redis_url) {
  int bases = b->quick ? 8 : 40, tables = b->quick ? 1 : 2;
  int records = b->quick ? 100 : 500;
  char nb[16], nt[16], nr[16], name[48], at_url[256], dust_url[256];
  char cfg[AD_BENCH_PROCS][512], stats[AD_BENCH_PROCS][512], log[512];
  const char *argv[AD_BENCH_PROCS][11];
  ad_bench_run_t r = {0};
  ad_proc_usage_t u[AD_BENCH_PROCS];
  pid_t pid[AD_BENCH_PROCS];
  ad_proc_t at, dust;
  json_object *fa = NULL, *fd = NULL, *f, *st;
  double first = 1e18, last = 0, bound, token, base, ratio;
  long total, list, h429 = 0, written = 0;
  int i, ok = 1;

  snprintf(nb, sizeof(nb), "%d", bases);
  snprintf(nt, sizeof(nt), "%d", tables);
  snprintf(nr, sizeof(nr), "%d", records);
  snprintf(name, sizeof(name), "shared-%s", stamp);
  r.name = name;
  AD_ARGS(r.at_args, "--token", AD_BENCH_TOKEN, "--bases", nb, "--tables", nt,
          "--records", nr, "--latency-ms", "50", "--stamp", stamp);
  AD_ARGS(r.dust_args, "--discard-values");
  ad_bench_path(log, sizeof(log), b, name, "log");
  remove(log);
  if (ad_bench_fake(b, &at, "fake-airtable", r.at_args, log, at_url,
                    sizeof(at_url)) != 0)
    return;
  if (ad_bench_fake(b, &dust, "fake-dust", r.dust_args, log, dust_url,
                    sizeof(dust_url)) != 0) {
    json_object_put(ad_proc_stop(&at));
    return;
  }
  for (i = 0; i < AD_BENCH_PROCS; i++) {
    char pname[64];
    snprintf(pname, sizeof(pname), "%s-%d", name, i);
    ad_bench_path(cfg[i], sizeof(cfg[i]), b, pname, "config.json");
    ad_bench_path(stats[i], sizeof(stats[i]), b, pname, "stats.json");
    remove(stats[i]);
    r.config = json_object_new_object();
    st = json_object_new_object();
    json_object_object_add(st, "type", json_object_new_string("redis"));
    json_object_object_add(st, "url", json_object_new_string(redis_url));
    json_object_object_add(st, "key_prefix", json_object_new_string(name));
    ad_jset(r.config, "rate_limits", "shared", st);
    r.name = pname;
    ad_bench_config(b, &r, at_url, dust_url, cfg[i]);
    argv[i][0] = b->airdust, argv[i][1] = "sync", argv[i][2] = "--config";
    argv[i][3] = cfg[i], argv[i][4] = "--stats-json", argv[i][5] = stats[i];
    argv[i][6] = "--progress", argv[i][7] = "off", argv[i][8] = "--log-level";
    argv[i][9] = "warn", argv[i][10] = NULL;
  }
  for (i = 0; i < AD_BENCH_PROCS; i++)
    if (ad_proc_launch((char *const *)argv[i], log, &pid[i], &u[i]) != 0)
      pid[i] = -1;
  for (i = 0; i < AD_BENCH_PROCS; i++) {
    if (pid[i] < 0 || ad_proc_reap(pid[i], &u[i]) != 0 || u[i].status != 0) {
      ok = 0;
      continue;
    }
    first = fmin(first, u[i].start_s);
    last = fmax(last, u[i].start_s + u[i].wall_s);
    st = json_object_from_file(stats[i]);
    h429 += ad_jlong(st, "http_429.airtable");
    written += ad_jlong(st, "rows_written");
    json_object_put(st);
  }
  fa = ad_proc_stop(&at);
  fd = ad_proc_stop(&dust);
  if (!ok || fa == NULL) {
    fprintf(stderr, "bench: %s: a sync did not complete (see %s)\n", name,
            log);
    b->failures++;
  } else {
    list = ad_jlong(fa, "requests_bases");
    total = list + ad_jlong(fa, "requests_schema") +
            ad_jlong(fa, "requests_records");
    /* Each process waits for its own bases list (one round trip); then
     * 50 of all their requests fit in any second, and 5 of a base's. */
    token = 0.05 + floor((double)(total - 2) / 50.0) + 0.05;
    base = 0.05 + floor((double)((total - list) / bases - 1) / 5.0) + 0.05;
    bound = fmax(token, base);
    ratio = (last - first) / bound;
    printf("%6s %6d %9ld %8.2f %8.2f %7.3f %6ld %11ld %12ld %10ld\n", stamp,
           AD_BENCH_PROCS, total, bound, last - first, ratio, h429,
           ad_jlong(fa, "max_per_base_window"),
           ad_jlong(fa, "max_per_token_window"), written);
    f = json_object_new_object();
    json_object_object_add(f, "stamp", json_object_new_string(stamp));
    ad_jint(f, "processes", AD_BENCH_PROCS);
    ad_jint(f, "bases", bases);
    ad_jint(f, "requests", total);
    ad_jnum(f, "min_wall_s", bound);
    ad_jnum(f, "wall_s", last - first);
    ad_jnum(f, "ratio", ratio);
    ad_jint(f, "http_429", h429);
    ad_jint(f, "fake_sent_429", ad_jlong(fa, "sent_429"));
    ad_jint(f, "fake_max_per_base_1s", ad_jlong(fa, "max_per_base_window"));
    ad_jint(f, "fake_max_per_token_1s", ad_jlong(fa, "max_per_token_window"));
    ad_jint(f, "tightest_token_span_ms",
            ad_jlong(fa, "tightest_token_span_ms"));
    ad_jint(f, "rows_written", written);
    ad_bench_emit(b, "shared", f);
  }
  json_object_put(fa);
  json_object_put(fd);
}

static void ad_bench_shared(ad_bench_t *b) {
  char port[16], url[64], log[512], dir[512];
  const char *argv[] = {AD_BENCH_REDIS, "--port", port, "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", dir,
                        NULL};
  ad_proc_t redis;
  size_t m;
  int p = ad_proc_free_port();

  printf("\n5. One token, %d processes sharing its limits through Redis, "
         "fake latency 50 ms\n", AD_BENCH_PROCS);
  snprintf(port, sizeof(port), "%d", p);
  snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", p);
  ad_bench_path(log, sizeof(log), b, "redis", "log");
  snprintf(dir, sizeof(dir), "%s", b->work);
  remove(log);
  if (p < 0 || ad_proc_serve(&redis, (char *const *)argv, log, p) != 0) {
    b->failures++;
    return;
  }
  printf("%6s %6s %9s %8s %8s %7s %6s %11s %12s %10s\n", "stamp", "procs",
         "requests", "min_s", "wall_s", "ratio", "429s", "max/base/1s",
         "max/token/1s", "rows");
  for (m = 0; m < 2; m++)
    ad_bench_shared_run(b, ad_bench_stamps[m], url);
  ad_proc_end(&redis);
}

/* ---- 6. an export into Dust --------------------------------------------- */

/* The jsonl source feeding the Dust sink: an Airtable export (made first,
 * limits off) loaded into a fake Dust that answers after 50 ms. The
 * bound is what the sink can have in flight: sink_concurrency batches of
 * batch_size rows per 50 ms. The export's own rate is printed too. */
static void ad_bench_jsonl(ad_bench_t *b) {
  ad_bench_size_t s = b->quick ? (ad_bench_size_t){1, 2, 2000}
                               : (ad_bench_size_t){2, 10, 10000};
  const int conc = 8, batch = 500;
  const double latency = 0.05;
  double ideal = conc * batch / latency, rate, export_rate;
  char buf[3][16], dir[512], cmd[600];
  ad_bench_run_t ex = {.name = "jsonl-export"}, r = {.name = "jsonl-load"};
  json_object *f;
  long rows;

  printf("\n6. An export into Dust: jsonl source, fake Dust latency 50 ms, "
         "tables format, sink_concurrency %d, batch %d, %d records\n", conc,
         batch, s.bases * s.tables * s.records);
  ad_bench_path(dir, sizeof(dir), b, "jsonl", "export");
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench: cannot clear %s\n", dir);
  ad_bench_fast_airtable(&ex, &s, buf);
  AD_ARGS(ex.dust_args, "--discard-values");
  ad_jset(ex.config, "sink", "type", json_object_new_string("jsonl"));
  ad_jset(ex.config, "sink", "path", json_object_new_string(dir));
  if (ad_bench_sync(b, &ex) != 0) {
    ad_bench_run_free(&ex);
    return;
  }
  export_rate = (double)ad_jlong(ex.stats, "rows_written") / ex.usage.wall_s;
  r.config = json_object_new_object();
  ad_jset(r.config, "source", "type", json_object_new_string("jsonl"));
  ad_jset(r.config, "source", "path", json_object_new_string(dir));
  ad_jset(r.config, "sink", "batch_size", json_object_new_int(batch));
  ad_jset(r.config, "engine", "sink_concurrency", json_object_new_int(conc));
  AD_ARGS(r.at_args, "--bases", "1", "--tables", "1", "--records", "1");
  AD_ARGS(r.dust_args, "--discard-values", "--latency-ms", "50");
  if (ad_bench_sync(b, &r) == 0) {
    rows = ad_jlong(r.stats, "rows_written");
    rate = (double)rows / r.usage.wall_s;
    /* rows per second of the sync's own CPU: what it could do if the
     * fake Dust (on the same cores) cost nothing */
    printf("%10s %8s %10s %10s %7s %8s %12s %12s %15s\n", "rows", "wall_s",
           "rows/s", "ideal/s", "ratio", "cpu_s", "rows/cpu_s", "export/s",
           "max_in_flight");
    printf("%10ld %8.2f %10.0f %10.0f %7.3f %8.2f %12.0f %12.0f %15ld\n",
           rows, r.usage.wall_s, rate, ideal, rate / ideal, r.usage.cpu_s,
           (double)rows / r.usage.cpu_s, export_rate,
           ad_jlong(r.dust, "max_concurrent"));
    f = json_object_new_object();
    ad_jint(f, "rows", rows);
    ad_jint(f, "sink_concurrency", conc);
    ad_jint(f, "batch_size", batch);
    ad_jnum(f, "latency_s", latency);
    ad_jnum(f, "wall_s", r.usage.wall_s);
    ad_jnum(f, "rows_per_s", rate);
    ad_jnum(f, "ideal_per_s", ideal);
    ad_jnum(f, "ratio", rate / ideal);
    ad_jnum(f, "cpu_s", r.usage.cpu_s);
    ad_jnum(f, "rows_per_cpu_s", (double)rows / r.usage.cpu_s);
    ad_jint(f, "requests", ad_jlong(r.stats, "requests.dust"));
    ad_jnum(f, "export_rows_per_s", export_rate);
    ad_jnum(f, "export_cpu_s", ex.usage.cpu_s);
    ad_jint(f, "fake_max_in_flight", ad_jlong(r.dust, "max_concurrent"));
    ad_bench_emit(b, "jsonl", f);
  }
  ad_bench_run_free(&ex);
  ad_bench_run_free(&r);
}

/* ---- 7. recurring syncs -------------------------------------------------- */

/* Ports free now, for fakes that must answer at the same addresses in
 * two runs: the sync's memory belongs to its source and its destination,
 * whose URLs are part of what they are. */
static void ad_bench_ports(char ports[2][16]) {
  snprintf(ports[0], 16, "%d", ad_proc_free_port());
  snprintf(ports[1], 16, "%d", ad_proc_free_port());
}

/* The sync's first run, fast (Airtable's limits off, documents
 * unlimited, budgets not kept): it only has to leave the memory and the
 * request count a rerun is measured against. */
static int ad_bench_mirror_first(ad_bench_t *b, ad_bench_run_t *r,
                                 const ad_bench_size_t *s, char buf[3][16],
                                 const char *format, char ports[2][16]) {
  ad_bench_fast_airtable(r, s, buf);
  AD_ARGS(r->at_args, "--port", ports[0]);
  AD_ARGS(r->dust_args, "--port", ports[1], "--discard-values",
          "--documents-per-minute", "0");
  ad_jset(r->config, "sink", "data_format", json_object_new_string(format));
  ad_jset(r->config, "rate_limits", "dust_documents_per_minute",
          json_object_new_int(atoi(AD_BENCH_OFF)));
  ad_jset(r->config, "rate_limits", "shared",
          json_tokener_parse("{\"type\":\"none\"}"));
  return ad_bench_sync(b, r);
}

/* The rerun, with the limits a real account has: Airtable's 5/s per base
 * and 50/s per token (the fake stamping requests as stamp says), Dust's
 * 120 documents a minute. */
static int ad_bench_mirror_rerun(ad_bench_t *b, ad_bench_run_t *r,
                                 const ad_bench_size_t *s, char buf[3][16],
                                 const char *format, const char *stamp,
                                 const char *mutate_share,
                                 char ports[2][16]) {
  snprintf(buf[0], 16, "%d", s->bases);
  snprintf(buf[1], 16, "%d", s->tables);
  snprintf(buf[2], 16, "%d", s->records);
  AD_ARGS(r->at_args, "--port", ports[0]);
  if (mutate_share != NULL)
    AD_ARGS(r->at_args, "--token", AD_BENCH_TOKEN, "--bases", buf[0],
            "--tables", buf[1], "--records", buf[2], "--latency-ms", "50",
            "--stamp", stamp, "--mutate", "1", "--mutate-kinds", "edit",
            "--mutate-share", mutate_share);
  else
    AD_ARGS(r->at_args, "--token", AD_BENCH_TOKEN, "--bases", buf[0],
            "--tables", buf[1], "--records", buf[2], "--latency-ms", "50",
            "--stamp", stamp);
  AD_ARGS(r->dust_args, "--port", ports[1], "--discard-values");
  r->config = json_object_new_object();
  ad_jset(r->config, "sink", "data_format", json_object_new_string(format));
  return ad_bench_sync(b, r);
}

/* A rerun of an unchanged account (tables format, each stamp mode): the
 * share of the first run's Dust requests it sends (target <= 1 %) and its
 * wall time against the Airtable read bound (target <= 1.05). */
static void ad_bench_mirror_unchanged(ad_bench_t *b, const char *stamp) {
  ad_bench_size_t s = b->quick ? (ad_bench_size_t){2, 2, 500}
                               : (ad_bench_size_t){4, 5, 5000};
  char buf[3][16], first_name[48], rerun_name[48], ports[2][16];
  ad_bench_run_t first = {0}, rerun = {0};
  double bound, ratio, share;
  long req_first, req_rerun;
  json_object *f;

  snprintf(first_name, sizeof(first_name), "mirror-%s-first", stamp);
  snprintf(rerun_name, sizeof(rerun_name), "mirror-%s-rerun", stamp);
  first.name = first_name;
  rerun.name = rerun_name;
  rerun.state_of = first_name;
  ad_bench_ports(ports);
  if (ad_bench_mirror_first(b, &first, &s, buf, "tables", ports) == 0 &&
      ad_bench_mirror_rerun(b, &rerun, &s, buf, "tables", stamp, NULL,
                            ports) == 0) {
    req_first = ad_jlong(first.stats, "requests.dust");
    req_rerun = ad_jlong(rerun.stats, "requests.dust");
    share = (double)req_rerun / (double)req_first;
    bound = ad_saturation_bound(rerun.airtable, s.bases,
                                (s.records + 99) / 100, 0.05);
    ratio = rerun.usage.wall_s / bound;
    printf("%6s %9d %10ld %10ld %8.4f %9.2f %8.2f %7.3f %10ld %6ld\n", stamp,
           s.bases * s.tables * s.records, req_first, req_rerun, share, bound,
           rerun.usage.wall_s, ratio,
           ad_jlong(rerun.stats, "records_unchanged"),
           ad_jlong(rerun.stats, "http_429.airtable"));
    f = json_object_new_object();
    json_object_object_add(f, "case", json_object_new_string("unchanged"));
    json_object_object_add(f, "stamp", json_object_new_string(stamp));
    ad_jint(f, "records", (long)s.bases * s.tables * s.records);
    ad_jint(f, "dust_requests_first", req_first);
    ad_jint(f, "dust_requests_rerun", req_rerun);
    ad_jnum(f, "request_share", share);
    ad_jnum(f, "read_bound_s", bound);
    ad_jnum(f, "wall_s", rerun.usage.wall_s);
    ad_jnum(f, "ratio", ratio);
    ad_jnum(f, "cpu_s", rerun.usage.cpu_s);
    ad_jint(f, "max_rss_kb", rerun.usage.maxrss_kb);
    ad_jint(f, "records_unchanged", ad_jlong(rerun.stats, "records_unchanged"));
    ad_jint(f, "http_429", ad_jlong(rerun.stats, "http_429.airtable"));
    ad_bench_emit(b, "mirror", f);
  }
  ad_bench_run_free(&first);
  ad_bench_run_free(&rerun);
}

/* A rerun after 1 % of the records changed, documents format at Dust's
 * 120 upserts a minute: wall time against the read bound plus the
 * changed documents at 2 a second (target <= 1.1). */
static void ad_bench_mirror_changed(ad_bench_t *b) {
  ad_bench_size_t s = b->quick ? (ad_bench_size_t){2, 2, 500}
                               : (ad_bench_size_t){3, 4, 2500};
  char buf[3][16], ports[2][16];
  ad_bench_run_t first = {.name = "mirror-docs-first"},
                 rerun = {.name = "mirror-docs-rerun",
                          .state_of = "mirror-docs-first"};
  double bound, read, write, ratio;
  long changed;
  json_object *f;

  ad_bench_ports(ports);
  if (ad_bench_mirror_first(b, &first, &s, buf, "documents", ports) == 0 &&
      ad_bench_mirror_rerun(b, &rerun, &s, buf, "documents", "kernel",
                            "0.01", ports) == 0) {
    changed = ad_jlong(rerun.stats, "documents_written");
    read = ad_saturation_bound(rerun.airtable, s.bases,
                               (s.records + 99) / 100, 0.05);
    write = (double)changed / 2.0;
    bound = read + write;
    ratio = rerun.usage.wall_s / bound;
    printf("\n%9s %8s %9s %9s %8s %8s %7s %6s\n", "records", "changed",
           "read_s", "write_s", "bound_s", "wall_s", "ratio", "429s");
    printf("%9d %8ld %9.2f %9.2f %8.2f %8.2f %7.3f %6ld\n",
           s.bases * s.tables * s.records, changed, read, write, bound,
           rerun.usage.wall_s, ratio, ad_jlong(rerun.stats, "http_429.dust"));
    f = json_object_new_object();
    json_object_object_add(f, "case", json_object_new_string("documents-1pct"));
    ad_jint(f, "records", (long)s.bases * s.tables * s.records);
    ad_jint(f, "changed", changed);
    ad_jint(f, "unchanged", ad_jlong(rerun.stats, "records_unchanged"));
    ad_jnum(f, "read_bound_s", read);
    ad_jnum(f, "write_bound_s", write);
    ad_jnum(f, "bound_s", bound);
    ad_jnum(f, "wall_s", rerun.usage.wall_s);
    ad_jnum(f, "ratio", ratio);
    ad_jint(f, "http_429_dust", ad_jlong(rerun.stats, "http_429.dust"));
    ad_jint(f, "dust_requests", ad_jlong(rerun.stats, "requests.dust"));
    ad_bench_emit(b, "mirror", f);
  }
  ad_bench_run_free(&first);
  ad_bench_run_free(&rerun);
}

static void ad_bench_mirror(ad_bench_t *b) {
  size_t i;
  printf("\n7. Recurring syncs: a rerun of an unchanged account (tables), "
         "then one after 1%% changed (documents at 120/min)\n");
  printf("%6s %9s %10s %10s %8s %9s %8s %7s %10s %6s\n", "stamp", "records",
         "dust_1st", "dust_2nd", "share", "bound_s", "wall_s", "ratio",
         "unchanged", "429s");
  for (i = 0; i < sizeof(ad_bench_stamps) / sizeof(ad_bench_stamps[0]); i++)
    ad_bench_mirror_unchanged(b, ad_bench_stamps[i]);
  ad_bench_mirror_changed(b);
}

/* ---- 8. Airbyte messages from stdin into Dust ---------------------------- */

/* `airdust airbyte write` reading a message file on stdin into a fake
 * Dust that answers after 50 ms (tables format), against the comparison
 * writer (bench/airbyte_baseline.c: one synchronous request at a time,
 * as the Python destination for Dust does) on the same messages and the
 * same fake; and airdust's CPU per record against json-c's own parse and
 * serialize of the same lines. */

#define AD_AB_NSTREAMS 4
#define AD_AB_STATE_EVERY 1000 /* a STATE every this many records of a stream */
#define AD_AB_TARGET_SPEEDUP 10.0
#define AD_AB_TARGET_CPU 1.5

static const char *const ad_ab_streams[AD_AB_NSTREAMS] = {
    "customers", "orders", "invoices", "events"};

/* Words of the generated strings: some with bytes beyond ASCII, an
 * escaped quote and a slash, as real text has. */
static const char *const ad_ab_words[] = {
    "alpha",   "bravo",     "charlie", "delta",  "echo",     "foxtrot",
    "golf",    "hotel",     "india",   "juliet", "kilo",     "lima",
    "mike",    "november",  "oscar",   "papa",   "quebec",   "romeo",
    "sierra",  "tango",     "uniform", "victor", "whiskey",  "xray",
    "yankee",  "zulu",      "order",   "invoice", "customer", "shipping",
    "pending", "delivered", "refund",  "account", "premium",  "monthly",
    "café",    "Zürich",    "naïve",   "O'Brien", "\\\"rush\\\"", "n/a",
    "2024",    "#42",       "Lyon",    "Berlin", "Québec",   "São Paulo"};

/* An HTTP answer's body. */
typedef struct ad_bench_text {
  char *text;
  size_t len;
} ad_bench_text_t;

typedef struct ad_ab_input {
  long records, states, per_stream[AD_AB_NSTREAMS];
  const char *last_state_stream;
  long last_state_cursor;
  long bytes;
} ad_ab_input_t;

static uint64_t ad_ab_rand(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static int ad_ab_between(uint64_t *s, int lo, int hi) {
  return lo + (int)(ad_ab_rand(s) % (uint64_t)(hi - lo + 1));
}

static const char *ad_ab_word(uint64_t *s) {
  return ad_ab_words[ad_ab_rand(s) % (sizeof(ad_ab_words) /
                                      sizeof(ad_ab_words[0]))];
}

/* A JSON string of words, lo to hi characters (about). */
static void ad_ab_text(FILE *f, uint64_t *s, int lo, int hi) {
  int target = ad_ab_between(s, lo, hi), len = 0;
  const char *w;

  fputc('"', f);
  while (len < target) {
    w = ad_ab_word(s);
    if (len > 0)
      fputc(' ', f), len++;
    fputs(w, f);
    len += (int)strlen(w);
  }
  fputc('"', f);
}

/* One RECORD of about 10 fields: an integer id (the primary key),
 * strings of 10-60 characters, a nullable string, a number, a boolean, a
 * date-time, a nested object and an array. */
static void ad_ab_record(FILE *f, uint64_t *s, const char *stream, long id,
                         long long emitted_at) {
  int i, ntags = ad_ab_between(s, 0, 4);

  fprintf(f,
          "{\"type\":\"RECORD\",\"record\":{\"stream\":\"%s\","
          "\"emitted_at\":%lld,\"data\":{\"id\":%ld,\"name\":",
          stream, emitted_at, id);
  ad_ab_text(f, s, 10, 30);
  fprintf(f, ",\"email\":\"%s.%s%d@example.com\",\"city\":",
          ad_ab_words[ad_ab_rand(s) % 26], ad_ab_words[ad_ab_rand(s) % 26],
          ad_ab_between(s, 1, 999));
  ad_ab_text(f, s, 10, 20);
  fputs(",\"note\":", f);
  if (ad_ab_rand(s) % 10 == 0)
    fputs("null", f);
  else
    ad_ab_text(f, s, 20, 60);
  fprintf(f,
          ",\"amount\":%d.%02d,\"active\":%s,"
          "\"updated_at\":\"2025-%02d-%02dT%02d:%02d:%02dZ\",\"address\":"
          "{\"street\":",
          ad_ab_between(s, 0, 99999), ad_ab_between(s, 0, 99),
          ad_ab_rand(s) % 2 ? "true" : "false", ad_ab_between(s, 1, 12),
          ad_ab_between(s, 1, 28), ad_ab_between(s, 0, 23),
          ad_ab_between(s, 0, 59), ad_ab_between(s, 0, 59));
  ad_ab_text(f, s, 10, 40);
  fprintf(f, ",\"zip\":\"%05d\",\"geo\":{\"lat\":%.5f,\"lon\":%.5f}},"
             "\"tags\":[",
          ad_ab_between(s, 1000, 99999),
          (double)ad_ab_between(s, -9000000, 9000000) / 1e5,
          (double)ad_ab_between(s, -18000000, 18000000) / 1e5);
  for (i = 0; i < ntags; i++) {
    fprintf(f, "%s\"%s\"", i ? "," : "", ad_ab_words[ad_ab_rand(s) % 36]);
  }
  fputs("]}}}\n", f);
}

/* The messages (records interleaved at random over the streams, a STREAM
 * STATE after every 1 000th record of a stream) and the configured
 * catalog (append_dedup on id). */
static int ad_ab_generate(const char *messages, const char *catalog,
                          long records, int unique_ids, ad_ab_input_t *in) {
  FILE *f = fopen(messages, "w"), *c;
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  long quota[AD_AB_NSTREAMS], left = records, pick, i;
  int st;

  if (f == NULL) {
    perror(messages);
    return -1;
  }
  memset(in, 0, sizeof(*in));
  for (st = 0; st < AD_AB_NSTREAMS; st++)
    quota[st] = records / AD_AB_NSTREAMS +
                (st < records % AD_AB_NSTREAMS ? 1 : 0);
  for (i = 0; left > 0; i++, left--) {
    pick = (long)(ad_ab_rand(&rng) % (uint64_t)left);
    for (st = 0; pick >= quota[st] - in->per_stream[st]; st++)
      pick -= quota[st] - in->per_stream[st];
    in->per_stream[st]++;
    ad_ab_record(f, &rng, ad_ab_streams[st],
                 in->per_stream[st] + (unique_ids ? st * 10000000l : 0),
                 1767225600000ll + i * 3);
    if (in->per_stream[st] % AD_AB_STATE_EVERY == 0) {
      fprintf(f,
              "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
              "{\"stream_descriptor\":{\"name\":\"%s\"},\"stream_state\":"
              "{\"cursor\":%ld}}}}\n",
              ad_ab_streams[st], in->per_stream[st]);
      in->states++;
      in->last_state_stream = ad_ab_streams[st];
      in->last_state_cursor = in->per_stream[st];
    }
  }
  in->records = records;
  in->bytes = ftell(f);
  if (fclose(f) != 0 || (c = fopen(catalog, "w")) == NULL) {
    perror(catalog);
    return -1;
  }
  fputs("{\"streams\":[", c);
  for (st = 0; st < AD_AB_NSTREAMS; st++)
    fprintf(c,
            "%s{\"stream\":{\"name\":\"%s\",\"json_schema\":{\"type\":"
            "\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"name\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"},"
            "\"city\":{\"type\":\"string\"},\"note\":{\"type\":[\"null\","
            "\"string\"]},\"amount\":{\"type\":\"number\"},\"active\":"
            "{\"type\":\"boolean\"},\"updated_at\":{\"type\":\"string\","
            "\"format\":\"date-time\"},\"address\":{\"type\":\"object\","
            "\"properties\":{\"street\":{\"type\":\"string\"},\"zip\":"
            "{\"type\":\"string\"},\"geo\":{\"type\":\"object\"}}},\"tags\":"
            "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
            "\"supported_sync_modes\":[\"full_refresh\",\"incremental\"]},"
            "\"sync_mode\":\"full_refresh\",\"destination_sync_mode\":"
            "\"append_dedup\",\"primary_key\":[[\"id\"]]}",
            st ? "," : "", ad_ab_streams[st]);
  fputs("]}\n", c);
  return fclose(c) == 0 ? 0 : -1;
}

/* The Airbyte destination config for a fake Dust at url. */
static int ad_ab_config(const char *path, const char *url) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fprintf(f,
          "{\"api_key\":\"%s\",\"workspace_id\":\"wFake\",\"space_id\":"
          "\"vltFake\",\"data_source_id\":\"dsFake\",\"base_url\":\"%s\","
          "\"data_format\":\"tables\",\"allow_insecure_http\":true}\n",
          AD_BENCH_KEY, url);
  return fclose(f);
}

/* The environment with XDG_STATE_HOME set to dir: the sync's memory
 * (and the shared budget file) go to a fresh folder of the run's own, as
 * ad_bench_state does for the other benchmarks. */
extern char **environ;
static char **ad_ab_env(const char *dir) {
  size_t n = 0, k = 0;
  char **env, *var;

  while (environ[n] != NULL)
    n++;
  env = calloc(n + 2, sizeof(char *));
  var = malloc(strlen(dir) + 16);
  if (env == NULL || var == NULL) {
    free(env);
    free(var);
    return NULL;
  }
  for (n = 0; environ[n] != NULL; n++)
    if (strncmp(environ[n], "XDG_STATE_HOME=", 15) != 0)
      env[k++] = environ[n];
  sprintf(var, "XDG_STATE_HOME=%s", dir);
  env[k++] = var;
  env[k] = NULL;
  return env;
}

static void ad_ab_env_free(char **env) {
  size_t n = 0;
  if (env == NULL)
    return;
  while (env[n + 1] != NULL)
    n++;
  free(env[n]); /* ours, the last */
  free(env);
}

/* The watchdog of ad_ab_run: a writer that stalls gets SIGTERM at its
 * deadline (airdust then writes what it read, for up to 10 s) and
 * SIGKILL 15 s later, so the benchmark ends whatever the writer does. */
static volatile pid_t ad_ab_watched;
static volatile sig_atomic_t ad_ab_fired;

static void ad_ab_on_alarm(int sig) {
  (void)sig;
  if (ad_ab_watched <= 0)
    return;
  kill(ad_ab_watched, ad_ab_fired == 0 ? SIGTERM : SIGKILL);
  if (ad_ab_fired++ == 0)
    alarm(15);
}

/* Runs argv to completion with stdin from in, stdout to out and stderr
 * appended to log, under wait4() (ad_proc_reap): its own wall, CPU and
 * peak RSS. 0 once it exited, 1 if it had to be stopped at deadline_s,
 * -1 if it could not start. */
static int ad_ab_run(char *const argv[], char *const envp[], const char *in,
                     const char *out, const char *log, unsigned deadline_s,
                     ad_proc_usage_t *u) {
  posix_spawn_file_actions_t fa;
  struct sigaction sa, old;
  struct timespec ts;
  pid_t pid;
  int rc;

  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  u->start_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  rc = posix_spawn(&pid, argv[0], &fa, NULL, argv,
                   envp != NULL ? envp : environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "bench: cannot start %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = ad_ab_on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &old);
  ad_ab_fired = 0;
  ad_ab_watched = pid;
  alarm(deadline_s);
  rc = ad_proc_reap(pid, u);
  alarm(0);
  ad_ab_watched = 0;
  sigaction(SIGALRM, &old, NULL);
  if (rc != 0)
    return -1;
  if (ad_ab_fired > 0) {
    fprintf(stderr, "bench: %s did not finish in %u s: stopped\n", argv[0],
            deadline_s);
    return 1;
  }
  return 0;
}

static size_t ad_ab_body(char *p, size_t size, size_t n, void *data) {
  ad_bench_text_t *t = data;
  size_t len = size * n;
  char *grown = realloc(t->text, t->len + len + 1);
  if (grown == NULL)
    return 0;
  memcpy(grown + t->len, p, len);
  t->text = grown;
  t->len += len;
  t->text[t->len] = '\0';
  return len;
}

/* GET url from the fake Dust, its answer parsed (or NULL). */
static json_object *ad_ab_get(const char *url) {
  ad_bench_text_t t = {NULL, 0};
  struct curl_slist *h =
      curl_slist_append(NULL, "Authorization: Bearer " AD_BENCH_KEY);
  CURL *c = curl_easy_init();
  json_object *o = NULL;
  long status = 0;

  if (c != NULL) {
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ad_ab_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status == 200 && t.text != NULL)
      o = json_tokener_parse(t.text);
    curl_easy_cleanup(c);
  }
  curl_slist_free_all(h);
  free(t.text);
  return o;
}

/* The rows the fake holds in each stream's table, summed; -1 when a
 * table is missing or holds another count than the input had. */
static long ad_ab_rows(const char *url, const ad_ab_input_t *in) {
  char u[512];
  long total = 0, n;
  json_object *o;
  int st, ok = 1;

  for (st = 0; st < AD_AB_NSTREAMS; st++) {
    snprintf(u, sizeof(u),
             "%s/api/v1/w/wFake/spaces/vltFake/data_sources/dsFake/tables/"
             "airbyte_%s/rows?limit=1",
             url, ad_ab_streams[st]);
    o = ad_ab_get(u);
    n = o != NULL ? ad_jlong(o, "total") : -1;
    if (n != in->per_stream[st]) {
      fprintf(stderr, "bench: airbyte: table airbyte_%s holds %ld rows, not "
                      "%ld\n", ad_ab_streams[st], n, in->per_stream[st]);
      ok = 0;
    }
    total += n > 0 ? n : 0;
    json_object_put(o);
  }
  return ok ? total : -1;
}

/* The fake's counters now. */
static json_object *ad_ab_counters(const char *url) {
  char u[512];
  snprintf(u, sizeof(u), "%s/_fake/counters", url);
  return ad_ab_get(u);
}

/* The STATEs a writer printed on stdout: how many, and whether the last
 * one is the input's last. Counts TRACE errors in *traces. */
static long ad_ab_states_out(const char *path, const ad_ab_input_t *in,
                             int *last_ok, long *traces) {
  FILE *f = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0;
  long states = 0;
  json_object *m, *s;
  const char *type, *name;

  *last_ok = 0;
  *traces = 0;
  while (f != NULL && getline(&line, &cap, f) > 0) {
    if ((m = json_tokener_parse(line)) == NULL)
      continue;
    type = json_object_get_string(json_object_object_get(m, "type"));
    if (type != NULL && strcmp(type, "STATE") == 0) {
      states++;
      s = ad_jpath(m, "state.stream");
      name = json_object_get_string(ad_jpath(s, "stream_descriptor.name"));
      *last_ok = in->last_state_stream != NULL && name != NULL &&
                 strcmp(name, in->last_state_stream) == 0 &&
                 ad_jlong(s, "stream_state.cursor") == in->last_state_cursor;
    } else if (type != NULL && strcmp(type, "TRACE") == 0) {
      (*traces)++;
    }
    json_object_put(m);
  }
  free(line);
  if (f != NULL)
    fclose(f);
  return states;
}

/* Parses the last line of a file as JSON. */
static json_object *ad_ab_last_line(const char *path) {
  FILE *f = fopen(path, "r");
  char *line = NULL, last[4096] = "";
  size_t cap = 0;

  while (f != NULL && getline(&line, &cap, f) > 0)
    snprintf(last, sizeof(last), "%s", line);
  free(line);
  if (f != NULL)
    fclose(f);
  return json_tokener_parse(last);
}

/* One `airdust airbyte write` of msgs into a fresh fake Dust, checked:
 * exit 0, every STATE echoed (the last one last), no TRACE error, and
 * the fake holding every row. */
typedef struct ad_ab_result {
  ad_proc_usage_t u;
  long states, traces, rows;
  int last_ok, stalled;
  int fake_up; /* the fake runs: the caller stops it */
  json_object *counters; /* the fake's, right after the run */
} ad_ab_result_t;

/* The fake Dust of benchmark 8: 50 ms answers; and a server that queues
 * work (one answer in ten half a second later, one write in ten applied
 * half a second late, after later ones). */
static const char *const ad_ab_fake_plain[] = {"--latency-ms", "50",
                                               "--discard-values", NULL};
static const char *const ad_ab_fake_late[] = {
    "--latency-ms", "50",  "--discard-values", "--slow", "0.1",
    "--slow-ms",    "500", "--apply-late",     "0.1",    NULL};

static int ad_ab_airdust(ad_bench_t *b, const char *name, const char *msgs,
                         const char *cat, const ad_ab_input_t *in,
                         const char *const *fake_args, ad_proc_t *dust,
                         char *url, size_t urllen, ad_ab_result_t *r) {
  char cfg[512], out[512], log[512], state[512], cmd[600];
  const char *argv[] = {b->airdust, "airbyte", "write", "--config", cfg,
                        "--catalog", cat, NULL};
  char **env;
  int rc;

  memset(r, 0, sizeof(*r));
  ad_bench_path(cfg, sizeof(cfg), b, name, "config.json");
  ad_bench_path(out, sizeof(out), b, name, "out.jsonl");
  ad_bench_path(log, sizeof(log), b, name, "log");
  ad_bench_path(state, sizeof(state), b, name, "state");
  remove(log);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
  if (system(cmd) != 0)
    fprintf(stderr, "bench: cannot clear %s\n", state);
  if (ad_bench_fake(b, dust, "fake-dust", fake_args, log, url, urllen) != 0)
    return -1;
  r->fake_up = 1;
  if ((env = ad_ab_env(state)) == NULL || ad_ab_config(cfg, url) != 0 ||
      (rc = ad_ab_run((char *const *)argv, env, msgs, out, log,
                      b->quick ? 60 : 120, &r->u)) < 0) {
    ad_ab_env_free(env);
    return -1;
  }
  ad_ab_env_free(env);
  r->stalled = rc == 1;
  r->states = ad_ab_states_out(out, in, &r->last_ok, &r->traces);
  r->rows = ad_ab_rows(url, in);
  r->counters = ad_ab_counters(url);
  if (r->u.status == 0 && !r->stalled && r->states == in->states &&
      r->last_ok && r->traces == 0 && r->rows >= 0 && r->counters != NULL)
    return 0;
  fprintf(stderr, "bench: %s: airdust exited %d%s, echoed %ld of %ld "
                  "STATEs (last %s), %ld TRACE errors (see %s, %s)\n",
          name, r->u.status, r->stalled ? " (stalled: stopped)" : "",
          r->states, in->states, r->last_ok ? "ok" : "wrong", r->traces, out,
          log);
  return -1;
}

static void ad_bench_airbyte(ad_bench_t *b) {
  long records = b->quick ? 5000 : 100000;
  long base_records = b->quick ? 5000 : 20000;
  char msgs[512], umsgs[512], cat[512], bout[512], jout[512], log[512],
      url[256], nrec[32];
  const char *base_argv[] = {b->ab_baseline, "--config", NULL, "--catalog",
                             cat, "--records", nrec, NULL};
  const char *jsonc_argv[] = {b->ab_baseline, "--jsonc-cpu", NULL};
  char cfg[512];
  ad_ab_input_t in, uin;
  ad_proc_t dust;
  ad_ab_result_t r = {0}, ur = {0}, lr = {0};
  ad_proc_usage_t bu = {0}, ju = {0};
  json_object *c2 = NULL, *base = NULL, *jsonc = NULL, *f;
  long base_states, base_traces, ab_posts, base_posts;
  int base_last_ok, ok, uok, lok;
  double rate, base_rate, speedup, cpu_rec, jsonc_rec, cpu_ratio, urate = 0;

  snprintf(nrec, sizeof(nrec), "%ld", base_records);
  ad_bench_path(msgs, sizeof(msgs), b, "airbyte", "messages.jsonl");
  ad_bench_path(umsgs, sizeof(umsgs), b, "airbyte-unique", "messages.jsonl");
  ad_bench_path(cat, sizeof(cat), b, "airbyte", "catalog.json");
  ad_bench_path(cfg, sizeof(cfg), b, "airbyte", "config.json");
  ad_bench_path(bout, sizeof(bout), b, "airbyte-baseline", "out.jsonl");
  ad_bench_path(jout, sizeof(jout), b, "airbyte-jsonc", "out.jsonl");
  ad_bench_path(log, sizeof(log), b, "airbyte-baseline", "log");
  base_argv[2] = cfg;
  remove(log);
  if (ad_ab_generate(msgs, cat, records, 0, &in) != 0 ||
      ad_ab_generate(umsgs, cat, records, 1, &uin) != 0) {
    b->failures++;
    return;
  }
  printf("\n8. Airbyte messages from stdin into Dust: %ld records over %d "
         "streams, %ld STATEs, %.1f MB, tables format, fake Dust latency "
         "50 ms; baseline on the first %ld records\n",
         in.records, AD_AB_NSTREAMS, in.states, (double)in.bytes / 1048576.0,
         base_records);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ok = ad_ab_airdust(b, "airbyte", msgs, cat, &in, ad_ab_fake_plain, &dust,
                     url, sizeof(url),
                     &r) == 0;
  /* The comparison writer: the same fake, the same tables (a rerun of
   * the first records, as far as Dust is concerned). */
  if (ok && ad_ab_run((char *const *)base_argv, NULL, msgs, bout, log,
                      b->quick ? 60 : 120, &bu) == 0 && bu.status == 0)
    base = ad_ab_last_line(bout);
  if (r.fake_up) {
    c2 = ad_ab_counters(url);
    json_object_put(ad_proc_stop(&dust));
  }
  base_states = ad_ab_states_out(bout, &in, &base_last_ok, &base_traces);
  if (ok && (base == NULL || c2 == NULL ||
             ad_jlong(base, "records") != base_records)) {
    fprintf(stderr, "bench: airbyte: the baseline exited %d (see %s, %s)\n",
            bu.status, bout, log);
    ok = 0;
  }
  if (ok && ad_ab_run((char *const *)jsonc_argv, NULL, msgs, jout, log,
                      b->quick ? 60 : 120, &ju) == 0 && ju.status == 0)
    jsonc = ad_ab_last_line(jout);
  if (ok && (jsonc == NULL || ad_jlong(jsonc, "records") != in.records)) {
    fprintf(stderr, "bench: airbyte: json-c's pass failed (see %s)\n", log);
    ok = 0;
  }
  /* The same records with ids that no two streams share (each stream's
   * ids offset by 10 000 000): what the shared ids cost. */
  uok = ok && ad_ab_airdust(b, "airbyte-unique", umsgs, cat, &uin,
                            ad_ab_fake_plain, &dust, url, sizeof(url),
                            &ur) == 0;
  if (ur.fake_up)
    json_object_put(ad_proc_stop(&dust));
  /* A server that queues work: late answers, writes applied out of
   * order. Every STATE must still come back and every row be there. */
  lok = ok && ad_ab_airdust(b, "airbyte-late", msgs, cat, &in,
                            ad_ab_fake_late, &dust, url, sizeof(url),
                            &lr) == 0;
  if (lr.fake_up)
    json_object_put(ad_proc_stop(&dust));
  if (!ok || !uok || !lok)
    b->failures++;
  if (ok) {
    ab_posts = ad_jlong(r.counters, "requests_rows_post");
    base_posts = ad_jlong(c2, "requests_rows_post") - ab_posts;
    rate = (double)in.records / r.u.wall_s;
    base_rate = (double)base_records / bu.wall_s;
    speedup = rate / base_rate;
    /* Each side's least: airdust ran twice on as many records (the
     * second with unique ids), json-c three passes or more; on a shared
     * machine the rest carries the neighbours' noise. */
    cpu_rec = (uok && ur.u.cpu_s < r.u.cpu_s ? ur.u.cpu_s : r.u.cpu_s) /
              (double)in.records;
    jsonc_rec = ad_jdouble(jsonc, "cpu_s_min") / (double)in.records;
    cpu_ratio = cpu_rec / jsonc_rec;
    if (uok)
      urate = (double)uin.records / ur.u.wall_s;
    printf("%8s %8s %10s %7s %9s %6s %9s %11s %8s %12s %12s %9s %11s\n",
           "records", "wall_s", "records/s", "cpu_s", "maxrss_MB", "posts",
           "in_flight", "baseline/s", "speedup", "cpu_us/rec", "jsonc_us/rec",
           "cpu_ratio", "unique_id/s");
    printf("%8ld %8.2f %10.0f %7.2f %9.1f %6ld %9ld %11.0f %8.2f %12.2f "
           "%12.2f %9.2f %11.0f\n",
           in.records, r.u.wall_s, rate, r.u.cpu_s,
           (double)r.u.maxrss_kb / 1024.0, ab_posts,
           ad_jlong(r.counters, "max_concurrent"), base_rate, speedup,
           cpu_rec * 1e6, jsonc_rec * 1e6, cpu_ratio, urate);
    printf("speedup %.2f (target >= %.0f: %s), cpu ratio %.2f (target <= "
           "%.1f: %s); baseline: %ld records in %.2f s, %ld posts, %ld "
           "STATEs echoed; ids unique across streams: %.2f s, speedup %.2f\n",
           speedup, AD_AB_TARGET_SPEEDUP,
           speedup >= AD_AB_TARGET_SPEEDUP ? "met" : "missed", cpu_ratio,
           AD_AB_TARGET_CPU, cpu_ratio <= AD_AB_TARGET_CPU ? "met" : "missed",
           base_records, bu.wall_s, base_posts, base_states,
           uok ? ur.u.wall_s : 0.0, urate / base_rate);
    if (lok)
      printf("a server that queues work (1 answer in 10 500 ms late, 1 write "
             "in 10 applied 500 ms late): %.2f s, %.0f records/s, speedup "
             "%.2f, every STATE echoed\n",
             lr.u.wall_s, (double)in.records / lr.u.wall_s,
             (double)in.records / lr.u.wall_s / base_rate);
    f = json_object_new_object();
    ad_jint(f, "records", in.records);
    ad_jint(f, "streams", AD_AB_NSTREAMS);
    ad_jint(f, "input_bytes", in.bytes);
    ad_jint(f, "states_in", in.states);
    ad_jint(f, "states_echoed", r.states);
    json_object_object_add(f, "last_state_echoed",
                           json_object_new_boolean(r.last_ok));
    ad_jint(f, "rows_in_fake", r.rows);
    ad_jnum(f, "latency_s", 0.05);
    ad_jnum(f, "wall_s", r.u.wall_s);
    ad_jnum(f, "records_per_s", rate);
    ad_jnum(f, "cpu_s", r.u.cpu_s);
    ad_jnum(f, "cpu_us_per_record", cpu_rec * 1e6);
    ad_jint(f, "max_rss_kb", r.u.maxrss_kb);
    ad_jint(f, "rows_posts", ab_posts);
    ad_jint(f, "tables_posts", ad_jlong(r.counters, "requests_tables_post"));
    ad_jint(f, "fake_max_in_flight", ad_jlong(r.counters, "max_concurrent"));
    ad_jint(f, "fake_validation_failures",
            ad_jlong(c2, "validation_failures"));
    ad_jint(f, "baseline_records", base_records);
    ad_jnum(f, "baseline_wall_s", bu.wall_s);
    ad_jnum(f, "baseline_records_per_s", base_rate);
    ad_jnum(f, "baseline_cpu_s", bu.cpu_s);
    ad_jint(f, "baseline_rows_posts", base_posts);
    ad_jint(f, "baseline_states_echoed", base_states);
    ad_jnum(f, "ratio", speedup);
    ad_jnum(f, "target_ratio", AD_AB_TARGET_SPEEDUP);
    json_object_object_add(
        f, "ratio_met",
        json_object_new_boolean(speedup >= AD_AB_TARGET_SPEEDUP));
    ad_jnum(f, "jsonc_cpu_us_per_record", jsonc_rec * 1e6);
    ad_jnum(f, "cpu_ratio", cpu_ratio);
    ad_jnum(f, "target_cpu_ratio", AD_AB_TARGET_CPU);
    json_object_object_add(
        f, "cpu_ratio_met",
        json_object_new_boolean(cpu_ratio <= AD_AB_TARGET_CPU));
    if (uok) {
      ad_jnum(f, "unique_ids_wall_s", ur.u.wall_s);
      ad_jnum(f, "unique_ids_records_per_s", urate);
      ad_jnum(f, "unique_ids_cpu_s", ur.u.cpu_s);
      ad_jint(f, "unique_ids_max_rss_kb", ur.u.maxrss_kb);
      ad_jint(f, "unique_ids_rows_posts",
              ad_jlong(ur.counters, "requests_rows_post"));
      ad_jnum(f, "unique_ids_ratio", urate / base_rate);
    }
    if (lok) {
      ad_jnum(f, "late_wall_s", lr.u.wall_s);
      ad_jnum(f, "late_records_per_s", (double)in.records / lr.u.wall_s);
      ad_jnum(f, "late_ratio", (double)in.records / lr.u.wall_s / base_rate);
      ad_jint(f, "late_fake_slow_answers",
              ad_jlong(lr.counters, "slow_answers"));
      ad_jint(f, "late_fake_applied_late",
              ad_jlong(lr.counters, "applied_late"));
    }
    ad_bench_emit(b, "airbyte", f);
  }
  json_object_put(r.counters);
  json_object_put(ur.counters);
  json_object_put(lr.counters);
  json_object_put(c2);
  json_object_put(base);
  json_object_put(jsonc);
  curl_global_cleanup();
}

/* ---- main --------------------------------------------------------------- */

static const struct {
  const char *name;
  void (*run)(ad_bench_t *b);
} ad_benches[] = {
    {"saturation", ad_bench_saturation_all},
    {"cpu", ad_bench_cpu},
    {"memory", ad_bench_memory},
    {"concurrency", ad_bench_concurrency},
    {"shared", ad_bench_shared},
    {"jsonl", ad_bench_jsonl},
    {"mirror", ad_bench_mirror},
    {"airbyte", ad_bench_airbyte},
};

static void ad_bench_usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [--airdust PATH] [--baseline PATH] [--work DIR] "
          "[--out FILE] [--only NAME[,NAME]] [--quick]\n"
          "       [--airbyte-baseline PATH]\n"
          "  NAME: saturation, cpu, memory, concurrency, shared, jsonl, "
          "mirror, airbyte\n"
          "  --quick: small datasets, to check that every benchmark runs\n",
          prog);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"airdust", 1, 0, 'a'}, {"baseline", 1, 0, 'b'}, {"work", 1, 0, 'w'},
      {"out", 1, 0, 'o'},     {"only", 1, 0, 'n'},     {"quick", 0, 0, 'q'},
      {"help", 0, 0, 'h'},    {"airbyte-baseline", 1, 0, 'A'},
      {0, 0, 0, 0}};
  ad_bench_t b = {AD_BENCH_AIRDUST, AD_BENCH_BASELINE, "bench-work",
                  "bench-results.jsonl", NULL, 0, NULL, 0,
                  AD_BENCH_AB_BASELINE};
  size_t i;
  int ch;

  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'a': b.airdust = optarg; break;
    case 'b': b.baseline = optarg; break;
    case 'A': b.ab_baseline = optarg; break;
    case 'w': b.work = optarg; break;
    case 'o': b.out_path = optarg; break;
    case 'n': b.only = optarg; break;
    case 'q': b.quick = 1; break;
    case 'h': ad_bench_usage(stdout, argv[0]); return 0;
    default: ad_bench_usage(stderr, argv[0]); return 2;
    }
  }
  if (mkdir(b.work, 0755) != 0 && errno != EEXIST) {
    perror(b.work);
    return 1;
  }
  b.out = fopen(b.out_path, "a");
  if (b.out == NULL) {
    perror(b.out_path);
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("results appended to %s; work files in %s\n", b.out_path, b.work);
  for (i = 0; i < sizeof(ad_benches) / sizeof(ad_benches[0]); i++)
    if (b.only == NULL || strstr(b.only, ad_benches[i].name) != NULL)
      ad_benches[i].run(&b);
  fclose(b.out);
  if (b.failures > 0)
    fprintf(stderr, "bench: %d run(s) did not complete\n", b.failures);
  return b.failures > 0 ? 1 : 0;
}
