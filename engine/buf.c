#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void ad_buf_init(ad_buf_t *buf, size_t max) {
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
  buf->max = max;
}

void ad_buf_free(ad_buf_t *buf) {
  free(buf->data);
  ad_buf_init(buf, buf->max);
}

void ad_buf_reset(ad_buf_t *buf) {
  buf->len = 0;
  if (buf->data != NULL)
    buf->data[0] = '\0';
}

int ad_buf_reserve(ad_buf_t *buf, size_t len) {
  size_t need, cap;
  char *data;

  if (buf->max != 0 && (len > buf->max || buf->len > buf->max - len))
    return AD_ETOOBIG;
  need = buf->len + len + 1;
  if (need <= buf->cap)
    return 0;
  cap = buf->cap ? buf->cap : 256;
  while (cap < need)
    cap *= 2;
  data = realloc(buf->data, cap);
  if (data == NULL)
    return AD_ENOMEM;
  buf->data = data;
  buf->cap = cap;
  return 0;
}

int ad_buf_append(ad_buf_t *buf, const void *bytes, size_t len) {
  int err = ad_buf_reserve(buf, len);
  if (err != 0)
    return err;
  if (len > 0)
    memcpy(buf->data + buf->len, bytes, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
  return 0;
}

int ad_buf_puts(ad_buf_t *buf, const char *s) {
  return ad_buf_append(buf, s, strlen(s));
}

int ad_buf_printf(ad_buf_t *buf, const char *fmt, ...) {
  va_list ap;
  int n, err;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return AD_EINVAL;
  err = ad_buf_reserve(buf, (size_t)n);
  if (err != 0)
    return err;
  va_start(ap, fmt);
  vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf->len += (size_t)n;
  return 0;
}

int ad_array_grow(void **p, size_t *cap, size_t n, size_t size) {
  void *grown;
  if (n <= *cap)
    return 0;
  if ((grown = realloc(*p, n * size)) == NULL)
    return AD_ENOMEM;
  *p = grown;
  *cap = n;
  return 0;
}

char *ad_buf_steal(ad_buf_t *buf, size_t *len) {
  char *data = buf->data;
  if (len != NULL)
    *len = buf->len;
  if (data == NULL)
    data = calloc(1, 1);
  ad_buf_init(buf, buf->max);
  return data;
}

int ad_buf_escape(ad_buf_t *buf, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  char enc[3] = {'%', 0, 0};
  int rc = 0;
  for (; *s && rc == 0; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      rc = ad_buf_append(buf, s, 1);
      continue;
    }
    enc[1] = hex[c >> 4];
    enc[2] = hex[c & 15];
    rc = ad_buf_append(buf, enc, 3);
  }
  return rc;
}
