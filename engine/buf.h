/* ad_buf: a growable byte buffer with an optional size cap.
 *
 * The bytes are always NUL-terminated (the terminator is not counted in
 * len), so a buffer can be handed to json-c or printf as a string. */
#ifndef AD_BUF_H
#define AD_BUF_H

#include <stddef.h>

typedef struct ad_buf {
  char *data; /* owned; NULL until the first append */
  size_t len;
  size_t cap;
  size_t max; /* 0 = unlimited */
} ad_buf_t;

/* max: the largest len the buffer may reach, 0 for no cap. */
void ad_buf_init(ad_buf_t *buf, size_t max);

/* Frees the bytes; the buffer may be reused after another ad_buf_init. */
void ad_buf_free(ad_buf_t *buf);

/* Empties the buffer but keeps its memory for reuse. */
void ad_buf_reset(ad_buf_t *buf);

/* Returns AD_ETOOBIG if the cap would be passed, AD_ENOMEM on allocation
 * failure; on error the buffer is unchanged. */
int ad_buf_append(ad_buf_t *buf, const void *bytes, size_t len);
int ad_buf_puts(ad_buf_t *buf, const char *s);
int ad_buf_printf(ad_buf_t *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends s percent-encoded: every byte but RFC 3986's unreserved
 * (letters, digits, "-._~"), so it is safe as a URL path segment or query
 * value. */
int ad_buf_escape(ad_buf_t *buf, const char *s);

/* Ensures room for len more bytes without changing the contents. */
int ad_buf_reserve(ad_buf_t *buf, size_t len);

/* An array of size-byte items at *p, *cap of them, made to hold at least
 * n (realloc'd exactly to n when it must grow; the items kept). 0 or
 * AD_ENOMEM (then unchanged). For decoders that reuse their arrays from
 * one record to the next. */
int ad_array_grow(void **p, size_t *cap, size_t n, size_t size);

/* Gives the caller the bytes (free() them); the buffer is left empty.
 * Returns an empty string rather than NULL when nothing was appended. */
char *ad_buf_steal(ad_buf_t *buf, size_t *len);

#endif
