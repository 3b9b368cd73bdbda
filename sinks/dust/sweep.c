/* Replacing a table (AD_TABLE_REPLACE; sink.h, "Sweeps"): the run writes
 * every record with plain upserts, so Dust serves the old and the new
 * records side by side and never a half-empty table; once every record
 * of the table is acknowledged, what Dust lists of it that the run did
 * not write is deleted. The run's ids are kept as digests from the
 * acknowledgements, so a row Dust still lists with old values (its queued
 * upsert not yet merged) is never taken for a stale one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "encoder.h"
#include "error.h"
#include "keymap.h"
#include "request.h"
#include "sink.h"

#define AD_DS_SWEEP_PAGE 1000 /* rows or documents per listing request */

struct ad_dust_sweep {
  ad_list_t node; /* sink->sweeps while it lists */
  ad_dust_sink_t *sink;
  ad_table_t *table; /* one reference */
  char *dust_id;
  ad_keymap_t written;
  int broken;  /* an id could not be kept: nothing is deleted */
  int started, flying;
  size_t offset;
  ad_buf_t stale; /* ids to delete, NUL-terminated, back to back */
  size_t nstale;
  const char *keep_key; /* the keep column's Dust key, or NULL */
  ad_dust_call_t call;
  ad_dust_sweep_cb done;
  void *data;
  char what[320];
};

ad_dust_sweep_t *ad_dust_sweep_new(ad_dust_sink_t *sink, ad_table_t *table,
                                   const char *dust_id) {
  ad_dust_sweep_t *sw = calloc(1, sizeof(*sw));
  if (sw == NULL || (sw->dust_id = strdup(dust_id)) == NULL) {
    free(sw);
    return NULL;
  }
  sw->sink = sink;
  sw->table = ad_table_ref(table);
  ad_list_init(&sw->node);
  ad_keymap_init(&sw->written);
  ad_buf_init(&sw->stale, 0);
  ad_dust_call_init(&sw->call, &sink->client);
  sw->call.data = sw;
  snprintf(sw->what, sizeof(sw->what),
           "listing what Dust holds of %s %s, to replace it",
           ad_dust_sink_documents(sink) ? "the documents of table" : "table",
           ad_dust_sink_documents(sink) ? table->table_name : dust_id);
  sw->call.what = sw->what;
  return sw;
}

void ad_dust_sweep_free(ad_dust_sweep_t *sw) {
  if (sw == NULL)
    return;
  if (sw->flying) {
    ad_dust_call_cancel(&sw->call);
    sw->sink->inflight--;
  }
  ad_list_remove(&sw->node);
  ad_dust_call_free(&sw->call);
  ad_keymap_free(&sw->written);
  ad_buf_free(&sw->stale);
  ad_table_unref(sw->table);
  free(sw->dust_id);
  free(sw);
}

void ad_dust_sweep_written(ad_dust_sweep_t *sw, const char *id) {
  if (!sw->broken &&
      ad_keymap_put(&sw->written, ad_keymap_key(0, id, strlen(id)), 1) != 0)
    sw->broken = 1;
}

static int ad_ds_sweep_was_written(const ad_dust_sweep_t *sw,
                                   const char *id) {
  uint64_t v;
  return ad_keymap_get(&sw->written, ad_keymap_key(0, id, strlen(id)), &v);
}

/* A listed row an earlier attempt of the sync wrote (keep_column). */
static int ad_ds_sweep_keep_row(const ad_dust_sweep_t *sw, json_object *row) {
  json_object *value, *cell;
  if (sw->keep_key == NULL ||
      !json_object_object_get_ex(row, "value", &value) ||
      !json_object_object_get_ex(value, sw->keep_key, &cell) ||
      !(json_object_is_type(cell, json_type_int) ||
        json_object_is_type(cell, json_type_double)))
    return 0;
  return json_object_get_int64(cell) >= sw->table->keep_from;
}

/* Whether the listed document's tags say it is this table's, and whether
 * an earlier attempt wrote it (keep_tag). */
static int ad_ds_sweep_doc(const ad_dust_sweep_t *sw, json_object *tags,
                           int *keep) {
  const ad_table_t *t = sw->table;
  const char *keep_tag = t->keep_tag;
  size_t i, j, n, klen = keep_tag != NULL ? strlen(keep_tag) : 0;
  json_object *tag;
  const char *s;

  *keep = 0;
  if (!json_object_is_type(tags, json_type_array) || t->ntags == 0)
    return 0;
  n = json_object_array_length(tags);
  for (i = 0; i < t->ntags; i++) {
    if (klen > 0 && strncmp(t->tags[i], keep_tag, klen) == 0)
      continue;
    for (j = 0; j < n; j++) {
      tag = json_object_array_get_idx(tags, j);
      if (json_object_is_type(tag, json_type_string) &&
          strcmp(json_object_get_string(tag), t->tags[i]) == 0)
        break;
    }
    if (j == n)
      return 0;
  }
  for (j = 0; j < n && klen > 0; j++) {
    tag = json_object_array_get_idx(tags, j);
    s = json_object_is_type(tag, json_type_string)
            ? json_object_get_string(tag)
            : "";
    if (strncmp(s, keep_tag, klen) == 0 &&
        strtoll(s + klen, NULL, 10) >= t->keep_from)
      *keep = 1;
  }
  return 1;
}

/* The record id of a listed document of this sink's naming, or NULL. */
static const char *ad_ds_sweep_doc_record(const ad_dust_sweep_t *sw,
                                          const char *doc_id) {
  const char *origin = sw->table->origin;
  size_t olen = origin != NULL ? strlen(origin) : 0;
  if (olen == 0)
    return doc_id;
  if (strncmp(doc_id, origin, olen) != 0 || strncmp(doc_id + olen, "__", 2))
    return NULL;
  return doc_id + olen + 2;
}

/* A page: the stale ids kept. 0, AD_EPARSE, AD_ENOMEM; *more while the
 * listing goes on. */
static int ad_ds_sweep_page(ad_dust_sweep_t *sw, json_object *root,
                            int *more) {
  int documents = ad_dust_sink_documents(sw->sink), keep;
  json_object *items, *item, *id, *tags;
  const char *rid;
  size_t i, n;

  if (ad_dust_listing_items(root, documents, &items) != 0)
    return AD_EPARSE;
  n = json_object_array_length(items);
  for (i = 0; i < n; i++) {
    item = json_object_array_get_idx(items, i);
    if (!json_object_object_get_ex(item, documents ? "document_id" : "row_id",
                                   &id) ||
        !json_object_is_type(id, json_type_string))
      continue;
    rid = json_object_get_string(id);
    if (documents) {
      if (!json_object_object_get_ex(item, "tags", &tags) ||
          !ad_ds_sweep_doc(sw, tags, &keep) ||
          (rid = ad_ds_sweep_doc_record(sw, rid)) == NULL)
        continue; /* another table's, or another writer's */
    } else {
      keep = ad_ds_sweep_keep_row(sw, item);
    }
    if (keep || ad_ds_sweep_was_written(sw, rid))
      continue;
    if (ad_buf_append(&sw->stale, rid, strlen(rid) + 1) != 0)
      return AD_ENOMEM;
    sw->nstale++;
  }
  sw->offset += n;
  *more = ad_dust_listing_more(root, sw->offset, n, AD_DS_SWEEP_PAGE);
  return 0;
}

static int ad_ds_sweep_next(ad_dust_sweep_t *sw);

/* The listing is over: the stale records go to the sink's deletions. */
static void ad_ds_sweep_end(ad_dust_sweep_t *sw, const char *error) {
  const char **ids = NULL, *p;
  char msg[700];
  size_t i;
  int rc = 0;

  ad_list_remove(&sw->node);
  if (error == NULL && sw->nstale > 0) {
    if ((ids = malloc(sw->nstale * sizeof(*ids))) == NULL) {
      rc = AD_ENOMEM;
    } else {
      for (i = 0, p = sw->stale.data; i < sw->nstale; i++, p += strlen(p) + 1)
        ids[i] = p;
      rc = ad_dust_sink_remove(sw->sink, sw->table, ids, sw->nstale, 0);
    }
    free(ids);
    if (rc != 0) {
      snprintf(msg, sizeof(msg), "deleting what this run did not write: %s",
               ad_strerror(rc));
      error = msg;
    }
  }
  if (error == NULL && sw->nstale > 0)
    ad_sink_log(sw->sink->o.host, 2, "table %s: %zu record%s this run did "
                "not write, deleted to replace it", sw->table->table_name,
                sw->nstale, sw->nstale == 1 ? "" : "s");
  sw->done(sw->data, error);
}

static void ad_ds_on_sweep(ad_dust_call_t *call, const ad_dust_result_t *r,
                           void *data) {
  ad_dust_sweep_t *sw = data;
  json_object *root;
  char msg[700];
  int rc, more = 0;

  (void)call;
  sw->flying = 0;
  sw->sink->inflight--;
  if (r->outcome != AD_DUST_DONE) {
    snprintf(msg, sizeof(msg), "%s", r->message);
    ad_ds_sweep_end(sw, msg);
    return;
  }
  root = json_tokener_parse(r->body);
  rc = root != NULL ? ad_ds_sweep_page(sw, root, &more) : AD_EPARSE;
  json_object_put(root);
  if (rc == 0 && more)
    rc = ad_ds_sweep_next(sw);
  if (rc != 0) {
    snprintf(msg, sizeof(msg), "%s: %s", sw->what,
             rc == AD_EPARSE ? "the answer is not the listing Dust sends"
                             : ad_strerror(rc));
    ad_ds_sweep_end(sw, msg);
  } else if (!more) {
    ad_ds_sweep_end(sw, NULL);
  }
}

static int ad_ds_sweep_next(ad_dust_sweep_t *sw) {
  ad_buf_t *url = ad_dust_call_url(&sw->call);
  ad_dust_target_t t;
  int rc;

  ad_dust_sink_target(sw->sink, &t);
  ad_buf_reset(url);
  rc = ad_dust_sink_documents(sw->sink)
           ? ad_dust_documents_url(url, &t)
           : ad_dust_rows_url(url, &t, sw->dust_id);
  if (rc == 0)
    rc = ad_buf_printf(url, "?limit=%d&offset=%zu", AD_DS_SWEEP_PAGE,
                       sw->offset);
  if (rc == 0)
    rc = ad_dust_call_start(&sw->call, NULL, NULL, 0, ad_ds_on_sweep);
  if (rc == 0) {
    sw->flying = 1;
    sw->sink->inflight++;
  }
  return rc;
}

int ad_dust_sweep_start(ad_dust_sweep_t *sw, ad_dust_sweep_cb done,
                        void *data) {
  const ad_dust_layout_t *l = ad_dust_sink_layout(sw->table);
  int rc;
  if (sw->started || sw->sink->aborted)
    return AD_EINVAL;
  if (sw->broken)
    return AD_ENOMEM;
  if (sw->table->keep_column > 0 && !ad_dust_sink_documents(sw->sink)) {
    if (l == NULL || l->keys == NULL ||
        (size_t)sw->table->keep_column > l->ncolumns)
      return AD_EINVAL; /* what to keep is not known: delete nothing */
    sw->keep_key = l->keys[sw->table->keep_column - 1];
  }
  sw->done = done;
  sw->data = data;
  if ((rc = ad_ds_sweep_next(sw)) != 0)
    return rc;
  sw->started = 1;
  ad_list_insert_tail(&sw->sink->sweeps, &sw->node);
  return 0;
}

int ad_dust_sweeps_idle(const ad_dust_sink_t *sink) {
  return ad_list_empty(&sink->sweeps);
}

void ad_dust_sweeps_abort(ad_dust_sink_t *sink) {
  ad_list_t *n;
  ad_dust_sweep_t *sw;
  while ((n = ad_list_head(&sink->sweeps)) != NULL) {
    sw = ad_container_of(n, ad_dust_sweep_t, node);
    if (sw->flying) {
      ad_dust_call_cancel(&sw->call);
      sw->flying = 0;
      sw->sink->inflight--;
    }
    ad_ds_sweep_end(sw, sink->abort_reason);
  }
}
