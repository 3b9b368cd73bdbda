#include "utf8.h"

#include <stdint.h>
#include <string.h>

#include "error.h"

/* How many bytes at s begin a well-formed sequence (Unicode table 3-7),
 * and in *need how many it takes: the sequence is whole when they match.
 * An invalid lead byte gives 0. */
static size_t ad_utf8_prefix(const unsigned char *s, size_t len,
                             size_t *need) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t i;

  *need = 1;
  if (c < 0x80)
    return 1;
  if (c < 0xC2 || c > 0xF4)
    return 0;
  *need = c <= 0xDF ? 2 : c <= 0xEF ? 3 : 4;
  if (c == 0xE0)
    lo = 0xA0; /* no overlong forms */
  else if (c == 0xED)
    hi = 0x9F; /* no surrogates */
  else if (c == 0xF0)
    lo = 0x90;
  else if (c == 0xF4)
    hi = 0x8F; /* nothing past U+10FFFF */
  if (len < 2 || s[1] < lo || s[1] > hi)
    return 1;
  for (i = 2; i < *need && i < len && (s[i] & 0xC0) == 0x80; i++)
    ;
  return i;
}

size_t ad_utf8_valid(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, need;
  uint64_t w;

  while (i < len) {
    if (len - i >= 8) {
      memcpy(&w, u + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    if (ad_utf8_prefix(u + i, len - i, &need) != need)
      return i;
    i += need;
  }
  return len;
}

int ad_utf8_repair(ad_buf_t *out, const char *s, size_t len,
                   size_t *replaced) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, good, need, bad, count = 0;

  while (i < len) {
    good = ad_utf8_valid(s + i, len - i);
    if (ad_buf_append(out, s + i, good) != 0)
      return AD_ENOMEM;
    i += good;
    if (i == len)
      break;
    if (ad_buf_append(out, "\xEF\xBF\xBD", 3) != 0)
      return AD_ENOMEM;
    /* One U+FFFD for the maximal subpart: the bytes that began a
     * sequence, or the one byte that could not. */
    bad = ad_utf8_prefix(u + i, len - i, &need);
    i += bad > 0 ? bad : 1;
    count++;
  }
  if (replaced != NULL)
    *replaced = count;
  return 0;
}
