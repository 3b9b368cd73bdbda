/* `airdust airbyte spec | check | write`: the Airbyte destination protocol
 * (docs/airbyte.md). stdout carries only Airbyte messages, one per line:
 * SPEC, CONNECTION_STATUS, LOG (every log line of the run), STATE echoes
 * (the airbyte source writes them) and TRACE errors. */
#include "airbyte.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <json-c/json.h>

#include "airdust.h"
#include "buf.h"
#include "message.h"
#include "run.h"

/* In-flight requests get this long after the platform's SIGTERM. */
#define AD_AB_STOP_DEADLINE_MS 10000

typedef struct ad_ab_cli {
  uv_loop_t loop;
  ad_sync_t *sync;
  uv_signal_t sigint, sigterm;
  int signals;
} ad_ab_cli_t;

static const char ad_ab_usage[] =
    "usage: airdust airbyte spec\n"
    "       airdust airbyte check --config FILE\n"
    "       airdust airbyte write --config FILE --catalog FILE < messages\n"
    "\n"
    "The Airbyte destination protocol for Dust: FILE is the destination's\n"
    "config (the keys `airdust airbyte spec` lists: api_key, workspace_id,\n"
    "space_id, data_source_id, base_url, data_format, table_id_prefix, …),\n"
    "--catalog the configured catalog. write reads Airbyte messages, one\n"
    "per line, on stdin and echoes each STATE once every record before it\n"
    "is in Dust. stdout carries only Airbyte messages. Docs: "
    "docs/airbyte.md.\n";

/* One message line to stdout, whole, under stdio's lock (the source
 * writes STATE echoes there too). */
static void ad_ab_out(const ad_buf_t *line) {
  flockfile(stdout);
  fwrite(line->data, 1, line->len, stdout);
  fflush(stdout);
  funlockfile(stdout);
}

static double ad_ab_now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec * 1000.0 + (double)(tv.tv_usec / 1000);
}

static void ad_ab_log(int level, const char *message) {
  ad_buf_t line;
  ad_buf_init(&line, 0);
  if (ad_ab_log_line(level, message, &line) == 0)
    ad_ab_out(&line);
  ad_buf_free(&line);
}

static void ad_ab_trace(ad_ab_failure_t failure, const char *message,
                        const char *internal) {
  ad_buf_t line;
  ad_buf_init(&line, 0);
  if (ad_ab_trace_error(failure, message, internal, ad_ab_now_ms(), &line) ==
      0)
    ad_ab_out(&line);
  ad_buf_free(&line);
}

static void ad_ab_connection_out(int ok, const char *message) {
  ad_buf_t line;
  ad_buf_init(&line, 0);
  if (ad_ab_connection_status(ok, message, &line) == 0)
    ad_ab_out(&line);
  ad_buf_free(&line);
}

static void ad_ab_on_log(int level, const char *line, void *data) {
  (void)data;
  ad_ab_log(level, line);
}

/* ---- the config: the Python connector's keys into airdust's ------------ */

static json_object *ad_ab_key(json_object *c, const char *key) {
  json_object *v;
  return json_object_object_get_ex(c, key, &v) ? v : NULL;
}

/* Copies key from c into section as to (when present and not null). */
static void ad_ab_copy(json_object *c, const char *key, json_object *section,
                       const char *to) {
  json_object *v = ad_ab_key(c, key);
  if (v != NULL && !json_object_is_type(v, json_type_null))
    json_object_object_add(section, to, json_object_get(v));
}

static const struct {
  const char *key, *section, *to;
} ad_ab_keys[] = {
    {"api_key", "sink", "api_key"},
    {"workspace_id", "sink", "workspace_id"},
    {"space_id", "sink", "space_id"},
    {"data_source_id", "sink", "data_source_id"},
    {"base_url", "sink", "base_url"},
    {"table_id_prefix", "sink", "table_id_prefix"},
    {"batch_size", "sink", "batch_size"},
    {"concurrency", "engine", "sink_concurrency"},
    {"max_retries", "engine", "max_retries"},
    {"request_timeout_s", "engine", "request_timeout_s"},
    {"allow_insecure_http", "engine", "allow_insecure_http"},
    {"documents_per_minute", "rate_limits", "dust_documents_per_minute"},
};

/* An error of the airdust config names its key as the Airbyte config
 * does ("sink.batch_size: …" → "batch_size: …"), in place. */
static void ad_ab_rename_key(char *err) {
  char from[96];
  size_t i, n;
  for (i = 0; i < sizeof(ad_ab_keys) / sizeof(*ad_ab_keys); i++) {
    snprintf(from, sizeof(from), "%s.%s:", ad_ab_keys[i].section,
             ad_ab_keys[i].to);
    n = strlen(from);
    if (strncmp(err, from, n) == 0) {
      size_t klen = strlen(ad_ab_keys[i].key);
      memmove(err + klen + 1, err + n, strlen(err + n) + 1);
      memcpy(err, ad_ab_keys[i].key, klen);
      err[klen] = ':';
      return;
    }
  }
}

/* The airdust config (malloc'd JSON text) for the Airbyte config at path;
 * NULL with err set. *log_level from its log_level. */
static char *ad_ab_config(const char *path, const char *catalog, int *log_level,
                          char *err, size_t errlen) {
  json_object *c = json_object_from_file(path), *v, *cfg, *src, *sink, *eng,
              *rl, *section;
  const char *format = "documents", *level;
  char *text;
  size_t i;

  if (c == NULL || !json_object_is_type(c, json_type_object)) {
    snprintf(err, errlen, "--config %s: %s", path,
             c == NULL ? "cannot be read as JSON" : "not a JSON object");
    json_object_put(c);
    return NULL;
  }
  if ((v = ad_ab_key(c, "data_format")) != NULL &&
      json_object_is_type(v, json_type_string))
    format = json_object_get_string(v);
  if (strcmp(format, "documents") != 0 && strcmp(format, "tables") != 0) {
    snprintf(err, errlen, "--config %s: data_format must be \"documents\" or "
                          "\"tables\"", path);
    json_object_put(c);
    return NULL;
  }
  *log_level = 2;
  if ((v = ad_ab_key(c, "log_level")) != NULL &&
      json_object_is_type(v, json_type_string)) {
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    level = json_object_get_string(v);
    for (i = 0; i < 4 && strcmp(level, levels[i]) != 0; i++)
      ;
    if (i == 4) {
      snprintf(err, errlen, "--config %s: log_level must be error, warn, "
                            "info or debug", path);
      json_object_put(c);
      return NULL;
    }
    *log_level = (int)i;
  }
  cfg = json_object_new_object();
  src = json_object_new_object();
  sink = json_object_new_object();
  eng = json_object_new_object();
  rl = json_object_new_object();
  json_object_object_add(cfg, "source", src);
  json_object_object_add(cfg, "sink", sink);
  json_object_object_add(cfg, "engine", eng);
  json_object_object_add(cfg, "rate_limits", rl);
  json_object_object_add(src, "type", json_object_new_string("airbyte"));
  json_object_object_add(src, "catalog",
                         json_object_new_string(catalog ? catalog : ""));
  json_object_object_add(src, "document_ids",
                         json_object_new_boolean(*format == 'd'));
  json_object_object_add(sink, "type", json_object_new_string("dust"));
  json_object_object_add(sink, "data_format", json_object_new_string(format));
  json_object_object_add(sink, "table_id_prefix",
                         json_object_new_string("airbyte_"));
  /* Dust queues row writes per table: 16 in flight keep a 50 ms API busy
   * (docs/airbyte.md, benchmark 8) without piling on one table. */
  json_object_object_add(eng, "sink_concurrency", json_object_new_int(16));
  for (i = 0; i < sizeof(ad_ab_keys) / sizeof(*ad_ab_keys); i++) {
    section = strcmp(ad_ab_keys[i].section, "sink") == 0     ? sink
              : strcmp(ad_ab_keys[i].section, "engine") == 0 ? eng
                                                             : rl;
    ad_ab_copy(c, ad_ab_keys[i].key, section, ad_ab_keys[i].to);
  }
  text = strdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN));
  json_object_put(cfg);
  json_object_put(c);
  if (text == NULL)
    snprintf(err, errlen, "out of memory");
  return text;
}

/* ---- running -------------------------------------------------------------- */

static void ad_ab_on_done(ad_sync_t *s, void *data) {
  ad_ab_cli_t *r = data;
  (void)s;
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  uv_stop(&r->loop);
}

/* The platform cancels with SIGTERM: what was read is still written (and
 * its STATEs echoed); a second signal stops at once. */
static void ad_ab_on_signal(uv_signal_t *h, int signum) {
  ad_ab_cli_t *r = h->data;
  (void)signum;
  if (r->signals++ == 0) {
    ad_ab_log(1, "airdust: stopping: writing what was read (a second signal "
                 "stops at once)");
    ad_sync_stop(r->sync, AD_AB_STOP_DEADLINE_MS);
  } else {
    ad_sync_abort(r->sync);
  }
}

/* A fatal error is the user's to fix when Dust refused the key, the
 * workspace, the space or the data source (the fatal answers of
 * sinks/dust/client.c, as its messages name them); anything else (the
 * input, memory, the engine) is airdust's or the machine's. */
static ad_ab_failure_t ad_ab_classify(const char *error) {
  static const char *const users[] = {
      " was refused (HTTP 401", "HTTP 403 data_source_auth_error",
      "HTTP 403 workspace_can_use_product_required_error",
      "HTTP 403 workspace_quota_error", "HTTP 404 workspace_not_found",
      "HTTP 404 space_not_found", "HTTP 404 data_source_not_found"};
  size_t i;
  for (i = 0; i < sizeof(users) / sizeof(*users); i++)
    if (strstr(error, users[i]) != NULL)
      return AD_AB_CONFIG_ERROR;
  return AD_AB_SYSTEM_ERROR;
}

/* The end of write: a LOG summary, and a TRACE error when Airbyte must
 * run again from the last STATE echoed. */
static int ad_ab_write_end(ad_ab_cli_t *r) {
  ad_sync_progress_t p;
  const char *error = ad_sync_error(r->sync);
  char msg[1024];
  ad_sync_progress(r->sync, &p);
  snprintf(msg, sizeof(msg),
           "airdust: %llu records read, %llu written (%llu rows, %llu "
           "documents), %llu failed, %llu deleted (overwrite); %llu requests "
           "to Dust, %llu answered 429; %.1f s",
           (unsigned long long)p.records_read,
           (unsigned long long)(p.rows_written + p.documents_written),
           (unsigned long long)p.rows_written,
           (unsigned long long)p.documents_written,
           (unsigned long long)p.records_failed,
           (unsigned long long)(p.rows_deleted + p.documents_deleted),
           (unsigned long long)p.requests_sink,
           (unsigned long long)p.http429_sink, p.elapsed_s);
  ad_ab_log(2, msg);
  if (error != NULL) {
    ad_ab_trace(ad_ab_classify(error), error, NULL);
    return 1;
  }
  if (r->signals > 0) {
    ad_ab_trace(AD_AB_TRANSIENT_ERROR,
                "airdust was stopped; the next attempt resumes from the last "
                "STATE echoed",
                NULL);
    return 1;
  }
  if (p.records_failed_sink > 0) {
    snprintf(msg, sizeof(msg),
             "%llu records were not taken by Dust (the LOG lines above say "
             "why); every STATE after the first of them was held back, so "
             "the next attempt sends them again",
             (unsigned long long)p.records_failed_sink);
    ad_ab_trace(AD_AB_TRANSIENT_ERROR, msg, NULL);
    return 1;
  }
  if (p.tables_failed > 0) {
    snprintf(msg, sizeof(msg),
             "%llu stream%s could not be written whole (the LOG lines above "
             "say why)", (unsigned long long)p.tables_failed,
             p.tables_failed == 1 ? "" : "s");
    ad_ab_trace(AD_AB_SYSTEM_ERROR, msg, NULL);
    return 1;
  }
  if (p.records_failed > 0) {
    snprintf(msg, sizeof(msg),
             "%llu of %llu records could not be read and were not written "
             "(the LOG lines above name each, with its input line and "
             "stream); sending them again would not mend them, so the "
             "STATEs after them were echoed",
             (unsigned long long)p.records_failed,
             (unsigned long long)p.records_read);
    ad_ab_log(1, msg);
  }
  return 0;
}

static int ad_ab_run(const char *config, int check, int log_level) {
  ad_ab_cli_t r;
  ad_sync_options_t so;
  char err[1024];
  int code = 0;

  memset(&r, 0, sizeof(r));
  memset(&so, 0, sizeof(so));
  so.check = check;
  so.log_level = log_level;
  so.log_cb = ad_ab_on_log;
  if (uv_loop_init(&r.loop) != 0)
    return 1;
  err[0] = '\0';
  if (ad_sync_new(&r.sync, &r.loop, config, strlen(config), &so, err,
                  sizeof(err)) != 0) {
    ad_ab_rename_key(err);
    if (check)
      ad_ab_connection_out(0, err);
    else
      ad_ab_trace(AD_AB_CONFIG_ERROR, err, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    return check ? 0 : 1;
  }
  uv_signal_init(&r.loop, &r.sigint);
  uv_signal_init(&r.loop, &r.sigterm);
  r.sigint.data = r.sigterm.data = &r;
  uv_signal_start(&r.sigint, ad_ab_on_signal, SIGINT);
  uv_signal_start(&r.sigterm, ad_ab_on_signal, SIGTERM);
  if (ad_sync_start(r.sync, ad_ab_on_done, &r) != 0) {
    if (check)
      ad_ab_connection_out(0, "airdust: cannot start the check");
    else
      ad_ab_trace(AD_AB_SYSTEM_ERROR, "airdust: cannot start the sync", NULL);
    ad_ab_on_done(r.sync, &r);
    code = check ? 0 : 1;
  } else {
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (check)
      ad_ab_connection_out(ad_sync_result(r.sync) == AD_SYNC_OK,
                           ad_sync_error(r.sync) != NULL
                               ? ad_sync_error(r.sync)
                               : ad_sync_check_report(r.sync));
    else
      code = ad_ab_write_end(&r);
  }
  ad_sync_close(r.sync, NULL, NULL);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_loop_close(&r.loop);
  return code;
}

/* --config FILE and --catalog FILE, in any order. 0, or 2 (printed). */
static int ad_ab_args(int argc, char **argv, int want_catalog,
                      const char **config, const char **catalog) {
  int i;
  *config = *catalog = NULL;
  for (i = 2; i < argc; i++) {
    const char **to = strcmp(argv[i], "--config") == 0 ? config
                      : strcmp(argv[i], "--catalog") == 0 && want_catalog
                          ? catalog
                          : NULL;
    if (to == NULL || i + 1 >= argc) {
      fprintf(stderr, "airdust airbyte %s: %s %s\n%s", argv[1],
              to == NULL ? "unknown option" : "a file is needed after",
              argv[i], ad_ab_usage);
      return 2;
    }
    *to = argv[++i];
  }
  if (*config == NULL || (want_catalog && *catalog == NULL)) {
    fprintf(stderr, "airdust airbyte %s: --config%s %s\n%s", argv[1],
            want_catalog ? " and --catalog are" : " is",
            "needed", ad_ab_usage);
    return 2;
  }
  return 0;
}

int ad_cli_airbyte(int argc, char **argv) {
  const char *config, *catalog;
  char *text, err[1024];
  int rc, check, log_level = 2;
  ad_buf_t line;

  /* stdout closed by the platform: an EPIPE to report, not a death */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    fputs(ad_ab_usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "spec") == 0) {
    ad_buf_init(&line, 0);
    rc = ad_ab_spec(&line);
    if (rc == 0)
      ad_ab_out(&line);
    ad_buf_free(&line);
    return rc == 0 ? 0 : 1;
  }
  check = strcmp(argv[1], "check") == 0;
  if (!check && strcmp(argv[1], "write") != 0) {
    fprintf(stderr, "airdust airbyte: unknown command %s\n%s", argv[1],
            ad_ab_usage);
    return 2;
  }
  if ((rc = ad_ab_args(argc, argv, !check, &config, &catalog)) != 0)
    return rc;
  /* check proves Dust only: the source reads no catalog then. */
  text = ad_ab_config(config, catalog, &log_level, err, sizeof(err));
  if (text == NULL) {
    if (check)
      ad_ab_connection_out(0, err);
    else
      ad_ab_trace(AD_AB_CONFIG_ERROR, err, NULL);
    return check ? 0 : 1;
  }
  rc = ad_ab_run(text, check, log_level);
  free(text);
  return rc;
}
