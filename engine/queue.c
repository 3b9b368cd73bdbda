#include "queue.h"

#include <string.h>

#include "error.h"

int ad_queue_init(ad_queue_t *queue, const ad_queue_opts_t *opts) {
  memset(queue, 0, sizeof(*queue));
  if (opts->max_rows == 0 || opts->low_ratio < 0 || opts->low_ratio >= 1)
    return AD_EINVAL;
  queue->opts = *opts;
  if (queue->opts.low_ratio == 0)
    queue->opts.low_ratio = 0.5;
  ad_list_init(&queue->list);
  return 0;
}

static size_t ad_queue_used_rows(const ad_queue_t *q) {
  return q->rows + q->reserved_rows;
}

static size_t ad_queue_used_bytes(const ad_queue_t *q) {
  return q->bytes + q->reserved_bytes;
}

/* Fires the watermark callbacks on crossings, after every change. */
static void ad_queue_update(ad_queue_t *q) {
  size_t rows = ad_queue_used_rows(q), bytes = ad_queue_used_bytes(q);
  int at_high, at_low;

  if (rows > q->peak_rows)
    q->peak_rows = rows;
  if (bytes > q->peak_bytes)
    q->peak_bytes = bytes;
  at_high = rows >= q->opts.max_rows ||
            (q->opts.max_bytes != 0 && bytes >= q->opts.max_bytes);
  at_low = rows <= (size_t)(q->opts.low_ratio * (double)q->opts.max_rows) &&
           (q->opts.max_bytes == 0 ||
            bytes <= (size_t)(q->opts.low_ratio * (double)q->opts.max_bytes));
  if (!q->high && at_high) {
    q->high = 1;
    if (q->opts.on_high != NULL)
      q->opts.on_high(q, q->opts.data);
  } else if (q->high && at_low) {
    q->high = 0;
    if (q->opts.on_low != NULL)
      q->opts.on_low(q, q->opts.data);
  }
}

int ad_queue_has_room(const ad_queue_t *queue, size_t rows) {
  if (ad_queue_used_rows(queue) + rows > queue->opts.max_rows)
    return 0;
  return queue->opts.max_bytes == 0 ||
         ad_queue_used_bytes(queue) < queue->opts.max_bytes;
}

int ad_queue_reserve(ad_queue_t *queue, size_t rows, size_t bytes) {
  if (!ad_queue_has_room(queue, rows)) {
    /* Refused below the high mark (not room for these rows): count it as
     * high all the same, so that the refused producer hears on_low. */
    if (!queue->high) {
      queue->high = 1;
      if (queue->opts.on_high != NULL)
        queue->opts.on_high(queue, queue->opts.data);
    }
    return AD_EAGAIN;
  }
  queue->reserved_rows += rows;
  queue->reserved_bytes += bytes;
  ad_queue_update(queue);
  return 0;
}

static void ad_queue_unreserve(ad_queue_t *queue, size_t rows, size_t bytes) {
  queue->reserved_rows -= rows < queue->reserved_rows ? rows
                                                      : queue->reserved_rows;
  queue->reserved_bytes -= bytes < queue->reserved_bytes
                               ? bytes
                               : queue->reserved_bytes;
}

void ad_queue_release(ad_queue_t *queue, size_t rows, size_t bytes) {
  ad_queue_unreserve(queue, rows, bytes);
  ad_queue_update(queue);
}

void ad_queue_push(ad_queue_t *queue, ad_queue_item_t *item, size_t rows,
                   size_t bytes) {
  ad_queue_unreserve(queue, rows, bytes);
  queue->rows += item->rows;
  queue->bytes += item->bytes;
  queue->items++;
  ad_list_insert_tail(&queue->list, &item->node);
  ad_queue_update(queue);
}

ad_queue_item_t *ad_queue_pop(ad_queue_t *queue) {
  ad_list_t *node = ad_list_head(&queue->list);
  ad_queue_item_t *item;

  if (node == NULL)
    return NULL;
  ad_list_remove(node);
  item = ad_container_of(node, ad_queue_item_t, node);
  queue->rows -= item->rows;
  queue->bytes -= item->bytes;
  queue->items--;
  ad_queue_update(queue);
  return item;
}
