/* ad_utf8: finding and replacing bytes that are not UTF-8.
 *
 * Airtable sends UTF-8; a broken proxy or a mangled cell may not. Pages
 * are checked once, as bytes, before they are parsed (ASCII is skipped a
 * word at a time, so a clean page costs little), and a page with invalid
 * sequences is repaired by replacing each maximal invalid subpart with
 * U+FFFD, as the Unicode standard recommends, so that everything written
 * to Dust is UTF-8. Pure functions over buffers. */
#ifndef AD_UTF8_H
#define AD_UTF8_H

#include <stddef.h>

#include "buf.h"

/* Bytes from the start of s that are well-formed UTF-8 (len when all
 * are). Overlong forms, surrogates and code points past U+10FFFF are not
 * well-formed. */
size_t ad_utf8_valid(const char *s, size_t len);

/* Appends s to out with every invalid sequence replaced by U+FFFD (EF BF
 * BD); *replaced (may be NULL) gets how many were. Returns 0 or
 * AD_ENOMEM. */
int ad_utf8_repair(ad_buf_t *out, const char *s, size_t len,
                   size_t *replaced);

#endif
