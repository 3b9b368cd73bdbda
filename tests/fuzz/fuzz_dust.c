/* The Dust side on any bytes: an answer's error is read (JSON or plain
 * text) into bounded buffers, and any bytes a source could hand the sink
 * as a document unit become a request body that is valid JSON. */
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "fuzz.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) /* json-c takes an int length */
    return 0;
  char type[64], msg[256];
  ad_buf_t out;
  json_object *unit, *body;
  json_tokener *tok = json_tokener_new();

  ad_dust_error_parse((const char *)data, size, type, sizeof(type), msg,
                      sizeof(msg));
  AD_FUZZ_CHECK(strlen(type) < sizeof(type) && strlen(msg) < sizeof(msg));
  /* A document body is built from a unit the source wrote: a JSON object. */
  unit = json_tokener_parse_ex(tok, (const char *)data, (int)size);
  json_tokener_free(tok);
  if (unit != NULL && json_object_is_type(unit, json_type_object)) {
    const char *text = json_object_to_json_string_ext(unit, JSON_C_TO_STRING_PLAIN);
    ad_buf_init(&out, 0);
    if (ad_dust_document_body(&out, text, strlen(text)) == 0) {
      body = json_tokener_parse(out.data);
      AD_FUZZ_CHECK(body != NULL);
      json_object_put(body);
    }
    ad_buf_free(&out);
  }
  json_object_put(unit);
  return 0;
}
