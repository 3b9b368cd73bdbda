#include "cells.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "jsonw.h"

/* Appends the Dust cell for a non-null value to out; scratch is a work
 * buffer (text of lists and objects). */
typedef int (*ad_cell_write_fn)(json_object *value, ad_buf_t *out,
                                ad_buf_t *scratch);

struct ad_cell_codec {
  const char *type; /* Airtable field type */
  ad_cell_write_fn write;
  int attachment;
};

/* Largest integer a JSON number survives Dust's JavaScript front with. */
#define AD_MAX_SAFE_INT 9007199254740991LL

static int ad_null(ad_buf_t *out) { return ad_buf_append(out, "null", 4); }

static int ad_is_error_value(json_object *v) {
  return json_object_is_type(v, json_type_object) &&
         (json_object_object_get_ex(v, "error", NULL) ||
          json_object_object_get_ex(v, "specialValue", NULL));
}

/* Strings as they are, anything else as its readable text (null when that
 * reads empty). */
static int ad_enc_text(json_object *value, ad_buf_t *out, ad_buf_t *scratch) {
  int err;

  if (json_object_is_type(value, json_type_string))
    return ad_jsonw_string(out, json_object_get_string(value),
                           (size_t)json_object_get_string_len(value));
  ad_buf_reset(scratch);
  err = ad_cell_text(value, scratch);
  if (err != 0)
    return err;
  return scratch->len > 0 ? ad_jsonw_string(out, scratch->data, scratch->len)
                          : ad_null(out);
}

static int ad_enc_number(json_object *value, ad_buf_t *out, ad_buf_t *scratch) {
  if (json_object_is_type(value, json_type_int)) {
    int64_t i = json_object_get_int64(value);
    if (i > AD_MAX_SAFE_INT || i < -AD_MAX_SAFE_INT) /* keep every digit */
      return ad_enc_text(value, out, scratch);
    return ad_jsonw_int(out, i);
  }
  if (json_object_is_type(value, json_type_double))
    return ad_jsonw_double(out, json_object_get_double(value));
  return ad_is_error_value(value) ? ad_null(out)
                                  : ad_enc_text(value, out, scratch);
}

static int ad_enc_checkbox(json_object *value, ad_buf_t *out,
                           ad_buf_t *scratch) {
  (void)scratch;
  return json_object_get_boolean(value) ? ad_buf_append(out, "true", 4)
                                        : ad_buf_append(out, "false", 5);
}

static int ad_enc_datetime(json_object *value, ad_buf_t *out,
                           ad_buf_t *scratch) {
  static const char head[] = "{\"type\":\"datetime\",\"epoch\":";
  int64_t ms;
  int err;

  if (!json_object_is_type(value, json_type_string) ||
      ad_parse_iso8601_ms(json_object_get_string(value), &ms) != 0)
    return ad_is_error_value(value) ? ad_null(out)
                                    : ad_enc_text(value, out, scratch);
  err = ad_buf_append(out, head, sizeof(head) - 1);
  if (err == 0)
    err = ad_jsonw_int(out, ms);
  return err == 0 ? ad_buf_append(out, "}", 1) : err;
}

/* formula, rollup: the result's own JSON type, errors as null. */
static int ad_enc_computed(json_object *value, ad_buf_t *out,
                           ad_buf_t *scratch) {
  switch (json_object_get_type(value)) {
  case json_type_int:
  case json_type_double:
    return ad_enc_number(value, out, scratch);
  case json_type_boolean:
    return ad_enc_checkbox(value, out, scratch);
  case json_type_object:
    if (ad_is_error_value(value))
      return ad_null(out);
    /* fall through */
  default:
    return ad_enc_text(value, out, scratch);
  }
}

/* Unknown types: scalars by their own type, anything else as its JSON. */
static int ad_enc_json(json_object *value, ad_buf_t *out, ad_buf_t *scratch) {
  if (json_object_is_type(value, json_type_string) ||
      json_object_is_type(value, json_type_int) ||
      json_object_is_type(value, json_type_double) ||
      json_object_is_type(value, json_type_boolean))
    return ad_enc_computed(value, out, scratch);
  int err;

  ad_buf_reset(scratch);
  err = ad_jsonw_value(scratch, value);
  return err == 0 ? ad_jsonw_string(out, scratch->data, scratch->len) : err;
}

/* Every documented field type (airtable-api.md section 3). */
static const ad_cell_codec_t ad_cell_codecs[] = {
    {"singleLineText", ad_enc_text, 0},
    {"multilineText", ad_enc_text, 0},
    {"richText", ad_enc_text, 0},
    {"email", ad_enc_text, 0},
    {"url", ad_enc_text, 0},
    {"phoneNumber", ad_enc_text, 0},
    {"singleSelect", ad_enc_text, 0},
    {"externalSyncSource", ad_enc_text, 0},
    {"number", ad_enc_number, 0},
    {"percent", ad_enc_number, 0},
    {"currency", ad_enc_number, 0},
    {"rating", ad_enc_number, 0},
    {"duration", ad_enc_number, 0},
    {"autoNumber", ad_enc_number, 0},
    {"count", ad_enc_number, 0},
    {"checkbox", ad_enc_checkbox, 0},
    {"date", ad_enc_datetime, 0},
    {"dateTime", ad_enc_datetime, 0},
    {"createdTime", ad_enc_datetime, 0},
    {"lastModifiedTime", ad_enc_datetime, 0},
    {"multipleSelects", ad_enc_text, 0},
    {"multipleRecordLinks", ad_enc_text, 0},
    {"multipleAttachments", ad_enc_text, 1},
    {"singleCollaborator", ad_enc_text, 0},
    {"createdBy", ad_enc_text, 0},
    {"lastModifiedBy", ad_enc_text, 0},
    {"multipleCollaborators", ad_enc_text, 0},
    {"barcode", ad_enc_text, 0},
    {"button", ad_enc_text, 0},
    {"aiText", ad_enc_text, 0},
    {"formula", ad_enc_computed, 0},
    {"rollup", ad_enc_computed, 0},
    {"multipleLookupValues", ad_enc_text, 0},
};

static const ad_cell_codec_t ad_cell_unknown = {"", ad_enc_json, 0};

const ad_cell_codec_t *ad_cell_codec(const char *type) {
  size_t i;
  for (i = 0; i < sizeof(ad_cell_codecs) / sizeof(ad_cell_codecs[0]); i++)
    if (strcmp(ad_cell_codecs[i].type, type) == 0)
      return &ad_cell_codecs[i];
  return &ad_cell_unknown;
}

int ad_cell_is_attachment(const ad_cell_codec_t *codec) {
  return codec->attachment;
}

int ad_cell_write(const ad_cell_codec_t *codec, json_object *value,
                  ad_buf_t *out, ad_buf_t *scratch) {
  if (value == NULL) /* Airtable omits empty cells; unchecked is false */
    return codec->write == ad_enc_checkbox ? ad_buf_append(out, "false", 5)
                                           : ad_null(out);
  if (json_object_is_type(value, json_type_null))
    return ad_null(out);
  return codec->write(value, out, scratch);
}

/* How an object cell reads: the first of these keys that it has. A
 * collaborator is "name <email>"; an aiText in error reads as nothing. */
static const char *const ad_text_keys[] = {"name", "filename", "text",
                                           "label", "value", "email", "id"};

static int ad_object_text(json_object *obj, ad_buf_t *out) {
  json_object *v, *email;
  size_t i;

  if (ad_is_error_value(obj))
    return 0;
  if (json_object_object_get_ex(obj, "state", &v)) { /* aiText */
    if (strcmp(json_object_get_string(v), "generated") != 0)
      return 0;
    return json_object_object_get_ex(obj, "value", &v) ? ad_cell_text(v, out)
                                                        : 0;
  }
  for (i = 0; i < sizeof(ad_text_keys) / sizeof(ad_text_keys[0]); i++) {
    if (!json_object_object_get_ex(obj, ad_text_keys[i], &v) ||
        json_object_is_type(v, json_type_null))
      continue;
    if (i == 0 && json_object_object_get_ex(obj, "email", &email))
      return ad_buf_printf(out, "%s <%s>", json_object_get_string(v),
                           json_object_get_string(email));
    return ad_cell_text(v, out);
  }
  return ad_buf_puts(out, json_object_to_json_string_ext(
                              obj, JSON_C_TO_STRING_PLAIN |
                                       JSON_C_TO_STRING_NOSLASHESCAPE));
}

int ad_cell_text(json_object *value, ad_buf_t *out) {
  size_t i, n, mark, sep_end;
  int err = 0, wrote = 0;

  switch (json_object_get_type(value)) {
  case json_type_null:
    return 0;
  case json_type_string:
    return ad_buf_append(out, json_object_get_string(value),
                         (size_t)json_object_get_string_len(value));
  case json_type_object:
    return ad_object_text(value, out);
  case json_type_array:
    n = json_object_array_length(value);
    for (i = 0; i < n && err == 0; i++) {
      mark = out->len;
      if (wrote)
        err = ad_buf_puts(out, ", ");
      sep_end = out->len;
      if (err == 0)
        err = ad_cell_text(json_object_array_get_idx(value, i), out);
      if (err == 0 && out->len == sep_end) { /* empty item: no separator */
        out->len = mark;
        if (out->data != NULL)
          out->data[mark] = '\0';
      } else {
        wrote = 1;
      }
    }
    return err;
  default:
    return ad_buf_puts(out, json_object_to_json_string_ext(
                                value, JSON_C_TO_STRING_PLAIN));
  }
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t ad_days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* The value of exactly n decimal digits at s, or -1. Stops at the first
 * non-digit, so it never reads past a string's end. */
static int ad_digits(const char *s, int n) {
  int i, v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* "hh:mm" at s into *h and *m; -1 when it is not that. */
static int ad_hh_mm(const char *s, int *h, int *m) {
  if ((*h = ad_digits(s, 2)) < 0 || s[2] != ':' || (*m = ad_digits(s + 3, 2)) < 0)
    return -1;
  return 0;
}

int ad_parse_iso8601_ms(const char *s, int64_t *ms) {
  int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, digits = 0;
  int oh = 0, om = 0, sign = 0;
  const char *p;

  if ((y = ad_digits(s, 4)) < 0 || s[4] != '-' ||
      (mo = ad_digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-' ||
      (d = ad_digits(s + 8, 2)) < 1 || d > 31)
    return -1;
  p = s + 10;
  if (*p == 'T' || *p == ' ') {
    if (ad_hh_mm(p + 1, &h, &mi) != 0 || p[6] != ':' ||
        (sec = ad_digits(p + 7, 2)) < 0 || h > 23 || mi > 59 || sec > 60)
      return -1;
    p += 9;
    if (*p == '.')
      for (p++; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < 3)
          frac_ms = frac_ms * 10 + (*p - '0');
    for (; digits > 0 && digits < 3; digits++)
      frac_ms *= 10;
    if (*p == 'Z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      sign = *p == '-' ? -1 : 1;
      if (ad_hh_mm(p + 1, &oh, &om) != 0)
        return -1;
      p += 6;
    }
  }
  if (*p != '\0')
    return -1;
  *ms = ((ad_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
         sign * (oh * 3600 + om * 60)) *
            1000 +
        frac_ms;
  return 0;
}
