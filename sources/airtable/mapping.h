/* An Airtable table's mapping to Dust, computed once from its schema
 * (GET /v0/meta/bases/{base}/tables), and the pure functions that turn its
 * records into Dust rows (docs/mapping.md). */
#ifndef AD_MAPPING_H
#define AD_MAPPING_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "cells.h"

typedef struct ad_at_field {
  char *id;
  char *name;
  char *type;
  char *slug; /* unique within the table: the Dust column key */
  size_t slug_len;
  const ad_cell_codec_t *codec;
} ad_at_field_t;

typedef struct ad_at_table {
  char *id;
  char *name;
  char *description; /* "" when the schema has none */
  char *first_view_id; /* NULL when the table has no views */
  ad_at_field_t *fields;
  size_t nfields;
  const ad_at_field_t *primary; /* NULL if primaryFieldId is unknown */
} ad_at_table_t;

typedef struct ad_at_schema {
  ad_at_table_t *tables;
  size_t ntables;
} ad_at_schema_t;

/* Parses a base schema. Returns 0, AD_EPARSE (message in err) or
 * AD_ENOMEM; free with ad_at_schema_free either way. */
int ad_at_schema_parse(const char *body, size_t len, ad_at_schema_t *schema,
                       char *err, size_t errlen);
void ad_at_schema_free(ad_at_schema_t *schema);

/* The table whose id or name equals name_or_id, or NULL. */
const ad_at_table_t *ad_at_schema_find(const ad_at_schema_t *schema,
                                       const char *name_or_id);

/* Appends {"row_id":"rec…","value":{slug:cell,…}} for one record of a page
 * fetched with returnFieldsByFieldId=true; every column is present (null
 * when empty). The text is written straight from the parsed values, with
 * no json-c object per cell; scratch is a work buffer the caller keeps
 * from record to record. *record_id points into record. Returns 0,
 * AD_EPARSE (not a record: message in err), AD_ENOMEM or AD_ETOOBIG; out
 * may then hold part of the row. */
int ad_at_record_row(const ad_at_table_t *table, json_object *record,
                     ad_buf_t *out, ad_buf_t *scratch, const char **record_id,
                     char *err, size_t errlen);

/* "Base > Table: primary" (base_name given, index-all mode) or
 * "Table: primary"; without ": primary" when the primary cell is empty. */
int ad_at_semantic_id(const char *base_name, const ad_at_table_t *table,
                      json_object *record, ad_buf_t *out);

/* https://airtable.com/{base}[/{share}]/{table}[/{view}]/{record}; view is
 * view_id, else the table's first view. */
int ad_at_record_url(const char *base_id, const char *share_id,
                     const char *view_id, const ad_at_table_t *table,
                     const char *record_id, ad_buf_t *out);

#endif
