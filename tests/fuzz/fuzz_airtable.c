/* The Airtable side on any bytes: a list-records page is parsed and every
 * record mapped to a Dust row and a Dust document, against a schema with
 * one field of every type. Whatever the page holds, each row and document
 * written must be valid JSON of the right shape. The same bytes also go
 * through the schema, bases and error parsers. Whatever bytes came in,
 * what goes out to Dust is UTF-8. */
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "buf.h"
#include "document.h"
#include "error.h"
#include "fuzz.h"
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
    "somethingNew"};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* fld0…fld32, one per type; "fld0" is the primary field. */
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
    ad_buf_printf(&text, "%s{\"id\":\"fld%zu\",\"name\":\"F %zu\",\"type\":\"%s\"}",
                  i ? "," : "", i, i, types[i]);
  ad_buf_puts(&text, "]}]}");
  AD_FUZZ_CHECK(ad_at_schema_parse(text.data, text.len, &schema, err,
                                   sizeof(err)) == 0);
  ad_buf_free(&text);
  ready = 1;
  return &schema.tables[0];
}

static void check_json_object(const ad_buf_t *out, const char *key) {
  json_object *o = json_tokener_parse(out->data);
  AD_FUZZ_CHECK(ad_utf8_valid(out->data, out->len) == out->len);
  AD_FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
  AD_FUZZ_CHECK(json_object_object_get_ex(o, key, NULL));
  json_object_put(o);
}

static void map_records(const ad_at_page_t *page) {
  const ad_at_table_t *t = fuzz_table();
  ad_at_doc_ctx_t ctx = {"appF", "Base", NULL, "shrS", 0};
  ad_buf_t out, scratch;
  const char *id;
  char err[256];
  size_t i, n = json_object_array_length(page->records);

  ad_buf_init(&out, 0);
  ad_buf_init(&scratch, 0);
  for (i = 0; i < n; i++) {
    json_object *rec = json_object_array_get_idx(page->records, i);
    ad_buf_reset(&out);
    if (ad_at_record_row(t, rec, &out, &scratch, &id, err, sizeof(err)) == 0)
      check_json_object(&out, "row_id");
    ad_buf_reset(&out);
    ctx.fields_as_tags = (int)(i & 1);
    if (ad_at_record_document(&ctx, t, rec, &out, &id, err, sizeof(err)) == 0)
      check_json_object(&out, "title");
  }
  ad_buf_free(&out);
  ad_buf_free(&scratch);
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
