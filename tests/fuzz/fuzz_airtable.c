/* The Airtable side on any bytes: a list-records page is parsed and every
 * record made a neutral record (engine/record.h), against a schema with
 * one field of every type. Whatever the page holds, every value must be
 * well-formed: a kind that is one, TEXT and JSON that are UTF-8 (the
 * source repairs what is not), a JSON value that parses, lists that hold
 * no lists, dates marked 0 or 1; and each record written by a small
 * encoder must be valid JSON. The same bytes also go through the schema,
 * bases and error parsers. */
#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "buf.h"
#include "error.h"
#include "fuzz.h"
#include "jsonw.h"
#include "mapping.h"
#include "utf8.h"

static const char *const types[] = {
    "singleLineText", "multilineText", "richText", "email", "url",
    "phoneNumber", "singleSelect", "number", "percent", "currency", "rating",
    "duration", "autoNumber", "count", "checkbox", "date", "dateTime",
    "createdTime", "lastModifiedTime", "multipleSelects",
    "multipleRecordLinks", "multipleAttachments", "singleCollaborator",
    "createdBy", "lastModifiedBy", "multipleCollaborators", "barcode",
    "button", "aiText", "formula", "rollup", "multipleLookupValues",
    "somethingNew", "externalSyncSource"};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* fld0…fld33, one per type; "fld0" is the primary field; the formula's
 * result is a number. */
static const ad_at_table_t *fuzz_table(void) {
  static ad_at_schema_t schema;
  static int ready;
  ad_buf_t text;
  char err[256];
  size_t i;

  if (ready)
    return &schema.tables[0];
  ad_buf_init(&text, 0);
  ad_buf_puts(&text, "{\"tables\":[{\"id\":\"tblF\",\"name\":\"Fuzz\","
                     "\"primaryFieldId\":\"fld0\",\"views\":[{\"id\":\"viwV\","
                     "\"name\":\"Grid\",\"type\":\"grid\"}],\"fields\":[");
  for (i = 0; i < NTYPES; i++)
    ad_buf_printf(&text,
                  "%s{\"id\":\"fld%zu\",\"name\":\"F %zu\",\"type\":\"%s\"%s}",
                  i ? "," : "", i, i, types[i],
                  strcmp(types[i], "formula") == 0
                      ? ",\"options\":{\"result\":{\"type\":\"number\"}}"
                      : "");
  ad_buf_puts(&text, "]}]}");
  AD_FUZZ_CHECK(ad_at_schema_parse(text.data, text.len, &schema, err,
                                   sizeof(err)) == 0);
  AD_FUZZ_CHECK(schema.tables[0].nfields == NTYPES);
  AD_FUZZ_CHECK(schema.tables[0].primary == &schema.tables[0].fields[0]);
  ad_buf_free(&text);
  ready = 1;
  return &schema.tables[0];
}

static void check_utf8(const char *s, size_t n) {
  AD_FUZZ_CHECK(n == 0 || s != NULL);
  AD_FUZZ_CHECK(ad_utf8_valid(s, n) == n);
}

/* Checks one value and appends it as JSON (a small encoder's). */
static void check_value(const ad_value_t *v, int in_list, ad_buf_t *out) {
  json_object *parsed;
  char *text;
  uint32_t i;

  AD_FUZZ_CHECK(ad_kind_name(v->kind) != NULL);
  switch (v->kind) {
  case AD_KIND_NULL:
    AD_FUZZ_CHECK(!in_list);
    ad_buf_puts(out, "null");
    break;
  case AD_KIND_TEXT:
    check_utf8(v->u.s, v->n);
    ad_jsonw_string(out, v->u.s, v->n);
    break;
  case AD_KIND_JSON:
    AD_FUZZ_CHECK(!in_list);
    check_utf8(v->u.s, v->n);
    text = strndup(v->u.s, v->n);
    AD_FUZZ_CHECK(text != NULL);
    parsed = json_tokener_parse(text);
    AD_FUZZ_CHECK(parsed != NULL); /* an array or an object */
    json_object_put(parsed);
    free(text);
    ad_buf_append(out, v->u.s, v->n);
    break;
  case AD_KIND_INT:
    ad_jsonw_int(out, v->u.i);
    break;
  case AD_KIND_FLOAT: /* a finite number's literal */
    AD_FUZZ_CHECK(v->n > 0 && isfinite(ad_value_float(v)));
    ad_buf_append(out, v->u.s, v->n);
    break;
  case AD_KIND_BOOL:
    AD_FUZZ_CHECK(v->u.b == 0 || v->u.b == 1);
    ad_buf_puts(out, v->u.b ? "true" : "false");
    break;
  case AD_KIND_DATETIME:
    AD_FUZZ_CHECK(v->n == 0 || v->n == 1);
    AD_FUZZ_CHECK(v->n == 0 || v->u.ms % 86400000 == 0);
    ad_jsonw_int(out, v->u.ms);
    break;
  case AD_KIND_LIST:
    AD_FUZZ_CHECK(!in_list && v->n > 0 && v->u.items != NULL);
    ad_buf_puts(out, "[");
    for (i = 0; i < v->n; i++) {
      AD_FUZZ_CHECK(v->u.items[i].kind != AD_KIND_LIST);
      if (i > 0)
        ad_buf_puts(out, ",");
      check_value(&v->u.items[i], 1, out);
    }
    ad_buf_puts(out, "]");
    break;
  }
}

static void check_record(const ad_at_table_t *t, const ad_record_t *r,
                         ad_buf_t *out) {
  json_object *o;
  size_t i;

  static const char link[] = "https://airtable.com/appF/shrS/tblF/viwV/";

  check_utf8(r->id, strlen(r->id));
  AD_FUZZ_CHECK(r->url != NULL &&
                strncmp(r->url, link, sizeof(link) - 1) == 0 &&
                strcmp(r->url + sizeof(link) - 1, r->id) == 0);
  check_utf8(r->url, strlen(r->url));
  ad_buf_reset(out);
  ad_buf_puts(out, "{\"id\":");
  ad_jsonw_string(out, r->id, strlen(r->id));
  ad_buf_puts(out, ",\"values\":[");
  for (i = 0; i < t->nfields; i++) {
    if (i > 0)
      ad_buf_puts(out, ",");
    /* An absent checkbox is false, never NULL; a present one may be. */
    check_value(&r->values[i], 0, out);
  }
  ad_buf_puts(out, "]}");
  AD_FUZZ_CHECK(ad_utf8_valid(out->data, out->len) == out->len);
  o = json_tokener_parse(out->data);
  AD_FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
  json_object_put(o);
}

static void map_records(const ad_at_page_t *page) {
  const ad_at_table_t *t = fuzz_table();
  ad_at_link_t link = {"appF", "shrS", NULL};
  ad_at_conv_t conv;
  ad_record_t r;
  ad_buf_t out;
  char err[256];
  size_t i, n = json_object_array_length(page->records);

  ad_at_conv_init(&conv);
  ad_buf_init(&out, 0);
  for (i = 0; i < n; i++) {
    json_object *rec = json_object_array_get_idx(page->records, i);
    if (ad_at_record(&conv, t, &link, AD_ENCODE_URL | AD_ENCODE_CREATED, rec, &r, err, sizeof(err)) == 0)
      check_record(t, &r, &out);
    else
      AD_FUZZ_CHECK(strlen(err) < sizeof(err));
  }
  ad_buf_free(&out);
  ad_at_conv_free(&conv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  ad_at_page_t page;
  ad_at_schema_t schema;
  ad_at_base_t *bases = NULL;
  size_t nbases = 0;
  char err[256], type[64], msg[256], *offset = NULL;

  if (ad_at_page_parse(body, size, &page, err, sizeof(err)) == 0) {
    map_records(&page);
    ad_at_page_free(&page);
  }
  ad_at_schema_parse(body, size, &schema, err, sizeof(err));
  ad_at_schema_free(&schema);
  ad_at_bases_parse(body, size, &bases, &nbases, &offset, err, sizeof(err));
  ad_at_bases_free(bases, nbases);
  free(offset);
  ad_at_error_parse(body, size, type, sizeof(type), msg, sizeof(msg));
  AD_FUZZ_CHECK(strlen(type) < sizeof(type) && strlen(msg) < sizeof(msg));
  return 0;
}
