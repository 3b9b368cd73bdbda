/* Airtable cell values -> Dust cells and readable text (docs/mapping.md).
 *
 * One table maps every Airtable field type to an encoder; unknown types get
 * the JSON-text encoder. Encoders are pure functions from json-c values to
 * JSON text. */
#ifndef AD_CELLS_H
#define AD_CELLS_H

#include <json-c/json.h>

#include "buf.h"

typedef struct ad_cell_codec ad_cell_codec_t;

/* The codec for an Airtable field type name; never NULL. */
const ad_cell_codec_t *ad_cell_codec(const char *airtable_type);

/* Appends the Dust cell for a value (NULL when the record has no such
 * key) to out, as JSON text ("null" for a null cell). scratch is a work
 * buffer the caller keeps from call to call. Returns 0, AD_ENOMEM or
 * AD_ETOOBIG (out's cap). */
int ad_cell_write(const ad_cell_codec_t *codec, json_object *value,
                  ad_buf_t *out, ad_buf_t *scratch);

/* Appends readable text for a value (documents, list cells); error values
 * and empty cells append nothing. */
int ad_cell_text(json_object *value, ad_buf_t *out);

/* Whether the codec renders attachments (documents treat those apart). */
int ad_cell_is_attachment(const ad_cell_codec_t *codec);

/* Parses an ISO 8601 date or date-time (UTC "Z" or +hh:mm offset) into
 * Unix epoch milliseconds. Returns 0 on success, -1 if not such a date. */
int ad_parse_iso8601_ms(const char *s, int64_t *ms);

#endif
