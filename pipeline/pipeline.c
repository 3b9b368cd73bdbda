#include "pipeline.h"

#include <stdio.h>
#include <string.h>

#include "budget_redis.h"
#include "error.h"
#include "mkdirs.h"

static void ad_pl_finish(ad_pipeline_t *p) {
  char why[256];

  p->done = 1;
  p->stats.rate_limit_sharing = p->sharing;
  p->stats.elapsed_s = (double)(uv_hrtime() - p->started_ns) / 1e9;
  p->stats.peak_queue_rows = p->queue.peak_rows;
  p->stats.rate_limit_wait_us = p->limiter.waited_us;
  p->stats.rate_limit_late_us = p->limiter.late_us;
  /* A run that stopped early is resumed by the next; one that ran to its
   * end (even with failures) is not: the next reads everything again. */
  if (p->mirror_made)
    ad_mirror_end(&p->mirror,
                  p->stats.fatal_error == NULL && !p->stopped);
  /* The accounting is the engine's: if it does not add up, a plugin lost
   * records, and the run must not say it went well. */
  if (!ad_host_balance(&p->host, why, sizeof(why))) {
    if (p->o.log != NULL)
      ad_log_error(p->o.log, "engine", "records unaccounted for: %s", why);
    ad_stats_set_fatal(&p->stats, "records unaccounted for (a bug: please "
                                  "report it with the log)");
  }
  if (p->o.on_done != NULL)
    p->o.on_done(p, p->o.data);
}

/* check mode: done once both sides have answered. */
static void ad_pl_check_step(ad_pipeline_t *p) {
  if (--p->check_pending == 0)
    ad_pl_finish(p);
}

/* Runs cb on the next loop turn (at once when the timers are closing). */
static void ad_pl_defer(ad_pipeline_t *p, ad_timers_entry_t *e,
                        ad_timers_cb cb) {
  if (ad_timers_after(&p->timers, e, 0, cb, p) != 0)
    cb(e, p);
}

static void ad_pl_pause_now(ad_timers_entry_t *e, void *data) {
  ad_pipeline_t *p = data;
  ad_source_t *src = &p->host.source;
  (void)e;
  if (src->started && !src->done && p->queue.high &&
      src->plugin->pause != NULL)
    src->plugin->pause(src->ctx);
}

/* The queue is full. A refused reservation fires this from inside
 * ad_source_reserve, which must not call the plugin back: its pause
 * comes on the next turn (if the queue is still full then). */
static void ad_pl_on_high(ad_queue_t *queue, void *data) {
  ad_pipeline_t *p = data;
  (void)queue;
  if (p->host.source.plugin->pause != NULL)
    ad_pl_defer(p, &p->pause_entry, ad_pl_pause_now);
}

static void ad_pl_stop_now(ad_timers_entry_t *e, void *data) {
  ad_pipeline_t *p = data;
  ad_source_t *src = &p->host.source;
  (void)e;
  if (src->started && !src->done)
    src->plugin->stop(src->ctx);
}

/* Stops the source from a loop turn of its own: asked from inside one of
 * its calls (a sink's fatal error during a push, a log callback that
 * stops the sync), stopping at once would free what that call still
 * uses. */
static void ad_pl_stop_source(ad_pipeline_t *p) {
  ad_pl_defer(p, &p->stop_entry, ad_pl_stop_now);
}

static void ad_pl_on_low(ad_queue_t *queue, void *data) {
  ad_pipeline_t *p = data;
  ad_source_t *src = &p->host.source;
  (void)queue;
  if (src->started && !src->done && src->plugin->resume != NULL)
    src->plugin->resume(src->ctx);
}

static void ad_pl_on_source_done(void *data) {
  ad_pipeline_t *p = data;
  ad_sink_t *sink = &p->host.sink;
  char reason[600];

  if (p->o.check) {
    ad_pl_check_step(p);
    return;
  }
  if (p->stats.fatal_error != NULL) { /* the source refused the run */
    snprintf(reason, sizeof(reason), "not written: the run stopped (%s)",
             p->stats.fatal_error);
    sink->plugin->abort(sink->ctx, reason);
  } else if (p->mirror_made && !p->stopped) {
    ad_mirror_source_done(&p->mirror); /* tables gone at the source */
  }
  sink->plugin->finish(sink->ctx);
}

static void ad_pl_on_sink_fatal(void *data) {
  ad_pipeline_t *p = data;
  if (!p->o.check)
    ad_pl_stop_source(p);
}

static void ad_pl_on_source_fatal(void *data) { ad_pl_stop_source(data); }

static void ad_pl_on_drained(void *data) { ad_pl_finish(data); }

static void ad_pl_on_checked(void *data) { ad_pl_check_step(data); }

/* ---- the recurring sync's hooks (mirror.h) ---------------------------- */

static int ad_pl_skip_table(const ad_table_t *t, void *data) {
  ad_pipeline_t *p = data;
  return p->mirror_made && ad_mirror_skip(&p->mirror, t);
}

static void ad_pl_on_table_done(ad_table_t *t, void *data) {
  ad_pipeline_t *p = data;
  if (p->mirror_made)
    ad_mirror_table_done(&p->mirror, t);
}

static void ad_pl_table_begin(ad_table_t *t, void *data) {
  ad_mirror_table_begin(&((ad_pipeline_t *)data)->mirror, t);
}

static size_t ad_pl_filter(ad_page_t *page, void *data) {
  return ad_mirror_filter(&((ad_pipeline_t *)data)->mirror, page);
}

static void ad_pl_table_read(ad_table_t *t, void *data) {
  ad_mirror_table_read(&((ad_pipeline_t *)data)->mirror, t);
}

static void ad_pl_group(const char *group, void *data) {
  ad_mirror_group(&((ad_pipeline_t *)data)->mirror, group);
}

static void ad_pl_complete(const char *group, void *data) {
  ad_mirror_complete(&((ad_pipeline_t *)data)->mirror, group);
}

static void ad_pl_written_id(ad_table_t *t, const char *id,
                             const unsigned char *hash, void *data) {
  ad_mirror_written(&((ad_pipeline_t *)data)->mirror, t, id, hash);
}

static void ad_pl_removed(ad_table_t *t, const char *id, const char *error,
                          void *data) {
  ad_mirror_removed(&((ad_pipeline_t *)data)->mirror, t, id, error);
}

static int ad_pl_table_same(ad_table_t *t, const void *desc, size_t len,
                            void *data) {
  return ad_mirror_table_same(&((ad_pipeline_t *)data)->mirror, t, desc,
                              len);
}

static void ad_pl_described(ad_table_t *t, const void *desc, size_t len,
                            void *data) {
  ad_mirror_described(&((ad_pipeline_t *)data)->mirror, t, desc, len);
}

static void ad_pl_owned_table(const char *origin, const char *group_id,
                              const char *table_id, void *data) {
  ad_mirror_owned_table(&((ad_pipeline_t *)data)->mirror, origin, group_id,
                        table_id);
}

static void ad_pl_owned(const char *group_id, const char *table_id,
                        const char *id, void *data) {
  ad_mirror_owned(&((ad_pipeline_t *)data)->mirror, group_id, table_id, id);
}

static void ad_pl_start_source_now(ad_timers_entry_t *e, void *data);

/* The inventory after a lost memory is over: what it found is stored
 * (a failed one is tried again by the next run), and the reading starts. */
static void ad_pl_inventoried(const char *error, void *data) {
  ad_pipeline_t *p = data;
  if (!p->inventory_pending)
    return;
  p->inventory_pending = 0;
  if (error == NULL) {
    /* Only a listing the memory holds whole is done; else the next run
     * lists again. */
    if (ad_mirror_healthy(&p->mirror) &&
        ad_store_meta_set(p->o.store, "inventoried", "1") != 0 &&
        p->o.log != NULL)
      ad_log_warn(p->o.log, "state", "%s", ad_store_error(p->o.store));
  } else if (p->o.log != NULL) {
    ad_log_warn(p->o.log, "mirror",
                "could not list what earlier runs wrote (%s): what is "
                "gone at the source stays in the destination until a "
                "later run lists it", error);
  }
  ad_pl_defer(p, &p->start_entry, ad_pl_start_source_now);
}

static int ad_pl_http(ad_pipeline_t *p, ad_http_t *http) {
  const ad_config_t *cfg = p->o.config;
  ad_http_opts_t ho;
  ad_http_opts_default(&ho);
  ho.max_connections = cfg->engine.max_connections;
  ho.connect_timeout_ms = cfg->engine.connect_timeout_s * 1000;
  ho.timeout_ms = cfg->engine.request_timeout_s * 1000;
  return ad_http_init(http, p->loop, &ho);
}

static void ad_pl_on_budget_status(ad_budget_t *b, int level,
                                   const char *msg, void *data) {
  ad_pipeline_t *p = data;
  (void)b;
  if (p->o.log != NULL)
    ad_log_write(p->o.log, level, "ratelimit", "%s", msg);
}

/* The file budget: the config's path, else one in the state folder.
 * Sharing is the default, so a default that cannot be had costs a
 * warning, not the run; a path the config names must work. */
static int ad_pl_budget_file(ad_pipeline_t *p) {
  const ad_config_t *cfg = p->o.config;
  const char *path = cfg->rate_limits.shared.path;
  char buf[4096], why[600];
  int rc = 0;

  why[0] = '\0';
  if (path == NULL && cfg->engine.state_dir == NULL) {
    snprintf(why, sizeof(why), "no state folder (set engine.state_dir, or "
                               "HOME or XDG_STATE_HOME)");
  } else if (path == NULL &&
             ad_mkdirs(cfg->engine.state_dir, why, sizeof(why)) == 0) {
    snprintf(buf, sizeof(buf), "%s/" AD_BUDGET_FILE_NAME,
             cfg->engine.state_dir);
    path = buf;
  }
  if (path != NULL &&
      (rc = ad_budget_file_init(&p->budget, path, NULL, NULL)) == 0) {
    p->sharing = "file";
    return 0;
  }
  if (rc == AD_ENOMEM)
    return rc;
  if (path != NULL && why[0] == '\0')
    snprintf(why, sizeof(why), "%s", p->budget.error);
  if (cfg->rate_limits.shared.path != NULL) {
    snprintf(p->error, sizeof(p->error), "rate_limits.shared.path: %.480s",
             why);
    return AD_ECONFIG;
  }
  if (p->o.log != NULL)
    ad_log_warn(p->o.log, "ratelimit",
                "rate limits are not shared with other airdust processes on "
                "this machine: %s",
                why);
  ad_budget_memory_init(&p->budget, NULL, NULL);
  p->sharing = "none";
  return 0;
}

static int ad_pl_budget(ad_pipeline_t *p) {
  const ad_config_t *cfg = p->o.config;
  ad_budget_redis_opts_t ro;
  int rc;

  switch (cfg->rate_limits.shared.type) {
  case AD_SHARED_REDIS:
    memset(&ro, 0, sizeof(ro));
    ro.url = cfg->rate_limits.shared.url;
    ro.key_prefix = cfg->rate_limits.shared.key_prefix;
    ro.connect_timeout_ms =
        (uint64_t)cfg->rate_limits.shared.connect_timeout_s * 1000;
    ro.outage_timeout_ms =
        (uint64_t)cfg->rate_limits.shared.outage_timeout_s * 1000;
    ro.on_status = ad_pl_on_budget_status;
    ro.status_data = p;
    rc = ad_budget_redis_init(&p->budget, p->loop, &ro);
    if (rc == AD_ECONFIG)
      snprintf(p->error, sizeof(p->error), "rate_limits.shared.url: %s",
               p->budget.error);
    p->sharing = "redis";
    return rc;
  case AD_SHARED_FILE:
    return ad_pl_budget_file(p);
  default:
    ad_budget_memory_init(&p->budget, NULL, NULL);
    p->sharing = "none";
    return 0;
  }
}

/* The loop-side parts: two HTTP clients, the budget, the limiter and the
 * timers. Each one made is counted, so close knows what to wait for. */
static int ad_pl_handles(ad_pipeline_t *p) {
  int rc;
  if ((rc = ad_pl_http(p, &p->http_source)) != 0)
    return rc;
  p->open_handles++;
  if ((rc = ad_pl_http(p, &p->http_sink)) != 0)
    return rc;
  p->open_handles++;
  rc = ad_pl_budget(p);
  p->open_handles++; /* a failed budget is still closed */
  if (rc != 0)
    return rc;
  if ((rc = ad_limiter_init(&p->limiter, p->loop, &p->budget)) != 0)
    return rc;
  p->open_handles++;
  if ((rc = ad_timers_init(&p->timers, p->loop)) != 0)
    return rc;
  p->open_handles++;
  return 0;
}

/* What the plugins of this tree share (engine/host.h), one side's. */
static void ad_pl_services(ad_pipeline_t *p, ad_services_t *svc,
                           ad_http_t *http, uint64_t *requests,
                           uint64_t *penalties) {
  memset(svc, 0, sizeof(*svc));
  svc->config = p->o.config;
  svc->http = http;
  svc->limiter = &p->limiter;
  svc->timers = &p->timers;
  svc->log = p->o.log;
  svc->stats = &p->stats;
  svc->counts.requests = requests;
  svc->counts.penalties = penalties;
  svc->counts.retries = &p->stats.retries;
  svc->counts.bytes_sent = &p->stats.bytes_sent;
  svc->counts.bytes_received = &p->stats.bytes_received;
  svc->check = p->o.check;
  svc->backoff_base_ms = p->o.backoff_base_ms;
  svc->documents_window_ms = p->o.documents_window_ms;
}

/* A plugin's refusal at init, as the error the sync reports. */
static int ad_pl_refused(ad_pipeline_t *p, const char *side, const char *name,
                         int rc, const char *err) {
  if (rc == AD_ECONFIG || err[0] != '\0')
    snprintf(p->error, sizeof(p->error), "%s (%s): %s", side, name,
             err[0] != '\0' ? err : ad_strerror(rc));
  return rc == AD_ENOMEM || rc == AD_EINVAL ? rc : AD_ECONFIG;
}

/* The run begins in the sync's memory: resumed when the last one stopped
 * early. */
static int ad_pl_mirror(ad_pipeline_t *p) {
  ad_mirror_opts_t mo;
  int resumed = 0, rc;

  if ((rc = ad_store_run_begin(p->o.store, &resumed)) != 0) {
    snprintf(p->error, sizeof(p->error), "%s", ad_store_error(p->o.store));
    return AD_ECONFIG;
  }
  memset(&mo, 0, sizeof(mo));
  mo.store = p->o.store;
  mo.host = &p->host;
  mo.log = p->o.log;
  mo.max_delete_share =
      p->o.max_delete_share > 0 ? p->o.max_delete_share : 0.5;
  mo.allow_mass_delete = p->o.allow_mass_delete;
  if ((rc = ad_mirror_init(&p->mirror, &mo, resumed)) != 0)
    return rc;
  p->mirror_made = 1;
  if (resumed && p->o.log != NULL)
    ad_log_info(p->o.log, "state", "the last run stopped early: tables it "
                                   "finished are skipped");
  return 0;
}

/* The queue, then the sink (its prepare and encode must exist before the
 * source announces anything), then the source. */
static int ad_pl_parts(ad_pipeline_t *p) {
  const ad_config_t *cfg = p->o.config;
  ad_source_t *src = &p->host.source;
  ad_sink_t *sink = &p->host.sink;
  ad_host_cbs_t cbs;
  ad_queue_opts_t qo;
  char err[512];
  int rc;

  memset(&qo, 0, sizeof(qo));
  qo.max_rows = (size_t)cfg->engine.queue_rows;
  qo.max_bytes = (size_t)cfg->engine.queue_bytes;
  qo.on_high = ad_pl_on_high;
  qo.on_low = ad_pl_on_low;
  qo.data = p;
  if ((rc = ad_queue_init(&p->queue, &qo)) != 0)
    return rc;
  memset(&cbs, 0, sizeof(cbs));
  cbs.skip = ad_pl_skip_table;
  cbs.table_done = ad_pl_on_table_done;
  cbs.source_done = ad_pl_on_source_done;
  cbs.sink_drained = ad_pl_on_drained;
  cbs.sink_checked = ad_pl_on_checked;
  cbs.sink_fatal = ad_pl_on_sink_fatal;
  cbs.source_fatal = ad_pl_on_source_fatal;
  if (p->o.store != NULL && !p->o.check) {
    cbs.table_begin = ad_pl_table_begin;
    cbs.filter = ad_pl_filter;
    cbs.table_read = ad_pl_table_read;
    cbs.group = ad_pl_group;
    cbs.complete = ad_pl_complete;
    cbs.written_id = ad_pl_written_id;
    cbs.removed = ad_pl_removed;
    cbs.table_same = ad_pl_table_same;
    cbs.described = ad_pl_described;
    cbs.owned_table = ad_pl_owned_table;
    cbs.owned = ad_pl_owned;
    cbs.inventoried = ad_pl_inventoried;
  }
  cbs.data = p;
  ad_host_init(&p->host, p->loop, p->o.log, &p->queue, &p->stats,
               p->o.check, &cbs);
  p->stats.source_type = cfg->source_plugin->name;
  p->stats.sink_type = cfg->sink_plugin->name;

  sink->plugin = cfg->sink_plugin;
  snprintf(sink->name, sizeof(sink->name), "sink:%s", sink->plugin->name);
  ad_pl_services(p, &sink->services, &p->http_sink, &p->stats.requests_sink,
                 &p->stats.http429_sink);
  err[0] = '\0';
  if ((rc = sink->plugin->init(sink, cfg->sink.conf, &sink->ctx, err,
                               sizeof(err))) != 0)
    return ad_pl_refused(p, "sink", sink->plugin->name, rc, err);
  p->sink_made = 1;

  src->plugin = cfg->source_plugin;
  snprintf(src->name, sizeof(src->name), "source:%s", src->plugin->name);
  ad_pl_services(p, &src->services, &p->http_source,
                 &p->stats.requests_source, &p->stats.http429_source);
  err[0] = '\0';
  if ((rc = src->plugin->init(src, cfg->source.conf, &src->ctx, err,
                              sizeof(err))) != 0)
    return ad_pl_refused(p, "source", src->plugin->name, rc, err);
  p->source_made = 1;
  return p->o.store != NULL && !p->o.check ? ad_pl_mirror(p) : 0;
}

static void ad_pl_handle_closed(ad_pipeline_t *p) {
  if (--p->open_handles == 0 && p->close_cb != NULL)
    p->close_cb(p, p->close_data);
}

static void ad_pl_http_closed(ad_http_t *http) {
  ad_pl_handle_closed(http->data);
}

static void ad_pl_limiter_closed(ad_limiter_t *limiter) {
  ad_pl_handle_closed(limiter->data);
}

static void ad_pl_timers_closed(ad_timers_t *timers) {
  ad_pl_handle_closed(timers->data);
}

static void ad_pl_budget_closed(ad_budget_t *budget) {
  ad_pl_handle_closed(budget->data);
}

/* Closes the loop-side parts made so far (open_handles of them, in
 * ad_pl_handles' order). */
static void ad_pl_close_handles(ad_pipeline_t *p) {
  int made = p->open_handles;
  p->http_source.data = p->http_sink.data = p;
  p->limiter.data = p->timers.data = p->budget.data = p;
  if (made >= 5)
    ad_timers_close(&p->timers, ad_pl_timers_closed);
  if (made >= 4)
    ad_limiter_close(&p->limiter, ad_pl_limiter_closed);
  if (made >= 3) /* after the limiter, which withdraws its questions */
    ad_budget_close(&p->budget, ad_pl_budget_closed);
  if (made >= 2)
    ad_http_close(&p->http_sink, ad_pl_http_closed);
  if (made >= 1)
    ad_http_close(&p->http_source, ad_pl_http_closed);
}

int ad_pipeline_init(ad_pipeline_t *p, uv_loop_t *loop,
                     const ad_pipeline_opts_t *opts) {
  int rc;
  memset(p, 0, sizeof(*p));
  ad_stats_init(&p->stats);
  if (loop == NULL || opts == NULL || opts->config == NULL ||
      opts->config->source_plugin == NULL || opts->config->sink_plugin == NULL)
    return AD_EINVAL;
  p->loop = loop;
  p->o = *opts;
  ad_timers_entry_init(&p->stop_entry);
  ad_timers_entry_init(&p->pause_entry);
  ad_timers_entry_init(&p->check_entry);
  ad_timers_entry_init(&p->start_entry);
  rc = ad_pl_handles(p);
  if (rc == 0)
    rc = ad_pl_parts(p);
  return rc;
}

static void ad_pl_check_later(ad_timers_entry_t *e, void *data) {
  ad_pipeline_t *p = data;
  (void)e;
  ad_pl_check_step(p);
}

/* Check mode: both sides prove what they can, and the run is done when
 * both have answered. A side with no check, or that cannot even start
 * its check (then fatal), counts as answered on the next loop turn, so
 * on_done never runs inside ad_pipeline_start. */
static int ad_pl_start_check(ad_pipeline_t *p) {
  ad_source_t *src = &p->host.source;
  ad_sink_t *sink = &p->host.sink;
  int rc, answered = 0;

  p->check_pending = 2;
  if (sink->plugin->check == NULL)
    answered++;
  else if ((rc = sink->plugin->check(sink->ctx)) != 0)
    return rc;
  src->started = 1;
  if ((rc = src->plugin->start(src->ctx)) != 0) { /* the probe is out */
    src->done = 1;
    ad_stats_set_fatal(&p->stats, ad_strerror(rc));
    answered++;
  }
  if (answered > 0) { /* one step now (never the last), one deferred */
    if (answered == 2)
      p->check_pending--;
    ad_pl_defer(p, &p->check_entry, ad_pl_check_later);
  }
  return 0;
}

static void ad_pl_start_source_now(ad_timers_entry_t *e, void *data) {
  ad_pipeline_t *p = data;
  ad_source_t *src = &p->host.source;
  int rc;
  (void)e;
  if (p->stopped || p->stats.fatal_error != NULL) { /* nothing read */
    src->done = 1;
    ad_pl_on_source_done(p);
    return;
  }
  src->started = 1;
  if ((rc = src->plugin->start(src->ctx)) != 0) {
    src->started = 0;
    src->done = 1;
    ad_stats_set_fatal(&p->stats, ad_strerror(rc));
    ad_pl_on_source_done(p);
  }
}

/* Whether the sync's memory was lost (or never made): then what the sink
 * owns is listed first, so what is gone at the source can be deleted. */
static int ad_pl_needs_inventory(ad_pipeline_t *p) {
  const ad_sink_t *sink = &p->host.sink;
  char flag[8];
  if (!p->mirror_made || !p->mirror.incremental ||
      sink->plugin->inventory == NULL)
    return 0;
  return ad_store_meta_get(p->o.store, "inventoried", flag, sizeof(flag)) == 0;
}

int ad_pipeline_start(ad_pipeline_t *p) {
  ad_source_t *src = &p->host.source;
  ad_sink_t *sink = &p->host.sink;
  int rc;
  p->started_ns = uv_hrtime();
  if (p->o.check)
    return ad_pl_start_check(p);
  if (ad_pl_needs_inventory(p)) {
    if (p->o.log != NULL)
      ad_log_info(p->o.log, "mirror", "no memory of earlier runs: listing "
                                      "what they wrote at the destination");
    p->inventory_pending = 1;
    if ((rc = sink->plugin->inventory(sink->ctx)) == 0)
      return 0;
    p->inventory_pending = 0;
    if (p->o.log != NULL)
      ad_log_warn(p->o.log, "mirror", "cannot list what earlier runs "
                  "wrote: %s", ad_strerror(rc));
  }
  src->started = 1;
  if ((rc = src->plugin->start(src->ctx)) != 0)
    src->started = 0;
  return rc;
}

void ad_pipeline_stop(ad_pipeline_t *p) {
  ad_sink_t *sink = &p->host.sink;
  p->stopped = 1;
  if (p->mirror_made)
    ad_mirror_stop(&p->mirror);
  if (p->inventory_pending) {
    /* Nothing was read yet: the listing stops with the sink, and the
     * run ends from a turn of its own, reading nothing. */
    p->inventory_pending = 0;
    sink->plugin->abort(sink->ctx, "not written: the sync was stopped");
    ad_pl_defer(p, &p->start_entry, ad_pl_start_source_now);
    return;
  }
  ad_pl_stop_source(p);
}

void ad_pipeline_abort(ad_pipeline_t *p, const char *reason) {
  ad_sink_t *sink = &p->host.sink;
  ad_pipeline_stop(p);
  sink->plugin->abort(sink->ctx, reason);
}

void ad_pipeline_check_report(const ad_pipeline_t *p, char *out, size_t len) {
  const ad_source_t *src = &p->host.source;
  const ad_sink_t *sink = &p->host.sink;
  const char *a = src->plugin->check_report != NULL
                      ? src->plugin->check_report(src->ctx)
                      : "ready";
  const char *b = sink->plugin->check_report != NULL
                      ? sink->plugin->check_report(sink->ctx)
                      : "ready";
  snprintf(out, len, "%s: %s\n%s: %s", src->plugin->name, a,
           sink->plugin->name, b);
}

void ad_pipeline_close(ad_pipeline_t *p, ad_pipeline_cb cb, void *data) {
  ad_timers_cancel(&p->stop_entry);
  ad_timers_cancel(&p->pause_entry);
  ad_timers_cancel(&p->check_entry);
  ad_timers_cancel(&p->start_entry);
  p->inventory_pending = 0; /* the sink's close ends the listing, unheard */
  if (p->sink_made) /* first: it may still fail pages the source made */
    p->host.sink.plugin->close(p->host.sink.ctx);
  if (p->mirror_made) /* after the sink, whose last reports it hears */
    ad_mirror_close(&p->mirror);
  p->mirror_made = 0;
  if (p->source_made)
    p->host.source.plugin->close(p->host.source.ctx);
  p->host.source.ctx = NULL;
  ad_host_close(&p->host);
  p->sink_made = p->source_made = 0;
  ad_stats_free(&p->stats);
  p->close_cb = cb;
  p->close_data = data;
  if (p->open_handles == 0) {
    if (cb != NULL)
      cb(p, data);
    return;
  }
  ad_pl_close_handles(p);
}
