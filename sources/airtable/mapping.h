/* An Airtable table as the source reads it, computed once from its schema
 * (GET /v0/meta/bases/{base}/tables), and the pure function that turns
 * one of its records into a neutral record (engine/record.h,
 * docs/mapping.md). */
#ifndef AD_MAPPING_H
#define AD_MAPPING_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "cells.h"
#include "airdust_plugin.h"
#include "record.h"

typedef struct ad_at_field {
  char *id;
  char *name;
  char *type;
  ad_at_read_t read; /* how its values read (cells.h) */
  ad_kind_t kind;    /* its column's kind */
  unsigned flags;    /* its column's AD_COLUMN_* */
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

/* Where a person sees a record: the record URL's parts besides the table
 * and the record. share_id and view_id may be NULL (no view: the table's
 * first). */
typedef struct ad_at_link {
  const char *base_id;
  const char *share_id;
  const char *view_id;
} ad_at_link_t;

/* What turning one page's records into neutral records needs, made once
 * per page and reused from record to record: a record's values point into
 * the page's parsed tree and into this, until the next record. */
typedef struct ad_at_conv {
  ad_at_arena_t arena; /* built text, list items */
  ad_buf_t work;       /* text being built */
  ad_buf_t url;        /* the record's URL */
  ad_value_t *values;  /* one per field */
  size_t cap;
} ad_at_conv_t;

void ad_at_conv_init(ad_at_conv_t *conv);
void ad_at_conv_free(ad_at_conv_t *conv);

/* The neutral record of one record of a page fetched with
 * returnFieldsByFieldId=true: its id, one value per field of table in
 * schema order, and what wants asks for of its createdTime and URL
 * (AD_ENCODE_*: left 0 and NULL otherwise). Valid until the next call
 * with conv. Returns 0, AD_EPARSE (not a record: message in err) or
 * AD_ENOMEM. */
int ad_at_record(ad_at_conv_t *conv, const ad_at_table_t *table,
                 const ad_at_link_t *link, unsigned wants,
                 json_object *record, ad_record_t *out, char *err,
                 size_t errlen);

/* https://airtable.com/{base}[/{share}]/{table}[/{view}]/{record}; view is
 * view_id, else the table's first view. */
int ad_at_record_url(const char *base_id, const char *share_id,
                     const char *view_id, const ad_at_table_t *table,
                     const char *record_id, ad_buf_t *out);

#endif
