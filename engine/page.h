/* ad_page: the unit that travels through the queue, one source page.
 *
 * A page holds the serialized units of one table's records, back to back
 * in one buffer: a Dust row {"row_id":…,"value":{…}} in tables format, a
 * document body {"title":…,"text":…,…} in documents format. Each record is
 * serialized once by the source; the sink only copies bytes. */
#ifndef AD_PAGE_H
#define AD_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "queue.h"
#include "table.h"

typedef struct ad_unit {
  size_t id_off, id_len; /* the record id, NUL-terminated in data */
  size_t off, len;       /* the serialized unit */
} ad_unit_t;

typedef struct ad_page {
  ad_queue_item_t item; /* item.rows = nunits, item.bytes = data.len */
  ad_table_t *table;    /* one reference, dropped by ad_page_free */
  int first;            /* the table's first page of this run */
  int last;             /* the table is fully read after this page */
  ad_buf_t data;
  ad_unit_t *units;
  size_t nunits, cap;
} ad_page_t;

/* A new empty page taking a new reference to table; NULL on ENOMEM. */
ad_page_t *ad_page_new(ad_table_t *table);

/* Starts a unit for record id (copied): append the unit's bytes to
 * page->data, then call ad_page_commit, or ad_page_abort to drop them.
 * Returns 0 or AD_ENOMEM. */
int ad_page_begin(ad_page_t *page, const char *id, size_t id_len);
void ad_page_commit(ad_page_t *page);
void ad_page_abort(ad_page_t *page);

static inline const char *ad_page_unit_id(const ad_page_t *page, size_t i) {
  return page->data.data + page->units[i].id_off;
}
static inline const char *ad_page_unit(const ad_page_t *page, size_t i) {
  return page->data.data + page->units[i].off;
}

void ad_page_free(ad_page_t *page);

#endif
