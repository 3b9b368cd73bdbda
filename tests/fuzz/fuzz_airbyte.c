/* The Airbyte mapping on any bytes. The first line is a configured
 * catalog: it parses, or fails with AD_ECONFIG and a message; a parsed
 * one finds each of its streams and gives them distinct table ids. Every
 * later line is the data of a RECORD of the catalog's first stream, read
 * as rows and as documents: a record, or AD_EPARSE with a message; a
 * record read has an id of at most AD_AB_ID_MAX bytes and each of its
 * cells NULL or of its column's kind. Each line is also read as a whole
 * message (message.h), and a STATE's echo is one line of JSON. */
#include <string.h>

#include <json-c/json.h>

#include "catalog.h"
#include "error.h"
#include "fuzz.h"
#include "message.h"
#include "record.h"

/* The line as a message too: read, or refused with a reason; a STATE's
 * echo is one line of JSON. */
static void fuzz_message(json_object *line) {
  ad_ab_msg_t m;
  ad_buf_t out;
  json_object *echo;
  char err[512];
  err[0] = '\0';
  if (ad_ab_msg_read(line, &m, err, sizeof(err)) != 0) {
    AD_FUZZ_CHECK(err[0] != '\0');
    return;
  }
  if (m.type != AD_AB_MSG_STATE)
    return;
  ad_buf_init(&out, 0);
  AD_FUZZ_CHECK(ad_ab_state_echo(m.state, 42, &out) == 0);
  AD_FUZZ_CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
  AD_FUZZ_CHECK(memchr(out.data, '\n', out.len - 1) == NULL);
  echo = json_tokener_parse(out.data);
  AD_FUZZ_CHECK(echo != NULL);
  json_object_put(echo);
  ad_buf_free(&out);
}

static void fuzz_check_record(const ad_ab_stream_t *s, const ad_record_t *rec) {
  size_t i, n = strlen(rec->id);
  AD_FUZZ_CHECK(n > 0 && n <= AD_AB_ID_MAX);
  AD_FUZZ_CHECK(rec->url == NULL);
  for (i = 0; i < s->table->ncolumns; i++) {
    const ad_value_t *v = &rec->values[i];
    AD_FUZZ_CHECK(v->kind == AD_KIND_NULL ||
                  v->kind == s->table->columns[i].kind);
    switch (v->kind) {
    case AD_KIND_TEXT:
    case AD_KIND_JSON:
    case AD_KIND_FLOAT:
      AD_FUZZ_CHECK(v->u.s != NULL);
      AD_FUZZ_CHECK(v->kind == AD_KIND_TEXT || v->n > 0);
      break;
    case AD_KIND_DATETIME:
      AD_FUZZ_CHECK(v->n <= 1);
      break;
    case AD_KIND_BOOL:
      AD_FUZZ_CHECK(v->u.b == 0 || v->u.b == 1);
      break;
    default:
      break;
    }
  }
}

static void fuzz_records(const ad_ab_stream_t *s, const char *text,
                         size_t size) {
  ad_ab_decoder_t d;
  ad_record_t rec;
  char err[512];
  size_t at = 0, end;
  int rc, documents;

  ad_ab_decoder_init(&d);
  while (at < size) {
    json_tokener *tok = json_tokener_new();
    json_object *data;
    for (end = at; end < size && text[end] != '\n'; end++)
      ;
    AD_FUZZ_CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                    JSON_TOKENER_VALIDATE_UTF8);
    data = json_tokener_parse_ex(tok, text + at, (int)(end - at));
    json_tokener_free(tok);
    if (data != NULL)
      fuzz_message(data);
    for (documents = 0; data != NULL && documents < 2; documents++) {
      err[0] = '\0';
      rc = ad_ab_record_read(&d, s, data, 1700000000000, documents, &rec,
                             err, sizeof(err));
      AD_FUZZ_CHECK(rc == 0 || (rc == AD_EPARSE && err[0] != '\0'));
      if (rc == 0)
        fuzz_check_record(s, &rec);
      else
        AD_FUZZ_CHECK(rec.id == NULL);
    }
    json_object_put(data);
    at = end + 1;
  }
  ad_ab_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  size_t line = 0, i, j;
  ad_ab_catalog_t cat;
  char err[512] = "";
  int rc;

  while (line < size && text[line] != '\n')
    line++;
  rc = ad_ab_catalog_parse(&cat, text, line, err, sizeof(err));
  AD_FUZZ_CHECK(rc == 0 || (rc == AD_ECONFIG && err[0] != '\0'));
  if (rc != 0) {
    AD_FUZZ_CHECK(cat.n == 0 && cat.streams == NULL);
    return 0;
  }
  for (i = 0; i < cat.n; i++) {
    const ad_ab_stream_t *s = &cat.streams[i];
    AD_FUZZ_CHECK(ad_ab_catalog_find(&cat, s->ns, s->name) == s);
    AD_FUZZ_CHECK(s->table != NULL && s->table->table_id[0] != '\0');
    for (j = 0; j < i; j++)
      AD_FUZZ_CHECK(strcmp(cat.streams[j].table->table_id,
                           s->table->table_id) != 0);
  }
  if (cat.n > 0 && line < size)
    fuzz_records(&cat.streams[0], text + line + 1, size - line - 1);
  ad_ab_catalog_free(&cat);
  return 0;
}
