#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "isotime.h"
#include "table.h"

static char *ad_dup(const char *s) { return strdup(s != NULL ? s : ""); }

static void ad_at_table_free(ad_at_table_t *t) {
  size_t i;
  for (i = 0; i < t->nfields; i++) {
    free(t->fields[i].id);
    free(t->fields[i].name);
    free(t->fields[i].type);
  }
  free(t->fields);
  free(t->id);
  free(t->name);
  free(t->description);
  free(t->first_view_id);
}

void ad_at_schema_free(ad_at_schema_t *schema) {
  size_t i;
  for (i = 0; i < schema->ntables; i++)
    ad_at_table_free(&schema->tables[i]);
  free(schema->tables);
  memset(schema, 0, sizeof(*schema));
}

/* A formula's or rollup's options.result.type, or NULL. */
static const char *ad_at_result_type(json_object *field) {
  json_object *options, *result;
  if (!json_object_object_get_ex(field, "options", &options) ||
      !json_object_object_get_ex(options, "result", &result))
    return NULL;
  return ad_at_json_string(result, "type");
}

static int ad_at_field_parse(ad_at_field_t *f, json_object *obj, size_t index,
                             char *err, size_t errlen) {
  const char *id = ad_at_json_string(obj, "id"), *name = ad_at_json_string(obj, "name"),
             *type = ad_at_json_string(obj, "type");

  if (id == NULL || name == NULL || type == NULL) {
    snprintf(err, errlen, "field %zu lacks a string id, name or type", index);
    return AD_EPARSE;
  }
  f->id = ad_dup(id);
  f->name = ad_dup(name);
  f->type = ad_dup(type);
  ad_at_field_type(type, ad_at_result_type(obj), &f->read, &f->kind,
                   &f->flags);
  return f->id && f->name && f->type ? 0 : AD_ENOMEM;
}

static int ad_at_table_parse(ad_at_table_t *t, json_object *obj, char *err,
                             size_t errlen) {
  json_object *fields, *views;
  const char *id = ad_at_json_string(obj, "id"), *name = ad_at_json_string(obj, "name"), *primary;
  size_t i, n;
  int rc = 0;

  if (!ad_at_id_ok(id) || name == NULL) {
    snprintf(err, errlen,
             "a table lacks a name, or an id of letters and digits");
    return AD_EPARSE;
  }
  if (!json_object_object_get_ex(obj, "fields", &fields) ||
      !json_object_is_type(fields, json_type_array)) {
    snprintf(err, errlen, "table %s has no \"fields\" array", id);
    return AD_EPARSE;
  }
  t->id = ad_dup(id);
  t->name = ad_dup(name);
  t->description = ad_dup(ad_at_json_string(obj, "description"));
  if (json_object_object_get_ex(obj, "views", &views) &&
      json_object_is_type(views, json_type_array) &&
      json_object_array_length(views) > 0 &&
      ad_at_json_string(json_object_array_get_idx(views, 0), "id") != NULL)
    t->first_view_id = ad_dup(ad_at_json_string(json_object_array_get_idx(views, 0), "id"));
  n = json_object_array_length(fields);
  t->fields = calloc(n ? n : 1, sizeof(*t->fields));
  if (t->fields == NULL)
    return AD_ENOMEM;
  primary = ad_at_json_string(obj, "primaryFieldId");
  for (i = 0; i < n && rc == 0; i++) {
    rc = ad_at_field_parse(&t->fields[i], json_object_array_get_idx(fields, i),
                           i, err, errlen);
    t->nfields++;
    if (rc == 0 && primary != NULL && strcmp(t->fields[i].id, primary) == 0 &&
        t->primary == NULL) {
      t->primary = &t->fields[i];
      t->fields[i].flags |= AD_COLUMN_PRIMARY;
    }
  }
  if (rc == AD_EPARSE) {
    char inner[128];
    snprintf(inner, sizeof(inner), "%s", err);
    snprintf(err, errlen, "table %s: %s", id, inner);
  }
  return rc;
}

int ad_at_schema_parse(const char *body, size_t len, ad_at_schema_t *schema,
                       char *err, size_t errlen) {
  json_object *root, *tables;
  char why[128];
  size_t i, n;
  int rc = 0;

  memset(schema, 0, sizeof(*schema));
  root = ad_at_parse_object(body, len, NULL, why, sizeof(why));
  if (root == NULL || !json_object_object_get_ex(root, "tables", &tables) ||
      !json_object_is_type(tables, json_type_array)) {
    snprintf(err, errlen, "base schema: %s",
             root == NULL ? why : "no \"tables\" array");
    json_object_put(root);
    return AD_EPARSE;
  }
  n = json_object_array_length(tables);
  schema->tables = calloc(n ? n : 1, sizeof(*schema->tables));
  if (schema->tables == NULL)
    rc = AD_ENOMEM;
  for (i = 0; i < n && rc == 0; i++) {
    rc = ad_at_table_parse(&schema->tables[i],
                           json_object_array_get_idx(tables, i), err, errlen);
    schema->ntables++;
  }
  json_object_put(root);
  return rc;
}

const ad_at_table_t *ad_at_schema_find(const ad_at_schema_t *schema,
                                       const char *name_or_id) {
  size_t i;
  for (i = 0; i < schema->ntables; i++)
    if (strcmp(schema->tables[i].id, name_or_id) == 0)
      return &schema->tables[i];
  for (i = 0; i < schema->ntables; i++)
    if (strcmp(schema->tables[i].name, name_or_id) == 0)
      return &schema->tables[i];
  return NULL;
}

void ad_at_conv_init(ad_at_conv_t *conv) {
  memset(conv, 0, sizeof(*conv));
  ad_at_arena_init(&conv->arena);
  ad_buf_init(&conv->work, 0);
  ad_buf_init(&conv->url, 0);
}

void ad_at_conv_free(ad_at_conv_t *conv) {
  ad_at_arena_free(&conv->arena);
  ad_buf_free(&conv->work);
  ad_buf_free(&conv->url);
  free(conv->values);
  memset(conv, 0, sizeof(*conv));
}

int ad_at_record(ad_at_conv_t *conv, const ad_at_table_t *table,
                 const ad_at_link_t *link, unsigned wants,
                 json_object *record, ad_record_t *out, char *err,
                 size_t errlen) {
  const char *id = ad_at_json_string(record, "id"), *created;
  json_object *fields, *v;
  ad_value_t *grown;
  size_t i;
  int rc = 0;

  if (id == NULL || !json_object_object_get_ex(record, "fields", &fields) ||
      !json_object_is_type(fields, json_type_object)) {
    snprintf(err, errlen, "a record lacks a string \"id\" or a \"fields\" "
                          "object");
    return AD_EPARSE;
  }
  if (conv->values == NULL || table->nfields > conv->cap) {
    conv->cap = table->nfields > 0 ? table->nfields : 1;
    grown = realloc(conv->values, conv->cap * sizeof(*grown));
    if (grown == NULL) {
      conv->cap = 0;
      return AD_ENOMEM;
    }
    conv->values = grown;
  }
  ad_at_arena_reset(&conv->arena);
  for (i = 0; i < table->nfields && rc == 0; i++) {
    if (!json_object_object_get_ex(fields, table->fields[i].id, &v))
      ad_at_absent(table->fields[i].read, &conv->values[i]);
    else /* v is NULL for a JSON null */
      rc = ad_at_value(table->fields[i].read, v, &conv->arena, &conv->work,
                       &conv->values[i]);
  }
  ad_buf_reset(&conv->url);
  if (rc == 0 && (wants & AD_ENCODE_URL))
    rc = ad_at_record_url(link->base_id, link->share_id, link->view_id, table,
                          id, &conv->url);
  if (rc != 0)
    return rc;
  memset(out, 0, sizeof(*out));
  out->id = id;
  if (wants & AD_ENCODE_CREATED) {
    created = ad_at_json_string(record, "createdTime");
    if (created == NULL ||
        ad_iso_parse(created, &out->created_ms, NULL) != 0)
      out->created_ms = 0;
  }
  out->url = (wants & AD_ENCODE_URL) ? conv->url.data : NULL;
  out->values = conv->values;
  return 0;
}

int ad_at_record_url(const char *base_id, const char *share_id,
                     const char *view_id, const ad_at_table_t *table,
                     const char *record_id, ad_buf_t *out) {
  const char *view = view_id != NULL ? view_id : table->first_view_id;
  const char *parts[] = {base_id, share_id, table->id, view, record_id};
  size_t i;
  int rc = ad_buf_puts(out, "https://airtable.com");

  for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && rc == 0; i++)
    if (parts[i] != NULL && (rc = ad_buf_append(out, "/", 1)) == 0)
      rc = ad_buf_puts(out, parts[i]);
  return rc;
}
