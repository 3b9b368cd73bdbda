#include "encoder.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "isotime.h"
#include "jsonw.h"
#include "page.h"
#include "slug.h"

/* A list nested deeper than this reads as nothing (record.h promises no
 * list of lists; this only bounds a broken one). */
#define AD_DUST_MAX_DEPTH 8

/* ---- layout ------------------------------------------------------------- */

int ad_dust_check_width(const ad_table_t *t, int documents, char *err,
                        size_t errlen) {
  if (documents || t->ncolumns <= AD_DUST_MAX_COLUMNS)
    return 0;
  snprintf(err, errlen,
           "table \"%s\" has %zu fields; a Dust table holds at most %d "
           "columns (use the documents format for it)",
           t->table_name, t->ncolumns, AD_DUST_MAX_COLUMNS);
  return AD_EINVAL;
}

void ad_dust_layout_free(ad_dust_layout_t *l) {
  size_t i;
  if (l->keys != NULL)
    for (i = 0; i < l->ncolumns; i++)
      free(l->keys[i]);
  free(l->keys);
  free(l->key_lens);
  l->keys = NULL;
  l->key_lens = NULL;
}

/* Column keys as the Airtable mapping made them: the slug of the name,
 * else col_<position>, unique in column order with _2, _3… */
static int ad_dust_layout_keys(ad_dust_layout_t *l, const ad_table_t *t) {
  ad_slugset_t slugs;
  char fallback[32];
  size_t i, n = t->ncolumns;
  int rc = 0;

  l->keys = calloc(n ? n : 1, sizeof(*l->keys));
  l->key_lens = calloc(n ? n : 1, sizeof(*l->key_lens));
  if (l->keys == NULL || l->key_lens == NULL)
    return AD_ENOMEM;
  if (ad_slugset_init(&slugs) != 0)
    return AD_ENOMEM;
  for (i = 0; i < n && rc == 0; i++) {
    snprintf(fallback, sizeof(fallback), "col_%zu", i + 1);
    l->keys[i] = ad_slugset_add(&slugs, t->columns[i].name, fallback);
    if (l->keys[i] == NULL)
      rc = AD_ENOMEM;
    else
      l->key_lens[i] = strlen(l->keys[i]);
  }
  ad_slugset_free(&slugs);
  return rc;
}

int ad_dust_layout_init(ad_dust_layout_t *l, const ad_table_t *t, int documents,
                        char *err, size_t errlen) {
  size_t i;
  int rc;

  memset(l, 0, sizeof(*l));
  l->documents = documents;
  l->ncolumns = t->ncolumns;
  l->primary = SIZE_MAX;
  for (i = 0; i < t->ncolumns && l->primary == SIZE_MAX; i++)
    if (t->columns[i].flags & AD_COLUMN_PRIMARY)
      l->primary = i;
  if ((rc = ad_dust_check_width(t, documents, err, errlen)) != 0)
    return rc;
  return documents ? 0 : ad_dust_layout_keys(l, t);
}

/* ---- values ------------------------------------------------------------ */

/* Drops what was appended to out after mark. */
static void ad_dust_cut(ad_buf_t *out, size_t mark) {
  out->len = mark;
  if (out->data != NULL)
    out->data[mark] = '\0';
}

static int ad_dust_null(ad_buf_t *out) { return ad_buf_append(out, "null", 4); }

/* A TEXT or JSON value's bytes ("" for none). */
static const char *ad_dust_bytes(const ad_value_t *v) {
  return v->u.s != NULL ? v->u.s : "";
}

static size_t ad_dust_nbytes(const ad_value_t *v) {
  return v->u.s != NULL ? v->n : 0;
}

static int ad_dust_text_at(const ad_value_t *v, ad_buf_t *out, int depth) {
  size_t i, mark, sep_end;
  int rc = 0, wrote = 0;

  switch (v->kind) {
  case AD_KIND_TEXT:
  case AD_KIND_JSON:
    return ad_buf_append(out, ad_dust_bytes(v), ad_dust_nbytes(v));
  case AD_KIND_INT:
    return ad_jsonw_int(out, v->u.i);
  case AD_KIND_FLOAT: /* the digits it came with */
    return ad_buf_append(out, ad_dust_bytes(v), ad_dust_nbytes(v));
  case AD_KIND_BOOL:
    return v->u.b ? ad_buf_append(out, "true", 4)
                  : ad_buf_append(out, "false", 5);
  case AD_KIND_DATETIME:
    return ad_iso_format(v->u.ms, v->n == 1, out);
  case AD_KIND_LIST:
    if (depth >= AD_DUST_MAX_DEPTH || v->u.items == NULL)
      return 0;
    for (i = 0; i < v->n && rc == 0; i++) {
      mark = out->len;
      if (wrote)
        rc = ad_buf_append(out, ", ", 2);
      sep_end = out->len;
      if (rc == 0)
        rc = ad_dust_text_at(&v->u.items[i], out, depth + 1);
      if (rc == 0 && out->len == sep_end) /* an empty item: no separator */
        ad_dust_cut(out, mark);
      else
        wrote = 1;
    }
    return rc;
  case AD_KIND_NULL:
    return 0;
  default:
    return AD_EINVAL;
  }
}

int ad_dust_text(const ad_value_t *v, ad_buf_t *out) {
  return ad_dust_text_at(v, out, 0);
}

int ad_dust_cell(const ad_value_t *v, ad_buf_t *out, ad_buf_t *scratch) {
  static const char head[] = "{\"type\":\"datetime\",\"epoch\":";
  int rc;

  switch (v->kind) {
  case AD_KIND_NULL:
    return ad_dust_null(out);
  case AD_KIND_TEXT:
  case AD_KIND_JSON: /* JSON: a string holding its text */
    return ad_jsonw_string(out, ad_dust_bytes(v), ad_dust_nbytes(v));
  case AD_KIND_INT:
    if (v->u.i > AD_DUST_MAX_SAFE_INT || v->u.i < -AD_DUST_MAX_SAFE_INT) {
      rc = ad_buf_append(out, "\"", 1); /* every digit kept */
      if (rc == 0)
        rc = ad_jsonw_int(out, v->u.i);
      return rc == 0 ? ad_buf_append(out, "\"", 1) : rc;
    }
    return ad_jsonw_int(out, v->u.i);
  case AD_KIND_FLOAT: /* a JSON literal already */
    return ad_dust_nbytes(v) > 0
               ? ad_buf_append(out, ad_dust_bytes(v), ad_dust_nbytes(v))
               : ad_dust_null(out);
  case AD_KIND_BOOL:
    return v->u.b ? ad_buf_append(out, "true", 4)
                  : ad_buf_append(out, "false", 5);
  case AD_KIND_DATETIME:
    rc = ad_buf_append(out, head, sizeof(head) - 1);
    if (rc == 0)
      rc = ad_jsonw_int(out, v->u.ms);
    return rc == 0 ? ad_buf_append(out, "}", 1) : rc;
  case AD_KIND_LIST:
    ad_buf_reset(scratch);
    rc = ad_dust_text(v, scratch);
    if (rc != 0)
      return rc;
    return scratch->len > 0 ? ad_jsonw_string(out, scratch->data, scratch->len)
                            : ad_dust_null(out);
  default:
    return AD_EINVAL;
  }
}

/* ---- rows ---------------------------------------------------------------- */

static const ad_value_t ad_dust_no_value = {AD_KIND_NULL, 0, {0}};

static const ad_value_t *ad_dust_value(const ad_record_t *rec, size_t i) {
  return rec->values != NULL ? &rec->values[i] : &ad_dust_no_value;
}

int ad_dust_row(const ad_table_t *t, const ad_dust_layout_t *l,
                const ad_record_t *rec, ad_buf_t *out, ad_buf_t *scratch) {
  size_t i, mark = out->len;
  int rc;

  if (l->keys == NULL || l->ncolumns != t->ncolumns || rec->id == NULL)
    return AD_EINVAL;
  rc = ad_buf_puts(out, "{\"row_id\":");
  if (rc == 0)
    rc = ad_jsonw_string(out, rec->id, strlen(rec->id));
  if (rc == 0)
    rc = ad_buf_puts(out, ",\"value\":{");
  for (i = 0; i < t->ncolumns && rc == 0; i++) {
    /* keys are [a-z0-9_]: nothing to escape */
    rc = ad_buf_append(out, i == 0 ? "\"" : ",\"", i == 0 ? 1 : 2);
    if (rc == 0)
      rc = ad_buf_append(out, l->keys[i], l->key_lens[i]);
    if (rc == 0)
      rc = ad_buf_append(out, "\":", 2);
    if (rc == 0)
      rc = ad_dust_cell(ad_dust_value(rec, i), out, scratch);
  }
  if (rc == 0)
    rc = ad_buf_puts(out, "}}");
  if (rc != 0)
    ad_dust_cut(out, mark);
  return rc;
}

/* ---- documents ----------------------------------------------------------- */

size_t ad_dust_utf16_prefix(const char *s, size_t len, size_t max_units) {
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

int ad_dust_title(const ad_table_t *t, const ad_dust_layout_t *l,
                  const ad_record_t *rec, ad_buf_t *out) {
  size_t mark;
  int rc = 0;

  if (t->group_name != NULL)
    rc = ad_buf_puts(out, t->group_name);
  if (rc == 0 && t->group_name != NULL)
    rc = ad_buf_puts(out, " > ");
  if (rc == 0)
    rc = ad_buf_puts(out, t->table_name);
  if (rc != 0 || l->primary >= t->ncolumns)
    return rc;
  mark = out->len;
  rc = ad_buf_puts(out, ": ");
  if (rc == 0)
    rc = ad_dust_text(ad_dust_value(rec, l->primary), out);
  if (rc == 0 && out->len == mark + 2) /* the primary reads empty */
    ad_dust_cut(out, mark);
  return rc;
}

/* Whether column i's values are tags rather than lines of the text. */
static int ad_dust_is_tag(const ad_table_t *t, size_t i) {
  return (t->flags & AD_TABLE_FIELDS_AS_TAGS) &&
         !(t->columns[i].flags & AD_COLUMN_FILES);
}

/* "\nName: value" for each column whose values belong in the text and
 * read as something, appended to text. */
static int ad_dust_lines(const ad_table_t *t, const ad_record_t *rec,
                         ad_buf_t *text) {
  size_t i, mark, head;
  int rc = 0;

  for (i = 0; i < t->ncolumns && rc == 0; i++) {
    if (ad_dust_is_tag(t, i) || ad_dust_value(rec, i)->kind == AD_KIND_NULL)
      continue;
    mark = text->len;
    rc = ad_buf_append(text, "\n", 1);
    if (rc == 0)
      rc = ad_buf_puts(text, t->columns[i].name);
    if (rc == 0)
      rc = ad_buf_append(text, ": ", 2);
    head = text->len;
    if (rc == 0)
      rc = ad_dust_text(ad_dust_value(rec, i), text);
    if (rc == 0 && text->len == head) /* reads empty: no line */
      ad_dust_cut(text, mark);
  }
  return rc;
}

/* Appends the tag's len bytes at s, cut to Dust's tag length, to the tags
 * array in out; *n counts the tags written. */
static int ad_dust_tag_put(const char *s, size_t len, ad_buf_t *out,
                           size_t *n) {
  int rc = *n > 0 ? ad_buf_append(out, ",", 1) : 0;
  if (rc == 0)
    rc = ad_jsonw_string(out, s, ad_dust_utf16_prefix(s, len, AD_DUST_MAX_TAG));
  (*n)++;
  return rc;
}

/* Appends the tag "name:<readable text of v>", cut to Dust's tag length,
 * to the tags array in out; nothing when v reads empty and skip_empty.
 * *n counts the tags written. */
static int ad_dust_tag(const char *name, const char *suffix,
                       const ad_value_t *v, const char *s, int skip_empty,
                       ad_buf_t *out, ad_buf_t *scratch, size_t *n) {
  size_t head;
  int rc;

  ad_buf_reset(scratch);
  rc = ad_buf_puts(scratch, name);
  if (rc == 0 && suffix != NULL)
    rc = ad_buf_puts(scratch, suffix);
  if (rc == 0)
    rc = ad_buf_append(scratch, ":", 1);
  head = scratch->len;
  if (rc == 0)
    rc = v != NULL ? ad_dust_text(v, scratch) : ad_buf_puts(scratch, s);
  if (rc != 0 || (skip_empty && scratch->len == head))
    return rc;
  return ad_dust_tag_put(scratch->data, scratch->len, out, n);
}

/* The table's own tags, the fields as tags (one per item of a list),
 * then where the record comes from: <origin>_base_id, <origin>_table_id
 * (unless the table's tags say so: AD_TABLE_OWN_TAGS). */
static int ad_dust_tags(const ad_table_t *t, const ad_record_t *rec,
                        ad_buf_t *out, ad_buf_t *scratch) {
  const char *origin = t->origin != NULL ? t->origin : "";
  const ad_value_t *v;
  size_t i, j, n = 0;
  int rc = 0;

  for (i = 0; i < t->ntags && rc == 0; i++) /* the source's own, first */
    rc = ad_dust_tag_put(t->tags[i], strlen(t->tags[i]), out, &n);
  for (i = 0; i < t->ncolumns && rc == 0; i++) {
    if (!ad_dust_is_tag(t, i))
      continue;
    v = ad_dust_value(rec, i);
    if (v->kind != AD_KIND_LIST) {
      rc = ad_dust_tag(t->columns[i].name, NULL, v, NULL, 1, out, scratch, &n);
      continue;
    }
    for (j = 0; j < v->n && v->u.items != NULL && rc == 0; j++)
      rc = ad_dust_tag(t->columns[i].name, NULL, &v->u.items[j], NULL, 1, out,
                       scratch, &n);
  }
  if (t->flags & AD_TABLE_OWN_TAGS)
    return rc; /* the source's tags say where the record comes from */
  /* "airtable_base_id", or "base_id" without an origin */
  if (rc == 0)
    rc = ad_dust_tag(origin, *origin ? "_base_id" : "base_id", NULL,
                     t->group_id != NULL ? t->group_id : "", 0, out, scratch, &n);
  if (rc == 0)
    rc = ad_dust_tag(origin, *origin ? "_table_id" : "table_id", NULL,
                     t->table_id != NULL ? t->table_id : "", 0, out, scratch,
                     &n);
  return rc;
}

/* {"title","text"[,"source_url"][,"timestamp"],"tags"}, in json-c's plain
 * serialization of that object. The title heads the text (so no document
 * reads empty): scratch holds the text, whose first title_len bytes are
 * the title. */
int ad_dust_document(const ad_table_t *t, const ad_dust_layout_t *l,
                     const ad_record_t *rec, ad_buf_t *out, ad_buf_t *scratch) {
  size_t mark = out->len, title_len;
  int rc;

  if (l->ncolumns != t->ncolumns)
    return AD_EINVAL;
  ad_buf_reset(scratch);
  rc = ad_dust_title(t, l, rec, scratch);
  title_len = scratch->len;
  if (rc == 0)
    rc = ad_dust_lines(t, rec, scratch);
  if (rc == 0)
    rc = ad_buf_puts(out, "{\"title\":");
  if (rc == 0)
    rc = ad_jsonw_string(
        out, scratch->data != NULL ? scratch->data : "",
        ad_dust_utf16_prefix(scratch->data, title_len, AD_DUST_MAX_TITLE));
  if (rc == 0)
    rc = ad_buf_puts(out, ",\"text\":");
  if (rc == 0)
    rc = ad_jsonw_string(out, scratch->data != NULL ? scratch->data : "",
                         scratch->len);
  if (rc == 0 && rec->url != NULL) {
    rc = ad_buf_puts(out, ",\"source_url\":");
    if (rc == 0)
      rc = ad_jsonw_string(out, rec->url, strlen(rec->url));
  }
  if (rc == 0 && rec->created_ms != 0) {
    rc = ad_buf_puts(out, ",\"timestamp\":");
    if (rc == 0)
      rc = ad_jsonw_int(out, rec->created_ms);
  }
  if (rc == 0)
    rc = ad_buf_puts(out, ",\"tags\":[");
  if (rc == 0)
    rc = ad_dust_tags(t, rec, out, scratch);
  if (rc == 0)
    rc = ad_buf_puts(out, "]}");
  if (rc != 0) /* nothing of a failed document */
    ad_dust_cut(out, mark);
  return rc;
}

/* ---- the encoder --------------------------------------------------------- */

int ad_dust_encoder_prepare(void *sink, ad_table_t *table, char *err,
                            size_t errlen) {
  return ad_dust_sink_prepare(sink, table, err, errlen);
}

/* Why a record could not be written (AD_EINVAL: something in it is not a
 * neutral record). */
static void ad_dust_enc_error(const ad_table_t *t, const ad_record_t *rec,
                              int rc, char *err, size_t errlen) {
  size_t i;

  if (rc != AD_EINVAL) {
    snprintf(err, errlen, "encoding for Dust: %s", ad_strerror(rc));
    return;
  }
  for (i = 0; i < t->ncolumns && rec->values != NULL; i++)
    if ((unsigned)rec->values[i].kind > AD_KIND_JSON) {
      snprintf(err, errlen, "field \"%s\" holds a value of no known kind (%d)",
               t->columns[i].name, (int)rec->values[i].kind);
      return;
    }
  snprintf(err, errlen, "the table's columns changed after it was prepared");
}

int ad_dust_encoder_encode(void *data, const ad_table_t *table,
                           const ad_record_t *rec, ad_page_t *page,
                           ad_buf_t *scratch, char *err, size_t errlen) {
  const ad_dust_sink_t *sink = data;
  const ad_dust_layout_t *layout = ad_dust_sink_layout(table);
  ad_dust_layout_t local;
  int rc;

  if (rec->id == NULL || rec->id[0] == '\0') {
    snprintf(err, errlen, "a record without an id");
    return AD_EPARSE;
  }
  if (layout == NULL) {
    /* Not prepared (a caller that skipped prepare): the layout is made
     * here, for this record alone, so nothing shared is written. */
    rc = ad_dust_layout_init(
        &local, table, sink->o.conf->data_format == AD_FORMAT_DOCUMENTS, err,
        errlen);
    if (rc != 0) {
      ad_dust_layout_free(&local);
      return rc == AD_ENOMEM ? rc : AD_EPARSE;
    }
    layout = &local;
  }
  rc = ad_page_begin(page, rec->id, strlen(rec->id));
  if (rc == 0) {
    rc = layout->documents
             ? ad_dust_document(table, layout, rec, &page->data, scratch)
             : ad_dust_row(table, layout, rec, &page->data, scratch);
    if (rc == 0)
      ad_page_commit(page);
    else
      ad_page_abort(page);
  }
  if (rc != 0 && rc != AD_ENOMEM) {
    ad_dust_enc_error(table, rec, rc, err, errlen);
    rc = AD_EPARSE;
  }
  if (layout == &local)
    ad_dust_layout_free(&local);
  return rc;
}

/* A row is its id and cells; a document also links to the record and
 * carries when it was made. */
unsigned ad_dust_encoder_wants(void *data) {
  const ad_dust_sink_t *sink = data;
  return sink->o.conf->data_format == AD_FORMAT_DOCUMENTS
             ? AD_ENCODE_URL | AD_ENCODE_CREATED
             : 0;
}
