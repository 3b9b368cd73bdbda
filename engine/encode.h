/* ad_encoder: how a sink turns neutral records (record.h) into the units
 * it writes, run where the source parses its pages.
 *
 * A source parses each page off the loop (libuv's thread pool), and its
 * records are encoded there too, right after, while the parsed page is in
 * the cache and before it is freed: the sink's wire format is built once,
 * the loop only moves bytes, and no value is copied in between.
 *
 *   prepare  on the loop, once per table, when the source announces it
 *            (its columns known) and before any of its records: builds
 *            what encoding needs (column keys, say) into table->sink_data,
 *            or refuses the table (a table the sink cannot hold: it fails
 *            alone, before anything of it is read);
 *   encode   on a worker thread: appends one record's unit to the page
 *            (ad_page_begin, bytes, ad_page_commit). It may read the table
 *            and what prepare made, never write them, and must not touch
 *            anything else shared: several pages encode at once. */
#ifndef AD_ENCODE_H
#define AD_ENCODE_H

#include <stddef.h>

#include "buf.h"
#include "page.h"
#include "record.h"
#include "table.h"

/* What of a record, beyond its id and values, an encoder reads: a
 * source may skip making what nobody reads (the record's link and its
 * creation time cost a fifth of the neutral conversion per record). */
enum {
  AD_ENCODE_URL = 1,     /* ad_record_t.url */
  AD_ENCODE_CREATED = 2  /* ad_record_t.created_ms */
};

typedef struct ad_encoder {
  /* Returns 0, AD_ENOMEM, or AD_EINVAL with a one-line reason in err (the
   * table fails with it). */
  int (*prepare)(void *data, ad_table_t *table, char *err, size_t errlen);
  /* Returns 0, AD_ENOMEM, or AD_EPARSE with a reason in err for a record
   * it cannot write (counted failed, the others go on). scratch is the
   * calling worker's own buffer. */
  int (*encode)(void *data, const ad_table_t *table, const ad_record_t *rec,
                ad_page_t *page, ad_buf_t *scratch, char *err,
                size_t errlen);
  void *data; /* the sink's; outlives every page */
  unsigned wants; /* AD_ENCODE_*; a record's url and created_ms are NULL
                     and 0 where the encoder does not want them */
} ad_encoder_t;

#endif
