#include "document.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "error.h"

size_t ad_at_utf16_prefix(const char *s, size_t len, size_t max_units) {
  size_t i = 0, units = 0, n;
  unsigned char c;

  while (i < len) {
    c = (unsigned char)s[i];
    n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i + n > len)
      break;
    if (units + (n == 4 ? 2 : 1) > max_units)
      break;
    units += n == 4 ? 2 : 1;
    i += n;
  }
  return i;
}

static int ad_doc_add_str(json_object *obj, const char *key, const char *s,
                          size_t len) {
  json_object *v = json_object_new_string_len(s, (int)len);
  if (v == NULL || json_object_object_add(obj, key, v) != 0) {
    json_object_put(v);
    return AD_ENOMEM;
  }
  return 0;
}

static int ad_doc_tag(json_object *tags, const char *prefix, const char *s,
                      size_t len) {
  ad_buf_t tag;
  json_object *v;
  int rc;

  ad_buf_init(&tag, 0);
  rc = ad_buf_printf(&tag, "%s:", prefix);
  if (rc == 0)
    rc = ad_buf_append(&tag, s, len);
  if (rc == 0) {
    v = json_object_new_string_len(
        tag.data, (int)ad_at_utf16_prefix(tag.data, tag.len, AD_AT_DOC_MAX_TAG));
    if (v == NULL || json_object_array_add(tags, v) != 0) {
      json_object_put(v);
      rc = AD_ENOMEM;
    }
  }
  ad_buf_free(&tag);
  return rc;
}

/* One tag per item of a list value, else one for the value's text. */
static int ad_doc_field_tags(json_object *tags, const ad_at_field_t *f,
                             json_object *v, ad_buf_t *scratch) {
  size_t i, n = 1;
  int rc = 0;
  json_object *item = v;

  if (json_object_is_type(v, json_type_array))
    n = json_object_array_length(v);
  for (i = 0; i < n && rc == 0; i++) {
    if (json_object_is_type(v, json_type_array))
      item = json_object_array_get_idx(v, i);
    ad_buf_reset(scratch);
    rc = ad_cell_text(item, scratch);
    if (rc == 0 && scratch->len > 0)
      rc = ad_doc_tag(tags, f->name, scratch->data, scratch->len);
  }
  return rc;
}

/* "Name: value" lines for the fields that belong in the text, and tags for
 * the others. */
static int ad_doc_fields(const ad_at_doc_ctx_t *ctx, const ad_at_table_t *table,
                         json_object *fields, ad_buf_t *text,
                         json_object *tags) {
  ad_buf_t scratch;
  json_object *v;
  size_t i, mark;
  int rc = 0;

  ad_buf_init(&scratch, 0);
  for (i = 0; i < table->nfields && rc == 0; i++) {
    const ad_at_field_t *f = &table->fields[i];
    if (!json_object_object_get_ex(fields, f->id, &v) || v == NULL)
      continue;
    if (ctx->fields_as_tags && !ad_cell_is_attachment(f->codec)) {
      rc = ad_doc_field_tags(tags, f, v, &scratch);
      continue;
    }
    mark = text->len;
    rc = ad_buf_printf(text, "\n%s: ", f->name);
    ad_buf_reset(&scratch);
    if (rc == 0)
      rc = ad_cell_text(v, &scratch);
    if (rc == 0 && scratch.len == 0) { /* reads empty: no line */
      text->len = mark;
      text->data[mark] = '\0';
    } else if (rc == 0) {
      rc = ad_buf_append(text, scratch.data, scratch.len);
    }
  }
  ad_buf_free(&scratch);
  return rc;
}

static int ad_doc_build(const ad_at_doc_ctx_t *ctx, const ad_at_table_t *table,
                        json_object *record, const char *id, json_object *doc) {
  json_object *fields = json_object_object_get(record, "fields");
  json_object *tags = json_object_new_array();
  ad_buf_t title, text, url;
  const char *created;
  int64_t ms;
  int rc;

  ad_buf_init(&title, 0);
  ad_buf_init(&text, 0);
  ad_buf_init(&url, 0);
  if (tags == NULL)
    return AD_ENOMEM;
  rc = ad_at_semantic_id(ctx->base_name, table, record, &title);
  if (rc == 0)
    rc = ad_doc_add_str(doc, "title", title.data,
                        ad_at_utf16_prefix(title.data, title.len,
                                           AD_AT_DOC_MAX_TITLE));
  if (rc == 0) /* the title heads the text, so no document reads empty */
    rc = ad_buf_append(&text, title.data, title.len);
  if (rc == 0)
    rc = ad_doc_fields(ctx, table, fields, &text, tags);
  if (rc == 0)
    rc = ad_doc_add_str(doc, "text", text.data, text.len);
  if (rc == 0)
    rc = ad_at_record_url(ctx->base_id, ctx->share_id, ctx->view_id, table, id,
                          &url);
  if (rc == 0)
    rc = ad_doc_add_str(doc, "source_url", url.data, url.len);
  created = ad_at_json_string(record, "createdTime");
  if (rc == 0 && created != NULL && ad_parse_iso8601_ms(created, &ms) == 0 &&
      json_object_object_add(doc, "timestamp", json_object_new_int64(ms)) != 0)
    rc = AD_ENOMEM;
  if (rc == 0)
    rc = ad_doc_tag(tags, "airtable_base_id", ctx->base_id,
                    strlen(ctx->base_id));
  if (rc == 0)
    rc = ad_doc_tag(tags, "airtable_table_id", table->id, strlen(table->id));
  if (rc == 0 && json_object_object_add(doc, "tags", tags) != 0)
    rc = AD_ENOMEM;
  if (rc != 0)
    json_object_put(tags);
  ad_buf_free(&title);
  ad_buf_free(&text);
  ad_buf_free(&url);
  return rc;
}

int ad_at_record_document(const ad_at_doc_ctx_t *ctx,
                          const ad_at_table_t *table, json_object *record,
                          ad_buf_t *out, const char **record_id, char *err,
                          size_t errlen) {
  const char *id = ad_at_json_string(record, "id");
  json_object *fields, *doc;
  int rc;

  if (id == NULL || !json_object_object_get_ex(record, "fields", &fields) ||
      !json_object_is_type(fields, json_type_object)) {
    snprintf(err, errlen, "a record lacks a string \"id\" or a \"fields\" "
                          "object");
    return AD_EPARSE;
  }
  *record_id = id;
  if ((doc = json_object_new_object()) == NULL)
    return AD_ENOMEM;
  rc = ad_doc_build(ctx, table, record, id, doc);
  if (rc == 0)
    rc = ad_buf_puts(out, json_object_to_json_string_ext(
                              doc, JSON_C_TO_STRING_PLAIN |
                                       JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(doc);
  return rc;
}
