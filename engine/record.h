/* ad_record: the neutral form of a record, between a source and a sink.
 *
 * A source reads its API's format and hands over records whose fields are
 * typed values of a few kinds; a sink turns them into its own wire format.
 * Neither knows the other's rules: Airtable's (which field types read as
 * what, how a collaborator reads, that an unchecked checkbox is absent)
 * stay in sources/airtable/, Dust's (slugs, 512 columns, datetime cells,
 * integers past 2^53 as text, document bodies) in sinks/dust/.
 *
 * Values borrow their bytes: a source points them into what it parsed (a
 * page's json-c tree) or into a batch's arena, and the sink encodes them
 * before the batch goes, so no cell is copied on the way. */
#ifndef AD_RECORD_H
#define AD_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef enum ad_kind {
  AD_KIND_NULL = 0, /* no value */
  AD_KIND_TEXT,     /* UTF-8 text */
  AD_KIND_INT,      /* a whole number, every digit of an int64 */
  AD_KIND_FLOAT,    /* any other number, as its JSON literal (s, n): the
                       digits it was read with ("1.50", "1e-7"), so a sink
                       writes it as it came; always finite */
  AD_KIND_BOOL,
  AD_KIND_DATETIME, /* milliseconds since 1970-01-01T00:00:00Z */
  AD_KIND_LIST,     /* values of the kinds above; never a list of lists */
  AD_KIND_JSON      /* structured data no other kind holds: its JSON text */
} ad_kind_t;

typedef struct ad_value ad_value_t;

struct ad_value {
  ad_kind_t kind;
  uint32_t n; /* TEXT, JSON, FLOAT: bytes at s (not NUL-terminated);
                 LIST: items;
                 DATETIME: 1 for a date without a time of day (its ms are
                 that day's midnight UTC), else 0 */
  union {
    const char *s;
    int64_t i;   /* INT */
    int b;       /* BOOL */
    int64_t ms;  /* DATETIME */
    const ad_value_t *items; /* LIST */
  } u;
};

static inline ad_value_t ad_value_null(void) {
  ad_value_t v = {AD_KIND_NULL, 0, {0}};
  return v;
}

static inline ad_value_t ad_value_text(const char *s, size_t len) {
  ad_value_t v = {AD_KIND_TEXT, (uint32_t)len, {0}};
  v.u.s = s;
  return v;
}

/* One record of a table: its values are in the order of the table's
 * columns, one each. */
typedef struct ad_record {
  const char *id;          /* stable: a sink keys its upserts on it */
  int64_t created_ms;      /* when it was made, 0 if not known */
  const char *url;         /* where a person sees it at the source, or NULL */
  const ad_value_t *values;
} ad_record_t;

/* A FLOAT's number (its literal read with strtod). */
double ad_value_float(const ad_value_t *v);

/* The stable names of the kinds ("text", "int", …), as files and logs
 * write them; NULL for a kind that is not one. */
const char *ad_kind_name(ad_kind_t kind);

/* The kind named name (len bytes); -1 when none is. */
int ad_kind_parse(const char *name, size_t len);

#endif
