/* An Airtable record as a Dust document (documents format, design.md
 * section 4 and docs/mapping.md). A pure function over the parsed record. */
#ifndef AD_AT_DOCUMENT_H
#define AD_AT_DOCUMENT_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "mapping.h"

/* Dust refuses titles over 512 characters and cuts tags there. */
#define AD_AT_DOC_MAX_TITLE 512
#define AD_AT_DOC_MAX_TAG 512

typedef struct ad_at_doc_ctx {
  const char *base_id;
  const char *base_name; /* index-all mode; NULL for one table */
  const char *view_id;   /* may be NULL */
  const char *share_id;  /* may be NULL */
  int fields_as_tags;    /* treat_all_non_attachment_fields_as_metadata */
} ad_at_doc_ctx_t;

/* Appends {"title","text","source_url","timestamp","tags"} for a record of
 * a page fetched with returnFieldsByFieldId=true. *record_id points into
 * record. Returns 0, AD_EPARSE (not a record: message in err) or
 * AD_ENOMEM. */
int ad_at_record_document(const ad_at_doc_ctx_t *ctx,
                          const ad_at_table_t *table, json_object *record,
                          ad_buf_t *out, const char **record_id, char *err,
                          size_t errlen);

/* The byte length of the longest prefix of s (len bytes of UTF-8) that
 * holds at most max_units UTF-16 code units (JavaScript's string length)
 * and does not split a character. */
size_t ad_at_utf16_prefix(const char *s, size_t len, size_t max_units);

#endif
