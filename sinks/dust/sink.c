#include "sink.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "digest.h"
#include "encoder.h"
#include "error.h"
#include "page.h"
#include "request.h"
#include "table.h"

#define AD_DS_PAGE_ROWS 100 /* one source page: the sink may pop one more */

enum { AD_DS_NEW, AD_DS_UPSERTING, AD_DS_READY, AD_DS_FAILED };

typedef struct ad_ds_write ad_ds_write_t;

/* A source table as the sink sees it: made by prepare (encoder.h), or at
 * its first page when it was not prepared; table->sink_data points to it
 * until the sink closes. */
typedef struct ad_ds_table {
  ad_list_t node;        /* sink->tables */
  ad_list_t upsert_node; /* sink->upserts while waiting for a slot */
  ad_dust_sink_t *sink;
  ad_table_t *table; /* one reference */
  /* What encoding needs (prepare made it; read by the workers, never
   * written after): valid when prepared. */
  ad_dust_layout_t layout;
  int prepared;
  char *dust_id, *name;
  ad_buf_t body; /* the upsert */
  ad_dust_call_t call;
  int state, renamed, truncated;
  ad_ds_write_t *gate; /* the batch carrying truncate, until it ends */
  ad_ds_write_t *open; /* the batch being filled */
  ad_list_t held;      /* sealed, waiting for the table to be ready */
  char *error;         /* why it failed, once it has */
  /* For on_table_done: units taken and not yet acknowledged, those
   * acknowledged, whether the last page came, and whether any failed. */
  uint64_t pending, written;
  int last_seen, any_failed, done_reported;
  ad_dust_sweep_t *sweep; /* AD_TABLE_REPLACE: the run's ids, the listing */
  char what_upsert[256], what_rows[256];
} ad_ds_table_t;

/* One request's worth of rows, or one document. */
struct ad_ds_write {
  ad_list_t node; /* in its table's held list, sink->ready or ->flying */
  ad_ds_table_t *tbl;
  ad_dust_call_t call;
  ad_dust_batch_t batch;
  uint64_t bytes; /* held in the sink's count */
  int truncate, reupserted;
};

static void ad_ds_pump(ad_dust_sink_t *sink);
static void ad_ds_fatal(ad_dust_sink_t *sink, const char *msg);
static void ad_ds_table_fail(ad_ds_table_t *tbl, const char *msg);

void ad_dust_sink_target(const ad_dust_sink_t *sink, ad_dust_target_t *t) {
  t->base_url = sink->o.conf->base_url;
  t->workspace_id = sink->o.conf->workspace_id;
  t->space_id = sink->o.conf->space_id;
  t->data_source_id = sink->o.conf->data_source_id;
}

/* ---- accounting ---------------------------------------------------------- */

/* n rows failed: the engine counts them (a table's failures for one
 * reason join one entry). */
static void ad_ds_fail_rows(ad_dust_sink_t *sink, ad_ds_table_t *tbl,
                            const char *record, const char *msg, uint64_t n) {
  if (n == 0 && tbl == NULL)
    return;
  if (tbl != NULL)
    tbl->any_failed = 1;
  ad_sink_failed(sink->o.host, tbl != NULL ? tbl->table : NULL, record, msg,
                 n);
}

/* Units that will never be written, by number: the source stops waiting
 * for them (the acknowledged mark stays before them). */
static void ad_ds_nack_batch(ad_dust_sink_t *sink, const ad_dust_batch_t *b) {
  size_t i;
  for (i = 0; i < b->n; i++)
    ad_sink_nacked(sink->o.host, b->units[i].seq);
}

static void ad_ds_nack_page(ad_dust_sink_t *sink, const ad_page_t *page,
                            size_t from, size_t to) {
  for (; from < to; from++)
    ad_sink_nacked(sink->o.host, ad_page_seq(page, from));
}

static void ad_ds_table_failed(ad_ds_table_t *tbl) {
  ad_sink_table_failed(tbl->sink->o.host, tbl->table, NULL);
}

static ad_ds_write_t *ad_ds_write_new(ad_ds_table_t *tbl) {
  ad_ds_write_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  ad_list_init(&w->node);
  w->tbl = tbl;
  ad_dust_call_init(&w->call, &tbl->sink->client);
  w->call.data = w;
  ad_dust_batch_init(&w->batch, 0);
  return w;
}

/* Drops a write that is no longer in any list, giving back what it held. */
static void ad_ds_write_free(ad_ds_write_t *w) {
  ad_dust_sink_t *sink = w->tbl->sink;
  sink->held_rows -= w->batch.n;
  sink->held_bytes -= w->bytes;
  ad_dust_call_free(&w->call);
  ad_dust_batch_free(&w->batch);
  free(w);
}

/* The write's rows failed with msg; a lone document or row is named. */
static void ad_ds_write_fail(ad_ds_write_t *w, const char *msg,
                             int table_failed) {
  ad_dust_batch_t *b = &w->batch;
  ad_ds_fail_rows(w->tbl->sink, w->tbl,
                  b->n == 1 ? ad_dust_batch_id(b, 0) : NULL, msg, b->n);
  ad_ds_nack_batch(w->tbl->sink, b);
  if (table_failed)
    ad_ds_table_failed(w->tbl);
  if (w->tbl->gate == w)
    w->tbl->gate = NULL;
  ad_ds_write_free(w);
}

/* ---- tables ----------------------------------------------------------------
 */

/* A replaced table's listing is over: the table is done, or failed when
 * what it held could not be listed (the old records stay). */
static void ad_ds_swept(void *data, const char *error) {
  ad_ds_table_t *tbl = data;
  ad_dust_sink_t *sink = tbl->sink;
  char msg[900];
  if (error != NULL) {
    snprintf(msg, sizeof(msg), "%s: replacing it: %s; the records this run "
             "did not write are still there", tbl->what_rows, error);
    ad_sink_table_failed(sink->o.host, tbl->table, msg);
  } else {
    ad_sink_table_done(sink->o.host, tbl->table);
  }
  ad_dust_sink_kick(sink);
}

/* Reports the table once everything of it is acknowledged: its last page
 * is in, nothing is pending, nothing failed, and (tables format) it was
 * upserted, so even an empty table exists in Dust; a replaced table first
 * loses what the run did not write. */
static void ad_ds_table_check_done(ad_ds_table_t *tbl) {
  ad_dust_sink_t *sink = tbl->sink;
  int rc;
  if (tbl->done_reported || !tbl->last_seen || tbl->pending > 0 ||
      tbl->any_failed || tbl->state != AD_DS_READY || sink->aborted ||
      tbl->table->failed)
    return;
  tbl->done_reported = 1;
  /* A source may withdraw the replace before its last page (its read was
   * not whole); records it could not read mean the same. */
  if (tbl->sweep == NULL || !(tbl->table->flags & AD_TABLE_REPLACE) ||
      tbl->table->read_failed > 0) {
    ad_sink_table_done(sink->o.host, tbl->table);
    return;
  }
  if ((rc = ad_dust_sweep_start(tbl->sweep, ad_ds_swept, tbl)) != 0)
    ad_ds_swept(tbl, rc == AD_ENOMEM
                         ? "out of memory keeping the ids it was written with"
                         : "what an earlier attempt wrote cannot be told "
                           "apart (no layout for the keep column)");
}

static int ad_ds_table_body(ad_ds_table_t *tbl) {
  ad_table_t *t = tbl->table;
  ad_buf_reset(&tbl->body);
  return ad_dust_table_body(&tbl->body, tbl->dust_id, tbl->name,
                            t->group_name, t->group_id, t->table_name,
                            t->table_id,
                            t->description);
}

/* table->sink_free of a prepared table: it marks the layout valid for
 * ad_dust_sink_layout. Frees nothing: the state holds a reference to the
 * table, so the table outlives it, and the sink frees it when it closes
 * (ad_ds_table_free clears sink_data and this first). */
static void ad_ds_prepared(void *sink_data) { (void)sink_data; }

static void ad_ds_table_free(ad_ds_table_t *tbl) {
  ad_dust_sweep_free(tbl->sweep);
  ad_buf_free(&tbl->body);
  ad_dust_call_free(&tbl->call);
  if (tbl->prepared)
    ad_dust_layout_free(&tbl->layout);
  tbl->table->sink_data = NULL;
  if (tbl->table->sink_free == ad_ds_prepared)
    tbl->table->sink_free = NULL;
  ad_table_unref(tbl->table);
  free(tbl->dust_id);
  free(tbl->name);
  free(tbl->error);
  free(tbl);
}

static int ad_ds_table_names(ad_ds_table_t *tbl) {
  ad_dust_sink_t *sink = tbl->sink;
  ad_table_t *t = tbl->table;
  ad_buf_t id;
  char label[192];

  ad_buf_init(&id, 0);
  if (ad_dust_table_id(&id, sink->o.conf->table_id_prefix, t->group_id,
                       t->table_id) != 0) {
    ad_buf_free(&id);
    return AD_ENOMEM;
  }
  tbl->dust_id = ad_buf_steal(&id, NULL);
  if (*t->group_id == '\0') /* a source without groups (Airbyte) */
    snprintf(label, sizeof(label), "table \"%s\" (%s)%s%s%s", t->table_name,
             t->table_id, t->group_name ? " of \"" : "",
             t->group_name ? t->group_name : "", t->group_name ? "\"" : "");
  else
    snprintf(label, sizeof(label), "table \"%s\" (%s) of base %s%s%s",
             t->table_name, t->table_id, t->group_name ? "\"" : "",
             t->group_name ? t->group_name : t->group_id,
             t->group_name ? "\"" : "");
  snprintf(tbl->what_upsert, sizeof(tbl->what_upsert),
           "upserting Dust table %s for %s", tbl->dust_id, label);
  snprintf(tbl->what_rows, sizeof(tbl->what_rows), "writing %s of %s to Dust",
           ad_dust_sink_documents(sink) ? "documents" : "rows", label);
  if (ad_dust_sink_documents(sink))
    return 0;
  tbl->name = ad_dust_table_name(&sink->names, t->group_name, t->table_name);
  if (tbl->name == NULL || ad_ds_table_body(tbl) != 0)
    return AD_ENOMEM;
  return 0;
}

/* The sink's state of a table, made by prepare or else at its first page:
 * documents need no upsert, a table does. A table that was not prepared
 * is checked here: one too wide for Dust fails, with every row of it. */
static ad_ds_table_t *ad_ds_table_get(ad_dust_sink_t *sink, ad_table_t *t) {
  ad_ds_table_t *tbl = t->sink_data;
  char msg[300];
  if (tbl != NULL)
    return tbl;
  if ((tbl = calloc(1, sizeof(*tbl))) == NULL)
    return NULL;
  tbl->sink = sink;
  tbl->table = ad_table_ref(t);
  ad_list_init(&tbl->held);
  ad_list_init(&tbl->upsert_node);
  ad_buf_init(&tbl->body, 0);
  ad_dust_call_init(&tbl->call, &sink->client);
  tbl->call.data = tbl;
  tbl->call.what = tbl->what_upsert;
  t->sink_data = tbl;
  if (ad_ds_table_names(tbl) != 0) {
    ad_ds_table_free(tbl);
    return NULL;
  }
  if ((t->flags & AD_TABLE_REPLACE) &&
      (tbl->sweep = ad_dust_sweep_new(sink, t, tbl->dust_id)) == NULL) {
    ad_ds_table_free(tbl);
    return NULL;
  }
  tbl->state = ad_dust_sink_documents(sink) ? AD_DS_READY : AD_DS_NEW;
  ad_list_insert_tail(&sink->tables, &tbl->node);
  if (ad_dust_check_width(t, ad_dust_sink_documents(sink), msg, sizeof(msg)) != 0)
    ad_ds_table_fail(tbl, msg);
  return tbl;
}

/* Lets the table's sealed batches go: all of them, or with truncate still
 * to do, the first one alone, carrying it. */
static void ad_ds_release(ad_ds_table_t *tbl) {
  ad_dust_sink_t *sink = tbl->sink;
  ad_list_t *n;
  ad_ds_write_t *w;

  if (tbl->state != AD_DS_READY)
    return;
  while ((n = ad_list_head(&tbl->held)) != NULL) {
    w = ad_container_of(n, ad_ds_write_t, node);
    if (sink->o.conf->truncate && !tbl->truncated &&
        !ad_dust_sink_documents(sink)) {
      if (tbl->gate != NULL)
        return;
      tbl->gate = w;
      w->truncate = 1;
    }
    ad_list_remove(n);
    ad_list_insert_tail(&sink->ready, n);
  }
}

static void ad_ds_seal(ad_ds_table_t *tbl) {
  ad_ds_write_t *w = tbl->open;
  if (w == NULL)
    return;
  tbl->open = NULL;
  ad_list_insert_tail(&tbl->held, &w->node);
  ad_ds_release(tbl);
}

static void ad_ds_upsert_queue(ad_ds_table_t *tbl, int front) {
  tbl->state = AD_DS_UPSERTING;
  if (front)
    ad_list_insert_head(&tbl->sink->upserts, &tbl->upsert_node);
  else
    ad_list_insert_tail(&tbl->sink->upserts, &tbl->upsert_node);
}

/* The table cannot be written: every row it holds fails with msg, and so
 * will the rows of its later pages. */
static void ad_ds_table_fail(ad_ds_table_t *tbl, const char *msg) {
  ad_list_t *n;
  uint64_t rows = 0;
  ad_ds_write_t *w;

  tbl->state = AD_DS_FAILED;
  free(tbl->error);
  tbl->error = strdup(msg);
  ad_ds_table_failed(tbl);
  ad_ds_seal(tbl);
  while ((n = ad_list_head(&tbl->held)) != NULL) {
    ad_list_remove(n);
    w = ad_container_of(n, ad_ds_write_t, node);
    rows += w->batch.n;
    ad_ds_nack_batch(tbl->sink, &w->batch);
    ad_ds_write_free(w);
  }
  ad_ds_fail_rows(tbl->sink, tbl, NULL, msg, rows);
}

static void ad_ds_on_upsert(ad_dust_call_t *call, const ad_dust_result_t *r,
                            void *data) {
  ad_ds_table_t *tbl = data;
  ad_dust_sink_t *sink = tbl->sink;
  char *name;

  (void)call;
  sink->inflight--;
  if (r->outcome == AD_DUST_DONE) {
    ad_sink_described(sink->o.host, tbl->table, tbl->body.data,
                      tbl->body.len);
    tbl->state = AD_DS_READY;
    ad_ds_release(tbl);
    ad_ds_table_check_done(tbl);
  } else if (r->outcome == AD_DUST_NAME_TAKEN && !tbl->renamed &&
             (name = ad_dust_table_name_fallback(
                  tbl->name, tbl->table->table_id)) != NULL) {
    ad_sink_log(sink->o.host, AD_LOG_WARN,
                  "%s: the name \"%s\" belongs to another Dust table; "
                  "using \"%s\"",
                  tbl->what_upsert, tbl->name, name);
    free(tbl->name);
    tbl->name = name;
    tbl->renamed = 1;
    if (ad_ds_table_body(tbl) == 0)
      ad_ds_upsert_queue(tbl, 1);
    else
      ad_ds_table_fail(tbl, "out of memory building a table upsert");
  } else if (r->outcome == AD_DUST_FAILED && r->fatal) {
    ad_ds_fatal(sink, r->message);
    return;
  } else {
    ad_ds_table_fail(tbl, r->message);
  }
  ad_dust_sink_kick(sink);
}

static void ad_ds_upsert_start(ad_ds_table_t *tbl) {
  ad_dust_sink_t *sink = tbl->sink;
  ad_dust_target_t t;
  ad_buf_t *url = ad_dust_call_url(&tbl->call);
  int rc;

  ad_dust_sink_target(sink, &t);
  ad_buf_reset(url);
  rc = ad_dust_tables_url(url, &t);
  if (rc == 0)
    rc = ad_dust_call_start(&tbl->call, NULL, tbl->body.data, tbl->body.len,
                            ad_ds_on_upsert);
  if (rc == 0) {
    sink->inflight++;
    return;
  }
  ad_ds_table_fail(tbl, ad_strerror(rc));
}

/* ---- writes ----------------------------------------------------------------
 */

static void ad_ds_on_write(ad_dust_call_t *call, const ad_dust_result_t *r,
                           void *data);

/* A 413: halves go back in front, in order; a lone row fails. */
static void ad_ds_split(ad_ds_write_t *w) {
  ad_ds_table_t *tbl = w->tbl;
  ad_ds_write_t *rest = NULL;
  char msg[400];
  size_t i;

  if (w->batch.n < 2 || (rest = ad_ds_write_new(tbl)) == NULL ||
      ad_dust_batch_split(&w->batch, &rest->batch) != 0) {
    if (rest != NULL)
      ad_ds_write_free(rest); /* held nothing yet */
    snprintf(msg, sizeof(msg),
             "%s: %s of %zu bytes is over Dust's request size limit (HTTP 413)",
             tbl->what_rows, w->batch.n == 1 ? "the row" : "a batch",
             w->batch.body.len);
    ad_ds_write_fail(w, msg, w->batch.n > 1);
    return;
  }
  w->bytes = 0;
  for (i = 0; i < w->batch.n; i++)
    w->bytes += w->batch.units[i].len;
  rest->bytes = 0;
  for (i = 0; i < rest->batch.n; i++)
    rest->bytes += rest->batch.units[i].len;
  rest->reupserted = w->reupserted; /* the held counts stay as they were */
  if (tbl->gate == w) {             /* the first half carries truncate now */
    tbl->gate = NULL;
    w->truncate = 0;
    ad_list_insert_head(&tbl->held, &rest->node);
    ad_list_insert_head(&tbl->held, &w->node);
    ad_ds_release(tbl);
  } else {
    ad_list_insert_head(&tbl->sink->ready, &rest->node);
    ad_list_insert_head(&tbl->sink->ready, &w->node);
  }
}

/* A 500 on rows: the table may have gone. Upsert it again (once per
 * batch), then the batch goes again. */
static void ad_ds_reupsert(ad_ds_write_t *w) {
  ad_ds_table_t *tbl = w->tbl;
  if (tbl->state == AD_DS_FAILED) { /* nothing will release it */
    ad_ds_write_fail(w, tbl->error, 1);
    return;
  }
  w->reupserted = 1;
  if (tbl->gate == w) {
    tbl->gate = NULL;
    w->truncate = 0;
  }
  ad_list_insert_head(&tbl->held, &w->node);
  if (tbl->state == AD_DS_READY)
    ad_ds_upsert_queue(tbl, 1);
}

static void ad_ds_on_write(ad_dust_call_t *call, const ad_dust_result_t *r,
                           void *data) {
  ad_ds_write_t *w = data;
  ad_ds_table_t *tbl = w->tbl;
  ad_dust_sink_t *sink = tbl->sink;
  size_t i;

  (void)call;
  sink->inflight--;
  ad_list_remove(&w->node);
  switch (r->outcome) {
  case AD_DUST_DONE:
    for (i = 0; i < w->batch.n; i++) {
      ad_sink_written_id(sink->o.host, tbl->table,
                         ad_dust_batch_id(&w->batch, i),
                         ad_dust_batch_hash(&w->batch, i));
      if (tbl->sweep != NULL)
        ad_dust_sweep_written(tbl->sweep, ad_dust_batch_id(&w->batch, i));
      ad_sink_acked(sink->o.host, w->batch.units[i].seq);
    }
    tbl->pending -= w->batch.n;
    tbl->written += w->batch.n;
    if (tbl->gate == w) {
      tbl->gate = NULL;
      tbl->truncated = 1;
    }
    ad_ds_write_free(w);
    ad_ds_table_check_done(tbl);
    break;
  case AD_DUST_TOO_BIG:
    ad_ds_split(w);
    break;
  case AD_DUST_SERVER_500:
    ad_ds_reupsert(w);
    break;
  default:
    ad_ds_write_fail(w, r->message, !ad_dust_sink_documents(sink));
    if (r->fatal) {
      ad_ds_fatal(sink, r->message);
      return;
    }
  }
  ad_ds_release(tbl);
  ad_dust_sink_kick(sink);
}

static int ad_ds_write_url(ad_ds_write_t *w) {
  ad_dust_target_t t;
  ad_buf_t *url = ad_dust_call_url(&w->call);
  ad_buf_t id;
  int rc;

  ad_dust_sink_target(w->tbl->sink, &t);
  ad_buf_reset(url);
  if (!w->batch.document)
    return ad_dust_rows_url(url, &t, w->tbl->dust_id);
  ad_buf_init(&id, 0);
  rc = ad_dust_document_id(&id, w->tbl->table->origin,
                           ad_dust_batch_id(&w->batch, 0));
  if (rc == 0)
    rc = ad_dust_document_url(url, &t, id.data);
  ad_buf_free(&id);
  return rc;
}

static void ad_ds_write_start(ad_ds_write_t *w) {
  ad_dust_sink_t *sink = w->tbl->sink;
  int rc;

  w->call.what = w->tbl->what_rows;
  w->call.escalate_500 = !w->batch.document && !w->reupserted;
  rc = ad_dust_batch_seal(&w->batch, w->truncate);
  if (rc == 0)
    rc = ad_ds_write_url(w);
  if (rc == 0)
    rc = ad_dust_call_start(
        &w->call, w->batch.document ? &sink->documents_key : NULL,
        w->batch.body.data, w->batch.body.len, ad_ds_on_write);
  if (rc == 0) {
    sink->inflight++;
    ad_list_insert_tail(&sink->flying, &w->node);
    return;
  }
  ad_ds_write_fail(w, ad_strerror(rc), 0);
}

/* ---- pages in ---------------------------------------------------------- */

static int ad_ds_room(const ad_dust_sink_t *sink) {
  return sink->held_rows < sink->max_rows && sink->held_bytes < sink->max_bytes;
}

/* Adds one unit to the table's batches; returns 0 or an AD_E* code with the
 * unit not taken. */
static int ad_ds_add_unit(ad_ds_table_t *tbl, const ad_page_t *page, size_t i) {
  ad_dust_sink_t *sink = tbl->sink;
  const char *id = ad_page_unit_id(page, i), *unit = ad_page_unit(page, i);
  size_t len = page->units[i].len;
  ad_ds_write_t *w = tbl->open;
  int rc;

  if (w != NULL && (w->batch.n >= (size_t)sink->o.conf->batch_size ||
                    !ad_dust_batch_fits(&w->batch, len))) {
    ad_ds_seal(tbl);
    w = NULL;
  }
  if (w == NULL && (w = ad_ds_write_new(tbl)) == NULL)
    return AD_ENOMEM;
  tbl->open = w;
  if (ad_dust_sink_documents(sink))
    rc = ad_dust_batch_set_document(&w->batch, id, unit, len);
  else
    rc = ad_dust_batch_add_row(&w->batch, id, unit, len);
  if (rc != 0) {
    if (w->batch.n == 0) {
      tbl->open = NULL;
      ad_ds_write_free(w);
    }
    return rc;
  }
  ad_dust_batch_mark_last(&w->batch, ad_page_hash(page, i),
                          ad_page_seq(page, i));
  len = w->batch.units[w->batch.n - 1].len;
  w->bytes += len;
  tbl->pending++;
  sink->held_rows++;
  sink->held_bytes += len;
  if (sink->held_rows > sink->peak_held_rows)
    sink->peak_held_rows = sink->held_rows;
  if (ad_dust_sink_documents(sink))
    ad_ds_seal(tbl);
  return 0;
}

static void ad_ds_take_page(ad_dust_sink_t *sink, ad_page_t *page) {
  ad_ds_table_t *tbl = ad_ds_table_get(sink, page->table);
  char msg[300];
  size_t i;
  int rc;

  if (tbl == NULL) {
    snprintf(msg, sizeof(msg), "out of memory taking a page of table %s",
             page->table->table_id);
    ad_sink_failed(sink->o.host, page->table, NULL, msg, page->nunits);
    ad_ds_nack_page(sink, page, 0, page->nunits);
    ad_page_free(page);
    return;
  }
  for (i = 0; i < page->nunits; i++) {
    if (tbl->state == AD_DS_FAILED) {
      ad_ds_fail_rows(sink, tbl, NULL, tbl->error, page->nunits - i);
      ad_ds_nack_page(sink, page, i, page->nunits);
      break;
    }
    if ((rc = ad_ds_add_unit(tbl, page, i)) != 0) {
      snprintf(msg, sizeof(msg), "%s: %s", tbl->what_rows,
               rc == AD_EINVAL ? "the document is not a JSON object"
                               : ad_strerror(rc));
      ad_ds_fail_rows(sink, tbl, ad_page_unit_id(page, i), msg, 1);
      ad_ds_nack_page(sink, page, i, i + 1);
    }
  }
  if (page->last) {
    tbl->last_seen = 1;
    ad_ds_seal(tbl);
  }
  /* A recurring sync: Dust holds the table as described already. */
  if (tbl->state == AD_DS_NEW &&
      ad_sink_table_same(sink->o.host, tbl->table, tbl->body.data,
                         tbl->body.len)) {
    tbl->state = AD_DS_READY;
    ad_ds_release(tbl);
  }
  if (tbl->state == AD_DS_NEW)
    ad_ds_upsert_queue(tbl, 0);
  ad_ds_table_check_done(tbl);
  ad_page_free(page);
}

/* Pressure or the end: partial batches of ready tables go out, as many as
 * there are free slots. Returns how many were sealed. */
static int ad_ds_seal_partial(ad_dust_sink_t *sink) {
  ad_list_t *n;
  ad_ds_table_t *tbl;
  long free_slots = sink->o.svc->config->engine.sink_concurrency -
                    sink->inflight;
  int sealed = 0;

  for (n = sink->tables.next; n != &sink->tables && sealed < free_slots;
       n = n->next) {
    tbl = ad_container_of(n, ad_ds_table_t, node);
    if (tbl->open != NULL && tbl->state == AD_DS_READY && tbl->gate == NULL) {
      ad_ds_seal(tbl);
      sealed++;
    }
  }
  return sealed;
}

/* Whether a table holds a batch still open: a flush waits for it (its
 * table may not be upserted yet). */
static int ad_ds_any_open(const ad_dust_sink_t *sink) {
  const ad_list_t *n;
  for (n = sink->tables.next; n != &sink->tables; n = n->next)
    if (ad_container_of(n, ad_ds_table_t, node)->open != NULL)
      return 1;
  return 0;
}

static void ad_ds_pump(ad_dust_sink_t *sink) {
  long limit = sink->o.svc->config->engine.sink_concurrency;
  ad_list_t *n;

  while (!sink->aborted && sink->inflight < limit) {
    if ((n = ad_list_head(&sink->upserts)) != NULL) {
      ad_list_remove(n);
      ad_ds_upsert_start(ad_container_of(n, ad_ds_table_t, upsert_node));
    } else if ((n = ad_list_head(&sink->ready)) != NULL) {
      ad_list_remove(n);
      ad_ds_write_start(ad_container_of(n, ad_ds_write_t, node));
    } else if ((sink->finishing || sink->flushing || !ad_ds_room(sink)) &&
               ad_ds_seal_partial(sink) > 0) {
      continue;
    } else if (sink->flushing && !ad_ds_any_open(sink)) {
      sink->flushing = 0; /* everything held went out */
    } else if (ad_dust_removals_start(sink) == 0) {
      break;
    }
  }
}

static void ad_ds_on_drained(ad_timers_entry_t *entry, void *data) {
  ad_dust_sink_t *sink = data;
  (void)entry;
  ad_sink_drained(sink->o.host);
}

static void ad_ds_check_drained(ad_dust_sink_t *sink) {
  if (!sink->finishing || sink->drained || sink->inflight > 0 ||
      sink->held_rows > 0 || !ad_list_empty(&sink->upserts) ||
      !ad_dust_removals_idle(sink) || !ad_dust_sweeps_idle(sink) ||
      ad_sink_has_page(sink->o.host))
    return;
  sink->drained = 1;
  if (ad_timers_after(sink->o.svc->timers, &sink->drained_entry, 0, ad_ds_on_drained,
                      sink) != 0)
    ad_ds_on_drained(&sink->drained_entry, sink);
}

/* Pages still queued once the sink has stopped: failed, with the reason
 * given to abort. */
static void ad_ds_fail_queued(ad_dust_sink_t *sink) {
  ad_page_t *page;
  while ((page = ad_sink_pop(sink->o.host)) != NULL) {
    ad_sink_failed(sink->o.host, page->table, NULL, sink->abort_reason,
                   page->nunits);
    ad_ds_nack_page(sink, page, 0, page->nunits);
    ad_page_free(page);
  }
}

void ad_dust_sink_kick(ad_dust_sink_t *sink) {
  ad_page_t *page;

  if (sink->aborted) {
    ad_ds_fail_queued(sink);
  } else {
    while (ad_ds_room(sink) && (page = ad_sink_pop(sink->o.host)) != NULL)
      ad_ds_take_page(sink, page);
    ad_ds_pump(sink);
  }
  ad_ds_check_drained(sink);
}

void ad_dust_sink_flush(ad_dust_sink_t *sink) {
  sink->flushing = 1;
  ad_dust_sink_kick(sink);
}

void ad_dust_sink_finish(ad_dust_sink_t *sink) {
  sink->finishing = 1;
  ad_dust_sink_kick(sink);
}

/* ---- stopping ---------------------------------------------------------- */

/* Fails every write of list with the abort's reason. */
static void ad_ds_drop_list(ad_dust_sink_t *sink, ad_list_t *list,
                            int cancel) {
  ad_list_t *n;
  ad_ds_write_t *w;
  while ((n = ad_list_head(list)) != NULL) {
    ad_list_remove(n);
    w = ad_container_of(n, ad_ds_write_t, node);
    if (cancel)
      ad_dust_call_cancel(&w->call);
    ad_ds_fail_rows(sink, w->tbl, NULL, sink->abort_reason, w->batch.n);
    ad_ds_nack_batch(sink, &w->batch);
    ad_ds_write_free(w);
  }
}

void ad_dust_sink_abort(ad_dust_sink_t *sink, const char *reason) {
  ad_list_t *n;
  ad_ds_table_t *tbl;

  if (sink->aborted)
    return;
  sink->aborted = 1;
  snprintf(sink->abort_reason, sizeof(sink->abort_reason), "%s", reason);
  ad_ds_drop_list(sink, &sink->flying, 1);
  ad_ds_drop_list(sink, &sink->ready, 0);
  for (n = sink->tables.next; n != &sink->tables; n = n->next) {
    tbl = ad_container_of(n, ad_ds_table_t, node);
    ad_dust_call_cancel(&tbl->call);
    if (ad_list_linked(&tbl->upsert_node))
      ad_list_remove(&tbl->upsert_node);
    if (tbl->open != NULL) /* not through seal: nothing may be released */
      ad_list_insert_tail(&tbl->held, &tbl->open->node);
    tbl->open = NULL;
    ad_ds_drop_list(sink, &tbl->held, 0);
    tbl->gate = NULL;
  }
  ad_dust_sweeps_abort(sink);
  ad_dust_removals_abort(sink);
  ad_dust_inventory_abort(sink);
  sink->inflight = 0;
  ad_ds_fail_queued(sink);
  ad_ds_check_drained(sink);
}

static void ad_ds_fatal(ad_dust_sink_t *sink, const char *msg) {
  char reason[sizeof(sink->abort_reason)];
  snprintf(reason, sizeof(reason), "not written: the run stopped (%s)", msg);
  ad_dust_sink_abort(sink, reason);
  ad_sink_fatal(sink->o.host, msg);
}

/* ---- prepare (encoder.h) ---------------------------------------------- */

int ad_dust_sink_prepare(ad_dust_sink_t *sink, ad_table_t *t, char *err,
                         size_t errlen) {
  ad_ds_table_t *tbl = t->sink_data;
  ad_dust_layout_t layout;
  int rc;

  if (tbl != NULL && tbl->prepared)
    return 0;
  rc = ad_dust_layout_init(&layout, t, ad_dust_sink_documents(sink), err, errlen);
  if (rc == 0 && tbl == NULL && (tbl = ad_ds_table_get(sink, t)) == NULL)
    rc = AD_ENOMEM;
  if (rc != 0) {
    ad_dust_layout_free(&layout);
    return rc;
  }
  tbl->layout = layout;
  tbl->prepared = 1;
  t->sink_free = ad_ds_prepared;
  return 0;
}

const ad_dust_layout_t *ad_dust_sink_layout(const ad_table_t *t) {
  const ad_ds_table_t *tbl;
  if (t->sink_free != ad_ds_prepared) /* sink_data may be changing */
    return NULL;
  tbl = t->sink_data;
  return &tbl->layout;
}

/* ---- check ------------------------------------------------------------- */

static void ad_ds_on_check(ad_dust_call_t *call, const ad_dust_result_t *r,
                           void *data) {
  ad_dust_sink_t *sink = data;
  const ad_dust_config_t *conf = sink->o.conf;
  (void)call;
  sink->inflight--;
  if (r->outcome == AD_DUST_DONE) {
    snprintf(sink->check_report, sizeof(sink->check_report),
             "data source %s in space %s of workspace %s is reachable and "
             "the key is accepted",
             conf->data_source_id, conf->space_id, conf->workspace_id);
  } else {
    snprintf(sink->check_report, sizeof(sink->check_report), "%s",
             r->message);
    ad_sink_fatal(sink->o.host, r->message);
  }
  ad_sink_checked(sink->o.host);
}

int ad_dust_sink_check(ad_dust_sink_t *sink) {
  ad_dust_target_t t;
  int rc;

  ad_dust_sink_target(sink, &t);
  ad_buf_reset(ad_dust_call_url(&sink->check_call));
  if ((rc = ad_dust_tables_url(ad_dust_call_url(&sink->check_call), &t)) != 0)
    return rc;
  rc = ad_dust_call_start(&sink->check_call, NULL, NULL, 0, ad_ds_on_check);
  if (rc == 0)
    sink->inflight++;
  return rc;
}

/* ---- life ---------------------------------------------------------------- */

/* One key paces every document upsert into the workspace, shared by
 * every process that writes documents there (budget.h): Dust's limit is
 * the workspace's, whatever the key or data source. */
static int ad_ds_documents_key(ad_dust_sink_t *sink) {
  const ad_config_t *cfg = sink->o.svc->config;
  const char *server[] = {"dust", sink->o.conf->base_url, NULL};
  const char *ws[] = {"dust workspace", sink->o.conf->base_url,
                      sink->o.conf->workspace_id, NULL};
  uint64_t window_us = (sink->o.svc->documents_window_ms
                            ? sink->o.svc->documents_window_ms
                            : 60000) *
                       1000;
  uint64_t margin = (uint64_t)cfg->rate_limits.safety_margin_ms * 1000;
  char h[17], w[17];

  ad_digest_hex(server, h, 16);
  ad_digest_hex(ws, w, 16);
  snprintf(sink->documents_key_name, sizeof(sink->documents_key_name),
           "dust-%s/ws-%s", h, w);
  return ad_limiter_key_init(sink->o.svc->limiter, &sink->documents_key,
                             sink->documents_key_name,
                             cfg->rate_limits.dust_documents_per_minute,
                             window_us + margin, NULL);
}

int ad_dust_sink_init(ad_dust_sink_t *sink, const ad_dust_sink_opts_t *o) {
  const ad_config_t *cfg;
  ad_dust_client_opts_t co;
  uint64_t batch_rows;
  int rc;

  if (o->host == NULL || o->conf == NULL || o->svc == NULL ||
      o->svc->config == NULL || o->svc->http == NULL ||
      o->svc->limiter == NULL || o->svc->timers == NULL)
    return AD_EINVAL;
  cfg = o->svc->config;
  memset(sink, 0, sizeof(*sink));
  sink->o = *o;
  ad_list_init(&sink->tables);
  ad_list_init(&sink->upserts);
  ad_list_init(&sink->ready);
  ad_list_init(&sink->flying);
  ad_list_init(&sink->removals);
  ad_list_init(&sink->removing);
  ad_list_init(&sink->listings);
  ad_list_init(&sink->sweeps);
  ad_timers_entry_init(&sink->drained_entry);
  ad_sink_set_documents(o->host, ad_dust_sink_documents(sink));
  /* truncate replaces each table at its first batch: every row must come */
  ad_sink_set_rewrites(o->host,
                       o->conf->truncate && !ad_dust_sink_documents(sink));
  batch_rows = ad_dust_sink_documents(sink) ? 1 : (uint64_t)o->conf->batch_size;
  sink->max_rows =
      batch_rows * (uint64_t)cfg->engine.sink_concurrency + AD_DS_PAGE_ROWS;
  sink->max_bytes =
      (uint64_t)(cfg->engine.sink_concurrency + 1) * AD_DUST_MAX_ROWS_BODY;
  if (sink->max_bytes > (uint64_t)cfg->engine.queue_bytes)
    sink->max_bytes = (uint64_t)cfg->engine.queue_bytes;
  memset(&co, 0, sizeof(co));
  co.api_key = o->conf->api_key;
  co.max_retries = (int)cfg->engine.max_retries;
  co.backoff_base_ms = o->svc->backoff_base_ms;
  co.http = o->svc->http;
  co.timers = o->svc->timers;
  co.counts = o->svc->counts;
  co.log = o->svc->log;
  if ((rc = ad_dust_client_init(&sink->client, &co)) != 0)
    return rc;
  ad_dust_call_init(&sink->check_call, &sink->client);
  sink->check_call.data = sink;
  sink->check_call.what = "reading the Dust data source's tables";
  if ((rc = ad_slugset_init(&sink->names)) != 0) {
    ad_dust_client_close(&sink->client);
    return rc;
  }
  if ((rc = ad_ds_documents_key(sink)) != 0) {
    ad_slugset_free(&sink->names);
    ad_dust_client_close(&sink->client);
    return rc;
  }
  return 0;
}

void ad_dust_sink_close(ad_dust_sink_t *sink) {
  ad_list_t *n;
  ad_ds_table_t *tbl;

  ad_timers_cancel(&sink->drained_entry);
  if (!sink->aborted)
    ad_dust_sink_abort(sink, "not written: the sink closed");
  while ((n = ad_list_head(&sink->tables)) != NULL) {
    ad_list_remove(n);
    tbl = ad_container_of(n, ad_ds_table_t, node);
    ad_ds_table_free(tbl);
  }
  ad_dust_call_cancel(&sink->check_call);
  ad_dust_call_free(&sink->check_call);
  ad_limiter_key_close(&sink->documents_key);
  ad_slugset_free(&sink->names);
  ad_dust_client_close(&sink->client);
}
