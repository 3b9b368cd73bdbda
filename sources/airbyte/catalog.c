#include "catalog.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <xxhash.h>

#include "buf.h"
#include "error.h"
#include "slug.h"
#include "table.h"

/* Bytes of a name an error message quotes: enough to recognise it,
 * little enough that a 500-byte name leaves room for the rest. */
#define AD_AB_LABEL_MAX 80
/* anyOf inside anyOf …: past this a schema says nothing airdust reads
 * (and a hostile catalog cannot recurse deep). */
#define AD_AB_SCHEMA_DEPTH 8

#define AD_AB_EXTRACTED_AT "_airbyte_extracted_at"
#define AD_AB_GENERATION_ID "_airbyte_generation_id"
#define AD_AB_DATA "_airbyte_data"

/* ---- small helpers --------------------------------------------------- */

static int ad_ab_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ad_ab_fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return AD_ECONFIG;
}

/* name (after "ns." when ns is not NULL) as a message may quote it:
 * control bytes become '?' (a newline in a name must not split a log
 * line), cut at a character boundary after AD_AB_LABEL_MAX bytes.
 * malloc'd; NULL on ENOMEM. */
static char *ad_ab_label(const char *ns, const char *name) {
  size_t nn = ns != NULL ? strlen(ns) + 1 : 0, len = nn + strlen(name), i;
  size_t keep = len > AD_AB_LABEL_MAX ? AD_AB_LABEL_MAX : len;
  char *out = malloc(keep + sizeof("..."));
  unsigned char c;

  if (out == NULL)
    return NULL;
  for (i = 0; i < keep; i++) {
    c = (unsigned char)(i < nn ? (i + 1 == nn ? '.' : ns[i]) : name[i - nn]);
    out[i] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
  }
  if (keep < len) {
    /* not in the middle of a UTF-8 sequence */
    while (keep > 0 && ((unsigned char)out[keep] & 0xC0) == 0x80)
      keep--;
    memcpy(out + keep, "...", 3);
    keep += 3;
  }
  out[keep] = '\0';
  return out;
}

/* The string member key of o: 1 with *s set (NULL for a JSON null or a
 * missing member), 0 when it is something else or holds a NUL byte (a
 * name C strings would cut short). */
static int ad_ab_opt_string(json_object *o, const char *key, const char **s) {
  json_object *v = NULL;
  *s = NULL;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 1;
  if (!json_object_is_type(v, json_type_string) ||
      strlen(json_object_get_string(v)) !=
          (size_t)json_object_get_string_len(v))
    return 0;
  *s = json_object_get_string(v);
  return 1;
}

/* A non-negative integer member: 1 with *value and *given set (0 when it
 * is missing or null), 0 when it is something else. */
static int ad_ab_opt_count(json_object *o, const char *key, int64_t *value,
                           int *given) {
  json_object *v = NULL;
  *value = 0;
  *given = 0;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 1;
  /* json-c reads integers past INT64_MAX as uint64: get_int64 clamps */
  if (!json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) < 0 ||
      json_object_get_uint64(v) > (uint64_t)INT64_MAX)
    return 0;
  *value = json_object_get_int64(v);
  *given = 1;
  return 1;
}

/* ---- column kinds ---------------------------------------------------- */

/* What the members of a schema (its type list, anyOf …) add up to. */
typedef struct ad_ab_acc {
  unsigned kinds; /* 1 << ad_kind_t of every member that is not null */
  unsigned types; /* AD_AB_J* */
} ad_ab_acc_t;

#define AD_AB_K(kind) (1u << (kind))

static const struct {
  const char *name;
  ad_kind_t kind; /* AD_KIND_NULL: adds no kind */
  unsigned types;
} ad_ab_types[] = {
    {"string", AD_KIND_TEXT, AD_AB_JSTRING},
    {"integer", AD_KIND_INT, AD_AB_JINTEGER},
    {"number", AD_KIND_FLOAT, AD_AB_JNUMBER | AD_AB_JINTEGER},
    {"boolean", AD_KIND_BOOL, AD_AB_JBOOLEAN},
    {"object", AD_KIND_JSON, AD_AB_JOBJECT},
    {"array", AD_KIND_JSON, AD_AB_JARRAY},
    {"null", AD_KIND_NULL, AD_AB_JNULL},
};

/* What turns a string into a datetime: format (JSON Schema's), or
 * airbyte_type (the protocol's own). */
static const char *const ad_ab_date_formats[] = {"date-time", "date"};
static const char *const ad_ab_date_types[] = {
    "timestamp_with_timezone", "timestamp_without_timezone", "date"};

static int ad_ab_member_is(json_object *schema, const char *key,
                           const char *const *values, size_t n) {
  const char *s;
  size_t i;
  if (!ad_ab_opt_string(schema, key, &s) || s == NULL)
    return 0;
  for (i = 0; i < n; i++)
    if (strcmp(s, values[i]) == 0)
      return 1;
  return 0;
}

static void ad_ab_any(ad_ab_acc_t *acc) {
  acc->kinds |= AD_AB_K(AD_KIND_JSON);
  acc->types |= AD_AB_JANY;
}

/* One type name of schema, with the format and airbyte_type beside it. */
static void ad_ab_type(json_object *schema, const char *type,
                       ad_ab_acc_t *acc) {
  unsigned types;
  ad_kind_t kind;
  size_t i;

  for (i = 0; i < sizeof(ad_ab_types) / sizeof(ad_ab_types[0]); i++)
    if (strcmp(type, ad_ab_types[i].name) == 0)
      break;
  if (i == sizeof(ad_ab_types) / sizeof(ad_ab_types[0])) {
    ad_ab_any(acc); /* not a JSON Schema type: nothing to go by */
    return;
  }
  kind = ad_ab_types[i].kind;
  types = ad_ab_types[i].types;
  if (kind == AD_KIND_TEXT &&
      (ad_ab_member_is(schema, "format", ad_ab_date_formats,
                       sizeof(ad_ab_date_formats) / sizeof(char *)) ||
       ad_ab_member_is(schema, "airbyte_type", ad_ab_date_types,
                       sizeof(ad_ab_date_types) / sizeof(char *))))
    kind = AD_KIND_DATETIME;
  if (kind == AD_KIND_FLOAT) {
    static const char *const integer[] = {"integer"};
    if (ad_ab_member_is(schema, "airbyte_type", integer, 1)) {
      kind = AD_KIND_INT;
      types = AD_AB_JINTEGER;
    }
  }
  acc->types |= types;
  if (kind != AD_KIND_NULL)
    acc->kinds |= AD_AB_K(kind);
}

static void ad_ab_schema(json_object *schema, int depth, ad_ab_acc_t *acc) {
  static const char *const unions[] = {"anyOf", "oneOf"};
  json_object *t, *members;
  size_t i, j, n;

  if (depth > AD_AB_SCHEMA_DEPTH ||
      !json_object_is_type(schema, json_type_object) ||
      json_object_object_get_ex(schema, "$ref", NULL)) {
    ad_ab_any(acc); /* true, a reference: anything */
    return;
  }
  if (json_object_object_get_ex(schema, "type", &t) && t != NULL) {
    if (json_object_is_type(t, json_type_string)) {
      ad_ab_type(schema, json_object_get_string(t), acc);
    } else if (json_object_is_type(t, json_type_array)) {
      n = json_object_array_length(t);
      for (i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(t, i);
        if (json_object_is_type(m, json_type_string))
          ad_ab_type(schema, json_object_get_string(m), acc);
        else
          ad_ab_any(acc);
      }
    } else {
      ad_ab_any(acc);
    }
    return;
  }
  for (i = 0; i < sizeof(unions) / sizeof(unions[0]); i++)
    if (json_object_object_get_ex(schema, unions[i], &members) &&
        json_object_is_type(members, json_type_array) &&
        json_object_array_length(members) > 0) {
      n = json_object_array_length(members);
      for (j = 0; j < n; j++)
        ad_ab_schema(json_object_array_get_idx(members, j), depth + 1, acc);
      return;
    }
  ad_ab_any(acc);
}

/* The kind that holds every value of the members: the widest. */
static ad_kind_t ad_ab_widest(unsigned kinds) {
  ad_kind_t k;
  if (kinds == 0)
    return AD_KIND_JSON; /* only null: nothing to go by */
  if ((kinds & ~(AD_AB_K(AD_KIND_INT) | AD_AB_K(AD_KIND_FLOAT))) == 0)
    return kinds == AD_AB_K(AD_KIND_INT) ? AD_KIND_INT : AD_KIND_FLOAT;
  if ((kinds & (kinds - 1)) != 0)
    return AD_KIND_TEXT; /* text reads every scalar, and JSON text */
  for (k = AD_KIND_NULL; AD_AB_K(k) != kinds; k++)
    ;
  return k;
}

/* ---- streams --------------------------------------------------------- */

static const struct {
  const char *name;
  ad_ab_mode_t mode;
  int needs_pk;
} ad_ab_modes[] = {
    {"append", AD_AB_APPEND, 0},
    {"append_dedup", AD_AB_APPEND_DEDUP, 1},
    {"overwrite", AD_AB_OVERWRITE, 0},
    {"overwrite_dedup", AD_AB_OVERWRITE, 1},
};

/* The names a document's title comes from, best first. */
static const char *const ad_ab_titles[] = {"title", "name", "subject",
                                           "headline", "label"};

static void ad_ab_path_free(ad_ab_path_t *p) {
  size_t i;
  for (i = 0; i < p->n; i++)
    free(p->keys[i]);
  free(p->keys);
  free(p->label);
}

static void ad_ab_stream_free(ad_ab_stream_t *s) {
  size_t i;
  if (s->columns != NULL && s->table != NULL)
    for (i = 0; i < s->table->ncolumns; i++)
      free(s->columns[i].label);
  free(s->columns);
  for (i = 0; i < s->npk; i++)
    ad_ab_path_free(&s->pk[i]);
  free(s->pk);
  ad_table_unref(s->table);
  free(s->name);
  free(s->ns);
  free(s->label);
}

/* primary_key: [["id"], ["address", "zip"]]. */
static int ad_ab_pk_parse(ad_ab_stream_t *s, json_object *pk, char *err,
                          size_t errlen) {
  size_t i, j, n, m;
  ad_buf_t label;
  int rc = 0;

  if (pk == NULL)
    return 0;
  if (!json_object_is_type(pk, json_type_array))
    goto bad;
  n = json_object_array_length(pk);
  for (i = 0; i < n; i++) {
    json_object *path = json_object_array_get_idx(pk, i);
    if (!json_object_is_type(path, json_type_array) ||
        json_object_array_length(path) == 0)
      goto bad;
    m = json_object_array_length(path);
    for (j = 0; j < m; j++) {
      json_object *k = json_object_array_get_idx(path, j);
      if (!json_object_is_type(k, json_type_string) ||
          strlen(json_object_get_string(k)) !=
              (size_t)json_object_get_string_len(k))
        goto bad;
    }
  }
  if (n == 0)
    return 0;
  if ((s->pk = calloc(n, sizeof(*s->pk))) == NULL)
    return AD_ENOMEM;
  ad_buf_init(&label, 0);
  for (i = 0; i < n && rc == 0; i++) {
    json_object *path = json_object_array_get_idx(pk, i);
    ad_ab_path_t *p = &s->pk[i];
    m = json_object_array_length(path);
    s->npk++;
    if ((p->keys = calloc(m, sizeof(*p->keys))) == NULL) {
      rc = AD_ENOMEM;
      break;
    }
    ad_buf_reset(&label);
    for (j = 0; j < m && rc == 0; j++) {
      const char *k = json_object_get_string(json_object_array_get_idx(path, j));
      if ((p->keys[j] = strdup(k)) == NULL) {
        rc = AD_ENOMEM;
        break;
      }
      p->n++;
      if (j > 0)
        rc = ad_buf_append(&label, ".", 1);
      if (rc == 0)
        rc = ad_buf_puts(&label, k);
    }
    if (rc == 0 && (p->label = ad_ab_label(NULL, label.data != NULL
                                                     ? label.data
                                                     : "")) == NULL)
      rc = AD_ENOMEM;
  }
  ad_buf_free(&label);
  return rc;
bad:
  return ad_ab_fail(err, errlen,
                    "stream \"%s\": primary_key must be a list of field "
                    "paths, each a list of names ([[\"id\"], "
                    "[\"address\", \"zip\"]])",
                    s->label);
}

/* What a stream entry says, but its table: *schema is its json_schema. */
static int ad_ab_stream_parse(ad_ab_stream_t *s, json_object *entry,
                              size_t index, json_object **schema, char *err,
                              size_t errlen) {
  json_object *stream = NULL, *pk = NULL;
  const char *name, *ns, *mode;
  int64_t min_gen;
  int given, rc;
  size_t i;

  if (!json_object_is_type(entry, json_type_object) ||
      !json_object_object_get_ex(entry, "stream", &stream) ||
      !json_object_is_type(stream, json_type_object))
    return ad_ab_fail(err, errlen, "streams[%zu]: no \"stream\" object",
                      index);
  if (!ad_ab_opt_string(stream, "name", &name) || name == NULL ||
      *name == '\0')
    return ad_ab_fail(err, errlen,
                      "streams[%zu]: the stream has no name (a non-empty "
                      "string)",
                      index);
  if (!ad_ab_opt_string(stream, "namespace", &ns)) {
    char *label = ad_ab_label(NULL, name);
    ad_ab_fail(err, errlen,
               "stream \"%s\": namespace must be a string or null",
               label != NULL ? label : "?");
    free(label);
    return AD_ECONFIG;
  }
  if (ns != NULL && *ns == '\0')
    ns = NULL; /* the protocol's "no namespace", however it is spelt */
  if ((s->name = strdup(name)) == NULL ||
      (ns != NULL && (s->ns = strdup(ns)) == NULL) ||
      (s->label = ad_ab_label(s->ns, s->name)) == NULL)
    return AD_ENOMEM;
  if (!json_object_object_get_ex(stream, "json_schema", schema) ||
      !json_object_is_type(*schema, json_type_object))
    return ad_ab_fail(err, errlen, "stream \"%s\": no json_schema object",
                      s->label);

  if (!ad_ab_opt_string(entry, "destination_sync_mode", &mode))
    return ad_ab_fail(err, errlen,
                      "stream \"%s\": destination_sync_mode must be a "
                      "string",
                      s->label);
  if (mode == NULL)
    mode = "append"; /* the protocol's default */
  for (i = 0; i < sizeof(ad_ab_modes) / sizeof(ad_ab_modes[0]); i++)
    if (strcmp(mode, ad_ab_modes[i].name) == 0)
      break;
  if (i == sizeof(ad_ab_modes) / sizeof(ad_ab_modes[0])) {
    char *label = ad_ab_label(NULL, mode);
    ad_ab_fail(err, errlen,
               "stream \"%s\": destination_sync_mode \"%s\" is not one "
               "airdust writes (append, append_dedup, overwrite, "
               "overwrite_dedup)",
               s->label, label != NULL ? label : "?");
    free(label);
    return AD_ECONFIG;
  }
  s->mode = ad_ab_modes[i].mode;

  json_object_object_get_ex(entry, "primary_key", &pk);
  if ((rc = ad_ab_pk_parse(s, pk, err, errlen)) != 0)
    return rc;
  if (ad_ab_modes[i].needs_pk && s->npk == 0)
    return ad_ab_fail(err, errlen,
                      "stream \"%s\": destination_sync_mode \"%s\" needs a "
                      "primary_key",
                      s->label, mode);

  if (!ad_ab_opt_count(entry, "generation_id", &s->generation_id,
                       &s->has_generation))
    return ad_ab_fail(err, errlen,
                      "stream \"%s\": generation_id must be an integer "
                      ">= 0",
                      s->label);
  if (!ad_ab_opt_count(entry, "minimum_generation_id", &min_gen, &given))
    return ad_ab_fail(err, errlen,
                      "stream \"%s\": minimum_generation_id must be an "
                      "integer >= 0",
                      s->label);
  s->minimum_generation_id = min_gen;
  s->replace = s->mode == AD_AB_OVERWRITE || min_gen > 0;
  return 0;
}

/* ---- tables ---------------------------------------------------------- */

static int ad_ab_add_column(ad_ab_stream_t *s, const char *name,
                            ad_kind_t kind, unsigned flags, ad_ab_from_t from,
                            unsigned types) {
  ad_table_t *t = s->table;
  ad_ab_column_t *grown;
  char *label = ad_ab_label(NULL, name);
  int rc;

  if (label == NULL)
    return AD_ENOMEM;
  /* grown with the table's columns, one for one */
  grown = realloc(s->columns, (t->ncolumns + 1) * sizeof(*grown));
  if (grown == NULL) {
    free(label);
    return AD_ENOMEM;
  }
  s->columns = grown;
  if ((rc = ad_table_add_column(t, name, name, kind, flags)) != 0) {
    free(label);
    return rc;
  }
  grown[t->ncolumns - 1].from = from;
  grown[t->ncolumns - 1].types = types;
  grown[t->ncolumns - 1].label = label;
  return 0;
}

/* The first property of the best title name, or NULL. */
static const char *ad_ab_primary(json_object *props) {
  const char *best = NULL;
  size_t rank = sizeof(ad_ab_titles) / sizeof(ad_ab_titles[0]), i;

  json_object_object_foreach(props, key, unused) {
    (void)unused;
    for (i = 0; i < rank; i++)
      if (strcasecmp(key, ad_ab_titles[i]) == 0) {
        rank = i; /* a later one of this rank does not beat it */
        best = key;
        break;
      }
  }
  return best;
}

/* An overwrite or a refresh: the sink deletes what the sync did not
 * write, but for what an earlier attempt of this generation wrote — rows
 * whose generation column, documents whose generation tag, is at least
 * minimum_generation_id (a resumed attempt does not send them again). */
static int ad_ab_replace(ad_ab_stream_t *s) {
  ad_table_t *t = s->table;
  size_t i;
  t->flags |= AD_TABLE_REPLACE;
  if (!s->has_generation)
    return 0;
  /* An overwrite keeps only this generation (an earlier attempt's); a
   * refresh what minimum_generation_id says. */
  t->keep_from = s->mode == AD_AB_OVERWRITE ? s->generation_id
                                            : s->minimum_generation_id;
  for (i = 0; i < t->ncolumns; i++)
    if (strcmp(t->columns[i].id, AD_AB_GENERATION_ID) == 0)
      t->keep_column = (int)i + 1;
  return (t->keep_tag = strdup("airbyte:generation:")) != NULL ? 0
                                                               : AD_ENOMEM;
}

static int ad_ab_table(ad_ab_stream_t *s, const char *table_id,
                       json_object *schema) {
  json_object *props = NULL;
  const char *primary;
  ad_buf_t b;
  int rc;

  ad_buf_init(&b, 0);
  rc = s->ns != NULL ? ad_buf_printf(&b, "Airbyte stream %s.%s", s->ns, s->name)
                     : ad_buf_printf(&b, "Airbyte stream %s", s->name);
  if (rc != 0 || (s->table = ad_table_new("", "", s->ns, table_id, s->name,
                                          b.data)) == NULL) {
    ad_buf_free(&b);
    return AD_ENOMEM;
  }
  s->table->flags |= AD_TABLE_OWN_TAGS;
  ad_buf_reset(&b);
  rc = ad_buf_printf(&b, "airbyte:stream:%s", s->name);
  if (rc == 0)
    rc = ad_table_add_tag(s->table, b.data);
  /* Always, empty without one: a replaced stream's documents are those
   * carrying every one of its tags, so "users" and "public.users" never
   * take each other's. */
  if (rc == 0) {
    ad_buf_reset(&b);
    if ((rc = ad_buf_printf(&b, "airbyte:namespace:%s",
                            s->ns != NULL ? s->ns : "")) == 0)
      rc = ad_table_add_tag(s->table, b.data);
  }
  if (rc == 0 && s->has_generation) {
    ad_buf_reset(&b);
    if ((rc = ad_buf_printf(&b, "airbyte:generation:%lld",
                            (long long)s->generation_id)) == 0)
      rc = ad_table_add_tag(s->table, b.data);
  }
  ad_buf_free(&b);
  if (rc != 0)
    return rc;

  /* properties that are not an object say no more than none */
  if (!json_object_object_get_ex(schema, "properties", &props) ||
      !json_object_is_type(props, json_type_object) ||
      json_object_object_length(props) == 0) {
    props = NULL;
    rc = ad_ab_add_column(s, AD_AB_DATA, AD_KIND_JSON, 0, AD_AB_FROM_DATA,
                          AD_AB_JOBJECT);
  } else {
    primary = ad_ab_primary(props);
    json_object_object_foreach(props, key, sub) {
      ad_ab_acc_t acc = {0, 0};
      ad_ab_schema(sub, 0, &acc);
      rc = ad_ab_add_column(s, key, ad_ab_widest(acc.kinds),
                            key == primary ? AD_COLUMN_PRIMARY : 0,
                            AD_AB_FROM_FIELD, acc.types);
      if (rc != 0)
        return rc;
    }
  }
  /* A property of a meta column's name is the source's own data: its
   * schema's column stays, and airdust's is left out. */
  if (rc == 0 &&
      (props == NULL || !json_object_object_get_ex(props, AD_AB_EXTRACTED_AT,
                                                   NULL)))
    rc = ad_ab_add_column(s, AD_AB_EXTRACTED_AT, AD_KIND_DATETIME, 0,
                          AD_AB_FROM_EXTRACTED, AD_AB_JSTRING);
  if (rc == 0 && s->has_generation &&
      (props == NULL || !json_object_object_get_ex(props, AD_AB_GENERATION_ID,
                                                   NULL)))
    rc = ad_ab_add_column(s, AD_AB_GENERATION_ID, AD_KIND_INT, 0,
                          AD_AB_FROM_GENERATION, AD_AB_JINTEGER);
  if (rc == 0 && s->replace)
    rc = ad_ab_replace(s);
  return rc;
}

/* ---- the index ------------------------------------------------------- */

static uint64_t ad_ab_hash(const char *ns, const char *name) {
  if (ns == NULL)
    ns = "";
  return XXH3_64bits_withSeed(name, strlen(name), XXH3_64bits(ns, strlen(ns)));
}

static int ad_ab_same(const ad_ab_stream_t *s, const char *ns,
                      const char *name) {
  return strcmp(s->name, name) == 0 &&
         strcmp(s->ns != NULL ? s->ns : "", ns != NULL ? ns : "") == 0;
}

/* The slot of (ns, name): the stream's, or the free one it would take. */
static size_t ad_ab_slot(const ad_ab_catalog_t *cat, const char *ns,
                         const char *name) {
  size_t mask = cat->nslots - 1, i = (size_t)ad_ab_hash(ns, name) & mask;
  while (cat->slots[i] != 0 &&
         !ad_ab_same(&cat->streams[cat->slots[i] - 1], ns, name))
    i = (i + 1) & mask;
  return i;
}

const ad_ab_stream_t *ad_ab_catalog_find(const ad_ab_catalog_t *cat,
                                         const char *ns, const char *name) {
  size_t i;
  assert(cat != NULL && name != NULL);
  if (cat->nslots == 0)
    return NULL;
  if (ns != NULL && *ns == '\0')
    ns = NULL;
  i = ad_ab_slot(cat, ns, name);
  return cat->slots[i] != 0 ? &cat->streams[cat->slots[i] - 1] : NULL;
}

/* ---- the catalog ----------------------------------------------------- */

static int ad_ab_order(const void *a, const void *b) {
  const ad_ab_stream_t *x = *(const ad_ab_stream_t *const *)a,
                       *y = *(const ad_ab_stream_t *const *)b;
  int c = strcmp(x->ns != NULL ? x->ns : "", y->ns != NULL ? y->ns : "");
  return c != 0 ? c : strcmp(x->name, y->name);
}

/* Table ids for every stream, in (namespace, name) order, so that a
 * stream's id does not hang on where the catalog lists it. */
static int ad_ab_tables(ad_ab_catalog_t *cat, json_object **schemas) {
  const ad_ab_stream_t **order = NULL;
  ad_slugset_t set;
  ad_buf_t base;
  char *id;
  size_t i;
  int rc = 0;

  if (cat->n == 0)
    return 0;
  if ((order = malloc(cat->n * sizeof(*order))) == NULL)
    return AD_ENOMEM;
  if (ad_slugset_init(&set) != 0) {
    free(order);
    return AD_ENOMEM;
  }
  ad_buf_init(&base, 0);
  for (i = 0; i < cat->n; i++)
    order[i] = &cat->streams[i];
  qsort(order, cat->n, sizeof(*order), ad_ab_order);
  for (i = 0; i < cat->n && rc == 0; i++) {
    ad_ab_stream_t *s = &cat->streams[order[i] - cat->streams];
    ad_buf_reset(&base);
    rc = s->ns != NULL ? ad_buf_printf(&base, "%s_%s", s->ns, s->name)
                       : ad_buf_puts(&base, s->name);
    if (rc != 0)
      break;
    if ((id = ad_slugset_add(&set, base.data, "stream")) == NULL) {
      rc = AD_ENOMEM;
      break;
    }
    rc = ad_ab_table(s, id, schemas[order[i] - cat->streams]);
    free(id);
  }
  ad_buf_free(&base);
  ad_slugset_free(&set);
  free(order);
  return rc;
}

void ad_ab_catalog_free(ad_ab_catalog_t *cat) {
  size_t i;
  for (i = 0; i < cat->n; i++)
    ad_ab_stream_free(&cat->streams[i]);
  free(cat->streams);
  free(cat->slots);
  memset(cat, 0, sizeof(*cat));
}

/* The document, or NULL when text is not one JSON value. */
static json_object *ad_ab_parse_json(const char *text, size_t len) {
  json_tokener *tok;
  json_object *o;
  size_t end;

  if (len > INT_MAX || (tok = json_tokener_new()) == NULL)
    return NULL;
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                  JSON_TOKENER_VALIDATE_UTF8);
  o = json_tokener_parse_ex(tok, text, (int)len);
  end = json_tokener_get_parse_end(tok);
  if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  /* whitespace may follow the catalog (a newline ends the file), nothing
   * else */
  for (; o != NULL && end < len; end++)
    if (strchr(" \t\r\n", text[end]) == NULL || text[end] == '\0') {
      json_object_put(o);
      o = NULL;
    }
  return o;
}

/* Whether two stream names give documents ids the same head: equal once
 * every byte outside [A-Za-z0-9_-] is '_' (record.c), "a b" and "a.b",
 * or the same name in two namespaces. */
static int ad_ab_same_doc_name(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    int ka = isalnum((unsigned char)*a) || *a == '_' || *a == '-';
    int kb = isalnum((unsigned char)*b) || *b == '_' || *b == '-';
    if ((ka ? *a : '_') != (kb ? *b : '_'))
      return 0;
  }
  return *a == *b;
}

int ad_ab_catalog_parse(ad_ab_catalog_t *cat, const char *text, size_t len,
                        char *err, size_t errlen) {
  json_object *root, *streams, **schemas = NULL;
  size_t i, n, slot;
  int rc = 0;

  memset(cat, 0, sizeof(*cat));
  if (errlen > 0)
    err[0] = '\0';
  if ((root = ad_ab_parse_json(text, len)) == NULL)
    return ad_ab_fail(err, errlen, "the configured catalog is not JSON");
  if (!json_object_is_type(root, json_type_object) ||
      !json_object_object_get_ex(root, "streams", &streams) ||
      !json_object_is_type(streams, json_type_array)) {
    json_object_put(root);
    return ad_ab_fail(err, errlen,
                      "the configured catalog has no \"streams\" array");
  }
  n = json_object_array_length(streams);
  for (cat->nslots = 8; cat->nslots < 2 * n + 1; cat->nslots *= 2)
    ;
  if ((n > 0 && ((cat->streams = calloc(n, sizeof(*cat->streams))) == NULL ||
                 (schemas = calloc(n, sizeof(*schemas))) == NULL)) ||
      (cat->slots = calloc(cat->nslots, sizeof(*cat->slots))) == NULL)
    rc = AD_ENOMEM;
  for (i = 0; i < n && rc == 0; i++) {
    ad_ab_stream_t *s = &cat->streams[i];
    cat->n++;
    rc = ad_ab_stream_parse(s, json_object_array_get_idx(streams, i), i,
                            &schemas[i], err, errlen);
    if (rc != 0)
      break;
    slot = ad_ab_slot(cat, s->ns, s->name);
    if (cat->slots[slot] != 0) {
      rc = ad_ab_fail(err, errlen,
                      "stream \"%s\" is in the catalog twice (streams[%zu] "
                      "and streams[%zu])",
                      s->label, cat->slots[slot] - 1, i);
      break;
    }
    cat->slots[slot] = i + 1;
  }
  for (i = 0; i < cat->n && rc == 0; i++) /* few streams: pairs are cheap */
    for (slot = i + 1; slot < cat->n; slot++)
      if (ad_ab_same_doc_name(cat->streams[i].name, cat->streams[slot].name))
        cat->streams[i].shared_name = cat->streams[slot].shared_name = 1;
  if (rc == 0)
    rc = ad_ab_tables(cat, schemas);
  free(schemas);
  json_object_put(root);
  if (rc != 0)
    ad_ab_catalog_free(cat);
  return rc;
}
