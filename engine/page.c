#include "page.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

ad_page_t *ad_page_new(ad_table_t *table) {
  ad_page_t *page = calloc(1, sizeof(*page));
  if (page == NULL)
    return NULL;
  ad_list_init(&page->item.node);
  ad_buf_init(&page->data, 0);
  page->table = ad_table_ref(table);
  return page;
}

/* The pending unit lives in units[nunits] until it is committed. */
int ad_page_begin(ad_page_t *page, const char *id, size_t id_len) {
  ad_unit_t *u, *grown;
  size_t cap;
  int rc;

  if (page->nunits == page->cap) {
    cap = page->cap ? page->cap * 2 : 128;
    grown = realloc(page->units, cap * sizeof(*grown));
    if (grown == NULL)
      return AD_ENOMEM;
    page->units = grown;
    page->cap = cap;
  }
  u = &page->units[page->nunits];
  memset(u->hash, 0, sizeof(u->hash));
  u->id_off = page->data.len;
  u->id_len = id_len;
  rc = ad_buf_append(&page->data, id, id_len);
  if (rc == 0)
    rc = ad_buf_append(&page->data, "", 1);
  if (rc != 0) {
    ad_page_abort(page);
    return rc;
  }
  u->off = page->data.len;
  return 0;
}

void ad_page_commit(ad_page_t *page) {
  ad_unit_t *u = &page->units[page->nunits++];
  u->len = page->data.len - u->off;
  page->item.rows = page->nunits;
  page->item.bytes = page->data.len;
}

void ad_page_abort(ad_page_t *page) {
  ad_unit_t *u = &page->units[page->nunits];
  page->data.len = u->id_off;
  if (page->data.data != NULL)
    page->data.data[u->id_off] = '\0';
}

void ad_page_free(ad_page_t *page) {
  if (page == NULL)
    return;
  ad_table_unref(page->table);
  ad_buf_free(&page->data);
  free(page->units);
  free(page);
}

int ad_page_append(ad_page_t *page, const void *bytes, size_t len) {
  return ad_buf_append(&page->data, bytes, len);
}

ad_table_t *ad_page_table(const ad_page_t *page) { return page->table; }

size_t ad_page_count(const ad_page_t *page) { return page->nunits; }

const char *ad_page_id(const ad_page_t *page, size_t i) {
  return ad_page_unit_id(page, i);
}

const char *ad_page_data(const ad_page_t *page, size_t i, size_t *len) {
  if (len != NULL)
    *len = page->units[i].len;
  return ad_page_unit(page, i);
}

const unsigned char *ad_page_hash(const ad_page_t *page, size_t i) {
  return page->units[i].hash;
}

uint64_t ad_page_seq(const ad_page_t *page, size_t i) {
  return page->units[i].seq;
}

int ad_page_is_first(const ad_page_t *page) { return page->first; }

int ad_page_is_last(const ad_page_t *page) { return page->last; }
