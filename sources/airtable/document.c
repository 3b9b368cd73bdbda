#include "document.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "jsonw.h"

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

/* A record's document is written as JSON text straight from the parsed
 * record, as rows are (engine/jsonw.h): building json-c objects only to
 * serialize them cost more than parsing the page. */
typedef struct ad_doc {
  ad_buf_t title;   /* the semantic id; also heads the text */
  ad_buf_t text;    /* "Name: value" lines, unescaped */
  ad_buf_t tags;    /* the tags array's items, as JSON */
  ad_buf_t value;   /* one value's text */
  ad_buf_t scratch; /* one tag, the URL */
} ad_doc_t;

/* Appends "prefix:s", cut to Dust's tag length, to the tags. */
static int ad_doc_tag(ad_doc_t *d, const char *prefix, const char *s,
                      size_t len) {
  ad_buf_t *t = &d->scratch;
  int rc;

  ad_buf_reset(t);
  rc = ad_buf_puts(t, prefix);
  if (rc == 0)
    rc = ad_buf_append(t, ":", 1);
  if (rc == 0)
    rc = ad_buf_append(t, s, len);
  if (rc == 0 && d->tags.len > 0)
    rc = ad_buf_append(&d->tags, ",", 1);
  if (rc == 0)
    rc = ad_jsonw_string(&d->tags, t->data,
                         ad_at_utf16_prefix(t->data, t->len, AD_AT_DOC_MAX_TAG));
  return rc;
}

/* One tag per item of a list value, else one for the value's text. */
static int ad_doc_field_tags(ad_doc_t *d, const ad_at_field_t *f,
                             json_object *v) {
  ad_buf_t *value = &d->value;
  size_t i, n = 1;
  int rc = 0;
  json_object *item = v;

  if (json_object_is_type(v, json_type_array))
    n = json_object_array_length(v);
  for (i = 0; i < n && rc == 0; i++) {
    if (json_object_is_type(v, json_type_array))
      item = json_object_array_get_idx(v, i);
    ad_buf_reset(value);
    rc = ad_cell_text(item, value);
    if (rc == 0 && value->len > 0)
      rc = ad_doc_tag(d, f->name, value->data, value->len);
  }
  return rc;
}

/* "\nName: value", unless the value reads empty. */
static int ad_doc_line(ad_doc_t *d, const ad_at_field_t *f, json_object *v) {
  int rc;

  ad_buf_reset(&d->value);
  rc = ad_cell_text(v, &d->value);
  if (rc != 0 || d->value.len == 0)
    return rc;
  rc = ad_buf_append(&d->text, "\n", 1);
  if (rc == 0)
    rc = ad_buf_puts(&d->text, f->name);
  if (rc == 0)
    rc = ad_buf_append(&d->text, ": ", 2);
  return rc == 0 ? ad_buf_append(&d->text, d->value.data, d->value.len) : rc;
}

/* Lines for the fields that belong in the text, tags for the others. */
static int ad_doc_fields(ad_doc_t *d, const ad_at_doc_ctx_t *ctx,
                         const ad_at_table_t *table, json_object *fields) {
  json_object *v;
  size_t i;
  int rc = 0;

  for (i = 0; i < table->nfields && rc == 0; i++) {
    const ad_at_field_t *f = &table->fields[i];
    if (!json_object_object_get_ex(fields, f->id, &v) || v == NULL)
      continue;
    if (ctx->fields_as_tags && !ad_cell_is_attachment(f->codec))
      rc = ad_doc_field_tags(d, f, v);
    else
      rc = ad_doc_line(d, f, v);
  }
  return rc;
}

/* "key": as the members after the first need it. */
static int ad_doc_key(ad_buf_t *out, const char *key) {
  int rc = ad_buf_puts(out, key);
  return rc == 0 ? ad_buf_append(out, ":", 1) : rc;
}

/* {"title","text","source_url","timestamp","tags"}, in json-c's plain
 * serialization of that object. */
static int ad_doc_write(ad_doc_t *d, const ad_at_doc_ctx_t *ctx,
                        const ad_at_table_t *table, json_object *record,
                        const char *id, ad_buf_t *out) {
  const char *created = ad_at_json_string(record, "createdTime");
  int64_t ms;
  int rc = ad_buf_puts(out, "{\"title\":");

  if (rc == 0)
    rc = ad_jsonw_string(out, d->title.data,
                         ad_at_utf16_prefix(d->title.data, d->title.len,
                                            AD_AT_DOC_MAX_TITLE));
  if (rc == 0)
    rc = ad_doc_key(out, ",\"text\"");
  if (rc == 0)
    rc = ad_jsonw_string(out, d->text.data, d->text.len);
  ad_buf_reset(&d->scratch);
  if (rc == 0)
    rc = ad_at_record_url(ctx->base_id, ctx->share_id, ctx->view_id, table, id,
                          &d->scratch);
  if (rc == 0)
    rc = ad_doc_key(out, ",\"source_url\"");
  if (rc == 0)
    rc = ad_jsonw_string(out, d->scratch.data, d->scratch.len);
  if (rc == 0 && created != NULL && ad_parse_iso8601_ms(created, &ms) == 0) {
    rc = ad_doc_key(out, ",\"timestamp\"");
    if (rc == 0)
      rc = ad_jsonw_int(out, ms);
  }
  if (rc == 0)
    rc = ad_doc_key(out, ",\"tags\"");
  if (rc == 0)
    rc = ad_buf_append(out, "[", 1);
  if (rc == 0)
    rc = ad_buf_append(out, d->tags.data, d->tags.len);
  return rc == 0 ? ad_buf_append(out, "]}", 2) : rc;
}

static int ad_doc_build(ad_doc_t *d, const ad_at_doc_ctx_t *ctx,
                        const ad_at_table_t *table, json_object *record,
                        json_object *fields) {
  int rc = ad_at_semantic_id(ctx->base_name, table, record, &d->title);

  if (rc == 0) /* the title heads the text, so no document reads empty */
    rc = ad_buf_append(&d->text, d->title.data, d->title.len);
  if (rc == 0)
    rc = ad_doc_fields(d, ctx, table, fields);
  if (rc == 0)
    rc = ad_doc_tag(d, "airtable_base_id", ctx->base_id, strlen(ctx->base_id));
  if (rc == 0)
    rc = ad_doc_tag(d, "airtable_table_id", table->id, strlen(table->id));
  return rc;
}

int ad_at_record_document(const ad_at_doc_ctx_t *ctx,
                          const ad_at_table_t *table, json_object *record,
                          ad_buf_t *out, const char **record_id, char *err,
                          size_t errlen) {
  const char *id = ad_at_json_string(record, "id");
  size_t mark = out->len;
  json_object *fields;
  ad_doc_t d;
  int rc;

  if (id == NULL || !json_object_object_get_ex(record, "fields", &fields) ||
      !json_object_is_type(fields, json_type_object)) {
    snprintf(err, errlen, "a record lacks a string \"id\" or a \"fields\" "
                          "object");
    return AD_EPARSE;
  }
  *record_id = id;
  ad_buf_init(&d.title, 0);
  ad_buf_init(&d.text, 0);
  ad_buf_init(&d.tags, 0);
  ad_buf_init(&d.value, 0);
  ad_buf_init(&d.scratch, 0);
  rc = ad_doc_build(&d, ctx, table, record, fields);
  if (rc == 0)
    rc = ad_doc_write(&d, ctx, table, record, id, out);
  if (rc != 0 && out->data != NULL) { /* nothing of a failed document */
    out->len = mark;
    out->data[mark] = '\0';
  }
  ad_buf_free(&d.title);
  ad_buf_free(&d.text);
  ad_buf_free(&d.tags);
  ad_buf_free(&d.value);
  ad_buf_free(&d.scratch);
  return rc;
}
