/* The public API (include/airdust.h) over the pipeline: config and log
 * set-up, progress ticks, the stop deadline, and the outcome. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "airdust.h"
#include "buf.h"
#include "builtin.h"
#include "config.h"
#include "log.h"
#include "pipeline.h"
#include "mkdirs.h"
#include "stats.h"
#include "store.h"

struct ad_sync {
  uv_loop_t *loop;
  ad_plugins_t plugins; /* the program's, then the built-in ones */
  ad_config_t cfg;
  ad_log_t log;
  ad_pipeline_t p;
  ad_store_t *store; /* the sync's memory, or NULL */
  char no_store[600]; /* why a default memory could not be had */
  ad_sync_options_t o;
  uv_timer_t progress, deadline;
  ad_sync_cb on_done, on_closed;
  void *done_data, *closed_data;
  int started, done, stopping, handles;
  char report[1024];
};

static const char *ad_sync_getenv(const char *name, void *data) {
  (void)data;
  return getenv(name);
}

static void ad_sync_log_fn(int level, const char *line, void *data) {
  ad_sync_t *s = data;
  s->o.log_cb(level, line, s->o.log_data);
}

static void ad_sync_tick(ad_sync_t *s) {
  ad_sync_progress_t p;
  if (s->o.on_progress == NULL)
    return;
  ad_sync_progress(s, &p);
  s->o.on_progress(s, &p, s->o.progress_data);
}

static void ad_sync_on_progress(uv_timer_t *t) {
  ad_sync_tick(t->data);
}

static void ad_sync_on_pipeline_done(ad_pipeline_t *p, void *data) {
  ad_sync_t *s = data;
  (void)p;
  s->done = 1;
  uv_timer_stop(&s->progress);
  uv_timer_stop(&s->deadline);
  if (s->o.check)
    ad_pipeline_check_report(&s->p, s->report, sizeof(s->report));
  ad_sync_tick(s); /* the final figures */
  if (s->on_done != NULL)
    s->on_done(s, s->done_data);
}

static int ad_sync_add_secret(const char *secret, void *data) {
  return ad_log_add_secret(data, secret);
}

/* The log, with every secret of the config registered before anything is
 * said. */
static int ad_sync_log_init(ad_sync_t *s) {
  const ad_sync_options_t *o = &s->o;
  ad_log_init(&s->log, o->log_file ? o->log_file : stderr, o->log_level,
              o->log_json ? AD_LOG_JSON : AD_LOG_TEXT);
  if (o->log_cb != NULL) {
    s->log.fn = ad_sync_log_fn;
    s->log.fn_data = s;
  }
  return ad_config_secrets(&s->cfg, ad_sync_add_secret, &s->log) != 0
             ? AD_ENOMEM
             : 0;
}

static int ad_sync_make(ad_sync_t **out, uv_loop_t *loop,
                        const ad_sync_options_t *opts, ad_sync_t *s) {
  ad_pipeline_opts_t po;
  int rc;

  if (opts != NULL)
    s->o = *opts;
  else
    s->o.log_level = AD_LOG_INFO;
  if (s->o.progress_interval_ms == 0)
    s->o.progress_interval_ms = 100;
  s->loop = loop;
  if ((rc = ad_sync_log_init(s)) != 0)
    return rc;
  if (s->no_store[0] != '\0')
    ad_log_warn(&s->log, "state",
                "this run has no memory of earlier ones and leaves none "
                "(%s): every record is written, nothing deleted",
                s->no_store);
  memset(&po, 0, sizeof(po));
  po.config = &s->cfg;
  po.log = &s->log;
  po.check = s->o.check;
  po.store = s->store;
  po.max_delete_share = s->cfg.engine.max_delete_share;
  po.allow_mass_delete = s->o.allow_mass_delete;
  po.on_done = ad_sync_on_pipeline_done;
  po.data = s;
  rc = ad_pipeline_init(&s->p, loop, &po);
  uv_timer_init(loop, &s->progress);
  uv_timer_init(loop, &s->deadline);
  s->progress.data = s->deadline.data = s;
  s->handles = 2;
  *out = s;
  return rc;
}

/* JSON text naming one side: {"type": plugin, …what it says of itself}
 * (malloc'd; NULL on ENOMEM). */
static char *ad_sync_side(const char *type, char *(*say)(const void *),
                          const void *conf) {
  json_object *o = json_object_new_object(), *said = NULL;
  char *text = NULL, *own = say != NULL ? say(conf) : NULL;

  if (o != NULL && (say == NULL || own != NULL)) {
    json_object_object_add(o, "type", json_object_new_string(type));
    if (own != NULL && (said = json_tokener_parse(own)) != NULL) {
      json_object_object_foreach(said, k, v)
          json_object_object_add(o, k, json_object_get(v));
      json_object_put(said);
    }
    text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  }
  free(own);
  json_object_put(o);
  return text;
}

/* The source's secret values (its API key), joined: what tells two
 * accounts' syncs of the same scope apart in the default memory's name
 * (digested there, never stored). NULL when it has none; malloc'd. */
static char *ad_sync_source_key(const ad_sync_t *s) {
  const ad_config_key_t *k;
  ad_buf_t out;
  const char *v;

  ad_buf_init(&out, 0);
  for (k = s->cfg.source_plugin->keys; k != NULL && k->name != NULL; k++) {
    if (!(k->flags & AD_KEY_SECRET) ||
        (k->type != AD_KEY_STRING && k->type != AD_KEY_OPTSTRING))
      continue;
    v = *(char *const *)((const char *)s->cfg.source.conf + k->offset);
    if (v != NULL && ad_buf_printf(&out, "%s\n", v) != 0) {
      ad_buf_free(&out);
      return NULL;
    }
  }
  return ad_buf_steal(&out, NULL);
}

/* The sync's memory: the file asked for, or the default one for this
 * source and destination (and this source's key: a new token starts a
 * new default memory, which costs one rewrite; --state FILE keeps one
 * across tokens). A default that cannot be had costs a warning
 * and the memory, not the run. */
static int ad_sync_store(ad_sync_t *s, char *err, size_t errlen) {
  const ad_source_plugin_t *src = s->cfg.source_plugin;
  const ad_sink_plugin_t *sink = s->cfg.sink_plugin;
  const char *dir = s->cfg.engine.state_dir;
  char *source = ad_sync_side(src->name, src->identity, s->cfg.source.conf);
  char *dest = ad_sync_side(sink->name, sink->destination, s->cfg.sink.conf);
  char *path = NULL, *key = NULL, why[600];
  int rc = 0, created;

  why[0] = '\0';
  if (source == NULL || dest == NULL)
    rc = AD_ENOMEM;
  else if (s->o.state_path != NULL)
    path = strdup(s->o.state_path);
  else if (dir == NULL)
    snprintf(why, sizeof(why), "no state folder (set engine.state_dir, or "
                               "HOME or XDG_STATE_HOME)");
  else if (ad_mkdirs(dir, why, sizeof(why)) == 0) {
    key = ad_sync_source_key(s);
    rc = ad_store_default_path(dir, source, dest, key, &path);
    if (key != NULL) { /* a secret: gone from memory once digested */
      memset(key, 0, strlen(key));
      free(key);
    }
  }
  if (rc == 0 && path == NULL && why[0] == '\0')
    rc = AD_ENOMEM;
  if (rc == 0 && path != NULL)
    rc = ad_store_open(&s->store, path, source, dest, &created, err, errlen);
  if (rc == 0 && path == NULL) /* logged once the log is made */
    snprintf(s->no_store, sizeof(s->no_store), "%s", why);
  if (rc == AD_ENOMEM)
    snprintf(err, errlen, "out of memory opening the sync's state");
  free(path);
  free(source);
  free(dest);
  return rc;
}

/* Parses the config (from path when it is set, else from text), then
 * builds the sync around it. */
static int ad_sync_new_from(ad_sync_t **out, uv_loop_t *loop,
                            const char *text, size_t len, const char *path,
                            const ad_sync_options_t *opts, char *err,
                            size_t errlen) {
  ad_sync_t *s;
  int rc;

  *out = NULL;
  if (loop == NULL || (text == NULL && path == NULL))
    return AD_EINVAL;
  if ((s = calloc(1, sizeof(*s))) == NULL)
    return AD_ENOMEM;
  rc = ad_plugins_merge(&s->plugins, opts ? opts->sources : NULL,
                        opts ? opts->sinks : NULL);
  if (rc == 0)
    rc = path != NULL ? ad_config_load(&s->cfg, path, &s->plugins,
                                       ad_sync_getenv, NULL, err, errlen)
                      : ad_config_parse(&s->cfg, text, len, &s->plugins,
                                        ad_sync_getenv, NULL, err, errlen);
  else
    snprintf(err, errlen, "out of memory");
  if (rc == 0 && opts != NULL && !opts->check &&
      (opts->state_path != NULL || opts->state_default)) {
    s->o = *opts;
    rc = ad_sync_store(s, err, errlen);
  }
  if (rc == 0)
    rc = ad_sync_make(out, loop, opts, s);
  if (rc == 0)
    return 0;
  if (*out == NULL) { /* nothing on the loop yet */
    ad_log_close(&s->log);
    ad_store_close(s->store);
    ad_config_free(&s->cfg);
    ad_plugins_free(&s->plugins);
    free(s);
  } else {
    if (rc == AD_ECONFIG && s->p.error[0] != '\0')
      snprintf(err, errlen, "%s", s->p.error);
    else if (rc != AD_ECONFIG)
      snprintf(err, errlen, "cannot set up the sync: %s", ad_strerror(rc));
    ad_sync_close(s, NULL, NULL); /* freed once the loop runs */
    *out = NULL;
  }
  return rc;
}

int ad_sync_new(ad_sync_t **out, uv_loop_t *loop, const char *config,
                size_t len, const ad_sync_options_t *opts, char *err,
                size_t errlen) {
  return ad_sync_new_from(out, loop, config, len, NULL, opts, err, errlen);
}

int ad_sync_new_file(ad_sync_t **out, uv_loop_t *loop, const char *path,
                     const ad_sync_options_t *opts, char *err, size_t errlen) {
  return ad_sync_new_from(out, loop, NULL, 0, path, opts, err, errlen);
}

/* The config allowed plain http to a remote host: say so before any key is
 * sent that way. */
static void ad_sync_warn_insecure(ad_sync_t *s) {
  char plain[4][96];
  size_t i, n = ad_config_plain_remote(&s->cfg, plain);
  for (i = 0; i < n; i++)
    ad_log_warn(&s->log, "sync",
                "%s is plain http:// to a host that is not loopback "
                "(engine.allow_insecure_http): the API key and the data "
                "travel unencrypted", plain[i]);
}

int ad_sync_start(ad_sync_t *s, ad_sync_cb on_done, void *data) {
  int rc;
  if (s->started)
    return AD_EINVAL;
  ad_sync_warn_insecure(s);
  s->on_done = on_done;
  s->done_data = data;
  if ((rc = ad_pipeline_start(&s->p)) != 0)
    return rc;
  s->started = 1;
  if (s->o.on_progress != NULL)
    uv_timer_start(&s->progress, ad_sync_on_progress,
                   s->o.progress_interval_ms, s->o.progress_interval_ms);
  return 0;
}

static void ad_sync_on_deadline(uv_timer_t *t) {
  ad_sync_t *s = t->data;
  ad_log_warn(&s->log, "sync",
              "the stop deadline passed: canceling what is still in flight");
  ad_pipeline_abort(&s->p, "not written: the sync was stopped before Dust "
                           "acknowledged it");
}

void ad_sync_stop(ad_sync_t *s, uint64_t deadline_ms) {
  if (!s->started || s->done || s->stopping)
    return;
  s->stopping = 1;
  ad_log_info(&s->log, "sync",
              "stopping: no more reading; writing what was read (at most "
              "%.1f s)", (double)deadline_ms / 1000.0);
  ad_pipeline_stop(&s->p);
  uv_timer_start(&s->deadline, ad_sync_on_deadline, deadline_ms, 0);
}

void ad_sync_abort(ad_sync_t *s) {
  if (!s->started || s->done)
    return;
  ad_pipeline_abort(&s->p, "not written: the sync was interrupted");
}

void ad_sync_progress(const ad_sync_t *s, ad_sync_progress_t *out) {
  const ad_stats_t *st = &s->p.stats;
  memset(out, 0, sizeof(*out));
  out->elapsed_s = s->done ? st->elapsed_s
                   : s->started
                       ? (double)(uv_hrtime() - s->p.started_ns) / 1e9
                       : 0;
  out->bases = st->bases;
  out->tables_total = s->p.host.source.tables_total;
  out->tables_done = s->p.host.source.tables_done;
  out->tables_failed = st->tables_failed;
  out->tables_skipped = st->tables_skipped;
  out->records_read = st->records_read;
  out->rows_written = st->rows_written;
  out->documents_written = st->documents_written;
  out->records_failed = st->records_failed;
  out->source_type = st->source_type;
  out->sink_type = st->sink_type;
  out->requests_source = st->requests_source;
  out->requests_sink = st->requests_sink;
  out->retries = st->retries;
  out->http429_source = st->http429_source;
  out->http429_sink = st->http429_sink;
  out->rate_limit_wait_us = s->p.limiter.waited_us;
  out->queue_rows = s->p.queue.rows;
  out->records_unchanged = st->records_unchanged;
  out->rows_deleted = st->rows_deleted;
  out->documents_deleted = st->documents_deleted;
  out->tables_deleted = st->tables_deleted;
  out->records_failed_sink = s->p.host.sink_failed;
}

int ad_sync_result(const ad_sync_t *s) {
  if (s->p.stats.fatal_error != NULL)
    return AD_SYNC_FATAL;
  return ad_stats_ok(&s->p.stats) ? AD_SYNC_OK : AD_SYNC_PARTIAL;
}

const char *ad_sync_error(const ad_sync_t *s) { return s->p.stats.fatal_error; }

const char *ad_sync_check_report(const ad_sync_t *s) { return s->report; }

char *ad_sync_stats_json(const ad_sync_t *s) {
  return ad_stats_to_json(&s->p.stats, &s->log.redact);
}

static void ad_sync_free(ad_sync_t *s) {
  if (s->on_closed != NULL)
    s->on_closed(s, s->closed_data);
  ad_log_close(&s->log);
  ad_store_close(s->store);
  ad_config_free(&s->cfg);
  ad_plugins_free(&s->plugins);
  free(s);
}

static void ad_sync_handle_closed(ad_sync_t *s) {
  if (--s->handles == 0)
    ad_sync_free(s);
}

static void ad_sync_timer_closed(uv_handle_t *h) {
  ad_sync_handle_closed(h->data);
}

static void ad_sync_pipeline_closed(ad_pipeline_t *p, void *data) {
  (void)p;
  ad_sync_handle_closed(data);
}

/* The real close, from a loop turn of its own: ad_sync_close may be called
 * from on_done, deep inside the pipeline's callbacks. */
static void ad_sync_close_now(uv_timer_t *t) {
  ad_sync_t *s = t->data;
  s->handles++; /* the pipeline's, counted as one */
  uv_close((uv_handle_t *)&s->progress, ad_sync_timer_closed);
  uv_close((uv_handle_t *)&s->deadline, ad_sync_timer_closed);
  ad_pipeline_close(&s->p, ad_sync_pipeline_closed, s);
}

void ad_sync_close(ad_sync_t *s, ad_sync_cb on_closed, void *data) {
  s->on_closed = on_closed;
  s->closed_data = data;
  uv_timer_stop(&s->deadline);
  uv_timer_start(&s->progress, ad_sync_close_now, 0, 0);
}
