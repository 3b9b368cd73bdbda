/* ad_iso: dates and times in ISO 8601, to and from milliseconds since
 * 1970-01-01T00:00:00Z (UTC). Pure functions. */
#ifndef AD_ISOTIME_H
#define AD_ISOTIME_H

#include <stdint.h>

#include "buf.h"

/* Appends "YYYY-MM-DD" (date_only) or "YYYY-MM-DDTHH:MM:SS.mmmZ"; years
 * outside 0000-9999 as printf writes them. 0, AD_ENOMEM or AD_ETOOBIG. */
int ad_iso_format(int64_t ms, int date_only, ad_buf_t *out);

/* Reads s (NUL-terminated): a date "YYYY-MM-DD", or a date and time
 * "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm|-hh:mm]" (a space may stand for the
 * T). 0 with *ms and *date_only (may be NULL) set, or -1 when s is not
 * that. */
int ad_iso_parse(const char *s, int64_t *ms, int *date_only);

#endif
