/* Deletions at Dust for a recurring sync (sink.h, "Deletions"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "request.h"
#include "sink.h"

/* One table's removal: what its deletions share. */
typedef struct ad_ds_drop {
  ad_dust_sink_t *sink;
  ad_table_t *table; /* one reference */
  size_t left;       /* deletions not yet answered */
  int whole;         /* the table is gone: end with one report for it */
  char *error;       /* the first failure, for the whole table's report */
} ad_ds_drop_t;

/* One DELETE. */
typedef struct ad_ds_removal {
  ad_list_t node; /* sink->removals, then sink->removing */
  ad_ds_drop_t *drop;
  ad_dust_call_t call;
  char *id; /* the record's; NULL: the Dust table itself */
  char what[320];
} ad_ds_removal_t;

static void ad_ds_removal_free(ad_ds_removal_t *r) {
  ad_list_remove(&r->node);
  ad_dust_call_free(&r->call);
  free(r->id);
  free(r);
}

/* A removal ends: the engine hears of its record, and of the whole table
 * once the last deletion of it is answered. */
static void ad_ds_removal_end(ad_ds_removal_t *r, const char *error) {
  ad_ds_drop_t *d = r->drop;
  ad_sink_t *host = d->sink->o.host;

  if (error != NULL && d->error == NULL)
    d->error = strdup(error);
  if (r->id != NULL)
    ad_sink_removed(host, d->table, r->id, error);
  ad_ds_removal_free(r);
  if (--d->left > 0)
    return;
  if (d->whole)
    ad_sink_removed(host, d->table, NULL, d->error);
  ad_table_unref(d->table);
  free(d->error);
  free(d);
}

static void ad_ds_on_removed(ad_dust_call_t *call, const ad_dust_result_t *res,
                             void *data) {
  ad_ds_removal_t *r = data;
  ad_dust_sink_t *sink = r->drop->sink;
  int fatal = res->outcome == AD_DUST_FAILED && res->fatal;
  char msg[600], reason[700];

  (void)call;
  sink->inflight--;
  /* res->message lives in the call, which the end frees: copied first */
  snprintf(msg, sizeof(msg), "%s", res->message);
  ad_ds_removal_end(r, res->outcome == AD_DUST_DONE ||
                               res->outcome == AD_DUST_GONE
                           ? NULL
                           : msg);
  if (fatal) {
    snprintf(reason, sizeof(reason), "not written: the run stopped (%s)",
             msg);
    ad_dust_sink_abort(sink, reason);
    ad_sink_fatal(sink->o.host, msg);
    return;
  }
  ad_dust_sink_kick(sink);
}

static int ad_ds_removal_url(ad_ds_removal_t *r, const char *dust_table) {
  ad_dust_sink_t *sink = r->drop->sink;
  ad_table_t *t = r->drop->table;
  ad_buf_t *url = ad_dust_call_url(&r->call);
  ad_dust_target_t target;
  ad_buf_t doc;
  int rc;

  ad_dust_sink_target(sink, &target);
  ad_buf_reset(url);
  if (r->id == NULL)
    return ad_dust_table_url(url, &target, dust_table);
  if (!ad_dust_sink_documents(sink))
    return ad_dust_row_url(url, &target, dust_table, r->id);
  ad_buf_init(&doc, 0);
  rc = ad_dust_document_id(&doc, t->origin, r->id);
  if (rc == 0)
    rc = ad_dust_document_url(url, &target, doc.data);
  ad_buf_free(&doc);
  return rc;
}

/* One DELETE, waiting for a slot; its URL is made now. */
static int ad_ds_removal_add(ad_ds_drop_t *d, ad_list_t *list,
                             const char *id, const char *dust_table) {
  ad_dust_sink_t *sink = d->sink;
  ad_table_t *t = d->table;
  ad_ds_removal_t *r = calloc(1, sizeof(*r));

  if (r == NULL || (id != NULL && (r->id = strdup(id)) == NULL)) {
    free(r);
    return AD_ENOMEM;
  }
  r->drop = d;
  ad_list_init(&r->node);
  ad_dust_call_init(&r->call, &sink->client);
  r->call.data = r;
  if (ad_ds_removal_url(r, dust_table) != 0) {
    ad_ds_removal_free(r);
    return AD_ENOMEM;
  }
  if (id == NULL)
    snprintf(r->what, sizeof(r->what),
             "deleting Dust table %s (table %s of base %s is gone)",
             dust_table, t->table_id, t->group_id);
  else
    snprintf(r->what, sizeof(r->what), "deleting %s %s of table %s of base "
             "%s (gone at the source)",
             ad_dust_sink_documents(sink) ? "the document of record" : "row", id,
             t->table_id, t->group_id);
  r->call.what = r->what;
  ad_list_insert_tail(list, &r->node);
  d->left++;
  return 0;
}

int ad_dust_sink_remove(ad_dust_sink_t *sink, ad_table_t *table,
                        const char *const *ids, size_t n, int whole) {
  ad_ds_drop_t *d;
  ad_list_t added, *node;
  ad_buf_t dust_table;
  size_t i;
  int rc = 0;

  if (sink->aborted)
    return AD_ECLOSING;
  if ((d = calloc(1, sizeof(*d))) == NULL)
    return AD_ENOMEM;
  d->sink = sink;
  d->table = table;
  d->whole = whole;
  ad_list_init(&added);
  ad_buf_init(&dust_table, 0);
  rc = ad_dust_table_id(&dust_table, sink->o.conf->table_id_prefix,
                        table->group_id, table->table_id);
  if (rc == 0 && whole && !ad_dust_sink_documents(sink)) /* the table, at once */
    rc = ad_ds_removal_add(d, &added, NULL, dust_table.data);
  else
    for (i = 0; i < n && rc == 0; i++)
      rc = ad_ds_removal_add(d, &added, ids[i], dust_table.data);
  ad_buf_free(&dust_table);
  if (rc != 0) {
    while ((node = ad_list_head(&added)) != NULL)
      ad_ds_removal_free(ad_container_of(node, ad_ds_removal_t, node));
    free(d);
    return rc;
  }
  ad_table_ref(table);
  if (d->left == 0) { /* a whole table of documents with none stored */
    ad_sink_removed(sink->o.host, table, NULL, NULL);
    ad_table_unref(table);
    free(d);
    return 0;
  }
  while ((node = ad_list_head(&added)) != NULL) {
    ad_list_remove(node);
    ad_list_insert_tail(&sink->removals, node);
  }
  ad_dust_sink_kick(sink);
  return 0;
}

int ad_dust_removals_start(ad_dust_sink_t *sink) {
  ad_list_t *n = ad_list_head(&sink->removals);
  ad_ds_removal_t *r;
  char msg[400];
  int rc;

  if (n == NULL)
    return 0;
  r = ad_container_of(n, ad_ds_removal_t, node);
  ad_list_remove(n);
  ad_list_insert_tail(&sink->removing, n);
  if ((rc = ad_dust_call_delete(&r->call, ad_ds_on_removed)) == 0) {
    sink->inflight++;
    return 1;
  }
  snprintf(msg, sizeof(msg), "%s: %s", r->what, ad_strerror(rc));
  ad_ds_removal_end(r, msg);
  return 1;
}

int ad_dust_removals_idle(const ad_dust_sink_t *sink) {
  return ad_list_empty(&sink->removals) && ad_list_empty(&sink->removing);
}

static void ad_ds_removals_fail(ad_dust_sink_t *sink, ad_list_t *list,
                                int cancel) {
  ad_list_t *n;
  ad_ds_removal_t *r;
  while ((n = ad_list_head(list)) != NULL) {
    r = ad_container_of(n, ad_ds_removal_t, node);
    if (cancel)
      ad_dust_call_cancel(&r->call);
    ad_ds_removal_end(r, sink->abort_reason);
  }
}

void ad_dust_removals_abort(ad_dust_sink_t *sink) {
  ad_ds_removals_fail(sink, &sink->removing, 1);
  ad_ds_removals_fail(sink, &sink->removals, 0);
}
