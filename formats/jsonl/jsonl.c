#include "jsonl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "isotime.h"
#include "jsonw.h"
#include "table.h"

/* The datetimes ISO 8601 writes with four digits of year:
 * 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z. */
#define AD_JSONL_MIN_MS INT64_C(-62167219200000)
#define AD_JSONL_MAX_MS INT64_C(253402300799999)

/* ---- file names ---------------------------------------------------------- */

int ad_jsonl_file_name(ad_buf_t *out, const char *id) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *p = (const unsigned char *)id;
  char esc[3] = {'%', 0, 0};
  int rc = 0;

  if (*p == '\0')
    return ad_buf_append(out, "%", 1);
  for (; *p != '\0' && rc == 0; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
      rc = ad_buf_append(out, p, 1);
    } else {
      esc[1] = hex[*p >> 4];
      esc[2] = hex[*p & 15];
      rc = ad_buf_append(out, esc, 3);
    }
  }
  return rc;
}

/* ---- schemas ------------------------------------------------------------- */

static json_object *ad_jsonl_str(const char *s) {
  return s != NULL ? json_object_new_string(s) : NULL;
}

int ad_jsonl_schema_write(ad_buf_t *out, const ad_table_t *t) {
  json_object *o = json_object_new_object(), *g, *tb, *cols, *c;
  size_t i;
  int rc;

  if (o == NULL)
    return AD_ENOMEM;
  json_object_object_add(o, "format", json_object_new_string(AD_JSONL_FORMAT));
  json_object_object_add(o, "version", json_object_new_int(AD_JSONL_VERSION));
  json_object_object_add(o, "origin", json_object_new_string(t->origin));
  g = json_object_new_object();
  json_object_object_add(g, "id", json_object_new_string(t->group_id));
  json_object_object_add(g, "name", ad_jsonl_str(t->group_name));
  json_object_object_add(o, "group", g);
  tb = json_object_new_object();
  json_object_object_add(tb, "id", json_object_new_string(t->table_id));
  json_object_object_add(tb, "name", json_object_new_string(t->table_name));
  json_object_object_add(tb, "description",
                         json_object_new_string(t->description));
  json_object_object_add(o, "table", tb);
  json_object_object_add(
      o, "fields_as_tags",
      json_object_new_boolean((t->flags & AD_TABLE_FIELDS_AS_TAGS) != 0));
  cols = json_object_new_array();
  for (i = 0; i < t->ncolumns; i++) {
    const ad_column_t *col = &t->columns[i];
    c = json_object_new_object();
    json_object_object_add(c, "id", json_object_new_string(col->id));
    json_object_object_add(c, "name", json_object_new_string(col->name));
    json_object_object_add(c, "kind",
                           json_object_new_string(ad_kind_name(col->kind)));
    json_object_object_add(
        c, "primary",
        json_object_new_boolean((col->flags & AD_COLUMN_PRIMARY) != 0));
    json_object_object_add(
        c, "files", json_object_new_boolean((col->flags & AD_COLUMN_FILES) != 0));
    json_object_array_add(cols, c);
  }
  json_object_object_add(o, "columns", cols);
  rc = ad_buf_puts(out, json_object_to_json_string_ext(
                            o, JSON_C_TO_STRING_PRETTY |
                                   JSON_C_TO_STRING_NOSLASHESCAPE));
  if (rc == 0)
    rc = ad_buf_append(out, "\n", 1);
  json_object_put(o);
  return rc;
}

static int ad_jsonl_fail(char *err, size_t errlen, const char *what) {
  snprintf(err, errlen, "%s", what);
  return AD_EPARSE;
}

/* The string member key of o, or NULL when it is missing or not a
 * string (NULL allowed too when nullable). */
static const char *ad_jsonl_member(json_object *o, const char *key,
                                   int *ok, int nullable) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      (v == NULL && !nullable) ||
      (v != NULL && !json_object_is_type(v, json_type_string))) {
    *ok = 0;
    return NULL;
  }
  return v != NULL ? json_object_get_string(v) : NULL;
}

static int ad_jsonl_flag(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) &&
         json_object_is_type(v, json_type_boolean) &&
         json_object_get_boolean(v);
}

static int ad_jsonl_columns(ad_table_t *t, json_object *cols, char *err,
                            size_t errlen) {
  size_t i, j, n = json_object_array_length(cols);
  const char *id, *name, *kind;
  json_object *c;
  int ok, k, rc;

  for (i = 0; i < n; i++) {
    c = json_object_array_get_idx(cols, i);
    ok = json_object_is_type(c, json_type_object);
    id = ok ? ad_jsonl_member(c, "id", &ok, 0) : NULL;
    name = ok ? ad_jsonl_member(c, "name", &ok, 0) : NULL;
    kind = ok ? ad_jsonl_member(c, "kind", &ok, 0) : NULL;
    if (!ok || *id == '\0') {
      snprintf(err, errlen, "columns[%zu]: expected {\"id\", \"name\", "
                            "\"kind\"} strings", i);
      return AD_EPARSE;
    }
    for (j = 0; j < t->ncolumns; j++)
      if (strcmp(t->columns[j].id, id) == 0) {
        snprintf(err, errlen, "columns[%zu]: the id \"%.64s\" is taken by "
                              "columns[%zu]", i, id, j);
        return AD_EPARSE;
      }
    if ((k = ad_kind_parse(kind, strlen(kind))) < 0) {
      snprintf(err, errlen, "columns[%zu] (\"%.64s\"): unknown kind \"%.32s\"",
               i, name, kind);
      return AD_EPARSE;
    }
    rc = ad_table_add_column(t, id, name, (ad_kind_t)k,
                             (ad_jsonl_flag(c, "primary") ? AD_COLUMN_PRIMARY
                                                          : 0) |
                                 (ad_jsonl_flag(c, "files") ? AD_COLUMN_FILES
                                                            : 0));
    if (rc != 0)
      return rc;
  }
  return 0;
}

int ad_jsonl_schema_read(const char *text, size_t len, ad_table_t **table,
                         char *err, size_t errlen) {
  json_tokener *tok = json_tokener_new();
  json_object *o, *g = NULL, *tb = NULL, *cols = NULL, *v;
  const char *origin, *gid, *gname, *tid, *tname, *desc;
  ad_table_t *t;
  int ok = 1, rc;

  *table = NULL;
  if (tok == NULL)
    return AD_ENOMEM;
  o = json_tokener_parse_ex(tok, text, (int)len);
  rc = json_tokener_get_error(tok) != json_tokener_success;
  json_tokener_free(tok);
  if (o == NULL || rc) {
    json_object_put(o);
    return ad_jsonl_fail(err, errlen, "not JSON");
  }
  if (!json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, "format", &v) ||
      !json_object_is_type(v, json_type_string) ||
      strcmp(json_object_get_string(v), AD_JSONL_FORMAT) != 0) {
    json_object_put(o);
    return ad_jsonl_fail(err, errlen, "not an airdust-jsonl schema");
  }
  if (!json_object_object_get_ex(o, "version", &v) ||
      !json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) != AD_JSONL_VERSION) {
    json_object_put(o);
    return ad_jsonl_fail(err, errlen, "written by another version of "
                                      "airdust (version is not 1)");
  }
  ok = json_object_object_get_ex(o, "group", &g) &&
       json_object_is_type(g, json_type_object) &&
       json_object_object_get_ex(o, "table", &tb) &&
       json_object_is_type(tb, json_type_object) &&
       json_object_object_get_ex(o, "columns", &cols) &&
       json_object_is_type(cols, json_type_array);
  origin = ok ? ad_jsonl_member(o, "origin", &ok, 0) : NULL;
  gid = ok ? ad_jsonl_member(g, "id", &ok, 0) : NULL;
  gname = ok ? ad_jsonl_member(g, "name", &ok, 1) : NULL;
  tid = ok ? ad_jsonl_member(tb, "id", &ok, 0) : NULL;
  tname = ok ? ad_jsonl_member(tb, "name", &ok, 0) : NULL;
  desc = ok ? ad_jsonl_member(tb, "description", &ok, 0) : NULL;
  if (!ok || *gid == '\0' || *tid == '\0') {
    json_object_put(o);
    return ad_jsonl_fail(err, errlen,
                         "expected \"origin\", \"group\": {\"id\", \"name\"}, "
                         "\"table\": {\"id\", \"name\", \"description\"} and "
                         "\"columns\": […]");
  }
  t = ad_table_new(origin, gid, gname, tid, tname, desc);
  if (t == NULL) {
    json_object_put(o);
    return AD_ENOMEM;
  }
  if (ad_jsonl_flag(o, "fields_as_tags"))
    t->flags |= AD_TABLE_FIELDS_AS_TAGS;
  rc = ad_jsonl_columns(t, cols, err, errlen);
  json_object_put(o);
  if (rc != 0) {
    ad_table_unref(t);
    return rc;
  }
  *table = t;
  return 0;
}

/* ---- writing records ----------------------------------------------------- */

static int ad_jsonl_value(ad_buf_t *out, const ad_value_t *v, int in_list) {
  uint32_t i;
  int rc;

  switch (v->kind) {
  case AD_KIND_NULL:
    return ad_buf_append(out, "null", 4);
  case AD_KIND_TEXT:
    return ad_jsonw_string(out, v->u.s, v->n);
  case AD_KIND_INT:
    return ad_jsonw_int(out, v->u.i);
  case AD_KIND_FLOAT:
    return ad_buf_append(out, v->u.s, v->n);
  case AD_KIND_BOOL:
    return v->u.b ? ad_buf_append(out, "true", 4)
                  : ad_buf_append(out, "false", 5);
  case AD_KIND_DATETIME:
    if (v->u.ms < AD_JSONL_MIN_MS || v->u.ms > AD_JSONL_MAX_MS) {
      /* ISO 8601 has four digits of year; past them, the number */
      if ((rc = ad_buf_puts(out, v->n ? "{\"date_ms\":" : "{\"datetime_ms\":")))
        return rc;
      if ((rc = ad_jsonw_int(out, v->u.ms)) != 0)
        return rc;
      return ad_buf_append(out, "}", 1);
    }
    if ((rc = ad_buf_puts(out, v->n ? "{\"date\":\"" : "{\"datetime\":\"")))
      return rc;
    if ((rc = ad_iso_format(v->u.ms, v->n != 0, out)) != 0)
      return rc;
    return ad_buf_append(out, "\"}", 2);
  case AD_KIND_JSON:
    if ((rc = ad_buf_puts(out, "{\"json\":")) != 0 ||
        (rc = ad_jsonw_string(out, v->u.s, v->n)) != 0)
      return rc;
    return ad_buf_append(out, "}", 1);
  case AD_KIND_LIST:
    if (in_list)
      return AD_EINVAL;
    rc = ad_buf_append(out, "[", 1);
    for (i = 0; i < v->n && rc == 0; i++) {
      if (i > 0)
        rc = ad_buf_append(out, ",", 1);
      if (rc == 0)
        rc = ad_jsonl_value(out, &v->u.items[i], 1);
    }
    return rc != 0 ? rc : ad_buf_append(out, "]", 1);
  }
  return AD_EINVAL;
}

int ad_jsonl_record_write(ad_buf_t *out, const ad_table_t *t,
                          const ad_record_t *rec, char *err, size_t errlen) {
  size_t i, mark = out->len;
  int rc, first = 1;

  rc = ad_buf_puts(out, "{\"id\":");
  if (rc == 0)
    rc = ad_jsonw_string(out, rec->id, strlen(rec->id));
  if (rc == 0 && rec->created_ms != 0) {
    rc = ad_buf_puts(out, ",\"created\":\"");
    if (rc == 0)
      rc = ad_iso_format(rec->created_ms, 0, out);
    if (rc == 0)
      rc = ad_buf_append(out, "\"", 1);
  }
  if (rc == 0 && rec->url != NULL) {
    rc = ad_buf_puts(out, ",\"url\":");
    if (rc == 0)
      rc = ad_jsonw_string(out, rec->url, strlen(rec->url));
  }
  if (rc == 0)
    rc = ad_buf_puts(out, ",\"fields\":{");
  for (i = 0; i < t->ncolumns && rc == 0; i++) {
    const ad_value_t *v = &rec->values[i];
    if (v->kind == AD_KIND_NULL)
      continue;
    if (!first)
      rc = ad_buf_append(out, ",", 1);
    first = 0;
    if (rc == 0)
      rc = ad_jsonw_string(out, t->columns[i].id, strlen(t->columns[i].id));
    if (rc == 0)
      rc = ad_buf_append(out, ":", 1);
    if (rc == 0)
      rc = ad_jsonl_value(out, v, 0);
    if (rc == AD_EINVAL)
      snprintf(err, errlen, "field \"%s\" holds a value of no known kind",
               t->columns[i].name);
  }
  if (rc == 0)
    rc = ad_buf_append(out, "}}", 2);
  if (rc != 0) {
    out->len = mark; /* nothing of the record */
    if (out->data != NULL)
      out->data[mark] = '\0';
  }
  return rc;
}

/* ---- reading records ----------------------------------------------------- */

void ad_jsonl_decoder_init(ad_jsonl_decoder_t *d) { memset(d, 0, sizeof(*d)); }

void ad_jsonl_decoder_free(ad_jsonl_decoder_t *d) {
  free(d->values);
  free(d->items);
  memset(d, 0, sizeof(*d));
}


/* A tagged object: {"datetime": …}, {"date": …} or {"json": …}. */
static int ad_jsonl_tagged(json_object *o, ad_value_t *out) {
  json_object *v;
  int64_t ms;
  int date_only;

  if (json_object_object_length(o) != 1)
    return -1;
  if (json_object_object_get_ex(o, "json", &v) &&
      json_object_is_type(v, json_type_string)) {
    out->kind = AD_KIND_JSON;
    out->u.s = json_object_get_string(v);
    out->n = (uint32_t)json_object_get_string_len(v);
    return 0;
  }
  if (json_object_object_get_ex(o, "datetime_ms", &v) ||
      json_object_object_get_ex(o, "date_ms", &v)) {
    if (!json_object_is_type(v, json_type_int))
      return -1;
    ms = json_object_get_int64(v);
    if (ms >= AD_JSONL_MIN_MS && ms <= AD_JSONL_MAX_MS)
      return -1; /* those are written as text */
    out->kind = AD_KIND_DATETIME;
    out->n = json_object_object_get_ex(o, "date_ms", NULL);
    out->u.ms = ms;
    return 0;
  }
  if (json_object_object_get_ex(o, "datetime", &v) ||
      json_object_object_get_ex(o, "date", &v)) {
    if (!json_object_is_type(v, json_type_string) ||
        ad_iso_parse(json_object_get_string(v), &ms, &date_only) != 0 ||
        date_only != json_object_object_get_ex(o, "date", NULL))
      return -1;
    out->kind = AD_KIND_DATETIME;
    out->n = (uint32_t)date_only;
    out->u.ms = ms;
    return 0;
  }
  return -1;
}

/* One value as written by ad_jsonl_value; -1 when it is not one. */
static int ad_jsonl_scalar(json_object *v, ad_value_t *out) {
  memset(out, 0, sizeof(*out));
  switch (json_object_get_type(v)) {
  case json_type_null:
    out->kind = AD_KIND_NULL;
    return 0;
  case json_type_string:
    out->kind = AD_KIND_TEXT;
    out->u.s = json_object_get_string(v);
    out->n = (uint32_t)json_object_get_string_len(v);
    return 0;
  case json_type_int:
    out->kind = AD_KIND_INT;
    out->u.i = json_object_get_int64(v);
    return 0;
  case json_type_double: /* the tokener keeps the digits it read */
    out->kind = AD_KIND_FLOAT;
    out->u.s = json_object_get_string(v);
    out->n = (uint32_t)strlen(out->u.s);
    return 0;
  case json_type_boolean:
    out->kind = AD_KIND_BOOL;
    out->u.b = json_object_get_boolean(v);
    return 0;
  case json_type_object:
    return ad_jsonl_tagged(v, out);
  default:
    return -1;
  }
}

static int ad_jsonl_field(ad_jsonl_decoder_t *d, json_object *v,
                          ad_value_t *out) {
  size_t i, n;
  if (!json_object_is_type(v, json_type_array))
    return ad_jsonl_scalar(v, out);
  n = json_object_array_length(v);
  memset(out, 0, sizeof(*out));
  out->kind = AD_KIND_LIST;
  out->n = (uint32_t)n;
  out->u.items = n > 0 ? d->items + d->nitems : NULL; /* reserved by the
                                                        caller */
  for (i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(v, i);
    assert(d->nitems < d->cap_items); /* reserved for the record's lists */
    if (json_object_is_type(item, json_type_array) ||
        ad_jsonl_scalar(item, &d->items[d->nitems++]) != 0)
      return -1;
  }
  return 0;
}

int ad_jsonl_record_read(ad_jsonl_decoder_t *d, const ad_table_t *t,
                         json_object *line, ad_record_t *rec, char *err,
                         size_t errlen) {
  json_object *id, *fields, *v;
  size_t i, items = 0, found = 0;
  int64_t ms;
  int rc;

  memset(rec, 0, sizeof(*rec));
  if (!json_object_is_type(line, json_type_object) ||
      !json_object_object_get_ex(line, "id", &id) ||
      !json_object_is_type(id, json_type_string) ||
      json_object_get_string_len(id) == 0)
    return ad_jsonl_fail(err, errlen, "not a record (an object with an "
                                      "\"id\" string)");
  rec->id = json_object_get_string(id);
  if (!json_object_object_get_ex(line, "fields", &fields) ||
      !json_object_is_type(fields, json_type_object)) {
    snprintf(err, errlen, "no \"fields\" object");
    return AD_EPARSE;
  }
  if (json_object_object_get_ex(line, "created", &v)) {
    if (!json_object_is_type(v, json_type_string) ||
        ad_iso_parse(json_object_get_string(v), &ms, NULL) != 0) {
      snprintf(err, errlen, "\"created\" is not an ISO 8601 time");
      return AD_EPARSE;
    }
    rec->created_ms = ms;
  }
  if (json_object_object_get_ex(line, "url", &v) &&
      json_object_is_type(v, json_type_string))
    rec->url = json_object_get_string(v);
  if ((rc = ad_array_grow((void **)&d->values, &d->nvalues, t->ncolumns,
                          sizeof(*d->values))) != 0)
    return rc;
  json_object_object_foreach(fields, key, val) {
    (void)key;
    if (json_object_is_type(val, json_type_array))
      items += json_object_array_length(val);
  }
  /* a record's list items, reserved up front: nothing points into them
   * yet when they move */
  if ((rc = ad_array_grow((void **)&d->items, &d->cap_items, items,
                          sizeof(*d->items))) != 0)
    return rc;
  d->nitems = 0;
  for (i = 0; i < t->ncolumns; i++) {
    if (!json_object_object_get_ex(fields, t->columns[i].id, &v)) {
      memset(&d->values[i], 0, sizeof(d->values[i])); /* NULL */
      continue;
    }
    found++;
    if (ad_jsonl_field(d, v, &d->values[i]) != 0) {
      snprintf(err, errlen, "field \"%.64s\" is not a value airdust writes",
               t->columns[i].name);
      return AD_EPARSE;
    }
  }
  if (found != (size_t)json_object_object_length(fields)) {
    /* A value the schema has no column for would be lost. */
    json_object_object_foreach(fields, name, unused) {
      (void)unused;
      for (i = 0; i < t->ncolumns && strcmp(t->columns[i].id, name); i++)
        ;
      if (i == t->ncolumns) {
        snprintf(err, errlen, "field \"%.64s\" is not a column of the "
                              "table's schema", name);
        break;
      }
    }
    return AD_EPARSE;
  }
  rec->values = d->values;
  return 0;
}
