#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "request.h"

void ad_dust_batch_init(ad_dust_batch_t *b, size_t max_bytes) {
  memset(b, 0, sizeof(*b));
  ad_buf_init(&b->body, 0);
  ad_buf_init(&b->ids, 0);
  b->max_bytes = max_bytes ? max_bytes : AD_DUST_MAX_ROWS_BODY;
}

void ad_dust_batch_free(ad_dust_batch_t *b) {
  ad_buf_free(&b->body);
  ad_buf_free(&b->ids);
  free(b->units);
  b->units = NULL;
  b->n = b->cap = 0;
}

int ad_dust_batch_fits(const ad_dust_batch_t *b, size_t len) {
  return b->n == 0 ||
         b->open_len + 1 + len + AD_DUST_ROWS_OVERHEAD <= b->max_bytes;
}

/* Room for one more span, and the id appended; the caller fills the
 * span's off and len. */
static ad_dust_span_t *ad_dust_batch_span(ad_dust_batch_t *b, const char *id) {
  ad_dust_span_t *grown;
  size_t id_off = b->ids.len;

  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    grown = realloc(b->units, cap * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    b->units = grown;
    b->cap = cap;
  }
  if (ad_buf_append(&b->ids, id, strlen(id) + 1) != 0)
    return NULL;
  b->units[b->n].id_off = id_off;
  memset(b->units[b->n].hash, 0, sizeof(b->units[b->n].hash));
  b->units[b->n].seq = 0;
  return &b->units[b->n];
}

void ad_dust_batch_mark_last(ad_dust_batch_t *b, const unsigned char *hash,
                             uint64_t seq) {
  if (b->n == 0)
    return;
  if (hash != NULL)
    memcpy(b->units[b->n - 1].hash, hash, sizeof(b->units[b->n - 1].hash));
  b->units[b->n - 1].seq = seq;
}

int ad_dust_batch_add_row(ad_dust_batch_t *b, const char *id, const char *row,
                          size_t len) {
  ad_dust_span_t *span;
  size_t ids_len = b->ids.len;
  int rc;

  if (b->n == 0 && b->body.len == 0 && ad_dust_rows_open(&b->body) != 0)
    return AD_ENOMEM;
  b->body.len = b->open_len > 0 ? b->open_len : b->body.len;
  if ((span = ad_dust_batch_span(b, id)) == NULL)
    return AD_ENOMEM;
  span->off = b->body.len + (b->n > 0 ? 1 : 0);
  span->len = len;
  rc = ad_dust_rows_add(&b->body, b->n, row, len);
  if (rc != 0) {
    b->ids.len = ids_len;
    return rc;
  }
  b->n++;
  b->open_len = b->body.len;
  return 0;
}

int ad_dust_batch_set_document(ad_dust_batch_t *b, const char *id,
                               const char *unit, size_t len) {
  ad_dust_span_t *span;
  int rc;

  if (b->n != 0)
    return AD_EINVAL;
  ad_buf_reset(&b->body);
  rc = ad_dust_document_body(&b->body, unit, len);
  if (rc != 0)
    return rc;
  if ((span = ad_dust_batch_span(b, id)) == NULL)
    return AD_ENOMEM;
  span->off = 0;
  span->len = b->body.len;
  b->n = 1;
  b->open_len = b->body.len;
  b->document = 1;
  return 0;
}

int ad_dust_batch_seal(ad_dust_batch_t *b, int truncate) {
  if (b->document)
    return 0;
  if (b->n == 0 && b->body.len == 0 && ad_dust_rows_open(&b->body) != 0)
    return AD_ENOMEM;
  if (b->open_len == 0)
    b->open_len = b->body.len;
  b->body.len = b->open_len;
  return ad_dust_rows_close(&b->body, truncate);
}

/* Rebuilds b from its units [from, to) into out. */
static int ad_dust_batch_copy(const ad_dust_batch_t *b, size_t from, size_t to,
                              ad_dust_batch_t *out) {
  size_t i;
  int rc = 0;
  for (i = from; i < to && rc == 0; i++) {
    rc = ad_dust_batch_add_row(out, ad_dust_batch_id(b, i),
                               b->body.data + b->units[i].off, b->units[i].len);
    if (rc == 0)
      ad_dust_batch_mark_last(out, b->units[i].hash, b->units[i].seq);
  }
  return rc;
}

int ad_dust_batch_split(ad_dust_batch_t *b, ad_dust_batch_t *rest) {
  ad_dust_batch_t first;
  size_t half = b->n / 2;

  if (b->n < 2 || b->document || rest->n != 0)
    return AD_EINVAL;
  ad_dust_batch_init(&first, b->max_bytes);
  if (ad_dust_batch_copy(b, 0, half, &first) != 0 ||
      ad_dust_batch_copy(b, half, b->n, rest) != 0) {
    ad_dust_batch_free(&first);
    ad_dust_batch_free(rest);
    ad_dust_batch_init(rest, b->max_bytes);
    return AD_ENOMEM;
  }
  ad_dust_batch_free(b);
  *b = first;
  return 0;
}
