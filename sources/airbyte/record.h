/* ad_ab record: the data of one Airbyte RECORD message as a neutral
 * record (engine/record.h) of its stream's table (catalog.h). Pure
 * functions.
 *
 * Cells, one per column. A value that cannot be read as its column's kind
 * fails the record: it is never left out as NULL, nor kept as another
 * kind, since a column holds one type in Dust.
 *   null, or missing   NULL, whatever the kind
 *   text       a string as it is; a number or boolean as its JSON text; an
 *              object or array as its JSON text
 *   int        an integer; a number with an integral value that fits an
 *              int64 (3.0); a string of one ("-42": an optional '-' and
 *              digits)
 *   float      a number, with the digits it was written with ("1.50"); a
 *              string holding a finite JSON number
 *   bool       true, false, "true", "false"
 *   datetime   a date or date-time string (ad_iso_parse; a date alone is a
 *              date cell); never a number: seconds or milliseconds, no
 *              one can tell
 *   json       any value's JSON text (a string's with its quotes)
 *   _airbyte_data           the whole data object's JSON text
 *   _airbyte_extracted_at   the message's emitted_at (NULL when 0)
 *   _airbyte_generation_id  the stream's generation_id
 * Members of data the schema has no property for are left out: the
 * catalog says what the destination holds, and a record adds no column.
 * JSON text is json-c's plain form, with '/' unescaped.
 *
 * Ids (at most AD_AB_ID_MAX bytes: a longer one keeps its head and ends
 * in "-" and the 32 hex digits of the whole id's XXH3-128):
 *   with a primary key, each component (a path walked through objects)
 *   must be a string, number or boolean: its text is the string, or the
 *   number's or boolean's JSON text;
 *     rows       the components joined with '|', each with '%', '|' and
 *                NUL bytes escaped as %25, %7C, %00 (no two keys meet)
 *     documents  "<stream>-<c1>-<c2>…" with every byte outside
 *                [A-Za-z0-9_-] made '_': the id the Python Airbyte
 *                destination for Dust gives, so a sync that moves to
 *                airdust overwrites its documents rather than doubling
 *                them. When two records could meet there — a byte of a
 *                key part replaced, a '-' inside a part of a composite
 *                key ("a-b","c" and "a","b-c"), or another stream of the
 *                catalog whose name reads the same once made safe (the
 *                same name in another namespace, "a b" and "a.b") — "-"
 *                and the first 12 hex digits of the XXH3-128 of the rows
 *                id, the namespace and the stream's name (NUL-separated)
 *                follow, so no two records share a document.
 *   without one, the 32 hex digits of the XXH3-128 of data's plain JSON
 *   text (a record sent twice is one record):
 *     rows       "<hex>"
 *     documents  "<stream, bytes replaced as above>-<hex>", and the
 *                suffix above when another stream's name reads the
 *                same */
#ifndef AD_AB_RECORD_H
#define AD_AB_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "airdust_plugin.h"
#include "buf.h"
#include "catalog.h"

#define AD_AB_ID_MAX 512 /* bytes of an id, as Dust takes them */

/* A primary key component's text, borrowed from the data. */
typedef struct ad_ab_part {
  const char *s;
  size_t n;
} ad_ab_part_t;

/* What reading records needs, reused from one to the next. */
typedef struct ad_ab_decoder {
  ad_value_t *values; /* one per column of the last stream read */
  size_t cap;
  ad_ab_part_t *parts; /* the primary key's components */
  size_t cap_parts;
  ad_buf_t id;      /* the record's id */
  ad_buf_t scratch; /* the rows id a documents id hashes */
} ad_ab_decoder_t;

void ad_ab_decoder_init(ad_ab_decoder_t *d);
void ad_ab_decoder_free(ad_ab_decoder_t *d);

/* rec from data (the RECORD's "data" object) of stream s, emitted_at in
 * milliseconds (0: not known, a NULL _airbyte_extracted_at). documents:
 * the ids of Dust documents, else of table rows. rec's strings point
 * into data (it must outlive the use of rec; json-c keeps a value's
 * JSON text with the value, so no other serialisation of a value of data
 * may come between) and into d (until the next call); rec->created_ms is
 * emitted_at, rec->url NULL. Returns 0; AD_EPARSE with err naming the
 * field and why ("field \"age\": expected an integer, got \"abc\"";
 * "primary key \"id\" is missing"; "data is not an object"), rec's id
 * then NULL; or AD_ENOMEM. */
int ad_ab_record_read(ad_ab_decoder_t *d, const ad_ab_stream_t *s,
                      json_object *data, int64_t emitted_at, int documents,
                      ad_record_t *rec, char *err, size_t errlen);

#endif
