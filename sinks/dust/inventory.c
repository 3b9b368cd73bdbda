/* What earlier runs wrote into the data source, listed after a sync lost
 * its memory (sink.h, "Inventory"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "request.h"
#include "sink.h"

/* Rows or documents asked for per listing request: Dust sets no maximum;
 * this keeps an answer near a megabyte of rows. */
#define AD_DS_LIST_PAGE 1000

/* One listing request in flight or waiting: the tables, a page of a
 * table's rows, or a page of the documents. */
typedef struct ad_ds_listing {
  ad_list_t node;
  ad_dust_sink_t *sink;
  ad_dust_call_t call;
  char *dust_table;         /* rows of this Dust table; NULL: not rows */
  char *group_id, *table_id; /* what the source calls that table */
  int documents;            /* the documents; else with no table: tables */
  int flying;               /* its request is out */
  size_t offset;
  char what[256];
} ad_ds_listing_t;

static void ad_ds_listing_free(ad_ds_listing_t *l) {
  ad_list_remove(&l->node);
  ad_dust_call_free(&l->call);
  free(l->dust_table);
  free(l->group_id);
  free(l->table_id);
  free(l);
}

/* The inventory is over (error NULL: every listing answered). */
static void ad_ds_inventory_end(ad_dust_sink_t *sink, const char *error) {
  if (!sink->inventorying)
    return;
  sink->inventorying = 0;
  ad_sink_inventoried(sink->o.host, error);
}

static void ad_ds_inventory_fail(ad_dust_sink_t *sink, const char *error) {
  ad_list_t *n;
  ad_ds_listing_t *l;
  while ((n = ad_list_head(&sink->listings)) != NULL) {
    l = ad_container_of(n, ad_ds_listing_t, node);
    if (l->flying) {
      ad_dust_call_cancel(&l->call);
      sink->inflight--;
    }
    ad_ds_listing_free(l);
  }
  ad_ds_inventory_end(sink, error);
}

static void ad_ds_on_listing(ad_dust_call_t *call, const ad_dust_result_t *r,
                             void *data);
static void ad_ds_inventory_pump(ad_dust_sink_t *sink);

static int ad_ds_listing_start(ad_ds_listing_t *l) {
  ad_dust_sink_t *sink = l->sink;
  ad_buf_t *url = ad_dust_call_url(&l->call);
  ad_dust_target_t t;
  int rc;

  ad_dust_sink_target(sink, &t);
  ad_buf_reset(url);
  if (l->dust_table != NULL)
    rc = ad_dust_rows_url(url, &t, l->dust_table);
  else if (l->documents)
    rc = ad_dust_documents_url(url, &t);
  else
    rc = ad_dust_tables_url(url, &t);
  if (rc == 0 && (l->dust_table != NULL || l->documents))
    rc = ad_buf_printf(url, "?limit=%d&offset=%zu", AD_DS_LIST_PAGE,
                       l->offset);
  l->call.what = l->what;
  if (rc == 0)
    rc = ad_dust_call_start(&l->call, NULL, NULL, 0, ad_ds_on_listing);
  if (rc == 0) {
    sink->inflight++;
    l->flying = 1;
  }
  return rc;
}

static ad_ds_listing_t *ad_ds_listing_new(ad_dust_sink_t *sink) {
  ad_ds_listing_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  l->sink = sink;
  ad_list_init(&l->node);
  ad_dust_call_init(&l->call, &sink->client);
  l->call.data = l;
  ad_list_insert_tail(&sink->listings, &l->node);
  return l;
}

/* Whether s (n bytes) is a non-empty run of letters and digits: the ids
 * airdust takes back apart from what Dust lists (any other could be
 * split two ways, or be someone else's). */
static int ad_ds_alnum(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]))
      return 0;
  return n > 0;
}

/* A Dust table this sink made: its id is the prefix (made safe as
 * request.h makes it), then the source's group and table ids joined by
 * "_". */
static int ad_ds_owned_table(const ad_dust_sink_t *sink, const char *dust_id,
                             char **group, char **table) {
  const char *rest, *sep;
  ad_buf_t prefix;
  size_t plen;
  int own;

  ad_buf_init(&prefix, 0);
  if (ad_dust_table_id_prefix(&prefix, sink->o.conf->table_id_prefix) != 0) {
    ad_buf_free(&prefix);
    return -1;
  }
  plen = prefix.len;
  own = strncmp(dust_id, prefix.data != NULL ? prefix.data : "", plen) == 0;
  ad_buf_free(&prefix);
  if (!own)
    return 0;
  rest = dust_id + plen;
  if ((sep = strchr(rest, '_')) == NULL ||
      !ad_ds_alnum(rest, (size_t)(sep - rest)) ||
      !ad_ds_alnum(sep + 1, strlen(sep + 1)))
    return 0;
  *group = strndup(rest, (size_t)(sep - rest));
  *table = strdup(sep + 1);
  return *group != NULL && *table != NULL ? 1 : -1;
}

/* GET tables: each table this sink made is reported, and its rows
 * listed. */
static int ad_ds_on_tables(ad_dust_sink_t *sink, json_object *root) {
  json_object *tables, *t, *id;
  ad_ds_listing_t *l;
  char *group = NULL, *table = NULL;
  size_t i;
  int own;

  if (!json_object_object_get_ex(root, "tables", &tables) ||
      !json_object_is_type(tables, json_type_array))
    return AD_EPARSE;
  for (i = 0; i < json_object_array_length(tables); i++) {
    t = json_object_array_get_idx(tables, i);
    if (!json_object_object_get_ex(t, "table_id", &id) ||
        !json_object_is_type(id, json_type_string))
      continue;
    own = ad_ds_owned_table(sink, json_object_get_string(id), &group, &table);
    if (own == 1) {
      ad_sink_owned_table(sink->o.host, NULL, group, table);
      if ((l = ad_ds_listing_new(sink)) == NULL ||
          (l->dust_table = strdup(json_object_get_string(id))) == NULL) {
        free(group);
        free(table);
        return AD_ENOMEM;
      }
      l->group_id = group;
      l->table_id = table;
      snprintf(l->what, sizeof(l->what), "listing the rows of Dust table %s",
               l->dust_table);
    } else {
      free(group);
      free(table);
    }
    group = table = NULL;
    if (own < 0)
      return AD_ENOMEM;
  }
  return 0;
}

/* The value of the last tag of tags that starts with origin + key (what
 * the encoder appends after the fields' tags), or NULL. */
static const char *ad_ds_tag(json_object *tags, const char *origin,
                             size_t olen, const char *key) {
  const char *s, *found = NULL;
  size_t i, klen = strlen(key);
  json_object *tag;

  for (i = 0; i < json_object_array_length(tags); i++) {
    tag = json_object_array_get_idx(tags, i);
    if (!json_object_is_type(tag, json_type_string))
      continue;
    s = json_object_get_string(tag);
    if (strncmp(s, origin, olen) == 0 && strncmp(s + olen, key, klen) == 0)
      found = s + olen + klen;
  }
  return found;
}

/* A document this sink made is named "<origin>__<record id>" (request.h)
 * and carries where its record came from as its last tags,
 * "<origin>_base_id:<group>" and "<origin>_table_id:<table>" (encoder.c);
 * origin, group, table and record are letters and digits. */
static void ad_ds_owned_document(ad_dust_sink_t *sink, json_object *doc) {
  json_object *id, *tags;
  const char *s, *sep, *group, *table;
  char origin[64];
  size_t olen;

  if (!json_object_object_get_ex(doc, "document_id", &id) ||
      !json_object_is_type(id, json_type_string) ||
      !json_object_object_get_ex(doc, "tags", &tags) ||
      !json_object_is_type(tags, json_type_array))
    return;
  s = json_object_get_string(id);
  if ((sep = strstr(s, "__")) == NULL ||
      (olen = (size_t)(sep - s)) >= sizeof(origin) || !ad_ds_alnum(s, olen) ||
      !ad_ds_alnum(sep + 2, strlen(sep + 2)))
    return;
  memcpy(origin, s, olen);
  origin[olen] = '\0';
  group = ad_ds_tag(tags, origin, olen, "_base_id:");
  table = ad_ds_tag(tags, origin, olen, "_table_id:");
  if (group == NULL || table == NULL || !ad_ds_alnum(group, strlen(group)) ||
      !ad_ds_alnum(table, strlen(table)))
    return;
  ad_sink_owned_table(sink->o.host, origin, group, table);
  ad_sink_owned(sink->o.host, group, table, sep + 2);
}

/* A page of rows or documents: each reported; the next page follows
 * while this one was full. Returns 0, AD_EPARSE or AD_ENOMEM. */
static int ad_ds_on_page(ad_ds_listing_t *l, json_object *root, int *more) {
  json_object *items, *item, *id;
  size_t i, n;

  if (ad_dust_listing_items(root, l->documents, &items) != 0)
    return AD_EPARSE;
  n = json_object_array_length(items);
  for (i = 0; i < n; i++) {
    item = json_object_array_get_idx(items, i);
    if (l->documents)
      ad_ds_owned_document(l->sink, item);
    else if (json_object_object_get_ex(item, "row_id", &id) &&
             json_object_is_type(id, json_type_string))
      ad_sink_owned(l->sink->o.host, l->group_id, l->table_id,
                    json_object_get_string(id));
  }
  l->offset += n;
  *more = ad_dust_listing_more(root, l->offset, n, AD_DS_LIST_PAGE);
  return 0;
}

static void ad_ds_on_listing(ad_dust_call_t *call, const ad_dust_result_t *r,
                             void *data) {
  ad_ds_listing_t *l = data;
  ad_dust_sink_t *sink = l->sink;
  json_object *root = NULL;
  char msg[600];
  int rc = 0, more = 0;

  (void)call;
  sink->inflight--;
  l->flying = 0;
  if (r->outcome != AD_DUST_DONE) {
    snprintf(msg, sizeof(msg), "%s", r->message);
    ad_ds_inventory_fail(sink, msg);
    if (r->fatal) /* the run stops: nothing is read, the sink finishes */
      ad_sink_fatal(sink->o.host, msg);
    return;
  }
  root = json_tokener_parse(r->body);
  if (root == NULL)
    rc = AD_EPARSE;
  else if (l->dust_table == NULL && !l->documents)
    rc = ad_ds_on_tables(sink, root);
  else
    rc = ad_ds_on_page(l, root, &more);
  json_object_put(root);
  if (rc != 0) {
    snprintf(msg, sizeof(msg), "%s: %s", l->what,
             rc == AD_EPARSE ? "the answer is not the listing Dust sends"
                             : ad_strerror(rc));
    ad_ds_inventory_fail(sink, msg);
    return;
  }
  if (!more) {
    ad_ds_listing_free(l);
  } else { /* its next page, behind the other tables' */
    ad_list_remove(&l->node);
    ad_list_insert_tail(&sink->listings, &l->node);
  }
  ad_ds_inventory_pump(sink);
}

/* Listings go out up to sink_concurrency at once; the inventory is over
 * when none is left. */
static void ad_ds_inventory_pump(ad_dust_sink_t *sink) {
  long limit = sink->o.svc->config->engine.sink_concurrency;
  ad_list_t *n, *next;
  ad_ds_listing_t *l;
  char msg[400];
  int rc;

  for (n = sink->listings.next; n != &sink->listings && sink->inflight < limit;
       n = next) {
    next = n->next;
    l = ad_container_of(n, ad_ds_listing_t, node);
    if (l->flying)
      continue;
    if ((rc = ad_ds_listing_start(l)) != 0) {
      snprintf(msg, sizeof(msg), "%s: %s", l->what, ad_strerror(rc));
      ad_ds_inventory_fail(sink, msg);
      return;
    }
  }
  if (ad_list_empty(&sink->listings))
    ad_ds_inventory_end(sink, NULL);
}

int ad_dust_sink_inventory(ad_dust_sink_t *sink) {
  ad_ds_listing_t *l;
  if (sink->inventorying || sink->aborted)
    return AD_EINVAL;
  if ((l = ad_ds_listing_new(sink)) == NULL)
    return AD_ENOMEM;
  l->documents = ad_dust_sink_documents(sink);
  snprintf(l->what, sizeof(l->what), "listing the data source's %s",
           l->documents ? "documents" : "tables");
  if (ad_ds_listing_start(l) != 0) {
    ad_ds_listing_free(l);
    return AD_ENOMEM;
  }
  sink->inventorying = 1;
  return 0;
}

void ad_dust_inventory_abort(ad_dust_sink_t *sink) {
  ad_ds_inventory_fail(sink, sink->abort_reason);
}
