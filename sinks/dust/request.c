#include "request.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"

int ad_dust_tables_url(ad_buf_t *url, const ad_dust_target_t *t) {
  size_t len = strlen(t->base_url);
  int rc;
  while (len > 0 && t->base_url[len - 1] == '/')
    len--;
  rc = ad_buf_append(url, t->base_url, len);
  if (rc == 0)
    rc = ad_buf_puts(url, "/api/v1/w/");
  if (rc == 0)
    rc = ad_buf_escape(url, t->workspace_id);
  if (rc == 0)
    rc = ad_buf_puts(url, "/spaces/");
  if (rc == 0)
    rc = ad_buf_escape(url, t->space_id);
  if (rc == 0)
    rc = ad_buf_puts(url, "/data_sources/");
  if (rc == 0)
    rc = ad_buf_escape(url, t->data_source_id);
  if (rc == 0)
    rc = ad_buf_puts(url, "/tables");
  return rc;
}

/* "/" and one path segment, escaped. */
static int ad_dust_segment(ad_buf_t *url, const char *segment) {
  int rc = ad_buf_puts(url, "/");
  if (rc == 0)
    rc = ad_buf_escape(url, segment);
  return rc;
}

int ad_dust_rows_url(ad_buf_t *url, const ad_dust_target_t *t,
                     const char *table_id) {
  int rc = ad_dust_table_url(url, t, table_id);
  if (rc == 0)
    rc = ad_buf_puts(url, "/rows");
  return rc;
}

int ad_dust_table_url(ad_buf_t *url, const ad_dust_target_t *t,
                      const char *table_id) {
  int rc = ad_dust_tables_url(url, t);
  if (rc == 0)
    rc = ad_dust_segment(url, table_id);
  return rc;
}

int ad_dust_row_url(ad_buf_t *url, const ad_dust_target_t *t,
                    const char *table_id, const char *row_id) {
  int rc = ad_dust_rows_url(url, t, table_id);
  if (rc == 0)
    rc = ad_dust_segment(url, row_id);
  return rc;
}

int ad_dust_documents_url(ad_buf_t *url, const ad_dust_target_t *t) {
  int rc = ad_dust_tables_url(url, t);
  if (rc != 0)
    return rc;
  url->len -= strlen("tables"); /* the same prefix, then documents */
  url->data[url->len] = '\0';
  return ad_buf_puts(url, "documents");
}

int ad_dust_document_url(ad_buf_t *url, const ad_dust_target_t *t,
                         const char *document_id) {
  int rc = ad_dust_documents_url(url, t);
  if (rc == 0)
    rc = ad_dust_segment(url, document_id);
  return rc;
}

static int ad_dust_append_safe(ad_buf_t *out, const char *s) {
  int rc = 0;
  for (; *s && rc == 0; s++) {
    char c = isalnum((unsigned char)*s) || *s == '-' || *s == '_' ? *s : '_';
    rc = ad_buf_append(out, &c, 1);
  }
  return rc;
}

int ad_dust_table_id(ad_buf_t *out, const char *prefix, const char *base_id,
                     const char *table_id) {
  int rc = ad_dust_append_safe(out, prefix);
  if (rc == 0 && *base_id != '\0') /* a source without groups: no "_" */
    rc = ad_dust_append_safe(out, base_id);
  if (rc == 0 && *base_id != '\0')
    rc = ad_buf_puts(out, "_");
  if (rc == 0)
    rc = ad_dust_append_safe(out, table_id);
  return rc;
}

int ad_dust_table_id_prefix(ad_buf_t *out, const char *prefix) {
  return ad_dust_append_safe(out, prefix);
}

char *ad_dust_table_name(ad_slugset_t *names, const char *base_name,
                         const char *table_name) {
  ad_buf_t full;
  char *name;
  ad_buf_init(&full, 0);
  if ((base_name != NULL && ad_buf_printf(&full, "%s ", base_name) != 0) ||
      ad_buf_puts(&full, table_name) != 0) {
    ad_buf_free(&full);
    return NULL;
  }
  name = ad_slugset_add(names, full.data, "table");
  ad_buf_free(&full);
  return name;
}

char *ad_dust_table_name_fallback(const char *name, const char *table_id) {
  char slug[AD_SLUG_MAX + 1];
  ad_buf_t out;
  ad_buf_init(&out, 0);
  ad_slug(table_id, slug, sizeof(slug));
  if (ad_buf_printf(&out, "%s_%s", name, slug) != 0) {
    ad_buf_free(&out);
    return NULL;
  }
  return ad_buf_steal(&out, NULL);
}

static int ad_dust_add(json_object *o, const char *key, const char *value) {
  json_object *v = json_object_new_string(value);
  if (v == NULL || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return AD_ENOMEM;
  }
  return 0;
}

int ad_dust_table_body(ad_buf_t *out, const char *table_id, const char *name,
                       const char *base_name, const char *base_id,
                       const char *table_name, const char *airtable_table_id,
                       const char *description) {
  json_object *o = json_object_new_object();
  ad_buf_t title, desc;
  int rc;

  if (o == NULL)
    return AD_ENOMEM;
  ad_buf_init(&title, 0);
  ad_buf_init(&desc, 0);
  rc = base_name != NULL
           ? ad_buf_printf(&title, "%s > %s", base_name, table_name)
           : ad_buf_puts(&title, table_name);
  if (rc == 0 && description != NULL && *description)
    rc = ad_buf_puts(&desc, description);
  else if (rc == 0)
    rc = ad_buf_printf(&desc, "Airtable table \"%s\" (%s/%s), synced by "
                       "airdust", title.data, base_id, airtable_table_id);
  if (rc == 0)
    rc = ad_dust_add(o, "table_id", table_id);
  if (rc == 0)
    rc = ad_dust_add(o, "name", name);
  if (rc == 0)
    rc = ad_dust_add(o, "title", title.data);
  if (rc == 0)
    rc = ad_dust_add(o, "description", desc.data);
  if (rc == 0)
    rc = ad_buf_puts(out, json_object_to_json_string_ext(
                              o, JSON_C_TO_STRING_PLAIN |
                                     JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  ad_buf_free(&title);
  ad_buf_free(&desc);
  return rc;
}

int ad_dust_rows_open(ad_buf_t *out) { return ad_buf_puts(out, "{\"rows\":["); }

int ad_dust_rows_add(ad_buf_t *out, size_t index, const char *unit,
                     size_t len) {
  int rc = ad_buf_reserve(out, len + 1);
  if (rc == 0 && index > 0)
    rc = ad_buf_append(out, ",", 1);
  if (rc == 0)
    rc = ad_buf_append(out, unit, len);
  return rc;
}

int ad_dust_rows_close(ad_buf_t *out, int truncate) {
  return ad_buf_puts(out, truncate ? "],\"truncate\":true}"
                                   : "],\"truncate\":false}");
}

int ad_dust_document_body(ad_buf_t *out, const char *unit, size_t len) {
  int rc;
  while (len > 0 && isspace((unsigned char)unit[len - 1]))
    len--;
  if (len < 2 || unit[0] != '{' || unit[len - 1] != '}')
    return AD_EINVAL;
  rc = ad_buf_append(out, unit, len - 1);
  if (rc == 0)
    rc = ad_buf_puts(out, len > 2 ? ",\"light_document_output\":true}"
                                  : "\"light_document_output\":true}");
  return rc;
}

int ad_dust_document_id(ad_buf_t *out, const char *origin,
                        const char *record_id) {
  int rc = 0;
  if (origin != NULL && *origin != '\0' &&
      (rc = ad_buf_puts(out, origin)) == 0)
    rc = ad_buf_puts(out, "__");
  if (rc == 0)
    rc = ad_buf_puts(out, record_id);
  return rc;
}

void ad_dust_error_parse(const char *body, size_t len, char *type,
                         size_t typelen, char *msg, size_t msglen) {
  json_object *root = NULL, *e, *v;
  json_tokener *tok = json_tokener_new();
  size_t n;

  type[0] = '\0';
  msg[0] = '\0';
  if (tok != NULL && len > 0)
    root = json_tokener_parse_ex(tok, body, (int)len);
  json_tokener_free(tok);
  if (root != NULL && json_object_object_get_ex(root, "error", &e) &&
      json_object_is_type(e, json_type_object)) {
    if (json_object_object_get_ex(e, "type", &v) &&
        json_object_is_type(v, json_type_string))
      snprintf(type, typelen, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(e, "message", &v) &&
        json_object_is_type(v, json_type_string))
      snprintf(msg, msglen, "%s", json_object_get_string(v));
  } else if (root == NULL && len > 0) { /* a plain-text body, e.g. a 413 */
    n = len < msglen - 1 ? len : msglen - 1;
    while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r'))
      n--;
    memcpy(msg, body, n);
    msg[n] = '\0';
  }
  json_object_put(root);
}

int ad_dust_listing_items(json_object *root, int documents,
                          json_object **items) {
  if (!json_object_object_get_ex(root, documents ? "documents" : "rows",
                                 items) ||
      !json_object_is_type(*items, json_type_array))
    return AD_EPARSE;
  return 0;
}

int ad_dust_listing_more(json_object *root, size_t offset, size_t n,
                         size_t page_size) {
  json_object *total;
  if (json_object_object_get_ex(root, "total", &total) &&
      json_object_is_type(total, json_type_int))
    return n > 0 && offset < (size_t)json_object_get_int64(total);
  return n == page_size;
}
