/* The jsonl format's readers on any bytes. As a schema: a table, or
 * AD_EPARSE with a message. As a record line of a table of every kind:
 * a record, or AD_EPARSE with a message; a record read is written back,
 * and that line reads back to the same line (the format round-trips
 * whatever it accepts). */
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "fuzz.h"
#include "jsonl.h"
#include "table.h"

static const ad_kind_t kinds[] = {AD_KIND_TEXT, AD_KIND_INT, AD_KIND_FLOAT,
                                  AD_KIND_BOOL, AD_KIND_DATETIME,
                                  AD_KIND_LIST, AD_KIND_JSON, AD_KIND_NULL};

static ad_table_t *fuzz_table(void) {
  static const char *const ids[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  ad_table_t *t = ad_table_new("fuzz", "g", NULL, "t", "T", "");
  size_t i;
  AD_FUZZ_CHECK(t != NULL);
  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    AD_FUZZ_CHECK(ad_table_add_column(t, ids[i], ids[i], kinds[i], 0) == 0);
  return t;
}

static void fuzz_schema(const char *text, size_t size) {
  ad_table_t *t = NULL;
  char err[512] = "";
  int rc = ad_jsonl_schema_read(text, size, &t, err, sizeof(err));
  AD_FUZZ_CHECK(rc == 0 || rc == AD_EPARSE);
  AD_FUZZ_CHECK(rc == 0 ? t != NULL : (t == NULL && err[0] != '\0'));
  ad_table_unref(t);
}

static void fuzz_line(const char *text, size_t size) {
  ad_table_t *t = fuzz_table();
  json_tokener *tok = json_tokener_new();
  json_object *line, *again;
  ad_jsonl_decoder_t d;
  ad_record_t rec;
  ad_buf_t one, two;
  char err[512] = "";
  int rc;

  json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                  JSON_TOKENER_VALIDATE_UTF8);
  line = json_tokener_parse_ex(tok, text, (int)size);
  json_tokener_free(tok);
  ad_jsonl_decoder_init(&d);
  ad_buf_init(&one, 0);
  ad_buf_init(&two, 0);
  if (line != NULL) {
    rc = ad_jsonl_record_read(&d, t, line, &rec, err, sizeof(err));
    AD_FUZZ_CHECK(rc == 0 || (rc == AD_EPARSE && err[0] != '\0'));
    if (rc == 0) {
      AD_FUZZ_CHECK(ad_jsonl_record_write(&one, t, &rec, err,
                                          sizeof(err)) == 0);
      again = json_tokener_parse(one.data);
      AD_FUZZ_CHECK(again != NULL);
      AD_FUZZ_CHECK(ad_jsonl_record_read(&d, t, again, &rec, err,
                                         sizeof(err)) == 0);
      AD_FUZZ_CHECK(ad_jsonl_record_write(&two, t, &rec, err,
                                          sizeof(err)) == 0);
      AD_FUZZ_CHECK(one.len == two.len &&
                    memcmp(one.data, two.data, one.len) == 0);
      json_object_put(again);
    }
  }
  json_object_put(line);
  ad_buf_free(&one);
  ad_buf_free(&two);
  ad_jsonl_decoder_free(&d);
  ad_table_unref(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_schema((const char *)data, size);
  fuzz_line((const char *)data, size);
  return 0;
}
