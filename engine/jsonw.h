/* ad_jsonw: JSON text written straight into an ad_buf.
 *
 * The hot path turns each parsed Airtable page into Dust request bodies;
 * writing the text directly (instead of building json-c objects only to
 * serialize them) avoids an allocation per cell. The output is what
 * json-c's plain, no-slash-escape serializer would produce. */
#ifndef AD_JSONW_H
#define AD_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

/* Each returns 0, AD_ENOMEM or AD_ETOOBIG (the buffer's cap); on error
 * the buffer may hold part of the value. */

/* A JSON string: quotes, \" \\ and control characters escaped; other
 * bytes (UTF-8) as they are. */
int ad_jsonw_string(ad_buf_t *buf, const char *s, size_t len);
int ad_jsonw_int(ad_buf_t *buf, int64_t v);
/* A finite double, in the fewest digits that read back to the same value;
 * integral values keep a ".0" so they stay floats. Not finite: null. */
int ad_jsonw_double(ad_buf_t *buf, double v);
/* A json-c value (NULL: null), as json-c would serialize it. */
int ad_jsonw_value(ad_buf_t *buf, json_object *v);

/* {"key":"value"} in json-c's plain form (a source's identity: sync
 * memories are named by these exact bytes), malloc'd; NULL on ENOMEM. */
char *ad_jsonw_pair(const char *key, const char *value);

#endif
