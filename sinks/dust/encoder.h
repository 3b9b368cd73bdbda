/* ad_dust_encoder: Dust's side of the neutral record model (record.h):
 * neutral records in, the units the sink writes out — a row
 * {"row_id":…,"value":{…}} in tables format, a document body
 * {"title","text","source_url","timestamp","tags"} in documents format
 * (docs/mapping.md). Every rule that is Dust's lives here: column keys,
 * the 512-column limit, datetime cells, integers past 2^53 as text, list
 * cells as text, document titles, texts and tags and their 512-unit cuts.
 *
 *   prepare  on the loop, once per table: checks the width, computes the
 *            table's layout (its column keys, its primary column) and
 *            makes the sink's state of the table (sink.c), which holds it;
 *   encode   on a worker: reads the table and its layout, writes only the
 *            page, the worker's scratch and its own locals.
 *
 * The functions below the encoder are pure, for the tests and for encode;
 * each returns 0, AD_ENOMEM or AD_ETOOBIG (a buffer's cap). */
#ifndef AD_DUST_ENCODER_H
#define AD_DUST_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "page.h"
#include "record.h"
#include "sink.h"
#include "table.h"

#define AD_DUST_MAX_COLUMNS 512 /* a Dust table's columns (dust-api.md) */
/* Dust refuses titles over 512 characters and cuts tags there. */
#define AD_DUST_MAX_TITLE 512
#define AD_DUST_MAX_TAG 512
/* Largest integer a JSON number survives Dust's JavaScript front with. */
#define AD_DUST_MAX_SAFE_INT INT64_C(9007199254740991)

/* The sink plugin's prepare, encode and wants (airdust_plugin.h); the
 * first argument is the ad_dust_sink_t, which outlives every page. */
int ad_dust_encoder_prepare(void *sink, ad_table_t *table, char *err,
                            size_t errlen);
int ad_dust_encoder_encode(void *sink, const ad_table_t *table,
                           const ad_record_t *rec, ad_page_t *page,
                           ad_buf_t *scratch, char *err, size_t errlen);
unsigned ad_dust_encoder_wants(void *sink);

/* What encoding a table needs, computed once from its columns. */
typedef struct ad_dust_layout ad_dust_layout_t;
struct ad_dust_layout {
  int documents;   /* the format it was made for */
  size_t ncolumns; /* the table's, when it was made */
  /* Tables format: each column's Dust key, in column order (NULL in
   * documents format). Keys are [a-z0-9_]+, unique in the table. */
  char **keys;
  size_t *key_lens;
  size_t primary; /* the AD_COLUMN_PRIMARY column, SIZE_MAX if none */
};

/* The layout of table for a format. AD_EINVAL with the reason in err when
 * Dust cannot hold the table (tables format, over AD_DUST_MAX_COLUMNS
 * columns), AD_ENOMEM; free with ad_dust_layout_free either way. */
int ad_dust_layout_init(ad_dust_layout_t *layout, const ad_table_t *table,
                        int documents, char *err, size_t errlen);
void ad_dust_layout_free(ad_dust_layout_t *layout);

/* AD_EINVAL with "table \"X\" has N fields; a Dust table holds at most
 * 512 columns (use the documents format for it)" in err when table is
 * too wide for a Dust table (tables format only), else 0. */
int ad_dust_check_width(const ad_table_t *table, int documents, char *err,
                        size_t errlen);

/* The cell of one value, as JSON text: null, a string, a number (an
 * integer past ±(2^53−1) as a string of its digits), true/false,
 * {"type":"datetime","epoch":ms}, a list as its items' text joined with
 * ", " (null when that is empty), JSON as a string of its text. scratch
 * is a work buffer. */
int ad_dust_cell(const ad_value_t *value, ad_buf_t *out, ad_buf_t *scratch);

/* Appends the readable text of a value: text as is, numbers as written in
 * cells, true/false, a datetime as YYYY-MM-DD (a date) or
 * YYYY-MM-DDTHH:MM:SS.mmmZ, a list's items' text joined with ", " (empty
 * ones skipped), JSON as its text; NULL (and a number that is not finite)
 * appends nothing. Both: AD_EINVAL for a value of no known kind. */
int ad_dust_text(const ad_value_t *value, ad_buf_t *out);

/* The row {"row_id":id,"value":{key:cell,…}}, every column, in order. */
int ad_dust_row(const ad_table_t *table, const ad_dust_layout_t *layout,
                const ad_record_t *rec, ad_buf_t *out, ad_buf_t *scratch);

/* The semantic identifier: "Base > Table: primary" (base_name set) or
 * "Table: primary"; without ": primary" when the primary reads empty or
 * the table has none. Uncut. */
int ad_dust_title(const ad_table_t *table, const ad_dust_layout_t *layout,
                  const ad_record_t *rec, ad_buf_t *out);

/* The document body of a record. out keeps nothing of a failed one. */
int ad_dust_document(const ad_table_t *table, const ad_dust_layout_t *layout,
                     const ad_record_t *rec, ad_buf_t *out, ad_buf_t *scratch);

/* The byte length of the longest prefix of s (len bytes of UTF-8) that
 * holds at most max_units UTF-16 code units (JavaScript's string length)
 * and does not split a character. */
size_t ad_dust_utf16_prefix(const char *s, size_t len, size_t max_units);

#endif
