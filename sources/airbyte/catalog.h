/* ad_ab catalog: the Airbyte configured catalog (protocol v0
 * ConfiguredAirbyteCatalog) as airdust tables, one per stream
 * (docs/airbyte.md). Pure functions over the catalog file's bytes.
 *
 * A stream's table:
 *   origin "", group "" named by the stream's namespace (or none);
 *   id: the slug of "<namespace>_<name>" (or of "<name>"; "stream" when
 *     nothing is left), unique in the catalog (users, users_2 …), handed
 *     out in the order of the streams sorted by (namespace, name), so a
 *     stream keeps its id whatever order the catalog lists them in;
 *   name: the stream's name; description "Airbyte stream [<ns>.]<name>";
 *   tags (AD_TABLE_OWN_TAGS) airbyte:stream:<name>,
 *     airbyte:namespace:<ns> ("" without one), and
 *     airbyte:generation:<generation_id> with one;
 *   replace (overwrite, or minimum_generation_id > 0): AD_TABLE_REPLACE,
 *     keeping rows whose _airbyte_generation_id, documents whose
 *     airbyte:generation: tag, is minimum_generation_id or more;
 *   columns: the json_schema's top-level properties in their order, id =
 *     name = the property's name as it is (the sink makes keys of them),
 *     kind from the property's schema:
 *       string                                   text
 *       string, format date-time | date, or
 *         airbyte_type timestamp_with_timezone |
 *         timestamp_without_timezone | date      datetime
 *       integer, or number with airbyte_type integer   int
 *       number                                   float
 *       boolean                                  bool
 *       object, array                            json
 *       a list of types, anyOf, oneOf            the widest of the members
 *         that are not null: all int → int; int and float → float; all of
 *         one other kind → that kind; any other mix → text
 *       no type, {}, $ref, anything else         json
 *     (no properties at all: one json column _airbyte_data, the whole
 *     record); then _airbyte_extracted_at (datetime, the message's
 *     emitted_at) and, when the stream has a generation_id,
 *     _airbyte_generation_id (int). A property of either name keeps its
 *     schema's kind and the meta column is left out: what the source says
 *     its data is wins over what airdust adds.
 *   primary column (a document's title): the first property named, in any
 *     case, title, else name, subject, headline, label (in that order of
 *     preference); none without one.
 * A table wider than the sink takes (Dust: 512 columns) is the sink's to
 * refuse: the catalog says what the stream is. */
#ifndef AD_AB_CATALOG_H
#define AD_AB_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "airdust_plugin.h"

typedef enum ad_ab_mode {
  AD_AB_APPEND,       /* "append", or destination_sync_mode missing */
  AD_AB_APPEND_DEDUP, /* "append_dedup": one record per primary key */
  AD_AB_OVERWRITE     /* "overwrite", and "overwrite_dedup" (ids from the
                         primary key) */
} ad_ab_mode_t;

/* The JSON types a column's schema lets its values be (null is always
 * read, as a NULL cell). */
enum {
  AD_AB_JNULL = 1,
  AD_AB_JSTRING = 2,
  AD_AB_JINTEGER = 4,
  AD_AB_JNUMBER = 8, /* a number with a fraction or exponent; "number"
                        accepts integers too (JNUMBER | JINTEGER) */
  AD_AB_JBOOLEAN = 16,
  AD_AB_JOBJECT = 32,
  AD_AB_JARRAY = 64,
  AD_AB_JANY = 127
};

/* Where a column's values come from (record.c). */
typedef enum ad_ab_from {
  AD_AB_FROM_FIELD,     /* the data member named by the column's id */
  AD_AB_FROM_DATA,      /* the whole data object (_airbyte_data) */
  AD_AB_FROM_EXTRACTED, /* the message's emitted_at */
  AD_AB_FROM_GENERATION /* the stream's generation_id */
} ad_ab_from_t;

/* What reading a column needs beyond its ad_column_t. */
typedef struct ad_ab_column {
  ad_ab_from_t from;
  unsigned types; /* AD_AB_J*: what the schema declares. The reader goes
                     by the column's kind (record.h), which already says
                     what it takes; this says what the source promised,
                     for a plugin's checks and messages. */
  char *label;    /* the name as error messages quote it (control bytes
                     replaced, cut short) */
} ad_ab_column_t;

/* A primary key component: a path into the record's data. */
typedef struct ad_ab_path {
  char **keys; /* ["address", "zip"]: at least one */
  size_t n;
  char *label; /* "address.zip", as error messages quote it */
} ad_ab_path_t;

typedef struct ad_ab_stream {
  char *name;        /* as RECORD messages name it */
  char *ns;          /* its namespace, NULL when none ("" is none) */
  ad_ab_mode_t mode; /* destination_sync_mode */
  int replace;       /* the destination must end holding only this sync's
                        records: mode OVERWRITE, or minimum_generation_id
                        > 0 */
  int64_t generation_id, minimum_generation_id; /* 0 when absent */
  int has_generation; /* generation_id was given */
  int shared_name;    /* another stream of the catalog gives documents ids
                         the same head (the same name in another
                         namespace, "a b" and "a.b"): its ids say which */
  ad_table_t *table;  /* one reference, owned by the catalog */
  /* Private to the module beyond this point. */
  ad_ab_column_t *columns; /* one per table column, in its order */
  ad_ab_path_t *pk;        /* primary_key; NULL (npk 0) without one */
  size_t npk;
  char *label; /* "[ns.]name" as error messages quote it */
} ad_ab_stream_t;

typedef struct ad_ab_catalog {
  ad_ab_stream_t *streams; /* in the catalog's order */
  size_t n;
  /* Private: a hash index on (namespace, name), open addressing; a slot
   * holds a stream's index + 1, 0 when free. */
  size_t *slots;
  size_t nslots; /* a power of two, more than twice n */
} ad_ab_catalog_t;

/* Parses the configured catalog's len bytes into cat (whose old contents
 * are not freed). Returns 0; AD_ECONFIG with err naming the stream and
 * the key ("stream \"users\": destination_sync_mode \"upsert\" is not one
 * airdust writes (append, append_dedup, overwrite, overwrite_dedup)") for
 * a catalog that is not JSON, has no streams array, a stream without a
 * name or json_schema object, a (namespace, name) twice, an unknown
 * destination_sync_mode, a *_dedup mode without a primary_key, or a
 * primary_key, namespace or generation that is not what the protocol
 * says; or AD_ENOMEM. On an error cat is left empty (freeing it is
 * harmless). */
int ad_ab_catalog_parse(ad_ab_catalog_t *cat, const char *text, size_t len,
                        char *err, size_t errlen);

/* The stream (ns NULL or "" = none, name) of cat, or NULL when the
 * catalog has none. Borrowed from cat. */
const ad_ab_stream_t *ad_ab_catalog_find(const ad_ab_catalog_t *cat,
                                         const char *ns, const char *name);

/* Frees what cat holds (drops its references to the tables) and leaves
 * it empty. */
void ad_ab_catalog_free(ad_ab_catalog_t *cat);

#endif
