#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "jsonw.h"
#include "slug.h"

static char *ad_dup(const char *s) { return strdup(s != NULL ? s : ""); }

static void ad_at_table_free(ad_at_table_t *t) {
  size_t i;
  for (i = 0; i < t->nfields; i++) {
    free(t->fields[i].id);
    free(t->fields[i].name);
    free(t->fields[i].type);
    free(t->fields[i].slug);
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

static int ad_at_field_parse(ad_at_field_t *f, json_object *obj, size_t index,
                             ad_slugset_t *slugs, char *err, size_t errlen) {
  char fallback[32];
  const char *id = ad_at_json_string(obj, "id"), *name = ad_at_json_string(obj, "name"),
             *type = ad_at_json_string(obj, "type");

  if (id == NULL || name == NULL || type == NULL) {
    snprintf(err, errlen, "field %zu lacks a string id, name or type", index);
    return AD_EPARSE;
  }
  snprintf(fallback, sizeof(fallback), "col_%zu", index + 1);
  f->id = ad_dup(id);
  f->name = ad_dup(name);
  f->type = ad_dup(type);
  f->slug = ad_slugset_add(slugs, name, fallback);
  f->slug_len = f->slug != NULL ? strlen(f->slug) : 0;
  f->codec = ad_cell_codec(type);
  return f->id && f->name && f->type && f->slug ? 0 : AD_ENOMEM;
}

static int ad_at_table_parse(ad_at_table_t *t, json_object *obj, char *err,
                             size_t errlen) {
  json_object *fields, *views;
  const char *id = ad_at_json_string(obj, "id"), *name = ad_at_json_string(obj, "name"), *primary;
  ad_slugset_t slugs;
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
  if (t->fields == NULL || ad_slugset_init(&slugs) != 0)
    return AD_ENOMEM;
  primary = ad_at_json_string(obj, "primaryFieldId");
  for (i = 0; i < n && rc == 0; i++) {
    rc = ad_at_field_parse(&t->fields[i], json_object_array_get_idx(fields, i),
                           i, &slugs, err, errlen);
    t->nfields++;
    if (rc == 0 && primary != NULL && strcmp(t->fields[i].id, primary) == 0)
      t->primary = &t->fields[i];
  }
  ad_slugset_free(&slugs);
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

int ad_at_record_row(const ad_at_table_t *table, json_object *record,
                     ad_buf_t *out, ad_buf_t *scratch, const char **record_id,
                     char *err, size_t errlen) {
  json_object *fields, *v;
  const char *id = ad_at_json_string(record, "id");
  size_t i;
  int rc;

  if (id == NULL || !json_object_object_get_ex(record, "fields", &fields) ||
      !json_object_is_type(fields, json_type_object)) {
    snprintf(err, errlen, "a record lacks a string \"id\" or a \"fields\" "
                          "object");
    return AD_EPARSE;
  }
  *record_id = id;
  rc = ad_buf_puts(out, "{\"row_id\":");
  if (rc == 0)
    rc = ad_jsonw_string(out, id, strlen(id));
  if (rc == 0)
    rc = ad_buf_puts(out, ",\"value\":{");
  for (i = 0; i < table->nfields && rc == 0; i++) {
    const ad_at_field_t *f = &table->fields[i];
    v = NULL;
    json_object_object_get_ex(fields, f->id, &v);
    /* slugs are [a-z0-9_]: nothing to escape */
    rc = ad_buf_append(out, i == 0 ? "\"" : ",\"", i == 0 ? 1 : 2);
    if (rc == 0)
      rc = ad_buf_append(out, f->slug, f->slug_len);
    if (rc == 0)
      rc = ad_buf_append(out, "\":", 2);
    if (rc == 0)
      rc = ad_cell_write(f->codec, v, out, scratch);
  }
  return rc == 0 ? ad_buf_puts(out, "}}") : rc;
}

int ad_at_semantic_id(const char *base_name, const ad_at_table_t *table,
                      json_object *record, ad_buf_t *out) {
  json_object *fields, *v = NULL;
  size_t mark;
  int rc = 0;

  if (base_name != NULL)
    rc = ad_buf_puts(out, base_name);
  if (rc == 0 && base_name != NULL)
    rc = ad_buf_puts(out, " > ");
  if (rc == 0)
    rc = ad_buf_puts(out, table->name);
  if (rc != 0 || table->primary == NULL ||
      !json_object_object_get_ex(record, "fields", &fields) ||
      !json_object_object_get_ex(fields, table->primary->id, &v))
    return rc;
  mark = out->len;
  rc = ad_buf_puts(out, ": ");
  if (rc == 0)
    rc = ad_cell_text(v, out);
  if (rc == 0 && out->len == mark + 2) { /* the primary cell reads empty */
    out->len = mark;
    out->data[mark] = '\0';
  }
  return rc;
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
