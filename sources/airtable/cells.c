#include "cells.h"

#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "isotime.h"
#include "jsonw.h"
#include "table.h"

/* ---- field types ------------------------------------------------------- */

typedef struct ad_at_type {
  const char *type; /* Airtable field type */
  ad_at_read_t read;
  ad_kind_t kind;
  unsigned flags;
} ad_at_type_t;

/* Every documented field type (airtable-api.md section 3). */
static const ad_at_type_t ad_at_types[] = {
    {"singleLineText", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"multilineText", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"richText", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"email", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"url", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"phoneNumber", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"singleSelect", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"externalSyncSource", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"singleCollaborator", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"createdBy", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"lastModifiedBy", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"barcode", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"button", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"aiText", AD_AT_READ_TEXT, AD_KIND_TEXT, 0},
    {"number", AD_AT_READ_NUMBER, AD_KIND_FLOAT, 0},
    {"percent", AD_AT_READ_NUMBER, AD_KIND_FLOAT, 0},
    {"currency", AD_AT_READ_NUMBER, AD_KIND_FLOAT, 0},
    {"duration", AD_AT_READ_NUMBER, AD_KIND_FLOAT, 0},
    {"rating", AD_AT_READ_NUMBER, AD_KIND_INT, 0},
    {"autoNumber", AD_AT_READ_NUMBER, AD_KIND_INT, 0},
    {"count", AD_AT_READ_NUMBER, AD_KIND_INT, 0},
    {"checkbox", AD_AT_READ_CHECKBOX, AD_KIND_BOOL, 0},
    {"date", AD_AT_READ_DATE, AD_KIND_DATETIME, 0},
    {"dateTime", AD_AT_READ_DATE, AD_KIND_DATETIME, 0},
    {"createdTime", AD_AT_READ_DATE, AD_KIND_DATETIME, 0},
    {"lastModifiedTime", AD_AT_READ_DATE, AD_KIND_DATETIME, 0},
    {"multipleSelects", AD_AT_READ_LIST, AD_KIND_LIST, 0},
    {"multipleRecordLinks", AD_AT_READ_LIST, AD_KIND_LIST, 0},
    {"multipleAttachments", AD_AT_READ_LIST, AD_KIND_LIST, AD_COLUMN_FILES},
    {"multipleCollaborators", AD_AT_READ_LIST, AD_KIND_LIST, 0},
    {"multipleLookupValues", AD_AT_READ_LIST, AD_KIND_LIST, 0},
    {"formula", AD_AT_READ_COMPUTED, AD_KIND_JSON, 0},
    {"rollup", AD_AT_READ_COMPUTED, AD_KIND_JSON, 0},
};

static const ad_at_type_t ad_at_unknown = {"", AD_AT_READ_OTHER, AD_KIND_JSON,
                                           0};

static const ad_at_type_t *ad_at_type_find(const char *type) {
  size_t i;
  for (i = 0; type != NULL && i < sizeof(ad_at_types) / sizeof(ad_at_types[0]);
       i++)
    if (strcmp(ad_at_types[i].type, type) == 0)
      return &ad_at_types[i];
  return NULL;
}

void ad_at_field_type(const char *type, const char *result_type,
                      ad_at_read_t *read, ad_kind_t *kind, unsigned *flags) {
  const ad_at_type_t *t = ad_at_type_find(type), *r;

  if (t == NULL)
    t = &ad_at_unknown;
  *read = t->read;
  *kind = t->kind;
  *flags = t->flags;
  /* A computed field's column is of its result's kind; its values still
   * read by their own JSON type (an error is no value). */
  if (t->read == AD_AT_READ_COMPUTED && (r = ad_at_type_find(result_type)) &&
      r->read != AD_AT_READ_COMPUTED)
    *kind = r->kind;
}

/* ---- the arena --------------------------------------------------------- */

#define AD_AT_ARENA_BLOCK 16384

struct ad_at_arena_block {
  ad_at_arena_block_t *next;
  size_t cap, used;
  max_align_t data[]; /* cap bytes */
};

void ad_at_arena_init(ad_at_arena_t *a) { a->head = a->cur = NULL; }

void ad_at_arena_reset(ad_at_arena_t *a) {
  ad_at_arena_block_t *b;
  for (b = a->head; b != NULL; b = b->next)
    b->used = 0;
  a->cur = a->head;
}

void ad_at_arena_free(ad_at_arena_t *a) {
  ad_at_arena_block_t *b, *next;
  for (b = a->head; b != NULL; b = next) {
    next = b->next;
    free(b);
  }
  a->head = a->cur = NULL;
}

void *ad_at_arena_alloc(ad_at_arena_t *a, size_t size, size_t align) {
  ad_at_arena_block_t *b = a->cur, *last = NULL, *nb;
  size_t off, cap;

  if (align == 0 || align > alignof(max_align_t))
    align = alignof(max_align_t);
  for (; b != NULL; b = b->next) { /* this block, else the next kept one */
    off = (b->used + align - 1) & ~(align - 1);
    if (off <= b->cap && size <= b->cap - off) {
      b->used = off + size;
      a->cur = b;
      return (char *)b->data + off;
    }
    last = b;
  }
  if (size > SIZE_MAX - sizeof(*nb) - AD_AT_ARENA_BLOCK)
    return NULL;
  cap = size > AD_AT_ARENA_BLOCK ? size : AD_AT_ARENA_BLOCK;
  if ((nb = malloc(sizeof(*nb) + cap)) == NULL)
    return NULL;
  nb->next = NULL;
  nb->cap = cap;
  nb->used = size;
  if (last != NULL) /* cur is NULL only while there is no block */
    last->next = nb;
  else
    a->head = nb;
  a->cur = nb;
  return nb->data;
}

/* len bytes of s, NUL-terminated, in the arena. */
static const char *ad_at_arena_dup(ad_at_arena_t *a, const char *s,
                                   size_t len) {
  char *d = ad_at_arena_alloc(a, len + 1, 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

/* ---- readable text ----------------------------------------------------- */

/* An object whose only key is "error" or "specialValue", as pyairtable
 * tells them (airtable-api.md): the length test first spares every
 * collaborator and attachment two lookups. */
int ad_at_is_error_value(json_object *v) {
  return json_object_is_type(v, json_type_object) &&
         json_object_object_length(v) == 1 &&
         (json_object_object_get_ex(v, "error", NULL) ||
          json_object_object_get_ex(v, "specialValue", NULL));
}

/* How an object cell reads: the first of these keys that it has. A
 * collaborator is "name <email>"; an aiText in error reads as nothing. */
static const char *const ad_text_keys[] = {"name", "filename", "text",
                                           "label", "value", "email", "id"};
#define AD_NTEXT_KEYS (sizeof(ad_text_keys) / sizeof(ad_text_keys[0]))

/* An aiText ({"state":…,"value":…}): 1 with its value in *v (NULL when it
 * reads empty: not generated, or no value). */
static int ad_at_ai_text(json_object *obj, json_object **v) {
  json_object *state;
  *v = NULL;
  if (!json_object_object_get_ex(obj, "state", &state))
    return 0;
  if (json_object_is_type(state, json_type_string) &&
      strcmp(json_object_get_string(state), "generated") == 0)
    json_object_object_get_ex(obj, "value", v);
  return 1;
}

/* The member an object reads by (*i its key's index), or NULL. */
static json_object *ad_at_text_member(json_object *obj, size_t *i) {
  json_object *v;
  for (*i = 0; *i < AD_NTEXT_KEYS; (*i)++)
    if (json_object_object_get_ex(obj, ad_text_keys[*i], &v) &&
        !json_object_is_type(v, json_type_null))
      return v;
  return NULL;
}

/* A collaborator's email, when it has one as a string. */
static const char *ad_at_email(json_object *obj) {
  json_object *email;
  if (json_object_object_get_ex(obj, "email", &email) &&
      json_object_is_type(email, json_type_string))
    return json_object_get_string(email);
  return NULL;
}

static int ad_at_object_text(json_object *obj, ad_buf_t *out) {
  const char *email;
  json_object *v;
  size_t i;
  int rc;

  if (ad_at_is_error_value(obj))
    return 0;
  if (ad_at_ai_text(obj, &v))
    return v != NULL ? ad_at_text(v, out) : 0;
  if ((v = ad_at_text_member(obj, &i)) == NULL)
    return ad_buf_puts(out, json_object_to_json_string_ext(
                                obj, JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE));
  rc = ad_at_text(v, out);
  if (rc == 0 && i == 0 && (email = ad_at_email(obj)) != NULL)
    rc = ad_buf_printf(out, " <%s>", email);
  return rc;
}

int ad_at_text(json_object *value, ad_buf_t *out) {
  size_t i, n, mark, sep_end;
  int err = 0, wrote = 0;

  switch (json_object_get_type(value)) {
  case json_type_null:
    return 0;
  case json_type_string:
    return ad_buf_append(out, json_object_get_string(value),
                         (size_t)json_object_get_string_len(value));
  case json_type_object:
    return ad_at_object_text(value, out);
  case json_type_array:
    n = json_object_array_length(value);
    for (i = 0; i < n && err == 0; i++) {
      mark = out->len;
      if (wrote)
        err = ad_buf_puts(out, ", ");
      sep_end = out->len;
      if (err == 0)
        err = ad_at_text(json_object_array_get_idx(value, i), out);
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

/* 1 when a value's readable text is bytes of the tree as they are (a
 * string, an attachment's file name, a barcode's text…): *s, *n point at
 * them, with nothing copied. 0 when the text must be built. */
static int ad_at_text_ref(json_object *v, const char **s, size_t *n) {
  json_object *m;
  size_t i;

  *s = "";
  *n = 0;
  switch (json_object_get_type(v)) {
  case json_type_null:
    return 1;
  case json_type_string:
    *s = json_object_get_string(v);
    *n = (size_t)json_object_get_string_len(v);
    return 1;
  case json_type_object:
    if (ad_at_is_error_value(v))
      return 1;
    if (ad_at_ai_text(v, &m))
      return m == NULL || ad_at_text_ref(m, s, n);
    if ((m = ad_at_text_member(v, &i)) == NULL ||
        (i == 0 && ad_at_email(v) != NULL))
      return 0;
    return ad_at_text_ref(m, s, n);
  default:
    return 0;
  }
}

/* The readable text of v, pointing into the tree when it can, else built
 * in work and copied into the arena. *s is NULL when out of memory. */
static int ad_at_text_of(json_object *v, ad_at_arena_t *arena, ad_buf_t *work,
                         const char **s, size_t *n) {
  int rc;
  if (ad_at_text_ref(v, s, n))
    return 0;
  ad_buf_reset(work);
  if ((rc = ad_at_text(v, work)) != 0)
    return rc;
  *n = work->len;
  *s = *n > 0 ? ad_at_arena_dup(arena, work->data, work->len) : "";
  return *s != NULL ? 0 : AD_ENOMEM;
}

/* ---- values ------------------------------------------------------------ */

static void ad_at_set(ad_value_t *out, ad_kind_t kind) {
  memset(out, 0, sizeof(*out));
  out->kind = kind;
}

/* A string as it is, anything else as its readable text (NULL when that
 * reads empty). */
static int ad_at_as_text(json_object *v, ad_at_arena_t *arena, ad_buf_t *work,
                         ad_value_t *out) {
  const char *s;
  size_t n;
  int rc;

  if (json_object_is_type(v, json_type_string)) {
    *out = ad_value_text(json_object_get_string(v),
                         (size_t)json_object_get_string_len(v));
    return 0;
  }
  if ((rc = ad_at_text_of(v, arena, work, &s, &n)) != 0)
    return rc;
  *out = n > 0 ? ad_value_text(s, n) : ad_value_null();
  return 0;
}

/* json-c holds an int64, or a uint64 past INT64_MAX (kept as its digits,
 * as TEXT: an INT holds int64s only), or a double. */
static int ad_at_number(json_object *v, ad_at_arena_t *arena, ad_buf_t *work,
                        ad_value_t *out) {
  int64_t i;
  double d;

  if (json_object_is_type(v, json_type_int)) {
    i = json_object_get_int64(v);
    if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
      return ad_at_as_text(v, arena, work, out);
    ad_at_set(out, AD_KIND_INT);
    out->u.i = i;
    return 0;
  }
  d = json_object_get_double(v);
  if (!isfinite(d)) { /* NaN, Infinity: json-c reads them, Airtable never */
    *out = ad_value_null(); /* sends them (its own are specialValue) */
    return 0;
  }
  /* json-c keeps the digits a double was read with: the sink writes
   * those, as they came. */
  *out = ad_value_text(json_object_get_string(v),
                       strlen(json_object_get_string(v)));
  out->kind = AD_KIND_FLOAT;
  return 0;
}

static int ad_at_date(json_object *v, ad_value_t *out) {
  int64_t ms;
  int date_only;

  if (ad_iso_parse(json_object_get_string(v), &ms, &date_only) != 0) {
    *out = ad_value_text(json_object_get_string(v),
                         (size_t)json_object_get_string_len(v));
    return 0;
  }
  ad_at_set(out, AD_KIND_DATETIME);
  out->n = date_only ? 1 : 0;
  out->u.ms = ms;
  return 0;
}

/* An array as a LIST of its items' readable text, the empty ones left
 * out; NULL when every item reads empty. */
static int ad_at_list(json_object *v, ad_at_arena_t *arena, ad_buf_t *work,
                      ad_value_t *out) {
  size_t i, n = json_object_array_length(v), len, kept = 0;
  ad_value_t *items;
  const char *s;
  int rc;

  if (n == 0 || n > SIZE_MAX / sizeof(*items)) {
    *out = ad_value_null();
    return n == 0 ? 0 : AD_ENOMEM;
  }
  items = ad_at_arena_alloc(arena, n * sizeof(*items), alignof(ad_value_t));
  if (items == NULL)
    return AD_ENOMEM;
  for (i = 0; i < n; i++) {
    rc = ad_at_text_of(json_object_array_get_idx(v, i), arena, work, &s, &len);
    if (rc != 0)
      return rc;
    if (len > 0)
      items[kept++] = ad_value_text(s, len);
  }
  if (kept == 0) {
    *out = ad_value_null();
    return 0;
  }
  ad_at_set(out, AD_KIND_LIST);
  out->n = (uint32_t)kept;
  out->u.items = items;
  return 0;
}

/* Structured data of an unknown type: its JSON text. */
static int ad_at_json(json_object *v, ad_at_arena_t *arena, ad_buf_t *work,
                      ad_value_t *out) {
  const char *s;
  int rc;

  ad_buf_reset(work);
  if ((rc = ad_jsonw_value(work, v)) != 0)
    return rc;
  if ((s = ad_at_arena_dup(arena, work->data, work->len)) == NULL)
    return AD_ENOMEM;
  ad_at_set(out, AD_KIND_JSON);
  out->n = (uint32_t)work->len;
  out->u.s = s;
  return 0;
}

/* formula, rollup and unknown types: by the value's own JSON type. */
static int ad_at_by_json_type(ad_at_read_t read, json_object *v,
                              ad_at_arena_t *arena, ad_buf_t *work,
                              ad_value_t *out) {
  switch (json_object_get_type(v)) {
  case json_type_int:
  case json_type_double:
    return ad_at_number(v, arena, work, out);
  case json_type_boolean:
    ad_at_set(out, AD_KIND_BOOL);
    out->u.b = json_object_get_boolean(v) ? 1 : 0;
    return 0;
  case json_type_array:
    return read == AD_AT_READ_COMPUTED ? ad_at_list(v, arena, work, out)
                                       : ad_at_json(v, arena, work, out);
  case json_type_object:
    return read == AD_AT_READ_COMPUTED ? ad_at_as_text(v, arena, work, out)
                                       : ad_at_json(v, arena, work, out);
  default: /* a string */
    return ad_at_as_text(v, arena, work, out);
  }
}

void ad_at_absent(ad_at_read_t read, ad_value_t *out) {
  *out = ad_value_null();
  if (read == AD_AT_READ_CHECKBOX) {
    out->kind = AD_KIND_BOOL;
    out->u.b = 0;
  }
}

int ad_at_value(ad_at_read_t read, json_object *v, ad_at_arena_t *arena,
                ad_buf_t *work, ad_value_t *out) {
  if (json_object_is_type(v, json_type_null) || ad_at_is_error_value(v)) {
    *out = ad_value_null();
    return 0;
  }
  switch (read) {
  case AD_AT_READ_NUMBER:
    if (json_object_is_type(v, json_type_int) ||
        json_object_is_type(v, json_type_double))
      return ad_at_number(v, arena, work, out);
    return ad_at_as_text(v, arena, work, out);
  case AD_AT_READ_CHECKBOX:
    ad_at_set(out, AD_KIND_BOOL);
    out->u.b = json_object_get_boolean(v) ? 1 : 0;
    return 0;
  case AD_AT_READ_DATE:
    if (json_object_is_type(v, json_type_string))
      return ad_at_date(v, out);
    return ad_at_as_text(v, arena, work, out);
  case AD_AT_READ_LIST:
    if (json_object_is_type(v, json_type_array))
      return ad_at_list(v, arena, work, out);
    return ad_at_as_text(v, arena, work, out);
  case AD_AT_READ_COMPUTED:
  case AD_AT_READ_OTHER:
    return ad_at_by_json_type(read, v, arena, work, out);
  default:
    return ad_at_as_text(v, arena, work, out);
  }
}

