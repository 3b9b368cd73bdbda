/* ad_table: one source table as the sink sees it.
 *
 * Made by the source when it discovers the table and shared, counted, by
 * every page of it in the queue, so a sink may still write a table's rows
 * after the source has finished reading it. Holds no source types. */
#ifndef AD_TABLE_H
#define AD_TABLE_H

#include <stddef.h>

typedef struct ad_table {
  char *base_id;
  char *base_name;  /* NULL when not known (one-table mode) */
  char *table_id;
  char *table_name;
  char *description; /* "" when the source has none */
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
 * NULL when out of memory. */
ad_table_t *ad_table_new(const char *base_id, const char *base_name,
                         const char *table_id, const char *table_name,
                         const char *description);

ad_table_t *ad_table_ref(ad_table_t *table);

/* Marks the table failed; returns 1 the first time only, so a table that
 * fails on both sides counts once in tables_failed. */
int ad_table_mark_failed(ad_table_t *table);

/* Drops a reference; the last one frees the table and its sink data. */
void ad_table_unref(ad_table_t *table);

#endif
