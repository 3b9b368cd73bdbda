/* ad_table: one source table as the sink sees it.
 *
 * Made by the source when it discovers the table and shared, counted, by
 * every page of it in the queue, so a sink may still write a table's rows
 * after the source has finished reading it. Holds no source types. */
#ifndef AD_TABLE_H
#define AD_TABLE_H

#include <stddef.h>

#include "record.h"

/* A column of a table: the same column keeps its id across renames. */
typedef struct ad_column {
  char *id;       /* stable (Airtable's field id) */
  char *name;     /* what people call it */
  ad_kind_t kind; /* what its values are; a cell may still be NULL, or of
                     another kind where the source could not read it */
  unsigned flags; /* AD_COLUMN_* */
} ad_column_t;

enum {
  AD_COLUMN_PRIMARY = 1, /* names the record (a document's title) */
  AD_COLUMN_FILES = 2    /* holds files: never a tag */
};

enum {
  /* The source's config asks for the fields as tags as well (Airtable's
   * treat_all_non_attachment_fields_as_metadata). */
  AD_TABLE_FIELDS_AS_TAGS = 1
};

typedef struct ad_table {
  char *origin;     /* whose ids these are ("airtable"): a sink may put it
                       in what it names (document ids) */
  char *base_id;
  char *base_name;  /* NULL when not known (one-table mode) */
  char *table_id;
  char *table_name;
  char *description; /* "" when the source has none */
  ad_column_t *columns; /* in the order of a record's values */
  size_t ncolumns;
  unsigned flags;    /* AD_TABLE_* */
  int failed;        /* set once by whichever side fails the table */
  int stats_base;    /* its base's index in stats->per_base, -1 unknown */
  /* Per-table state of the sink; sink_free (may be NULL) frees it with the
   * table. */
  void *sink_data;
  void (*sink_free)(void *sink_data);
  /* Private. */
  int refs;
} ad_table_t;

/* A table with one reference (strings copied; base_name may be NULL), or
 * NULL when out of memory. origin NULL is "". */
ad_table_t *ad_table_new(const char *origin, const char *base_id,
                         const char *base_name, const char *table_id,
                         const char *table_name, const char *description);

/* Appends a column (strings copied); returns 0 or AD_ENOMEM. Columns are
 * added before the table's first page, and never after. */
int ad_table_add_column(ad_table_t *table, const char *id, const char *name,
                        ad_kind_t kind, unsigned flags);

ad_table_t *ad_table_ref(ad_table_t *table);

/* Marks the table failed; returns 1 the first time only, so a table that
 * fails on both sides counts once in tables_failed. */
int ad_table_mark_failed(ad_table_t *table);

/* Drops a reference; the last one frees the table and its sink data. */
void ad_table_unref(ad_table_t *table);

#endif
