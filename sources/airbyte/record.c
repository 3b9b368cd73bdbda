#include "record.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "error.h"
#include "isotime.h"

/* json-c's plain JSON text, with '/' as it is: "https://…" reads better
 * in a document than "https:\/\/…", and means the same. */
#define AD_AB_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* Bytes of a value an error message shows. */
#define AD_AB_GOT_MAX 40
/* Hex digits of the hash a documents id ends in when bytes of it were
 * replaced: 48 bits, against keys that meet in one stream. */
#define AD_AB_SUFFIX_HEX 12

void ad_ab_decoder_init(ad_ab_decoder_t *d) {
  memset(d, 0, sizeof(*d));
  ad_buf_init(&d->id, 0);
  ad_buf_init(&d->scratch, 0);
}

void ad_ab_decoder_free(ad_ab_decoder_t *d) {
  free(d->values);
  free(d->parts);
  ad_buf_free(&d->id);
  ad_buf_free(&d->scratch);
  memset(d, 0, sizeof(*d));
}


/* ---- numbers ----------------------------------------------------------- */

/* s (n bytes) is an integer written plainly: an optional '-' and digits
 * that fit an int64. */
static int ad_ab_parse_int(const char *s, size_t n, int64_t *out) {
  uint64_t v = 0, lim = (uint64_t)INT64_MAX;
  size_t i = 0;
  unsigned dig;

  if (n > 0 && s[0] == '-') {
    lim = (uint64_t)INT64_MAX + 1;
    i = 1;
  }
  if (i == n)
    return -1;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    dig = (unsigned)(s[i] - '0');
    if (v > (lim - dig) / 10)
      return -1;
    v = v * 10 + dig;
  }
  if (s[0] != '-')
    *out = (int64_t)v;
  else
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  return 0;
}

/* s (n bytes) is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * (json-c also reads "1.", NaN and Infinity, which a FLOAT's digits must
 * not be: a sink writes them as they are). */
static int ad_ab_is_number(const char *s, size_t n) {
  size_t i = 0, d;
#define AD_AB_DIGITS()                                                         \
  for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)                        \
    ;
  if (i < n && s[i] == '-')
    i++;
  if (i < n && s[i] == '0') {
    i++;
  } else {
    AD_AB_DIGITS();
    if (i == d)
      return 0;
  }
  if (i < n && s[i] == '.') {
    i++;
    AD_AB_DIGITS();
    if (i == d)
      return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    AD_AB_DIGITS();
    if (i == d)
      return 0;
  }
#undef AD_AB_DIGITS
  return i == n;
}

/* ---- cells ------------------------------------------------------------- */

static void ad_ab_set(ad_value_t *out, ad_kind_t kind, const char *s,
                      size_t n) {
  out->kind = kind;
  out->n = (uint32_t)n;
  out->u.s = s;
}

static int ad_ab_read_text(json_object *v, ad_value_t *out) {
  const char *s;
  switch (json_object_get_type(v)) {
  case json_type_string:
    ad_ab_set(out, AD_KIND_TEXT, json_object_get_string(v),
              (size_t)json_object_get_string_len(v));
    return 0;
  case json_type_object:
  case json_type_array:
    s = json_object_to_json_string_ext(v, AD_AB_JSON_FLAGS);
    break;
  default: /* a number's digits, true, false */
    s = json_object_get_string(v);
    break;
  }
  if (s == NULL)
    return AD_ENOMEM;
  ad_ab_set(out, AD_KIND_TEXT, s, strlen(s));
  return 0;
}

static int ad_ab_read_int(json_object *v, ad_value_t *out) {
  double x;
  out->kind = AD_KIND_INT;
  out->n = 0;
  switch (json_object_get_type(v)) {
  case json_type_int:
    out->u.i = json_object_get_int64(v);
    /* past INT64_MAX json-c holds a uint64, and get_int64 clamps it */
    return out->u.i == INT64_MAX &&
                   json_object_get_uint64(v) != (uint64_t)INT64_MAX
               ? -1
               : 0;
  case json_type_double:
    x = json_object_get_double(v);
    /* -2^63 <= x < 2^63, both exact doubles */
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) ||
        x != floor(x))
      return -1;
    out->u.i = (int64_t)x;
    return 0;
  case json_type_string:
    return ad_ab_parse_int(json_object_get_string(v),
                           (size_t)json_object_get_string_len(v),
                           &out->u.i);
  default:
    return -1;
  }
}

static int ad_ab_read_float(json_object *v, ad_value_t *out) {
  const char *s;
  size_t n;
  switch (json_object_get_type(v)) {
  case json_type_int:
  case json_type_double: /* the tokener keeps the digits it read */
    if (!isfinite(json_object_get_double(v)))
      return -1;
    s = json_object_get_string(v);
    n = s != NULL ? strlen(s) : 0;
    break;
  case json_type_string:
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    /* the grammar ends the number at n: strtod reads those bytes */
    if (!ad_ab_is_number(s, n) || !isfinite(strtod(s, NULL)))
      return -1;
    break;
  default:
    return -1;
  }
  if (!ad_ab_is_number(s, n))
    return -1;
  ad_ab_set(out, AD_KIND_FLOAT, s, n);
  return 0;
}

static int ad_ab_read_bool(json_object *v, ad_value_t *out) {
  const char *s;
  out->kind = AD_KIND_BOOL;
  out->n = 0;
  if (json_object_is_type(v, json_type_boolean)) {
    out->u.b = json_object_get_boolean(v) ? 1 : 0;
    return 0;
  }
  if (!json_object_is_type(v, json_type_string))
    return -1;
  s = json_object_get_string(v);
  if ((size_t)json_object_get_string_len(v) != strlen(s))
    return -1;
  if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
    out->u.b = s[0] == 't';
    return 0;
  }
  return -1;
}

static int ad_ab_read_datetime(json_object *v, ad_value_t *out) {
  const char *s;
  int date_only = 0;
  if (!json_object_is_type(v, json_type_string))
    return -1;
  s = json_object_get_string(v);
  if ((size_t)json_object_get_string_len(v) != strlen(s) ||
      ad_iso_parse(s, &out->u.ms, &date_only) != 0)
    return -1;
  out->kind = AD_KIND_DATETIME;
  out->n = date_only ? 1 : 0;
  return 0;
}

static int ad_ab_read_json(json_object *v, ad_value_t *out) {
  const char *s = json_object_to_json_string_ext(v, AD_AB_JSON_FLAGS);
  if (s == NULL)
    return AD_ENOMEM;
  ad_ab_set(out, AD_KIND_JSON, s, strlen(s));
  return 0;
}

/* How each kind of column reads a non-null value: 0, -1 when it cannot
 * (the record fails, expecting what expect says), or AD_ENOMEM. The
 * catalog makes columns of these kinds only. */
static const struct {
  int (*read)(json_object *v, ad_value_t *out);
  const char *expect;
} ad_ab_readers[AD_KIND_JSON + 1] = {
    [AD_KIND_TEXT] = {ad_ab_read_text, "text"},
    [AD_KIND_INT] = {ad_ab_read_int, "an integer"},
    [AD_KIND_FLOAT] = {ad_ab_read_float, "a number"},
    [AD_KIND_BOOL] = {ad_ab_read_bool, "a boolean"},
    [AD_KIND_DATETIME] = {ad_ab_read_datetime,
                          "an ISO 8601 date or date-time string"},
    [AD_KIND_JSON] = {ad_ab_read_json, "JSON"},
};

/* "field \"age\": expected an integer, got \"abc\"". */
static int ad_ab_bad_cell(const ad_ab_column_t *c, const char *expect,
                          json_object *v, char *err, size_t errlen) {
  const char *got;
  size_t n;

  if (json_object_is_type(v, json_type_object)) {
    got = "an object";
    n = strlen(got);
  } else if (json_object_is_type(v, json_type_array)) {
    got = "an array";
    n = strlen(got);
  } else {
    /* its JSON text: quotes say it was a string, escapes keep control
     * bytes out of the message */
    got = json_object_to_json_string_ext(v, AD_AB_JSON_FLAGS);
    if (got == NULL)
      got = "?";
    n = strlen(got);
    if (n > AD_AB_GOT_MAX) {
      n = AD_AB_GOT_MAX;
      while (n > 0 && ((unsigned char)got[n] & 0xC0) == 0x80)
        n--;
    }
  }
  snprintf(err, errlen, "field \"%s\": expected %s, got %.*s%s", c->label,
           expect, (int)n, got, got[n] != '\0' ? "..." : "");
  return AD_EPARSE;
}

static int ad_ab_cell(const ad_ab_stream_t *s, size_t i, json_object *data,
                      int64_t emitted_at, ad_value_t *out, char *err,
                      size_t errlen) {
  const ad_column_t *col = &s->table->columns[i];
  const ad_ab_column_t *c = &s->columns[i];
  json_object *v = NULL;
  size_t r;
  int rc;

  memset(out, 0, sizeof(*out)); /* NULL */
  switch (c->from) {
  case AD_AB_FROM_EXTRACTED:
    if (emitted_at != 0) {
      out->kind = AD_KIND_DATETIME;
      out->u.ms = emitted_at;
    }
    return 0;
  case AD_AB_FROM_GENERATION:
    assert(s->has_generation); /* the column is only made then */
    out->kind = AD_KIND_INT;
    out->u.i = s->generation_id;
    return 0;
  case AD_AB_FROM_DATA:
    v = data;
    break;
  case AD_AB_FROM_FIELD:
    if (!json_object_object_get_ex(data, col->id, &v) || v == NULL)
      return 0;
    break;
  }
  r = (size_t)col->kind;
  assert(r < sizeof(ad_ab_readers) / sizeof(ad_ab_readers[0]) &&
         ad_ab_readers[r].read != NULL);
  rc = ad_ab_readers[r].read(v, out);
  if (rc == -1)
    return ad_ab_bad_cell(c, ad_ab_readers[r].expect, v, err, errlen);
  return rc;
}

/* ---- ids --------------------------------------------------------------- */

static int ad_ab_hex(ad_buf_t *out, const void *bytes, size_t len,
                     size_t digits) {
  static const char hex[] = "0123456789abcdef";
  XXH128_canonical_t c;
  char text[32];
  size_t i;

  assert(digits <= sizeof(text));
  XXH128_canonicalFromHash(&c, XXH3_128bits(bytes, len));
  for (i = 0; i < sizeof(c.digest); i++) {
    text[2 * i] = hex[c.digest[i] >> 4];
    text[2 * i + 1] = hex[c.digest[i] & 15];
  }
  return ad_buf_append(out, text, digits);
}

/* The primary key's components of data into d->parts. */
static int ad_ab_parts(ad_ab_decoder_t *d, const ad_ab_stream_t *s,
                       json_object *data, char *err, size_t errlen) {
  size_t i, j;
  int rc;

  if ((rc = ad_array_grow((void **)&d->parts, &d->cap_parts, s->npk,
                          sizeof(*d->parts))) != 0)
    return rc;
  for (i = 0; i < s->npk; i++) {
    const ad_ab_path_t *p = &s->pk[i];
    json_object *v = data;
    const char *what = NULL;

    for (j = 0; j < p->n; j++)
      if (!json_object_is_type(v, json_type_object) ||
          !json_object_object_get_ex(v, p->keys[j], &v)) {
        what = "is missing";
        break;
      }
    if (what == NULL) {
      switch (json_object_get_type(v)) {
      case json_type_null:
        what = "is null";
        break;
      case json_type_object:
        what = "is an object, not a string, number or boolean";
        break;
      case json_type_array:
        what = "is an array, not a string, number or boolean";
        break;
      case json_type_string:
        d->parts[i].s = json_object_get_string(v);
        d->parts[i].n = (size_t)json_object_get_string_len(v);
        break;
      default: /* a number's JSON text (its digits), true, false */
        if ((d->parts[i].s = json_object_get_string(v)) == NULL)
          return AD_ENOMEM;
        d->parts[i].n = strlen(d->parts[i].s);
        break;
      }
    }
    if (what != NULL) {
      snprintf(err, errlen, "primary key \"%s\" %s", p->label, what);
      return AD_EPARSE;
    }
  }
  return 0;
}

/* The rows id of d->parts into out: joined with '|', each escaped so
 * that no two keys give one id. */
static int ad_ab_rows_id(const ad_ab_decoder_t *d, size_t n, ad_buf_t *out) {
  size_t i, j, from;
  int rc = 0;

  for (i = 0; i < n && rc == 0; i++) {
    const char *s = d->parts[i].s;
    if (i > 0)
      rc = ad_buf_append(out, "|", 1);
    for (j = from = 0; j < d->parts[i].n && rc == 0; j++) {
      const char *esc = s[j] == '%'   ? "%25"
                        : s[j] == '|' ? "%7C"
                        : s[j] == '\0' ? "%00"
                                       : NULL;
      if (esc == NULL)
        continue;
      if ((rc = ad_buf_append(out, s + from, j - from)) == 0)
        rc = ad_buf_append(out, esc, 3);
      from = j + 1;
    }
    if (rc == 0)
      rc = ad_buf_append(out, s + from, d->parts[i].n - from);
  }
  return rc;
}

/* s (n bytes) with every byte outside [A-Za-z0-9_-] made '_'; *replaced
 * is set when one was. */
static int ad_ab_sanitized(ad_buf_t *out, const char *s, size_t n,
                           int *replaced) {
  size_t i, start = out->len;
  int rc = ad_buf_append(out, s, n);

  for (i = start; i < out->len && rc == 0; i++) {
    char c = out->data[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      out->data[i] = '_';
      *replaced = 1;
    }
  }
  return rc;
}

/* "-" and AD_AB_SUFFIX_HEX hex digits of the hash of the record's exact
 * key (d->scratch) with its stream's namespace and name, appended to id:
 * a documents id whose readable part two records could share (bytes
 * replaced, a '-' inside a composite key's part, one stream name in two
 * namespaces) stays unique. */
static int ad_ab_suffix(ad_ab_decoder_t *d, const ad_ab_stream_t *s,
                        ad_buf_t *id) {
  const char *ns = s->ns != NULL ? s->ns : "";
  int rc;
  /* NUL-separated, so ("a", "b.c") and ("a.b", "c") differ */
  if ((rc = ad_buf_append(&d->scratch, "", 1)) != 0 ||
      (rc = ad_buf_append(&d->scratch, ns, strlen(ns) + 1)) != 0 ||
      (rc = ad_buf_append(&d->scratch, s->name, strlen(s->name))) != 0 ||
      (rc = ad_buf_append(id, "-", 1)) != 0)
    return rc;
  return ad_ab_hex(id, d->scratch.data, d->scratch.len, AD_AB_SUFFIX_HEX);
}

static int ad_ab_id(ad_ab_decoder_t *d, const ad_ab_stream_t *s,
                    json_object *data, int documents, char *err,
                    size_t errlen) {
  ad_buf_t *id = &d->id;
  const char *text;
  size_t i, cut;
  int rc = 0, replaced = 0, name_replaced = 0;

  ad_buf_reset(id);
  if (s->npk == 0) {
    /* The content is the identity: the same data, the same record. */
    if ((text = json_object_to_json_string_ext(
             data, JSON_C_TO_STRING_PLAIN)) == NULL)
      return AD_ENOMEM;
    if (documents && ((rc = ad_ab_sanitized(id, s->name, strlen(s->name),
                                            &name_replaced)) != 0 ||
                      (rc = ad_buf_append(id, "-", 1)) != 0))
      return rc;
    rc = ad_ab_hex(id, text, strlen(text), 32);
    if (rc == 0 && documents && s->shared_name) {
      ad_buf_reset(&d->scratch);
      if ((rc = ad_buf_append(&d->scratch, text, strlen(text))) == 0)
        rc = ad_ab_suffix(d, s, id);
    }
  } else if ((rc = ad_ab_parts(d, s, data, err, errlen)) != 0) {
    return rc;
  } else if (!documents) {
    rc = ad_ab_rows_id(d, s->npk, id);
    if (rc == 0 && id->len == 0) {
      snprintf(err, errlen, "primary key \"%s\" is empty", s->pk[0].label);
      return AD_EPARSE;
    }
  } else {
    /* the stream's name may lose bytes too: only another stream of the
     * same head (shared_name) makes that matter */
    rc = ad_ab_sanitized(id, s->name, strlen(s->name), &name_replaced);
    for (i = 0; i < s->npk && rc == 0; i++) {
      if ((rc = ad_buf_append(id, "-", 1)) == 0)
        rc = ad_ab_sanitized(id, d->parts[i].s, d->parts[i].n, &replaced);
      /* "a-b","c" and "a","b-c" would meet */
      if (s->npk > 1 && memchr(d->parts[i].s, '-', d->parts[i].n) != NULL)
        replaced = 1;
    }
    if (rc == 0 && (replaced || s->shared_name)) {
      ad_buf_reset(&d->scratch);
      if ((rc = ad_ab_rows_id(d, s->npk, &d->scratch)) == 0)
        rc = ad_ab_suffix(d, s, id);
    }
  }
  if (rc != 0 || id->len <= AD_AB_ID_MAX)
    return rc;
  /* Too long for the sink: the head, and the whole id's hash so that
   * ids which share the head stay apart. */
  ad_buf_reset(&d->scratch);
  if ((rc = ad_buf_append(&d->scratch, "-", 1)) != 0 ||
      (rc = ad_ab_hex(&d->scratch, id->data, id->len, 32)) != 0)
    return rc;
  cut = AD_AB_ID_MAX - d->scratch.len;
  while (cut > 0 && ((unsigned char)id->data[cut] & 0xC0) == 0x80)
    cut--; /* not in the middle of a UTF-8 sequence */
  id->len = cut;
  id->data[cut] = '\0';
  return ad_buf_append(id, d->scratch.data, d->scratch.len);
}

/* ---- records ----------------------------------------------------------- */

int ad_ab_record_read(ad_ab_decoder_t *d, const ad_ab_stream_t *s,
                      json_object *data, int64_t emitted_at, int documents,
                      ad_record_t *rec, char *err, size_t errlen) {
  size_t i, n;
  int rc;

  assert(d != NULL && s != NULL && s->table != NULL && rec != NULL);
  memset(rec, 0, sizeof(*rec));
  if (!json_object_is_type(data, json_type_object)) {
    snprintf(err, errlen, "data is not an object");
    return AD_EPARSE;
  }
  n = s->table->ncolumns;
  if ((rc = ad_array_grow((void **)&d->values, &d->cap, n,
                          sizeof(*d->values))) != 0)
    return rc;
  /* The id first: without a primary key it hashes data's plain JSON
   * text, which json-c keeps where _airbyte_data's text will go. */
  if ((rc = ad_ab_id(d, s, data, documents, err, errlen)) != 0)
    return rc;
  for (i = 0; i < n; i++)
    if ((rc = ad_ab_cell(s, i, data, emitted_at, &d->values[i], err,
                         errlen)) != 0)
      return rc;
  rec->id = d->id.data;
  rec->created_ms = emitted_at;
  rec->url = NULL;
  rec->values = d->values;
  return 0;
}
