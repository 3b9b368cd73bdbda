#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* For each byte: 0 as it is, 'u' as \u00XX, else the letter after '\'. */
static const char ad_jsonw_escape[256] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
    [0] = 'u',    [1] = 'u',    [2] = 'u',    [3] = 'u',    [4] = 'u',
    [5] = 'u',    [6] = 'u',    [7] = 'u',    [11] = 'u',   [14] = 'u',
    [15] = 'u',   [16] = 'u',   [17] = 'u',   [18] = 'u',   [19] = 'u',
    [20] = 'u',   [21] = 'u',   [22] = 'u',   [23] = 'u',   [24] = 'u',
    [25] = 'u',   [26] = 'u',   [27] = 'u',   [28] = 'u',   [29] = 'u',
    [30] = 'u',   [31] = 'u',   ['"'] = '"',  ['\\'] = '\\'};

int ad_jsonw_string(ad_buf_t *buf, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t i, run = 0;
  char esc[6] = {'\\', 'u', '0', '0', 0, 0};
  int rc = ad_buf_append(buf, "\"", 1);

  for (i = 0; i < len && rc == 0; i++) {
    unsigned char c = (unsigned char)s[i];
    char e = ad_jsonw_escape[c];
    if (e == 0)
      continue;
    rc = ad_buf_append(buf, s + run, i - run);
    run = i + 1;
    if (rc != 0)
      break;
    if (e == 'u') {
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      rc = ad_buf_append(buf, esc, 6);
    } else {
      esc[1] = e;
      rc = ad_buf_append(buf, esc, 2);
      esc[1] = 'u';
    }
  }
  if (rc == 0)
    rc = ad_buf_append(buf, s + run, len - run);
  return rc == 0 ? ad_buf_append(buf, "\"", 1) : rc;
}

static int ad_jsonw_digits(ad_buf_t *buf, uint64_t u, int negative) {
  char digits[24], *p = digits + sizeof(digits);

  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative)
    *--p = '-';
  return ad_buf_append(buf, p, (size_t)(digits + sizeof(digits) - p));
}

int ad_jsonw_int(ad_buf_t *buf, int64_t v) {
  return ad_jsonw_digits(buf, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

int ad_jsonw_double(ad_buf_t *buf, double v) {
  char text[40];
  int n;

  if (!isfinite(v))
    return ad_buf_append(buf, "null", 4);
  n = snprintf(text, sizeof(text), "%.15g", v);
  if (strtod(text, NULL) != v)
    n = snprintf(text, sizeof(text), "%.17g", v);
  if (strpbrk(text, ".e") == NULL) {
    memcpy(text + n, ".0", 3);
    n += 2;
  }
  return ad_buf_append(buf, text, (size_t)n);
}

static int ad_jsonw_array(ad_buf_t *buf, json_object *v) {
  size_t i, n = json_object_array_length(v);
  int rc = ad_buf_append(buf, "[", 1);

  for (i = 0; i < n && rc == 0; i++) {
    if (i > 0)
      rc = ad_buf_append(buf, ",", 1);
    if (rc == 0)
      rc = ad_jsonw_value(buf, json_object_array_get_idx(v, i));
  }
  return rc == 0 ? ad_buf_append(buf, "]", 1) : rc;
}

static int ad_jsonw_object(ad_buf_t *buf, json_object *v) {
  int rc = ad_buf_append(buf, "{", 1), first = 1;

  json_object_object_foreach(v, key, val) {
    if (rc == 0 && !first)
      rc = ad_buf_append(buf, ",", 1);
    if (rc == 0)
      rc = ad_jsonw_string(buf, key, strlen(key));
    if (rc == 0)
      rc = ad_buf_append(buf, ":", 1);
    if (rc == 0)
      rc = ad_jsonw_value(buf, val);
    first = 0;
  }
  return rc == 0 ? ad_buf_append(buf, "}", 1) : rc;
}

int ad_jsonw_value(ad_buf_t *buf, json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_boolean:
    return json_object_get_boolean(v) ? ad_buf_append(buf, "true", 4)
                                      : ad_buf_append(buf, "false", 5);
  case json_type_int: /* json-c keeps 2^63 .. 2^64-1 as unsigned */
    if (json_object_get_int64(v) == INT64_MAX)
      return ad_jsonw_digits(buf, json_object_get_uint64(v), 0);
    return ad_jsonw_int(buf, json_object_get_int64(v));
  case json_type_double:
    return ad_jsonw_double(buf, json_object_get_double(v));
  case json_type_string:
    return ad_jsonw_string(buf, json_object_get_string(v),
                           (size_t)json_object_get_string_len(v));
  case json_type_array:
    return ad_jsonw_array(buf, v);
  case json_type_object:
    return ad_jsonw_object(buf, v);
  default:
    return ad_buf_append(buf, "null", 4);
  }
}

char *ad_jsonw_pair(const char *key, const char *value) {
  json_object *d = json_object_new_object();
  char *text;
  if (d == NULL)
    return NULL;
  json_object_object_add(d, key, json_object_new_string(value));
  text = strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
  json_object_put(d);
  return text;
}
