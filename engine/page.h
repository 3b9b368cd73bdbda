/* ad_page: the unit that travels through the queue, one source page
 * (its functions are public: include/airdust_plugin.h).
 *
 * A page holds the sink's units of one table's records, back to back in
 * one buffer (a Dust row, a document body, a line of JSON): each record
 * is encoded once, where the source reads it, and the sink only copies
 * bytes. This is its layout, for the engine and the plugins of this
 * tree. */
#ifndef AD_PAGE_H
#define AD_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "airdust_plugin.h"
#include "queue.h"
#include "table.h"

typedef struct ad_unit {
  size_t id_off, id_len; /* the record id, NUL-terminated in data */
  size_t off, len;       /* the serialized unit */
  unsigned char hash[16]; /* a recurring sync's hash of it, else zero */
  uint64_t seq;           /* its number in the run, given at the push */
} ad_unit_t;

struct ad_page {
  ad_queue_item_t item; /* item.rows = nunits, item.bytes = data.len */
  ad_table_t *table;    /* one reference, dropped by ad_page_free */
  int first;            /* the table's first page of this run */
  int last;             /* the table is fully read after this page */
  ad_buf_t data;
  ad_unit_t *units;
  size_t nunits, cap;
};

static inline const char *ad_page_unit_id(const ad_page_t *page, size_t i) {
  return page->data.data + page->units[i].id_off;
}
static inline const char *ad_page_unit(const ad_page_t *page, size_t i) {
  return page->data.data + page->units[i].off;
}

#endif
