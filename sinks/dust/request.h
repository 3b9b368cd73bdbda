/* URLs and bodies of the Dust requests a sync sends (dust-api.md sections
 * 1-3, docs/mapping.md). Pure functions: they only format bytes. */
#ifndef AD_DUST_REQUEST_H
#define AD_DUST_REQUEST_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "slug.h"

/* Where a data source lives. Strings borrowed. */
typedef struct ad_dust_target {
  const char *base_url; /* https://dust.tt */
  const char *workspace_id;
  const char *space_id;
  const char *data_source_id;
} ad_dust_target_t;

/* Rows requests are cut at this many bytes: Dust's limit is 1 MB. */
#define AD_DUST_MAX_ROWS_BODY (900u * 1024u)

/* {base}/api/v1/w/{w}/spaces/{s}/data_sources/{d}/tables */
int ad_dust_tables_url(ad_buf_t *url, const ad_dust_target_t *t);
/* …/tables/{table_id}/rows */
int ad_dust_rows_url(ad_buf_t *url, const ad_dust_target_t *t,
                     const char *table_id);
/* …/tables/{table_id}: a table's own URL (its DELETE) */
int ad_dust_table_url(ad_buf_t *url, const ad_dust_target_t *t,
                      const char *table_id);
/* …/tables/{table_id}/rows/{row_id}: one row (its DELETE) */
int ad_dust_row_url(ad_buf_t *url, const ad_dust_target_t *t,
                    const char *table_id, const char *row_id);
/* …/documents (their listing) */
int ad_dust_documents_url(ad_buf_t *url, const ad_dust_target_t *t);
/* …/documents/{document_id} */
int ad_dust_document_url(ad_buf_t *url, const ad_dust_target_t *t,
                         const char *document_id);

/* prefix + base id + "_" + table id (prefix + table id for an empty base
 * id: a source without groups), every byte outside [A-Za-z0-9_-] turned
 * into '_': stable across renames. */
int ad_dust_table_id(ad_buf_t *out, const char *prefix, const char *base_id,
                     const char *table_id);

/* What every id ad_dust_table_id makes with prefix starts with: the
 * prefix, with the same bytes replaced. */
int ad_dust_table_id_prefix(ad_buf_t *out, const char *prefix);

/* The table's Dust name: the slug of "base name table name" (or of the
 * table name alone when base_name is NULL), unique in names (a clash gets
 * _2, _3…). malloc'd; NULL on ENOMEM. */
char *ad_dust_table_name(ad_slugset_t *names, const char *base_name,
                         const char *table_name);

/* The name to retry with when Dust reports the name taken by another
 * table: name + "_" + the slug of the table id. malloc'd. */
char *ad_dust_table_name_fallback(const char *name, const char *table_id);

/* {"table_id","name","title","description"}: title "Base > Table" (or
 * "Table"); description as given, or one saying where the table comes
 * from when empty. Never mime_type or parents. */
int ad_dust_table_body(ad_buf_t *out, const char *table_id, const char *name,
                       const char *base_name, const char *base_id,
                       const char *table_name, const char *airtable_table_id,
                       const char *description);

/* {"rows":[row,…],"truncate":bool}, built a row at a time, so a batch
 * grows in one buffer and its truncate flag is chosen when it is sent:
 * open, add each serialized row (index counts from 0), close.
 * AD_DUST_ROWS_OVERHEAD bounds what open and close add. */
#define AD_DUST_ROWS_OVERHEAD 32
int ad_dust_rows_open(ad_buf_t *out);
int ad_dust_rows_add(ad_buf_t *out, size_t index, const char *unit,
                     size_t len);
int ad_dust_rows_close(ad_buf_t *out, int truncate);

/* The document unit (a JSON object) with "light_document_output":true
 * added, so the answer stays small. AD_EINVAL if unit is not an object. */
int ad_dust_document_body(ad_buf_t *out, const char *unit, size_t len);

/* origin + "__" + record id ("airtable__rec…"): the document of a record
 * of a table whose origin (table.h) is "airtable". The record id alone
 * when origin is NULL or "". */
int ad_dust_document_id(ad_buf_t *out, const char *origin,
                        const char *record_id);

/* The error of an answer: type and message from {"error":{"type",
 * "message"}}, or type "" and the start of a plain-text body. */
void ad_dust_error_parse(const char *body, size_t len, char *type,
                         size_t typelen, char *msg, size_t msglen);

/* The items of a listing's page (GET …/tables/{tId}/rows, …/documents)
 * in *items (borrowed from root): 0, or AD_EPARSE when root is not one. */
int ad_dust_listing_items(json_object *root, int documents,
                          json_object **items);

/* Whether a listing goes on after a page of n items that brought it to
 * offset: by the total Dust gives, else a full page of page_size means
 * more. */
int ad_dust_listing_more(json_object *root, size_t offset, size_t n,
                         size_t page_size);

#endif
