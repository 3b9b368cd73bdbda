#include "pipeline.h"

#include <stdio.h>
#include <string.h>

#include "budget_redis.h"
#include "error.h"
#include "mkdirs.h"

static void ad_pl_finish(ad_pipeline_t *p) {
  /* The margin was tested if our pace kept a key at its limit. */
  if (!p->o.check)
    ad_margin_finish(&p->margin_airtable, p->source.client.api.at_limit > 0);
  p->stats.safety_margin_ms =
      (double)p->margin_airtable.current_us / 1000.0;
  p->stats.margin_widened = (uint64_t)p->margin_airtable.widened;
  p->stats.rate_limit_sharing = p->sharing;
  p->done = 1;
  p->stats.elapsed_s = (double)(uv_hrtime() - p->started_ns) / 1e9;
  p->stats.peak_queue_rows = p->queue.peak_rows;
  p->stats.rate_limit_wait_us = p->limiter.waited_us;
  p->stats.rate_limit_late_us = p->limiter.late_us;
  if (p->o.on_done != NULL)
    p->o.on_done(p, p->o.data);
}

static void ad_pl_on_page(ad_at_source_t *src, void *data) {
  ad_pipeline_t *p = data;
  (void)src;
  ad_dust_sink_kick(&p->sink);
}

static void ad_pl_on_low(ad_queue_t *queue, void *data) {
  ad_pipeline_t *p = data;
  (void)queue;
  if (!p->source_done)
    ad_at_source_resume(&p->source);
}

/* check mode: done once both sides have answered. */
static void ad_pl_check_step(ad_pipeline_t *p) {
  if (--p->check_pending == 0)
    ad_pl_finish(p);
}

static void ad_pl_on_sink_checked(ad_dust_sink_t *sink, void *data) {
  (void)sink;
  ad_pl_check_step(data);
}

static void ad_pl_on_source_done(ad_at_source_t *src, void *data) {
  ad_pipeline_t *p = data;
  char reason[600];
  (void)src;
  p->source_done = 1;
  if (p->o.check) {
    ad_pl_check_step(p);
    return;
  }
  if (p->stats.fatal_error != NULL) { /* Airtable refused the run */
    snprintf(reason, sizeof(reason), "not written: the run stopped (%s)",
             p->stats.fatal_error);
    ad_dust_sink_abort(&p->sink, reason);
  }
  ad_dust_sink_finish(&p->sink);
}

static void ad_pl_on_sink_fatal(ad_dust_sink_t *sink, void *data) {
  ad_pipeline_t *p = data;
  (void)sink;
  ad_at_source_stop(&p->source);
}

static void ad_pl_on_drained(ad_dust_sink_t *sink, void *data) {
  ad_pipeline_t *p = data;
  (void)sink;
  ad_pl_finish(p);
}

static int ad_pl_skip_table(const char *base_id, const char *table_id,
                            void *data) {
  ad_pipeline_t *p = data;
  return p->o.state != NULL && ad_state_finished(p->o.state, base_id, table_id);
}

/* A table is wholly in Dust: remember it, so a rerun can skip it. A state
 * file that cannot be written costs the resume, not the sync. */
static void ad_pl_on_table_done(ad_dust_sink_t *sink, const ad_table_t *t,
                                uint64_t written, void *data) {
  ad_pipeline_t *p = data;
  char err[512];
  (void)sink;
  if (p->o.state == NULL)
    return;
  if (ad_state_finish(p->o.state, t->base_id, t->table_id, written, err,
                      sizeof(err)) != 0 &&
      p->o.log != NULL)
    ad_log_error(p->o.log, "state",
                 "%s; table %s/%s will be synced again by a rerun", err,
                 t->base_id, t->table_id);
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
  if ((rc = ad_pl_http(p, &p->http_airtable)) != 0)
    return rc;
  p->open_handles++;
  if ((rc = ad_pl_http(p, &p->http_dust)) != 0)
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

static int ad_pl_parts(ad_pipeline_t *p) {
  const ad_config_t *cfg = p->o.config;
  char path[4096] = "";
  ad_queue_opts_t qo;
  ad_at_source_opts_t so;
  ad_dust_sink_opts_t ko;
  int rc;

  memset(&qo, 0, sizeof(qo));
  qo.max_rows = (size_t)cfg->engine.queue_rows;
  qo.max_bytes = (size_t)cfg->engine.queue_bytes;
  qo.on_low = ad_pl_on_low;
  qo.data = p;
  if ((rc = ad_queue_init(&p->queue, &qo)) != 0)
    return rc;
  if (cfg->engine.state_dir != NULL)
    snprintf(path, sizeof(path), "%s/margins.json", cfg->engine.state_dir);
  rc = ad_margin_init(&p->margin_airtable,
                      cfg->engine.state_dir != NULL ? path : NULL,
                      cfg->source.base_url,
                      (uint64_t)cfg->rate_limits.safety_margin_ms * 1000,
                      (uint64_t)cfg->rate_limits.max_safety_margin_ms * 1000);
  if (rc != 0)
    return rc;
  if (p->margin_airtable.current_us >
          (uint64_t)cfg->rate_limits.safety_margin_ms * 1000 &&
      p->o.log != NULL)
    ad_log_info(p->o.log, "ratelimit",
                "Airtable safety margin %.0f ms, learned from earlier 429s "
                "(%s)",
                (double)p->margin_airtable.current_us / 1000.0, path);
  memset(&ko, 0, sizeof(ko));
  ko.config = cfg;
  ko.http = &p->http_dust;
  ko.limiter = &p->limiter;
  ko.timers = &p->timers;
  ko.queue = &p->queue;
  ko.stats = &p->stats;
  ko.log = p->o.log;
  ko.backoff_base_ms = p->o.backoff_base_ms;
  ko.documents_window_ms = p->o.documents_window_ms;
  ko.on_drained = ad_pl_on_drained;
  ko.on_table_done = ad_pl_on_table_done;
  ko.on_fatal = ad_pl_on_sink_fatal;
  ko.data = p;
  if ((rc = ad_dust_sink_init(&p->sink, &ko)) != 0)
    return rc;
  /* The source's workers write the sink's format as they parse. */
  p->encoder = ad_dust_encoder(&p->sink);
  memset(&so, 0, sizeof(so));
  so.config = cfg;
  so.margin = &p->margin_airtable;
  so.encoder = &p->encoder;
  so.http = &p->http_airtable;
  so.limiter = &p->limiter;
  so.timers = &p->timers;
  so.queue = &p->queue;
  so.stats = &p->stats;
  so.log = p->o.log;
  so.check = p->o.check;
  so.backoff_base_ms = p->o.backoff_base_ms;
  so.skip_table = ad_pl_skip_table;
  so.on_page = ad_pl_on_page;
  so.on_done = ad_pl_on_source_done;
  so.data = p;
  if ((rc = ad_at_source_init(&p->source, &so)) != 0) {
    ad_dust_sink_close(&p->sink);
    return rc;
  }
  return 0;
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
  p->http_airtable.data = p->http_dust.data = p;
  p->limiter.data = p->timers.data = p->budget.data = p;
  if (made >= 5)
    ad_timers_close(&p->timers, ad_pl_timers_closed);
  if (made >= 4)
    ad_limiter_close(&p->limiter, ad_pl_limiter_closed);
  if (made >= 3) /* after the limiter, which withdraws its questions */
    ad_budget_close(&p->budget, ad_pl_budget_closed);
  if (made >= 2)
    ad_http_close(&p->http_dust, ad_pl_http_closed);
  if (made >= 1)
    ad_http_close(&p->http_airtable, ad_pl_http_closed);
}

int ad_pipeline_init(ad_pipeline_t *p, uv_loop_t *loop,
                     const ad_pipeline_opts_t *opts) {
  int rc;
  memset(p, 0, sizeof(*p));
  ad_stats_init(&p->stats);
  if (loop == NULL || opts == NULL || opts->config == NULL)
    return AD_EINVAL;
  p->loop = loop;
  p->o = *opts;
  rc = ad_pl_handles(p);
  if (rc == 0)
    rc = ad_pl_parts(p);
  if (rc == 0)
    p->inited = 1;
  return rc;
}

int ad_pipeline_start(ad_pipeline_t *p) {
  int rc;
  p->started_ns = uv_hrtime();
  if (!p->o.check)
    return ad_at_source_start(&p->source);
  p->check_pending = 2;
  if ((rc = ad_dust_sink_check(&p->sink, ad_pl_on_sink_checked)) != 0)
    return rc;
  if ((rc = ad_at_source_start(&p->source)) != 0) { /* the probe is out */
    ad_stats_set_fatal(&p->stats, ad_strerror(rc));
    ad_pl_check_step(p);
  }
  return 0;
}

void ad_pipeline_stop(ad_pipeline_t *p) {
  if (!p->source_done)
    ad_at_source_stop(&p->source);
}

void ad_pipeline_abort(ad_pipeline_t *p, const char *reason) {
  ad_pipeline_stop(p);
  ad_dust_sink_abort(&p->sink, reason);
}

void ad_pipeline_check_report(const ad_pipeline_t *p, char *out, size_t len) {
  snprintf(out, len, "airtable: %s\ndust: %s",
           ad_at_source_check_result(&p->source), p->sink.check_report);
}

void ad_pipeline_close(ad_pipeline_t *p, ad_pipeline_cb cb, void *data) {
  if (p->inited) {
    ad_dust_sink_close(&p->sink);
    ad_at_source_close(&p->source);
  }
  ad_margin_free(&p->margin_airtable);
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
