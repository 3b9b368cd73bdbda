/* ad_jsonl: airdust's export format, read and written by the jsonl
 * source and sink (docs/jsonl.md). Pure functions over buffers.
 *
 * An export is a folder: for each table, in a folder named by its group,
 *   GROUP/TABLE.schema.json   what the table is (ids, names, columns)
 *   GROUP/TABLE.jsonl         one record per line
 * A table whose writing did not finish is left as TABLE.jsonl.part,
 * which readers refuse. A record line is
 *   {"id":"rec1","created":"2026-01-02T03:04:05.000Z","url":"https://…",
 *    "fields":{"fldA":"text",…}}
 * with fields keyed by column id, a null field left out, and each value
 * in the JSON form that gives its kind back on reading:
 *   text "…"     int 42     float 4.20 (its digits)     bool true
 *   list [ … ]   datetime {"datetime":"2026-01-02T03:04:05.000Z"}
 *   date {"date":"2026-01-02"}     json {"json":"<its JSON text>"}
 * (a datetime outside the years 0000-9999 as {"datetime_ms":N} or
 * {"date_ms":N}: ISO 8601 has four digits of year)
 * so a table read back is the table that was written, value for value. */
#ifndef AD_JSONL_H
#define AD_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "airdust_plugin.h"
#include "buf.h"

#define AD_JSONL_FORMAT "airdust-jsonl"
#define AD_JSONL_VERSION 1
#define AD_JSONL_SCHEMA_SUFFIX ".schema.json"
#define AD_JSONL_DATA_SUFFIX ".jsonl"
#define AD_JSONL_PART_SUFFIX ".jsonl.part"

/* An id as a file name: letters, digits, '-' and '_' as they are, every
 * other byte as %XX, so no id can climb out of the folder or collide
 * with another; "" is "%". 0 or AD_ENOMEM. */
int ad_jsonl_file_name(ad_buf_t *out, const char *id);

/* The schema file's text for table. 0 or AD_ENOMEM. */
int ad_jsonl_schema_write(ad_buf_t *out, const ad_table_t *table);

/* A table (one reference: the caller unrefs it) from a schema file's
 * len bytes; AD_EPARSE with what is wrong in err, or AD_ENOMEM. */
int ad_jsonl_schema_read(const char *text, size_t len, ad_table_t **table,
                         char *err, size_t errlen);

/* Appends rec's line (without its newline). 0, AD_ENOMEM, or AD_EINVAL
 * for a value that is not a neutral one (err says which field). */
int ad_jsonl_record_write(ad_buf_t *out, const ad_table_t *table,
                          const ad_record_t *rec, char *err, size_t errlen);

/* What reading a record needs between lines: the values and list items
 * its record points to, reused. */
typedef struct ad_jsonl_decoder {
  ad_value_t *values; /* ncolumns */
  size_t nvalues;
  ad_value_t *items;
  size_t nitems, cap_items;
} ad_jsonl_decoder_t;

void ad_jsonl_decoder_init(ad_jsonl_decoder_t *d);
void ad_jsonl_decoder_free(ad_jsonl_decoder_t *d);

/* rec from a parsed line of table's file; its strings point into line,
 * its values into d, both valid until the next call or until line goes.
 * AD_EPARSE with what is wrong in err (the record is not read; rec->id is
 * set when the line had one), or AD_ENOMEM. */
int ad_jsonl_record_read(ad_jsonl_decoder_t *d, const ad_table_t *table,
                         json_object *line, ad_record_t *rec, char *err,
                         size_t errlen);

#endif
