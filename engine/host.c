/* The engine's side of the plugin contract (include/airdust_plugin.h):
 * accounting, the queue, encoding through the sink, and the log lines
 * that name the plugin instance. */
#include "host.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "page.h"

void ad_host_init(ad_host_t *host, uv_loop_t *loop, ad_log_t *log,
                  ad_queue_t *queue, ad_stats_t *stats, int check,
                  const ad_host_cbs_t *cbs) {
  memset(host, 0, sizeof(*host));
  host->loop = loop;
  host->log = log;
  host->queue = queue;
  host->stats = stats;
  host->check = check;
  if (cbs != NULL)
    host->cbs = *cbs;
  host->source.host = host->sink.host = host;
}

const ad_services_t *ad_source_services(const ad_source_t *src) {
  return &src->services;
}

const ad_services_t *ad_sink_services(const ad_sink_t *sink) {
  return &sink->services;
}

static void ad_host_vlog(ad_host_t *host, const char *name, int level,
                         const char *fmt, va_list ap) {
  char line[2048];
  if (host->log == NULL || level > host->log->level)
    return;
  vsnprintf(line, sizeof(line), fmt, ap);
  ad_log_write(host->log, level, name, "%s", line);
}

/* A failure the run survives: logged under the instance's name and kept
 * in the stats. A table's failures without a record join its last entry
 * when they say the same, so a table that fails batch after batch for
 * one reason is one line. */
static void ad_host_fail(ad_host_t *host, const char *who, ad_table_t *t,
                         const char *group, const char *record,
                         const char *reason, uint64_t count) {
  ad_stats_t *st = host->stats;
  size_t before = st->nfailures;

  if (t != NULL && record == NULL && t->failure_entry < st->nfailures &&
      strcmp(st->failures[t->failure_entry].error, reason) == 0) {
    st->failures[t->failure_entry].records += count;
    return;
  }
  if (host->log != NULL)
    ad_log_warn(host->log, who, "%s%s%s", reason,
                record != NULL ? ": record " : "",
                record != NULL ? record : "");
  if (ad_stats_add_failure(st, t ? t->group_id : group ? group : "",
                           t ? t->table_id : "", record, reason,
                           count) != 0) {
    if (host->log != NULL)
      ad_log_error(host->log, who, "out of memory recording: %s", reason);
    return;
  }
  if (t != NULL && record == NULL && st->nfailures > before)
    t->failure_entry = before;
}

/* Marks a table failed, counting it once whichever side sees it first. */
static void ad_host_table_failed(ad_host_t *host, ad_table_t *t) {
  if (t->failed)
    return;
  t->failed = 1;
  host->stats->tables_failed++;
  ad_stats_base_at(host->stats, t->stats_group)->tables_failed++;
}

/* ---- sources ------------------------------------------------------------ */

uv_loop_t *ad_source_loop(const ad_source_t *src) { return src->host->loop; }

const char *ad_source_name(const ad_source_t *src) { return src->name; }

int ad_source_is_check(const ad_source_t *src) { return src->host->check; }

void ad_source_log(ad_source_t *src, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ad_host_vlog(src->host, src->name, level, fmt, ap);
  va_end(ap);
}

int ad_source_group(ad_source_t *src, const char *id, const char *name) {
  ad_host_t *host = src->host;
  if (host->cbs.group != NULL)
    host->cbs.group(id, host->cbs.data);
  src->host->stats->bases++;
  return ad_stats_base(src->host->stats, id, name);
}

int ad_source_table(ad_source_t *src, ad_table_t *t) {
  ad_host_t *host = src->host;
  ad_sink_t *sink = &host->sink;
  char err[512];
  int rc;

  assert(t->ncolumns == 0 || t->columns != NULL);
  if (host->cbs.skip != NULL && host->cbs.skip(t, host->cbs.data)) {
    host->stats->tables_skipped++;
    ad_source_log(src, AD_LOG_INFO,
                  "%s/%s (\"%s\"): finished in an earlier run; skipped",
                  t->group_id, t->table_id, t->table_name);
    return 1;
  }
  t->stats_group = ad_stats_base(host->stats, t->group_id, t->group_name);
  src->tables_total++;
  host->stats->tables++;
  ad_stats_base_at(host->stats, t->stats_group)->tables++;
  err[0] = '\0';
  rc = sink->plugin->prepare(sink->ctx, t, err, sizeof(err));
  if (rc == 0) {
    if (host->cbs.table_begin != NULL)
      host->cbs.table_begin(t, host->cbs.data);
    return 0;
  }
  if (rc == AD_ENOMEM)
    snprintf(err, sizeof(err), "%s/%s: out of memory preparing the table",
             t->group_id, t->table_id);
  else if (err[0] == '\0')
    snprintf(err, sizeof(err), "%s/%s: %s refused the table: %s",
             t->group_id, t->table_id, sink->name, ad_strerror(rc));
  ad_source_table_end(src, t, err);
  return rc == AD_ENOMEM ? rc : AD_EINVAL;
}

int ad_source_reserve(ad_source_t *src, size_t rows, size_t bytes) {
  return ad_queue_reserve(src->host->queue, rows, bytes) == 0 ? 0
                                                              : AD_EAGAIN;
}

void ad_source_release(ad_source_t *src, size_t rows, size_t bytes) {
  ad_queue_release(src->host->queue, rows, bytes);
}

int ad_source_encode(const ad_source_t *src, ad_page_t *page,
                     const ad_record_t *rec, ad_buf_t *scratch, char *err,
                     size_t errlen) {
  const ad_sink_t *sink = &src->host->sink;
  size_t mark = page->data.len, nunits = page->nunits;
  int rc;

  rc = sink->plugin->encode(sink->ctx, page->table, rec, page, scratch, err,
                            errlen);
  if (rc != 0 && page->nunits == nunits && page->data.len > mark) {
    page->data.len = mark; /* a unit begun and not committed */
    page->data.data[mark] = '\0';
  }
  return rc;
}

unsigned ad_source_wants(const ad_source_t *src) {
  const ad_sink_t *sink = &src->host->sink;
  return sink->plugin->wants != NULL ? sink->plugin->wants(sink->ctx)
                                     : AD_ENCODE_URL | AD_ENCODE_CREATED;
}

/* Room in the ring for units up to next_seq + n (growing it keeps each
 * mark at seq & (cap - 1)). 0 or AD_ENOMEM. */
static int ad_host_ring_fit(ad_host_t *host, uint64_t n) {
  uint64_t span = host->next_seq + n - host->settled_below, seq;
  size_t cap = host->ring_cap ? host->ring_cap : 1024;
  unsigned char *ring;

  if (span <= host->ring_cap)
    return 0;
  while (cap < span)
    cap *= 2;
  if ((ring = calloc(cap, 1)) == NULL)
    return AD_ENOMEM;
  for (seq = host->settled_below; seq < host->next_seq; seq++)
    ring[seq & (cap - 1)] = host->ring[seq & (host->ring_cap - 1)];
  free(host->ring);
  host->ring = ring;
  host->ring_cap = cap;
  return 0;
}

/* Numbers the page's units in push order; where the ring cannot grow the
 * acknowledgements stop counting (nothing is ever acknowledged too
 * early). */
static void ad_host_number(ad_host_t *host, ad_page_t *page) {
  size_t i;
  if (!host->ring_failed && ad_host_ring_fit(host, page->nunits) != 0) {
    host->ring_failed = 1;
    ad_log_write(host->log, AD_LOG_WARN, "engine",
                 "out of memory tracking acknowledgements: no later point "
                 "of the input will be reported durable");
  }
  for (i = 0; i < page->nunits; i++)
    page->units[i].seq = host->next_seq++;
}

void ad_source_push(ad_source_t *src, ad_page_t *page, size_t rows,
                    size_t bytes, int last) {
  ad_host_t *host = src->host;
  ad_table_t *t = page->table;
  ad_stats_base_t *g = ad_stats_base_at(host->stats, t->stats_group);
  uint64_t n = page->nunits, same;

  assert(rows >= page->nunits);
  page->first = t->pages++ == 0;
  page->last = last;
  t->last_pushed |= last != 0;
  t->read += n;
  host->stats->records_read += n;
  g->records_read += n;
  if (host->cbs.filter != NULL &&
      (same = host->cbs.filter(page, host->cbs.data)) > 0) {
    t->unchanged += same;
    host->stats->records_unchanged += same;
    g->unchanged += same;
  }
  ad_host_number(host, page);
  ad_queue_push(host->queue, &page->item, rows, bytes);
  host->sink.plugin->take(host->sink.ctx);
}

uint64_t ad_source_pushed(const ad_source_t *src) {
  return src->host->next_seq;
}

void ad_source_flush(ad_source_t *src) {
  ad_sink_t *sink = &src->host->sink;
  if (sink->plugin->flush != NULL && !sink->drained)
    sink->plugin->flush(sink->ctx);
}

void ad_source_failed(ad_source_t *src, ad_table_t *t, const char *record,
                      const char *reason, uint64_t count) {
  ad_host_t *host = src->host;
  ad_stats_base_t *g =
      ad_stats_base_at(host->stats, t != NULL ? t->stats_group : -1);
  if (t != NULL) {
    t->read += count;
    t->failed_records += count;
    t->read_failed += count;
  }
  host->stats->records_read += count;
  host->stats->records_failed += count;
  g->records_read += count;
  g->records_failed += count;
  ad_host_fail(host, src->name, t, NULL, record, reason, count);
}

int ad_failures_add(ad_buf_t *pending, const char *id, const char *reason) {
  size_t mark = pending->len;
  if (ad_buf_append(pending, id, strlen(id) + 1) != 0 ||
      ad_buf_append(pending, reason, strlen(reason) + 1) != 0) {
    pending->len = mark;
    return AD_ENOMEM;
  }
  return 0;
}

void ad_source_failed_pending(ad_source_t *src, ad_table_t *t,
                              ad_buf_t *pending) {
  const char *p = pending->data, *end = p + pending->len, *id, *reason;
  while (p != NULL && p < end) {
    id = p;
    reason = id + strlen(id) + 1;
    p = reason + strlen(reason) + 1;
    ad_source_failed(src, t, id[0] ? id : NULL, reason, 1);
  }
  ad_buf_reset(pending);
}

void ad_source_table_end(ad_source_t *src, ad_table_t *t, const char *error) {
  ad_host_t *host = src->host;
  src->tables_done++;
  if (error == NULL) {
    /* Read to its end, not ended by a stop: what it lacks is gone. */
    if (t->last_pushed && host->cbs.table_read != NULL)
      host->cbs.table_read(t, host->cbs.data);
    return;
  }
  ad_host_table_failed(src->host, t);
  ad_host_fail(src->host, src->name, t, NULL, NULL, error, 0);
}

void ad_source_error(ad_source_t *src, const char *group,
                     const char *error) {
  ad_host_t *host = src->host;
  int slot = group != NULL ? ad_stats_base(host->stats, group, NULL) : -1;
  host->stats->tables_failed++;
  ad_stats_base_at(host->stats, slot)->tables_failed++;
  ad_host_fail(host, src->name, NULL, group, NULL, error, 0);
}

void ad_source_fatal(ad_source_t *src, const char *error) {
  ad_host_t *host = src->host;
  ad_stats_set_fatal(host->stats, error);
  ad_source_log(src, AD_LOG_ERROR, "%s", error);
  if (host->cbs.source_fatal != NULL)
    host->cbs.source_fatal(host->cbs.data);
  else if (src->started && !src->done)
    src->plugin->stop(src->ctx);
}

void ad_source_complete(ad_source_t *src, const char *group) {
  ad_host_t *host = src->host;
  if (host->cbs.complete != NULL)
    host->cbs.complete(group, host->cbs.data);
}

void ad_source_done(ad_source_t *src) {
  ad_host_t *host = src->host;
  assert(!src->done);
  src->done = 1;
  if (host->cbs.source_done != NULL)
    host->cbs.source_done(host->cbs.data);
}

/* ---- sinks -------------------------------------------------------------- */

uv_loop_t *ad_sink_loop(const ad_sink_t *sink) { return sink->host->loop; }

const char *ad_sink_name(const ad_sink_t *sink) { return sink->name; }

void ad_sink_log(ad_sink_t *sink, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ad_host_vlog(sink->host, sink->name, level, fmt, ap);
  va_end(ap);
}

void ad_sink_set_documents(ad_sink_t *sink, int documents) {
  sink->documents = documents != 0;
}

ad_page_t *ad_sink_pop(ad_sink_t *sink) {
  ad_queue_item_t *item = ad_queue_pop(sink->host->queue);
  return item != NULL ? ad_container_of(item, ad_page_t, item) : NULL;
}

int ad_sink_has_page(const ad_sink_t *sink) {
  return sink->host->queue->items > 0;
}

void ad_sink_written(ad_sink_t *sink, ad_table_t *t, uint64_t count) {
  ad_stats_t *st = sink->host->stats;
  t->written += count;
  if (sink->documents)
    st->documents_written += count;
  else
    st->rows_written += count;
  ad_stats_base_at(st, t->stats_group)->written += count;
}

static void ad_host_tell(ad_host_t *host) {
  ad_source_t *src = &host->source;
  if (src->plugin != NULL && src->plugin->acked != NULL && src->ctx != NULL)
    src->plugin->acked(src->ctx, host->acked_below, host->settled_below);
}

/* Marks unit seq ended (1: acknowledged, 2: failed) and moves the marks
 * over what is contiguous: settled over both, acknowledged over
 * acknowledgements only, so it stops for good at a failure. */
static void ad_host_settle(ad_host_t *host, uint64_t seq, unsigned char how) {
  uint64_t settled = host->settled_below, acked = host->acked_below;
  size_t mask = host->ring_cap - 1;

  assert(seq < host->next_seq);
  if (seq < settled || host->ring_failed)
    return; /* told twice, or no longer counted */
  host->ring[seq & mask] = how;
  while (settled < host->next_seq && host->ring[settled & mask] != 0) {
    if (host->ring[settled & mask] == 1 && acked == settled)
      acked++;
    host->ring[settled & mask] = 0;
    settled++;
  }
  if (settled == host->settled_below)
    return;
  host->settled_below = settled;
  host->acked_below = acked;
  ad_host_tell(host);
}

void ad_sink_acked(ad_sink_t *sink, uint64_t seq) {
  sink->host->acks_seen = 1;
  ad_host_settle(sink->host, seq, 1);
}

void ad_sink_nacked(ad_sink_t *sink, uint64_t seq) {
  ad_host_settle(sink->host, seq, 2);
}

void ad_host_close(ad_host_t *host) {
  free(host->ring);
  host->ring = NULL;
  host->ring_cap = 0;
}

void ad_sink_written_id(ad_sink_t *sink, ad_table_t *t, const char *id,
                        const unsigned char *hash) {
  ad_host_t *host = sink->host;
  ad_sink_written(sink, t, 1);
  if (host->cbs.written_id != NULL)
    host->cbs.written_id(t, id, hash, host->cbs.data);
}

void ad_sink_set_rewrites(ad_sink_t *sink, int rewrites) {
  sink->rewrites = rewrites != 0;
}

int ad_sink_table_same(ad_sink_t *sink, ad_table_t *t, const void *desc,
                       size_t len) {
  ad_host_t *host = sink->host;
  return host->cbs.table_same != NULL &&
         host->cbs.table_same(t, desc, len, host->cbs.data);
}

void ad_sink_described(ad_sink_t *sink, ad_table_t *t, const void *desc,
                       size_t len) {
  ad_host_t *host = sink->host;
  if (host->cbs.described != NULL)
    host->cbs.described(t, desc, len, host->cbs.data);
}

void ad_sink_removed(ad_sink_t *sink, ad_table_t *t, const char *id,
                     const char *error) {
  ad_host_t *host = sink->host;
  ad_stats_t *st = host->stats;
  /* A replaced table's deletions are the sink's own (AD_TABLE_REPLACE):
   * counted here, a failed one failing the table (its old record stays). */
  if (t->flags & AD_TABLE_REPLACE) {
    if (error != NULL) {
      ad_host_table_failed(host, t);
      ad_host_fail(host, sink->name, t, NULL, id, error, 0);
    } else if (id != NULL) {
      if (sink->documents)
        st->documents_deleted++;
      else
        st->rows_deleted++;
      ad_stats_base_at(st, t->stats_group)->deleted++;
    }
    return;
  }
  if (host->cbs.removed != NULL)
    host->cbs.removed(t, id, error, host->cbs.data);
}

void ad_sink_owned_table(ad_sink_t *sink, const char *origin,
                         const char *group_id, const char *table_id) {
  ad_host_t *host = sink->host;
  if (host->cbs.owned_table != NULL)
    host->cbs.owned_table(origin, group_id, table_id, host->cbs.data);
}

void ad_sink_owned(ad_sink_t *sink, const char *group_id,
                   const char *table_id, const char *id) {
  ad_host_t *host = sink->host;
  if (host->cbs.owned != NULL)
    host->cbs.owned(group_id, table_id, id, host->cbs.data);
}

void ad_sink_inventoried(ad_sink_t *sink, const char *error) {
  ad_host_t *host = sink->host;
  if (host->cbs.inventoried != NULL)
    host->cbs.inventoried(error, host->cbs.data);
}

void ad_sink_failed(ad_sink_t *sink, ad_table_t *t, const char *record,
                    const char *reason, uint64_t count) {
  ad_stats_t *st = sink->host->stats;
  if (t != NULL) {
    t->failed_records += count;
    ad_stats_base_at(st, t->stats_group)->records_failed += count;
  }
  st->records_failed += count;
  sink->host->sink_failed += count;
  ad_host_fail(sink->host, sink->name, t, NULL, record, reason, count);
}

void ad_sink_table_failed(ad_sink_t *sink, ad_table_t *t,
                          const char *reason) {
  ad_host_table_failed(sink->host, t);
  if (reason != NULL)
    ad_host_fail(sink->host, sink->name, t, NULL, NULL, reason, 0);
}

void ad_sink_table_done(ad_sink_t *sink, ad_table_t *t) {
  ad_host_t *host = sink->host;
  /* Only a table with nothing failed may be skipped by a resumed run. */
  if (host->cbs.table_done != NULL && !t->failed && t->failed_records == 0)
    host->cbs.table_done(t, host->cbs.data);
}

void ad_sink_fatal(ad_sink_t *sink, const char *error) {
  ad_host_t *host = sink->host;
  ad_stats_set_fatal(host->stats, error);
  ad_sink_log(sink, AD_LOG_ERROR, "%s", error);
  if (host->cbs.sink_fatal != NULL)
    host->cbs.sink_fatal(host->cbs.data);
}

void ad_sink_drained(ad_sink_t *sink) {
  ad_host_t *host = sink->host;
  assert(!sink->drained);
  sink->drained = 1;
  /* Everything pushed has ended. A sink that does not number its
   * acknowledgements, with nothing failed, got it all to the destination;
   * a unit a numbering sink never reported counts as failed. */
  if (host->settled_below < host->next_seq) {
    if (!host->acks_seen && host->sink_failed == 0 && !host->ring_failed &&
        host->acked_below == host->settled_below)
      host->acked_below = host->next_seq;
    host->settled_below = host->next_seq;
    ad_host_tell(host);
  }
  if (host->cbs.sink_drained != NULL)
    host->cbs.sink_drained(host->cbs.data);
}

void ad_sink_checked(ad_sink_t *sink) {
  ad_host_t *host = sink->host;
  if (host->cbs.sink_checked != NULL)
    host->cbs.sink_checked(host->cbs.data);
}

int ad_host_balance(const ad_host_t *host, char *why, size_t len) {
  const ad_stats_t *st = host->stats;
  uint64_t ended = st->rows_written + st->documents_written +
                   st->records_failed + st->records_unchanged;
  if (st->records_read == ended)
    return 1;
  snprintf(why, len,
           "%" PRIu64 " records read, but %" PRIu64 " written, %" PRIu64
           " failed and %" PRIu64 " unchanged",
           st->records_read, st->rows_written + st->documents_written,
           st->records_failed, st->records_unchanged);
  return 0;
}
