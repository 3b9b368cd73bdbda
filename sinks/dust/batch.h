/* ad_dust_batch: the body of one Dust write, built from page units.
 *
 * A rows batch grows a row at a time into {"rows":[…; its tail, with the
 * truncate flag, is added when it is sent, so the flag can be chosen late
 * and changed for a resend. A document batch holds one document body.
 * Each unit's record id is kept, to name it in failures and to split. */
#ifndef AD_DUST_BATCH_H
#define AD_DUST_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct ad_dust_span {
  size_t off, len; /* the unit in body */
  size_t id_off;   /* its record id, NUL-terminated, in ids */
  unsigned char hash[16]; /* the page's hash of the unit (ad_page_hash) */
  uint64_t seq;           /* its number in the run (ad_page_seq) */
} ad_dust_span_t;

typedef struct ad_dust_batch {
  ad_buf_t body;
  size_t open_len; /* body length without its tail */
  ad_buf_t ids;
  ad_dust_span_t *units;
  size_t n, cap;
  size_t max_bytes; /* a rows body stays under this, one row excepted */
  int document;
} ad_dust_batch_t;

/* An empty rows batch whose body stays under max_bytes (0 =
 * AD_DUST_MAX_ROWS_BODY) unless its only row is larger. */
void ad_dust_batch_init(ad_dust_batch_t *b, size_t max_bytes);
void ad_dust_batch_free(ad_dust_batch_t *b);

/* Whether a row of len bytes may join without passing max_bytes; an
 * empty batch takes any row. */
int ad_dust_batch_fits(const ad_dust_batch_t *b, size_t len);

/* Appends a serialized row and its record id (both copied). Returns 0 or
 * AD_ENOMEM. */
int ad_dust_batch_add_row(ad_dust_batch_t *b, const char *id, const char *row,
                          size_t len);

/* Makes b a document batch: the body is the document unit with
 * light_document_output added. AD_EINVAL if the unit is not an object. */
int ad_dust_batch_set_document(ad_dust_batch_t *b, const char *id,
                               const char *unit, size_t len);

/* Finishes a rows body with the truncate flag (again, for a resend); a
 * document body is left as it is. */
int ad_dust_batch_seal(ad_dust_batch_t *b, int truncate);

/* Moves the second half of a rows batch of two rows or more into rest (an
 * initialised, empty batch); b keeps the first half. AD_EINVAL for fewer
 * than two rows, AD_ENOMEM (b is then unchanged). */
int ad_dust_batch_split(ad_dust_batch_t *b, ad_dust_batch_t *rest);

static inline const char *ad_dust_batch_id(const ad_dust_batch_t *b,
                                           size_t i) {
  return b->ids.data + b->units[i].id_off;
}

/* The hash (16 bytes, copied; NULL leaves zeros) and number of the unit
 * added last, handed back with its acknowledgement; a split keeps each
 * unit's. */
void ad_dust_batch_mark_last(ad_dust_batch_t *b, const unsigned char *hash,
                             uint64_t seq);
static inline const unsigned char *ad_dust_batch_hash(const ad_dust_batch_t *b,
                                                      size_t i) {
  return b->units[i].hash;
}

#endif
