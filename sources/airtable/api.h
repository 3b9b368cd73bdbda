/* Parsers for Airtable API responses (airtable-api.md sections 1-2).
 * Pure functions over response bodies; each error message names what was
 * wrong, for the failure report. */
#ifndef AD_AIRTABLE_API_H
#define AD_AIRTABLE_API_H

#include <stddef.h>

#include <json-c/json.h>

/* A page of GET /v0/{base}/{table} or POST .../listRecords. */
typedef struct ad_at_page {
  json_object *root;    /* owned: json_object_put it (ad_at_page_free) */
  json_object *records; /* array of record objects, borrowed from root */
  const char *offset;   /* next-page cursor, NULL on the last page */
  size_t utf8_replaced; /* invalid UTF-8 sequences replaced by U+FFFD */
} ad_at_page_t;

/* Returns 0 or AD_EPARSE with a message in err. */
int ad_at_page_parse(const char *body, size_t len, ad_at_page_t *page,
                     char *err, size_t errlen);
void ad_at_page_free(ad_at_page_t *page);

/* One base of GET /v0/meta/bases. */
typedef struct ad_at_base {
  char *id;
  char *name;
} ad_at_base_t;

/* Appends the page's bases to *bases and *nbases (growing the array); sets
 * *offset (malloc'd, NULL on the last page). Returns 0, AD_EPARSE or
 * AD_ENOMEM. */
int ad_at_bases_parse(const char *body, size_t len, ad_at_base_t **bases,
                      size_t *nbases, char **offset, char *err,
                      size_t errlen);
void ad_at_bases_free(ad_at_base_t *bases, size_t nbases);

/* Parses len bytes (no NUL needed after them) as one JSON object; NULL
 * with the reason in err when they are not. Bytes that are not UTF-8 are
 * replaced by U+FFFD first; *replaced (may be NULL) says how many
 * sequences were. The caller puts the result. */
json_object *ad_at_parse_object(const char *body, size_t len,
                                size_t *replaced, char *err, size_t errlen);

/* 1 when id looks like an Airtable id (app…, tbl…, rec…, fld…): 1 to 64
 * ASCII letters and digits. Anything else (a CR or LF above all) is
 * refused before it could reach a URL, a body or a log line. */
int ad_at_id_ok(const char *id);

/* obj[key] when it is a string, else NULL (borrowed from obj). */
const char *ad_at_json_string(json_object *obj, const char *key);

/* The error type of an error body: {"error":{"type":..,"message":..}} or
 * {"error":"NOT_FOUND"}. Writes "" when the body is not such an error, and
 * the message (may be "") into msg. */
void ad_at_error_parse(const char *body, size_t len, char *type,
                       size_t typelen, char *msg, size_t msglen);

#endif
