/* Airtable cell values -> Dust cells and readable text (docs/mapping.md).
 *
 * One table maps every Airtable field type to an encoder; unknown types get
 * the JSON-text encoder. Encoders are pure functions over json-c values. */
#ifndef AD_CELLS_H
#define AD_CELLS_H

#include <json-c/json.h>

#include "buf.h"

typedef struct ad_cell_codec ad_cell_codec_t;

/* The codec for an Airtable field type name; never NULL. */
const ad_cell_codec_t *ad_cell_codec(const char *airtable_type);

/* The Dust cell for a value (NULL when the record has no such key):
 * a new json-c reference the caller puts, or NULL for a null cell. Text is
 * shared with the input value, never copied. Returns 0 or AD_ENOMEM. */
int ad_cell_encode(const ad_cell_codec_t *codec, json_object *value,
                   json_object **cell);

/* Appends readable text for a value (documents, list cells); error values
 * and empty cells append nothing. */
int ad_cell_text(json_object *value, ad_buf_t *out);

/* Whether the codec renders attachments (documents treat those apart). */
int ad_cell_is_attachment(const ad_cell_codec_t *codec);

/* Parses an ISO 8601 date or date-time (UTC "Z" or +hh:mm offset) into
 * Unix epoch milliseconds. Returns 0 on success, -1 if not such a date. */
int ad_parse_iso8601_ms(const char *s, int64_t *ms);

#endif
