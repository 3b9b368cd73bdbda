/* ad_queue: a bounded FIFO of row-carrying items between sources and sinks.
 *
 * Capacity is counted in rows and in bytes. A producer reserves room before
 * it fetches (ad_queue_reserve) and turns the reservation into an item when
 * the data arrives (ad_queue_push), so the row bound holds however many
 * fetches are in flight. Bytes are only known on arrival: a reservation is
 * granted while any byte room is left, so the byte bound can be passed by
 * at most the bytes of the fetches in flight.
 *
 * on_high fires when the queue (items + reservations) reaches a bound;
 * on_low fires when, after that, it falls to low_ratio of both bounds:
 * producers pause and resume on those. Items are embedded in the caller's
 * structs; the queue never allocates. */
#ifndef AD_QUEUE_H
#define AD_QUEUE_H

#include <stddef.h>

#include "list.h"

typedef struct ad_queue ad_queue_t;
typedef void (*ad_queue_cb)(ad_queue_t *queue, void *data);

typedef struct ad_queue_item {
  ad_list_t node;
  size_t rows;
  size_t bytes;
} ad_queue_item_t;

typedef struct ad_queue_opts {
  size_t max_rows;  /* > 0 */
  size_t max_bytes; /* 0 = no byte bound */
  double low_ratio; /* resume point, in (0, 1); 0 = 0.5 */
  ad_queue_cb on_high;
  ad_queue_cb on_low;
  void *data; /* passed to the callbacks */
} ad_queue_opts_t;

struct ad_queue {
  /* Readable at any time. */
  size_t rows, bytes;                   /* held in items */
  size_t reserved_rows, reserved_bytes; /* promised to producers */
  size_t items;
  size_t peak_rows, peak_bytes;         /* most held + reserved at once */
  int high;                             /* between on_high and on_low */
  /* Private. */
  ad_queue_opts_t opts;
  ad_list_t list;
};

/* Returns AD_EINVAL for max_rows 0 or a low_ratio outside (0, 1). */
int ad_queue_init(ad_queue_t *queue, const ad_queue_opts_t *opts);

/* Reserves room for rows (exact) and bytes (an estimate). Returns
 * AD_EAGAIN when there is not enough room: on_low follows, even when the
 * queue was not at a bound (the refusal itself marks it high). A request
 * for more than max_rows is never granted. */
int ad_queue_reserve(ad_queue_t *queue, size_t rows, size_t bytes);

/* Gives back a reservation that will not be pushed (a failed fetch). */
void ad_queue_release(ad_queue_t *queue, size_t rows, size_t bytes);

/* Appends item (item->rows <= rows reserved) and consumes the reservation
 * of (rows, bytes) that was made for it. The queue holds item until it is
 * popped; the caller keeps ownership of its memory. */
void ad_queue_push(ad_queue_t *queue, ad_queue_item_t *item, size_t rows,
                   size_t bytes);

/* Oldest item, or NULL when empty; the caller owns it again. */
ad_queue_item_t *ad_queue_pop(ad_queue_t *queue);

/* Whether a reservation of rows (and some bytes) would be granted now. */
int ad_queue_has_room(const ad_queue_t *queue, size_t rows);

#endif
