#include "fake_airtable.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "backoff.h"
#include "buf.h"
#include "fake_server.h"
#include "fake_window.h"
#include "fake_airtable_data.h"

#define FA_PAGE_MAX 100

/* One limit's arrivals: all of them, to report how close clients came,
 * and the admitted ones, to judge the next. */
typedef struct fa_limit {
  ad_fake_window_t seen, admitted;
} fa_limit_t;

static void fa_limit_init(fa_limit_t *l) {
  ad_fake_window_init(&l->seen, 1000);
  ad_fake_window_init(&l->admitted, 1000);
}

static void fa_limit_free(fa_limit_t *l) {
  ad_fake_window_free(&l->seen);
  ad_fake_window_free(&l->admitted);
}

typedef struct fa_table {
  char id[18];
  char name[96];
  char view_id[18];
  const char *description; /* may be NULL */
  const fa_field_t *fields;
  size_t nfields;
  unsigned char *kinds; /* per field: its row in fa_kinds */
  char (*fids)[18];     /* per field: its id */
  int nrecords;
  int denied;      /* records answer 403 */
  int expire_next; /* offsets refused as expired, this many times */
  int inserted;    /* records added at the start since it was built */
} fa_table_t;

typedef struct fa_base {
  char id[18];
  char name[64];
  fa_table_t *tables;
  int ntables;
  uint64_t blocked_until;
  /* Requests before this came too early after a 503 with Retry-After. */
  uint64_t retry_after_until;
  fa_limit_t limit;
  int inject_429; /* answer the next requests 429, as if over the limit */
} fa_base_t;

/* Each connection remembers the latest 429 it carried: HTTP/1.1 clients
 * do not pipeline, so a later request on the same connection was sent
 * after libcurl read that answer. (A request on another connection may
 * have been in flight already, so it proves nothing.) One request may
 * still have been handed to libcurl before the client saw the 429, and
 * go out on that connection as soon as libcurl frees it: the first one
 * within FA_IN_FLIGHT_MS is excused. */
#define FA_IN_FLIGHT_MS 50

typedef struct fa_conn {
  const fa_base_t *told_base;
  uint64_t told_until, told_at;
  int excused;
  int served; /* the worker has taken a request from it (connect_us paid) */
} fa_conn_t;

typedef struct fa_offset {
  const fa_table_t *table;
  int position;
  uint64_t issued_ms;
} fa_offset_t;

struct ad_fake_airtable {
  ad_fake_airtable_opts_t o;
  char token[256];
  char url[64];
  struct MHD_Daemon *daemon;
  pthread_mutex_t mu;
  fa_base_t *bases;
  int nbases;
  uint64_t token_blocked_until;
  fa_limit_t token_limit;
  json_object *offsets; /* itr token -> index into offset_list */
  fa_offset_t *offset_list;
  size_t noffsets, offsets_cap;
  uint64_t rng;
  ad_fake_worker_t worker; /* stamp_mode AD_FAKE_STAMP_WORKER */
  fa_field_t *wide;          /* opts.wide_fields of them, or NULL */
  char (*wide_names)[24];
  ad_fake_airtable_counters_t c;
};

/* The request as it arrived, before MHD un-escapes the path. */
typedef struct fa_request {
  char *raw_uri;
  uint64_t arrival, lag; /* ms: see ad_fake_arrival_ms */
  /* ms: what the limits judge it on (the arrival, or when the worker got
   * to it), and when its answer may leave (fa_stamp). */
  uint64_t stamp, answer_at;
  char *body;
  size_t body_len;
  int answered_once;
} fa_request_t;

/* ---- the generated dataset ------------------------------------------- */

static const char *const fa_words[] = {
    "alpha", "Ünïcødé", "日本語", "emoji 🎉", "quote \"x\"", "slash/back\\",
    "tab\tchar", "long", "zeta", "línea\nnueva"};

static uint64_t fa_hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
  h ^= (c + 1) * 0xC2B2AE3D27D4EB4Full;
  h ^= (d + 7) * 0x165667B19E3779F9ull;
  return ad_rand_next(&h);
}

/* "app" + 14 characters of [A-Za-z0-9], as Airtable ids look. */
static void fa_id(char out[18], const char *prefix, uint64_t h) {
  static const char al[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  int i;
  memcpy(out, prefix, 3);
  for (i = 0; i < 14; i++) {
    out[3 + i] = al[h % 62];
    h = h / 62 ^ (h << 7) ^ (uint64_t)i * 0x9E37;
  }
  out[17] = '\0';
}

static void fa_field_id(char out[18], const fa_table_t *t, size_t f) {
  fa_id(out, "fld", fa_hash((unsigned char)t->id[5], (unsigned char)t->id[9],
                            f, 0xF1E1D));
}

/* Sizes the dataset: the demo bases, or N x M x K generic tables. */
static int fa_alloc(ad_fake_airtable_t *fa) {
  int b;
  fa->nbases = fa->o.demo ? (int)fa_demo_nbases : fa->o.bases;
  fa->bases = calloc((size_t)(fa->nbases ? fa->nbases : 1), sizeof(fa_base_t));
  if (fa->bases == NULL)
    return -1;
  for (b = 0; b < fa->nbases; b++) {
    fa_base_t *base = &fa->bases[b];
    base->ntables = fa->o.demo ? (int)fa_demo_bases[b].ntables
                               : fa->o.tables_per_base;
    base->tables = calloc((size_t)(base->ntables ? base->ntables : 1),
                          sizeof(fa_table_t));
    if (base->tables == NULL)
      return -1;
  }
  return 0;
}

static void fa_name_table(ad_fake_airtable_t *fa, int b, int t) {
  fa_base_t *base = &fa->bases[b];
  fa_table_t *tb = &base->tables[t];
  const fa_table_spec_t *spec;

  if (fa->o.demo) {
    spec = &fa_demo_bases[b].tables[t];
    snprintf(tb->name, sizeof(tb->name), "%s", spec->name);
    tb->description = spec->description;
    tb->fields = spec->fields;
    tb->nfields = spec->nfields;
    tb->nrecords = spec->nrecords;
    return;
  }
  snprintf(tb->name, sizeof(tb->name), "%s %d",
           t % 2 ? "Tâches / Q1 ✓" : "Table", t);
  tb->description = t % 2 == 0 ? "Generated test table" : NULL;
  tb->fields = fa_generic_fields;
  tb->nfields = fa_generic_nfields;
  tb->nrecords = fa->o.records_per_table;
  if (b == 0 && t == 0 && fa->wide != NULL) {
    tb->fields = fa->wide;
    tb->nfields = (size_t)fa->o.wide_fields;
  }
}

/* opts.wide_fields text fields "Field 1"… for table (0, 0). */
static int fa_build_wide(ad_fake_airtable_t *fa) {
  int i, n = fa->o.wide_fields;
  if (n <= 0)
    return 0;
  fa->wide = calloc((size_t)n, sizeof(*fa->wide));
  fa->wide_names = calloc((size_t)n, sizeof(*fa->wide_names));
  if (fa->wide == NULL || fa->wide_names == NULL)
    return -1;
  for (i = 0; i < n; i++) {
    snprintf(fa->wide_names[i], sizeof(fa->wide_names[i]), "Field %d", i + 1);
    fa->wide[i].name = fa->wide_names[i];
    fa->wide[i].type = "singleLineText";
  }
  return 0;
}

static unsigned char fa_kind_of(const char *type);

/* What every record of a table needs about its fields. */
static int fa_table_cache(fa_table_t *tb) {
  size_t f, n = tb->nfields ? tb->nfields : 1;
  tb->kinds = calloc(n, sizeof(*tb->kinds));
  tb->fids = calloc(n, sizeof(*tb->fids));
  if (tb->kinds == NULL || tb->fids == NULL)
    return -1;
  for (f = 0; f < tb->nfields; f++) {
    tb->kinds[f] = fa_kind_of(tb->fields[f].type);
    fa_field_id(tb->fids[f], tb, f);
  }
  return 0;
}

static int fa_build(ad_fake_airtable_t *fa) {
  int b, t;
  if (fa_alloc(fa) != 0 || fa_build_wide(fa) != 0)
    return -1;
  for (b = 0; b < fa->nbases; b++) {
    fa_base_t *base = &fa->bases[b];
    fa_id(base->id, "app", fa_hash(fa->o.seed, (uint64_t)b, 0, 1));
    if (fa->o.demo)
      snprintf(base->name, sizeof(base->name), "%s", fa_demo_bases[b].name);
    else
      snprintf(base->name, sizeof(base->name), "Base %d %s", b,
               b % 3 == 0 ? "Ops / Q&A" : b % 3 == 1 ? "Ventes é" : "CRM");
    for (t = 0; t < base->ntables; t++) {
      fa_table_t *tb = &base->tables[t];
      fa_id(tb->id, "tbl", fa_hash(fa->o.seed, (uint64_t)b, (uint64_t)t, 2));
      fa_id(tb->view_id, "viw", fa_hash(fa->o.seed, (uint64_t)b, (uint64_t)t,
                                        3));
      fa_name_table(fa, b, t);
      if (fa_table_cache(tb) != 0)
        return -1;
    }
    fa_limit_init(&base->limit);
  }
  fa_limit_init(&fa->token_limit);
  return 0;
}

static size_t fa_count(const char *const *values) {
  size_t n = 0;
  while (values[n] != NULL)
    n++;
  return n;
}

/* ---- records, written as JSON text ------------------------------------
 * The same bytes json-c's plain serializer made when the fake built a
 * json-c object per cell, which was most of its CPU: on 2 cores the fakes
 * share the machine with the sync the benchmarks measure. */

static void fa_wstr_len(ad_buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  char esc[6] = {'\\', 'u', '0', '0', 0, 0};
  size_t i, run = 0;

  ad_buf_append(b, "\"", 1);
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '/' ? "\\/"
                  : c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                  : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
    if (e == NULL && c >= 0x20)
      continue;
    ad_buf_append(b, s + run, i - run);
    run = i + 1;
    if (e != NULL) {
      ad_buf_puts(b, e);
    } else {
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      ad_buf_append(b, esc, 6);
    }
  }
  ad_buf_append(b, s + run, len - run);
  ad_buf_append(b, "\"", 1);
}

static void fa_wstr(ad_buf_t *b, const char *s) { fa_wstr_len(b, s, strlen(s)); }

static void fa_wint(ad_buf_t *b, long long v) {
  char tmp[24];
  ad_buf_append(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%lld", v));
}

/* As json-c writes a double: %.17g, and ".0" when that reads integral. */
static void fa_wdouble(ad_buf_t *b, double v) {
  char tmp[40];
  int n = snprintf(tmp, sizeof(tmp), "%.17g", v);
  ad_buf_append(b, tmp, (size_t)n);
  if (strpbrk(tmp, ".eE") == NULL)
    ad_buf_append(b, ".0", 2);
}

/* How a field type's generated cells look. */
typedef enum fa_kind {
  FA_WORD,     /* "<word>" */
  FA_TEXT,     /* "<word> <index>" */
  FA_CONST,    /* the string arg */
  FA_JSON,     /* the JSON text arg */
  FA_INT,      /* 0..100000 */
  FA_RATING,   /* 1..5 */
  FA_CENTS,    /* 0.00..100.00 */
  FA_CHECKBOX, /* true, or empty */
  FA_LINKS,    /* ["recAAAAAAAAAAAAAA","<word>"] */
  FA_FORMULA,  /* the index, or (1 in 5) the error arg */
  FA_ROLLUP    /* 1.5, or (1 in 5) the special value arg */
} fa_kind_t;

static const struct {
  const char *type;
  fa_kind_t kind;
  const char *arg;
} fa_kinds[] = {
    {"(other)", FA_WORD, NULL},
    {"singleLineText", FA_TEXT, NULL},
    {"multilineText", FA_TEXT, NULL},
    {"richText", FA_TEXT, NULL},
    {"singleSelect", FA_TEXT, NULL},
    {"externalSyncSource", FA_TEXT, NULL},
    {"email", FA_CONST, "someone@example.com"},
    {"url", FA_CONST, "https://example.com/a?b=c"},
    {"phoneNumber", FA_CONST, "+1 (555) 010-0199"},
    {"number", FA_INT, NULL},
    {"autoNumber", FA_INT, NULL},
    {"count", FA_INT, NULL},
    {"duration", FA_INT, NULL},
    {"rating", FA_RATING, NULL},
    {"percent", FA_CENTS, NULL},
    {"currency", FA_CENTS, NULL},
    {"checkbox", FA_CHECKBOX, NULL},
    {"date", FA_CONST, "2024-02-29"},
    {"dateTime", FA_CONST, "2022-09-05T07:00:00.000Z"},
    {"createdTime", FA_CONST, "2022-09-05T07:00:00.000Z"},
    {"lastModifiedTime", FA_CONST, "2022-09-05T07:00:00.000Z"},
    {"multipleSelects", FA_LINKS, NULL},
    {"multipleRecordLinks", FA_LINKS, NULL},
    {"multipleAttachments", FA_JSON,
     "[{\"id\":\"attA\",\"url\":\"https:\\/\\/dl.example.com\\/x.pdf\","
     "\"filename\":\"x.pdf\",\"size\":10,\"type\":\"application\\/pdf\"}]"},
    {"singleCollaborator", FA_JSON,
     "{\"id\":\"usrA\",\"email\":\"ann@example.com\",\"name\":\"Ann\"}"},
    {"createdBy", FA_JSON,
     "{\"id\":\"usrA\",\"email\":\"ann@example.com\",\"name\":\"Ann\"}"},
    {"lastModifiedBy", FA_JSON,
     "{\"id\":\"usrA\",\"email\":\"ann@example.com\",\"name\":\"Ann\"}"},
    {"multipleCollaborators", FA_JSON,
     "[{\"id\":\"usrA\",\"email\":\"a@x.io\",\"name\":\"Ann\"},"
     "{\"id\":\"usrB\",\"email\":\"b@x.io\"}]"},
    {"barcode", FA_JSON, "{\"text\":\"0123\",\"type\":\"upce\"}"},
    {"button", FA_JSON, "{\"label\":\"Open\",\"url\":null}"},
    {"aiText", FA_JSON,
     "{\"state\":\"generated\",\"isStale\":false,\"value\":\"A summary\"}"},
    {"formula", FA_FORMULA, "{\"error\":\"#ERROR!\"}"},
    {"rollup", FA_ROLLUP, "{\"specialValue\":\"NaN\"}"},
    {"multipleLookupValues", FA_JSON, "[\"x\",{\"error\":\"#ERROR!\"},[1,2]]"},
};

static unsigned char fa_kind_of(const char *type) {
  unsigned char k;
  for (k = 1; k < sizeof(fa_kinds) / sizeof(fa_kinds[0]); k++)
    if (strcmp(fa_kinds[k].type, type) == 0)
      return k;
  return 0;
}

/* A cell drawn from a field's own values: the primary field cycles through
 * them (numbered past the first round, so names stay unique), others pick;
 * multiple selects pick one or two. */
static void fa_pick(ad_buf_t *b, const fa_field_t *fd, int primary,
                    uint64_t *rng, int index) {
  size_t n = fa_count(fd->values);
  char tmp[256];

  if (primary) {
    if ((size_t)index < n) {
      fa_wstr(b, fd->values[index]);
      return;
    }
    snprintf(tmp, sizeof(tmp), "%s #%d", fd->values[(size_t)index % n],
             index / (int)n + 1);
    fa_wstr(b, tmp);
    return;
  }
  if (strcmp(fd->type, "multipleSelects") != 0) {
    fa_wstr(b, fd->values[ad_rand_upto(rng, n - 1)]);
    return;
  }
  ad_buf_append(b, "[", 1);
  fa_wstr(b, fd->values[ad_rand_upto(rng, n - 1)]);
  if (ad_rand_upto(rng, 1)) {
    ad_buf_append(b, ",", 1);
    fa_wstr(b, fd->values[ad_rand_upto(rng, n - 1)]);
  }
  ad_buf_append(b, "]", 1);
}

/* One cell value in its real list-records shape. Returns 0 for an empty
 * cell (left out of the record, as Airtable does; nothing written). */
static int fa_cell(ad_buf_t *b, const fa_field_t *fd, unsigned char kind,
                   int primary, uint64_t *rng, int index) {
  const char *w = fa_words[ad_rand_upto(rng, 9)], *arg = fa_kinds[kind].arg;
  char tmp[96];

  if (!primary && ad_rand_upto(rng, 7) == 0)
    return 0;
  if (fd->values != NULL) {
    fa_pick(b, fd, primary, rng, index);
    return 1;
  }
  switch (fa_kinds[kind].kind) {
  case FA_WORD: fa_wstr(b, w); break;
  case FA_TEXT:
    snprintf(tmp, sizeof(tmp), "%s %d", w, index);
    fa_wstr(b, tmp);
    break;
  case FA_CONST: fa_wstr(b, arg); break;
  case FA_JSON: ad_buf_puts(b, arg); break;
  case FA_INT: fa_wint(b, (long long)ad_rand_upto(rng, 100000)); break;
  case FA_RATING: fa_wint(b, 1 + (long long)ad_rand_upto(rng, 4)); break;
  case FA_CENTS:
    fa_wdouble(b, (double)ad_rand_upto(rng, 10000) / 100.0);
    break;
  case FA_CHECKBOX:
    if (!ad_rand_upto(rng, 1))
      return 0;
    ad_buf_puts(b, "true");
    break;
  case FA_LINKS:
    ad_buf_puts(b, "[\"recAAAAAAAAAAAAAA\",");
    fa_wstr(b, w);
    ad_buf_append(b, "]", 1);
    break;
  case FA_FORMULA:
    if (ad_rand_upto(rng, 4) == 0)
      ad_buf_puts(b, arg);
    else
      fa_wint(b, index);
    break;
  case FA_ROLLUP:
    if (ad_rand_upto(rng, 4) == 0)
      ad_buf_puts(b, arg);
    else
      fa_wdouble(b, 1.5);
    break;
  }
  return 1;
}

/* A text of len bytes: a sentence over and over. */
static void fa_huge_text(ad_buf_t *b, size_t len) {
  static const char line[] = "A very long note that keeps going. ";
  char *s = malloc(len);
  size_t i;
  if (s == NULL)
    return;
  for (i = 0; i < len; i++)
    s[i] = line[i % (sizeof(line) - 1)];
  fa_wstr_len(b, s, len);
  free(s);
}

/* Whether a fields[] filter (NULL: none) keeps field f. */
static int fa_kept(const fa_table_t *t, size_t f, json_object *only) {
  return only == NULL ||
         json_object_object_get_ex(only, t->fids[f], NULL) ||
         json_object_object_get_ex(only, t->fields[f].name, NULL);
}

/* Appends the record at index; id gets its id. */
static void fa_record(const ad_fake_airtable_t *fa, const fa_table_t *t,
                      int index, int by_id, json_object *only, ad_buf_t *b,
                      char id[18]) {
  uint64_t rng = fa_hash(fa->o.seed, (unsigned char)t->id[4],
                         (unsigned char)t->id[8] * 131u + (unsigned char)t->id[12],
                         (uint64_t)index);
  size_t f, mark, value;
  int any = 0, written;

  fa_id(id, "rec", rng);
  ad_buf_puts(b, "{\"id\":");
  fa_wstr(b, id);
  ad_buf_puts(b, ",\"createdTime\":\"2022-09-12T21:03:48.000Z\",\"fields\":{");
  for (f = 0; f < t->nfields; f++) {
    mark = b->len;
    if (any)
      ad_buf_append(b, ",", 1);
    fa_wstr(b, by_id ? t->fids[f] : t->fields[f].name);
    ad_buf_append(b, ":", 1);
    value = b->len;
    written = fa_cell(b, &t->fields[f], t->kinds[f], f == 0, &rng, index);
    if (f == 0 && index == 0 && t == &fa->bases[0].tables[0] &&
        fa->o.huge_cell_bytes > 0) {
      b->len = value;
      fa_huge_text(b, fa->o.huge_cell_bytes);
      written = 1;
    }
    if (!written || !fa_kept(t, f, only)) {
      b->len = mark; /* the draws were made all the same */
      continue;
    }
    any = 1;
  }
  ad_buf_append(b, "}}", 2);
}

static int fa_index(const fa_table_t *t, int position);

/* {"records":[…] (no closing brace) for positions [first, end) of t;
 * last gets the last record's id. */
static void fa_page(const ad_fake_airtable_t *fa, const fa_table_t *t,
                    int first, int end, int by_id, json_object *only,
                    ad_buf_t *b, char last[18]) {
  int i;
  ad_buf_puts(b, "{\"records\":[");
  for (i = first; i < end; i++) {
    if (i > first)
      ad_buf_append(b, ",", 1);
    fa_record(fa, t, fa_index(t, i), by_id, only, b, last);
  }
  ad_buf_append(b, "]", 1);
}

/* The generated record at a position: records inserted later sit first
 * and are generated past the original ones, so every id stays unique. */
static int fa_index(const fa_table_t *t, int position) {
  return position < t->inserted ? t->nrecords - t->inserted + position
                                : position - t->inserted;
}

/* ---- answers ---------------------------------------------------------- */

static enum MHD_Result fa_send(struct MHD_Connection *conn, unsigned status,
                               const char *body, size_t len) {
  struct MHD_Response *res = MHD_create_response_from_buffer(
      len, (void *)body, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result r;
  if (res == NULL)
    return MHD_NO;
  MHD_add_response_header(res, "Content-Type", "application/json; charset=utf-8");
  r = MHD_queue_response(conn, status, res);
  MHD_destroy_response(res);
  return r;
}

static enum MHD_Result fa_json(struct MHD_Connection *conn, unsigned status,
                               json_object *obj) {
  const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
  enum MHD_Result r = fa_send(conn, status, s, strlen(s));
  json_object_put(obj);
  return r;
}

/* {"error":{"type":T,"message":M}}, or {"error":T} when M is NULL and
 * string_form is set (a form the real 404 uses). */
static enum MHD_Result fa_error(struct MHD_Connection *conn, unsigned status,
                                const char *type, const char *message,
                                int string_form) {
  json_object *root = json_object_new_object(), *e;
  if (string_form) {
    json_object_object_add(root, "error", json_object_new_string(type));
  } else {
    e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string(type));
    if (message != NULL)
      json_object_object_add(e, "message", json_object_new_string(message));
    json_object_object_add(root, "error", e);
  }
  return fa_json(conn, status, root);
}

/* Records a stamp; updates the busiest second and the shortest span in
 * which limit + 1 requests were stamped (over 1 000 ms: never over). */
static void fa_limit_seen(fa_limit_t *l, uint64_t now, int limit, long *max,
                          long *tightest) {
  size_t busiest = ad_fake_window_busiest(&l->seen, now);
  uint64_t span;

  if (limit > 0) {
    span = ad_fake_window_tightest(&l->seen, now, (size_t)limit + 1);
    if (span != UINT64_MAX && (*tightest < 0 || (long)span < *tightest))
      *tightest = (long)span;
  }
  if ((long)busiest > *max)
    *max = (long)busiest;
  ad_fake_window_add(&l->seen, now);
}

/* Whether admitting a request that arrived at now would put more than
 * limit admitted requests in some second. */
static int fa_limit_over(const fa_limit_t *l, uint64_t now, int limit) {
  return limit > 0 && ad_fake_window_busiest(&l->admitted, now) > (size_t)limit;
}

/* A 429 goes out for base on cx at answer_at (or now, if later): the
 * client will know of the penalty in force once it reads it. */
static void fa_told(ad_fake_airtable_t *fa, fa_base_t *base, fa_conn_t *cx,
                    uint64_t answer_at) {
  uint64_t now = ad_fake_now_ms(), until = fa->token_blocked_until;
  if (base == NULL || cx == NULL)
    return;
  if (base->blocked_until > until)
    until = base->blocked_until;
  cx->told_base = base;
  cx->told_until = until;
  cx->told_at = answer_at > now ? answer_at : now; /* when the 429 leaves */
  cx->excused = 0;
}

/* The sliding-second limits, judged on the request's stamp. Returns 1
 * when the request may proceed. Called with the lock held. */
static int fa_admit(ad_fake_airtable_t *fa, fa_base_t *base,
                    const fa_request_t *rq, fa_conn_t *cx) {
  uint64_t now = rq->stamp;
  int over_base, over_token;

  fa_limit_seen(&fa->token_limit, now, fa->o.per_token_rps,
                &fa->c.max_per_token_window, &fa->c.tightest_token_span_ms);
  if (base != NULL)
    fa_limit_seen(&base->limit, now, fa->o.per_base_rps,
                  &fa->c.max_per_base_window, &fa->c.tightest_base_span_ms);
  if (base != NULL && cx != NULL && cx->told_base == base &&
      now < cx->told_until) {
    /* Arrivals are the kernel's, in jiffies: one can read a few ms
     * before the 429 that preceded it on the connection went out. */
    if (!cx->excused &&
        (now <= cx->told_at || now - cx->told_at <= FA_IN_FLIGHT_MS))
      cx->excused = 1;
    else
      fa->c.ignored_penalty++;
  }
  if (now < fa->token_blocked_until ||
      (base != NULL && now < base->blocked_until)) {
    fa->c.refused_in_penalty++;
    fa->c.sent_429++;
    fa_told(fa, base, cx, rq->answer_at);
    return 0;
  }
  if (base != NULL && base->inject_429 > 0) { /* as if another client */
    base->inject_429--;
    base->blocked_until = now + (uint64_t)fa->o.penalty_ms;
    fa->c.injected_429++;
    fa->c.sent_429++;
    fa_told(fa, base, cx, rq->answer_at);
    return 0;
  }
  over_token = fa_limit_over(&fa->token_limit, now, fa->o.per_token_rps);
  over_base = base != NULL &&
              fa_limit_over(&base->limit, now, fa->o.per_base_rps);
  if (over_token || over_base) {
    if (over_token)
      fa->token_blocked_until = now + (uint64_t)fa->o.penalty_ms;
    if (over_base)
      base->blocked_until = now + (uint64_t)fa->o.penalty_ms;
    fa->c.sent_429++;
    fa_told(fa, base, cx, rq->answer_at);
    return 0;
  }
  ad_fake_window_add(&fa->token_limit.admitted, now);
  if (base != NULL)
    ad_fake_window_add(&base->limit.admitted, now);
  return 1;
}

/* ---- routes ----------------------------------------------------------- */

static fa_conn_t *fa_conn(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info != NULL ? info->socket_context : NULL;
}

static fa_base_t *fa_find_base(ad_fake_airtable_t *fa, const char *id) {
  int b;
  for (b = 0; b < fa->nbases; b++)
    if (strcmp(fa->bases[b].id, id) == 0)
      return &fa->bases[b];
  return NULL;
}

static fa_table_t *fa_find_table(const fa_base_t *base,
                                 const char *id_or_name) {
  int t;
  for (t = 0; t < base->ntables; t++)
    if (strcmp(base->tables[t].id, id_or_name) == 0 ||
        strcmp(base->tables[t].name, id_or_name) == 0)
      return &base->tables[t];
  return NULL;
}

static enum MHD_Result fa_bases(ad_fake_airtable_t *fa,
                                struct MHD_Connection *conn) {
  const char *off = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                "offset");
  int start = 0, b, page = fa->o.bases_page_size;
  json_object *root = json_object_new_object(), *arr = json_object_new_array();
  char tmp[64];

  if (off != NULL &&
      (sscanf(off, "itrB%8x/", (unsigned *)&start) != 1 || start <= 0 ||
       start >= fa->nbases)) {
    json_object_put(root);
    json_object_put(arr);
    return fa_error(conn, 422, "INVALID_OFFSET_VALUE",
                    "The value of offset is invalid", 0);
  }
  for (b = start; b < fa->nbases && b < start + page; b++) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(fa->bases[b].id));
    json_object_object_add(o, "name", json_object_new_string(fa->bases[b].name));
    json_object_object_add(o, "permissionLevel", json_object_new_string("create"));
    json_object_array_add(arr, o);
  }
  json_object_object_add(root, "bases", arr);
  if (b < fa->nbases) {
    snprintf(tmp, sizeof(tmp), "itrB%08x/%s", (unsigned)b, fa->bases[b].id);
    json_object_object_add(root, "offset", json_object_new_string(tmp));
  }
  return fa_json(conn, 200, root);
}

static enum MHD_Result fa_schema(struct MHD_Connection *conn,
                                 const fa_base_t *base) {
  json_object *root = json_object_new_object(), *tables = json_object_new_array();
  char fid[18];
  int t;
  size_t f;

  for (t = 0; t < base->ntables; t++) {
    const fa_table_t *tb = &base->tables[t];
    json_object *o = json_object_new_object(), *fields = json_object_new_array();
    json_object *views = json_object_new_array(), *v = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(tb->id));
    json_object_object_add(o, "name", json_object_new_string(tb->name));
    if (tb->description != NULL)
      json_object_object_add(o, "description",
                             json_object_new_string(tb->description));
    for (f = 0; f < tb->nfields; f++) {
      json_object *fo = json_object_new_object();
      fa_field_id(fid, tb, f);
      if (f == 0)
        json_object_object_add(o, "primaryFieldId", json_object_new_string(fid));
      json_object_object_add(fo, "id", json_object_new_string(fid));
      json_object_object_add(fo, "name", json_object_new_string(tb->fields[f].name));
      json_object_object_add(fo, "type", json_object_new_string(tb->fields[f].type));
      if (tb->fields[f].options != NULL)
        json_object_object_add(fo, "options",
                               json_tokener_parse(tb->fields[f].options));
      json_object_array_add(fields, fo);
    }
    json_object_object_add(o, "fields", fields);
    json_object_object_add(v, "id", json_object_new_string(tb->view_id));
    json_object_object_add(v, "name", json_object_new_string("Grid view"));
    json_object_object_add(v, "type", json_object_new_string("grid"));
    json_object_array_add(views, v);
    json_object_object_add(o, "views", views);
    json_object_array_add(tables, o);
  }
  json_object_object_add(root, "tables", tables);
  return fa_json(conn, 200, root);
}

/* List-records options, from the query string (GET) or the body (POST). */
typedef struct fa_list_opts {
  int page_size;
  const char *offset;
  const char *view;
  int by_id;
  json_object *fields; /* set of requested field names/ids, or NULL */
  int bad;             /* a parameter failed validation */
} fa_list_opts_t;

static enum MHD_Result fa_collect_field(void *cls, enum MHD_ValueKind kind,
                                        const char *key, const char *value) {
  fa_list_opts_t *lo = cls;
  (void)kind;
  if (value != NULL && (strcmp(key, "fields[]") == 0 || strcmp(key, "fields") == 0)) {
    if (lo->fields == NULL)
      lo->fields = json_object_new_object();
    json_object_object_add(lo->fields, value, NULL);
  }
  return MHD_YES;
}

static int fa_page_size(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  return *s && *end == '\0' && n >= 1 && n <= FA_PAGE_MAX ? (int)n : -1;
}

static void fa_opts_from_query(struct MHD_Connection *conn, fa_list_opts_t *lo) {
  const char *v;
  v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pageSize");
  if (v != NULL && (lo->page_size = fa_page_size(v)) < 0)
    lo->bad = 1;
  lo->offset = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "offset");
  lo->view = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "view");
  v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                  "returnFieldsByFieldId");
  lo->by_id = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, fa_collect_field, lo);
}

/* POST .../listRecords: a JSON body; returns the parsed body to keep the
 * strings alive, or NULL (lo->bad set) when it is not valid JSON. */
static json_object *fa_opts_from_body(const fa_request_t *rq, fa_list_opts_t *lo) {
  json_object *body = json_tokener_parse(rq->body ? rq->body : ""), *v;
  size_t i;

  if (body == NULL || !json_object_is_type(body, json_type_object)) {
    lo->bad = 2;
    json_object_put(body);
    return NULL;
  }
  if (json_object_object_get_ex(body, "pageSize", &v) &&
      (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < 1 ||
       json_object_get_int(v) > FA_PAGE_MAX))
    lo->bad = 1;
  else if (v != NULL)
    lo->page_size = json_object_get_int(v);
  if (json_object_object_get_ex(body, "offset", &v))
    lo->offset = json_object_get_string(v);
  if (json_object_object_get_ex(body, "view", &v))
    lo->view = json_object_get_string(v);
  if (json_object_object_get_ex(body, "returnFieldsByFieldId", &v))
    lo->by_id = json_object_get_boolean(v);
  if (json_object_object_get_ex(body, "fields", &v) &&
      json_object_is_type(v, json_type_array)) {
    lo->fields = json_object_new_object();
    for (i = 0; i < json_object_array_length(v); i++)
      json_object_object_add(lo->fields,
                             json_object_get_string(json_object_array_get_idx(v, i)),
                             NULL);
  }
  return body;
}

/* Resolves an offset to a position; -1 invalid, -2 expired. Lock held. */
static int fa_offset_position(ad_fake_airtable_t *fa, const fa_table_t *t,
                              const char *offset, uint64_t now) {
  char token[32];
  json_object *idx;
  const fa_offset_t *o;

  if (sscanf(offset, "itr%17[A-Za-z0-9]/", token) != 1 ||
      !json_object_object_get_ex(fa->offsets, token, &idx))
    return -1;
  o = &fa->offset_list[json_object_get_int(idx)];
  if (o->table != t)
    return -1;
  if (fa->o.offset_ttl_ms > 0 && now - o->issued_ms > (uint64_t)fa->o.offset_ttl_ms)
    return -2;
  return o->position;
}

/* Issues an offset for (t, position); writes it into out. Lock held. */
static int fa_offset_issue(ad_fake_airtable_t *fa, const fa_table_t *t,
                           int position, uint64_t now, const char *last_rec,
                           char *out, size_t outlen) {
  char token[18];
  fa_offset_t *grown;

  if (fa->noffsets == fa->offsets_cap) {
    fa->offsets_cap = fa->offsets_cap ? fa->offsets_cap * 2 : 256;
    grown = realloc(fa->offset_list, fa->offsets_cap * sizeof(*grown));
    if (grown == NULL)
      return -1;
    fa->offset_list = grown;
  }
  fa_id(token, "itr", ad_rand_next(&fa->rng));
  fa->offset_list[fa->noffsets].table = t;
  fa->offset_list[fa->noffsets].position = position;
  fa->offset_list[fa->noffsets].issued_ms = now;
  json_object_object_add(fa->offsets, token + 3,
                         json_object_new_int((int)fa->noffsets));
  fa->noffsets++;
  snprintf(out, outlen, "%s/%s", token, last_rec);
  return 0;
}

static enum MHD_Result fa_records(ad_fake_airtable_t *fa,
                                  struct MHD_Connection *conn,
                                  const fa_request_t *rq, fa_table_t *t,
                                  int post, int truncate) {
  fa_list_opts_t lo = {FA_PAGE_MAX, NULL, NULL, 0, NULL, 0};
  json_object *body = NULL;
  char offset[64], last[18] = "";
  ad_buf_t page;
  int pos = 0, end;
  uint64_t now = ad_fake_now_ms();
  size_t f;
  enum MHD_Result r;

  if (post)
    body = fa_opts_from_body(rq, &lo);
  else
    fa_opts_from_query(conn, &lo);
  if (lo.bad == 2)
    return fa_error(conn, 400, "INVALID_REQUEST_BODY",
                    "Could not parse request body", 0);
  if (lo.bad) {
    json_object_put(lo.fields);
    json_object_put(body);
    return fa_error(conn, 422, "INVALID_REQUEST_UNKNOWN",
                    "Invalid request: parameter validation failed. Check your "
                    "request data.", 0);
  }
  if (lo.view != NULL && strcmp(lo.view, t->view_id) != 0 &&
      strcmp(lo.view, "Grid view") != 0) {
    json_object_put(lo.fields);
    json_object_put(body);
    return fa_error(conn, 422, "VIEW_NAME_NOT_FOUND", "Could not find view", 0);
  }
  if (lo.fields != NULL) {
    char fid[18];
    json_object_object_foreach(lo.fields, key, val) {
      int known = 0;
      (void)val;
      for (f = 0; f < t->nfields && !known; f++) {
        fa_field_id(fid, t, f);
        known = strcmp(key, fid) == 0 || strcmp(key, t->fields[f].name) == 0;
      }
      if (!known) {
        json_object_put(lo.fields);
        json_object_put(body);
        return fa_error(conn, 422, "UNKNOWN_FIELD_NAME",
                        "Unknown field name", 0);
      }
    }
  }
  pthread_mutex_lock(&fa->mu);
  if (lo.offset != NULL)
    pos = fa_offset_position(fa, t, lo.offset, now);
  if (pos >= 0 && lo.offset != NULL && t->expire_next > 0) {
    t->expire_next--;
    pos = -2;
  }
  if (pos == -2)
    fa->c.expired_offsets++;
  pthread_mutex_unlock(&fa->mu);
  if (pos < 0) {
    json_object_put(lo.fields);
    json_object_put(body);
    return pos == -2 ? fa_error(conn, 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                                NULL, 0)
                     : fa_error(conn, 422, "INVALID_OFFSET_VALUE",
                                "The value of offset is invalid", 0);
  }
  end = pos + lo.page_size < t->nrecords ? pos + lo.page_size : t->nrecords;
  ad_buf_init(&page, 0);
  fa_page(fa, t, pos, end, lo.by_id, lo.fields, &page, last);
  pthread_mutex_lock(&fa->mu);
  fa->c.records_served += end - pos;
  if (end < t->nrecords &&
      fa_offset_issue(fa, t, end, now, last, offset, sizeof(offset)) == 0) {
    ad_buf_puts(&page, ",\"offset\":");
    fa_wstr(&page, offset);
  }
  if (truncate)
    fa->c.truncated++;
  pthread_mutex_unlock(&fa->mu);
  ad_buf_append(&page, "}", 1);
  json_object_put(lo.fields);
  json_object_put(body);
  /* truncate: cut the body mid-JSON, as a broken proxy would */
  r = page.data == NULL ? MHD_NO
                        : fa_send(conn, 200, page.data,
                                  truncate ? page.len / 2 : page.len);
  ad_buf_free(&page);
  return r;
}

/* ---- dispatch --------------------------------------------------------- */

static enum MHD_Result fa_counters(ad_fake_airtable_t *fa,
                                   struct MHD_Connection *conn) {
  return fa_json(conn, 200, ad_fake_airtable_counters_json(fa));
}

/* Draws this request's faults; 1: drop, 2: 5xx. Lock held. */
static int fa_fault(ad_fake_airtable_t *fa) {
  double x = (double)(ad_rand_next(&fa->rng) % 1000000) / 1e6;
  if (x < fa->o.drop) {
    fa->c.dropped++;
    return 1;
  }
  x = (double)(ad_rand_next(&fa->rng) % 1000000) / 1e6;
  if (x < fa->o.fail_5xx) {
    fa->c.sent_5xx++;
    return 2;
  }
  return 0;
}

/* Stamps a request, lock held: in kernel mode its arrival; in worker mode
 * when the one virtual worker gets to it (ad_fake_worker_t). The worker
 * serves requests in the order the fake's threads take this lock, which
 * on a loaded machine is not quite their arrival order: that is the
 * model, as a gateway's worker serves requests in the order it reads
 * them, and taking one late costs it at most the services of those taken
 * before it. Also sets when the answer may leave: latency_ms (plus its
 * jitter) after the arrival in kernel mode, after the worker is done with
 * it in worker mode, so the client sees the queueing. */
static void fa_stamp(ad_fake_airtable_t *fa, fa_request_t *rq,
                     fa_conn_t *cx) {
  uint64_t done = rq->arrival, service, latency;

  rq->stamp = rq->arrival;
  if (fa->o.stamp_mode == AD_FAKE_STAMP_WORKER) {
    service = fa->o.service_us > 0 ? (uint64_t)fa->o.service_us : 0;
    if (fa->o.service_jitter_us > 0)
      service += ad_rand_upto(&fa->rng, (uint64_t)fa->o.service_jitter_us);
    if ((cx == NULL || !cx->served) && fa->o.connect_us > 0)
      service += (uint64_t)fa->o.connect_us;
    if (cx != NULL)
      cx->served = 1;
    rq->stamp = ad_fake_worker_take(&fa->worker, rq->arrival, service, &done);
    if ((long)(rq->stamp - rq->arrival) > fa->c.max_stamp_delay_ms)
      fa->c.max_stamp_delay_ms = (long)(rq->stamp - rq->arrival);
  }
  latency = fa->o.latency_ms > 0 ? (uint64_t)fa->o.latency_ms : 0;
  if (fa->o.latency_jitter_ms > 0)
    latency += ad_rand_upto(&fa->rng, (uint64_t)fa->o.latency_jitter_ms);
  rq->answer_at = done + latency;
}

/* A 503, with Retry-After when the options ask for one; the base named
 * in the path (may be NULL) must then wait that long from the stamp. */
static enum MHD_Result fa_unavailable(ad_fake_airtable_t *fa,
                                      struct MHD_Connection *conn,
                                      fa_base_t *base, uint64_t stamp) {
  static const char body[] =
      "{\"error\":{\"type\":\"RETRIABLE_ERROR\",\"message\":\"Server "
      "temporarily unavailable, safe to retry the request\"}}";
  struct MHD_Response *res;
  char secs[16];
  enum MHD_Result r;

  res = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
                                        MHD_RESPMEM_PERSISTENT);
  if (res == NULL)
    return MHD_NO;
  MHD_add_response_header(res, "Content-Type", "application/json; charset=utf-8");
  if (fa->o.retry_after_s > 0) {
    snprintf(secs, sizeof(secs), "%d", fa->o.retry_after_s);
    MHD_add_response_header(res, "Retry-After", secs);
    pthread_mutex_lock(&fa->mu);
    if (base != NULL)
      base->retry_after_until = stamp + (uint64_t)fa->o.retry_after_s * 1000;
    pthread_mutex_unlock(&fa->mu);
  }
  r = MHD_queue_response(conn, 503, res);
  MHD_destroy_response(res);
  return r;
}

/* The workspace's monthly call quota is spent: every call is refused, and
 * waiting does not help (airtable-api.md, the billing 429). */
static enum MHD_Result fa_billing(struct MHD_Connection *conn) {
  return fa_error(conn, 429, "PUBLIC_API_BILLING_LIMIT_EXCEEDED",
                  "The monthly API call limit of this workspace is exceeded.",
                  0);
}

/* Every request goes through the worker (a gateway reads even those it
 * refuses); rq gets its stamp and answer time. */
static enum MHD_Result fa_route(ad_fake_airtable_t *fa,
                                struct MHD_Connection *conn,
                                fa_request_t *rq, int post) {
  char seg[5][256];
  int n = ad_fake_split_path(rq->raw_uri, seg, 5), fault, truncate = 0;
  fa_base_t *base = NULL;
  fa_table_t *table = NULL;
  const char *auth, *named; /* the base the path names, if any */
  char expect[300];
  int admitted;
  uint64_t arrival = rq->arrival, stamp;

  pthread_mutex_lock(&fa->mu);
  fa_stamp(fa, rq, fa_conn(conn));
  stamp = rq->stamp;
  if (n < 2 || strcmp(seg[0], "v0") != 0) {
    pthread_mutex_unlock(&fa->mu);
    return fa_error(conn, 404, "NOT_FOUND", NULL, 1);
  }
  named = strcmp(seg[1], "meta") == 0 && n == 5 ? seg[3] : seg[1];
  base = fa_find_base(fa, named);
  if ((long)rq->lag > fa->c.max_arrival_lag_ms)
    fa->c.max_arrival_lag_ms = (long)rq->lag;
  if (fa->c.first_arrival_ms < 0 || (long)arrival < fa->c.first_arrival_ms)
    fa->c.first_arrival_ms = (long)arrival;
  if ((long)arrival > fa->c.last_arrival_ms)
    fa->c.last_arrival_ms = (long)arrival;
  if (base != NULL && stamp < base->retry_after_until)
    fa->c.early_retries++;
  fault = fa_fault(fa);
  if (fault == 0 && fa->o.truncate > 0 &&
      (double)(ad_rand_next(&fa->rng) % 1000000) / 1e6 < fa->o.truncate)
    truncate = 1;
  pthread_mutex_unlock(&fa->mu);
  if (fault == 1)
    return MHD_NO;
  if (fault == 2)
    return fa_unavailable(fa, conn, base, stamp);
  auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  snprintf(expect, sizeof(expect), "Bearer %s", fa->token);
  if (auth == NULL || strcmp(auth, expect) != 0)
    return fa_error(conn, 401, "AUTHENTICATION_REQUIRED",
                    "Authentication required", 0);
  if (fa->o.billing_exhausted)
    return fa_billing(conn);
  if (strcmp(seg[1], "meta") == 0) {
    if (n == 3 && strcmp(seg[2], "bases") == 0 && !post) {
      pthread_mutex_lock(&fa->mu);
      fa->c.requests_bases++;
      admitted = fa_admit(fa, NULL, rq, fa_conn(conn));
      pthread_mutex_unlock(&fa->mu);
      return admitted ? fa_bases(fa, conn)
                 : fa_error(conn, 429, "RATE_LIMIT_REACHED",
                            "Rate limit exceeded. Please try again later", 0);
    }
    if (n != 5 || strcmp(seg[2], "bases") != 0 || strcmp(seg[4], "tables") != 0 ||
        post)
      return fa_error(conn, 404, "NOT_FOUND", NULL, 0);
    base = fa_find_base(fa, seg[3]);
  } else {
    base = fa_find_base(fa, seg[1]);
    if (n < 3 || n > 4 || post != (n == 4) ||
        (n == 4 && strcmp(seg[3], "listRecords") != 0))
      return fa_error(conn, 404, "NOT_FOUND", NULL, 1);
  }
  if (base == NULL)
    return fa_error(conn, 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                    "Invalid permissions, or the requested model was not found. "
                    "Check that both your user and your token have the "
                    "required permissions, and that the model names and/or ids "
                    "are correct.", 0);
  pthread_mutex_lock(&fa->mu);
  if (strcmp(seg[1], "meta") == 0)
    fa->c.requests_schema++;
  else
    fa->c.requests_records++;
  admitted = fa_admit(fa, base, rq, fa_conn(conn));
  pthread_mutex_unlock(&fa->mu);
  if (!admitted)
    return fa_error(conn, 429, "RATE_LIMIT_REACHED",
                    "Rate limit exceeded. Please try again later", 0);
  if (strcmp(seg[1], "meta") == 0)
    return fa_schema(conn, base);
  table = fa_find_table(base, seg[2]);
  if (table == NULL || table->denied)
    return fa_error(conn, 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                    "Invalid permissions, or the requested model was not found.",
                    0);
  return fa_records(fa, conn, rq, table, post, truncate);
}

static void *fa_uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
  fa_request_t *rq = calloc(1, sizeof(*rq));
  (void)cls;
  if (rq != NULL) {
    rq->arrival = ad_fake_arrival_ms(c, &rq->lag);
    rq->raw_uri = strdup(uri);
  }
  return rq;
}

static enum MHD_Result fa_handler(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **ctx) {
  ad_fake_airtable_t *fa = cls;
  fa_request_t *rq = *ctx;
  enum MHD_Result r;
  char *grown;

  (void)url;
  (void)version;
  if (rq == NULL || rq->raw_uri == NULL)
    return MHD_NO;
  /* Answer on the second call: MHD 0.9.75 drops keep-alive otherwise. */
  if (!rq->answered_once) {
    rq->answered_once = 1;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    grown = realloc(rq->body, rq->body_len + *upload_size + 1);
    if (grown == NULL)
      return MHD_NO;
    rq->body = grown;
    memcpy(rq->body + rq->body_len, upload, *upload_size);
    rq->body_len += *upload_size;
    rq->body[rq->body_len] = '\0';
    *upload_size = 0;
    return MHD_YES;
  }
  if (strncmp(rq->raw_uri, "/_fake/counters", 15) == 0)
    return fa_counters(fa, conn);
  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
    return fa_error(conn, 404, "NOT_FOUND", NULL, 1);
  r = fa_route(fa, conn, rq, strcmp(method, "POST") == 0);
  ad_fake_hold(rq->answer_at, 0);
  return r;
}

static void fa_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode code) {
  fa_request_t *rq = *ctx;
  (void)cls;
  (void)conn;
  (void)code;
  if (rq != NULL) {
    free(rq->raw_uri);
    free(rq->body);
    free(rq);
    *ctx = NULL;
  }
}

static void fa_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  (void)cls;
  (void)conn;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = calloc(1, sizeof(fa_conn_t));
  } else {
    free(*socket_context);
    *socket_context = NULL;
  }
}

static const ad_fake_server_cbs_t fa_callbacks = {fa_handler, fa_uri_log,
                                                   fa_completed, fa_connection};

void ad_fake_airtable_opts_default(ad_fake_airtable_opts_t *o) {
  memset(o, 0, sizeof(*o));
  o->token = "patFAKEtoken0123456789";
  o->seed = 1;
  o->bases = 2;
  o->tables_per_base = 2;
  o->records_per_table = 250;
  o->bases_page_size = 1000;
  o->per_base_rps = 5;
  o->per_token_rps = 50;
  o->penalty_ms = 30000;
  o->stamp_mode = AD_FAKE_STAMP_KERNEL;
  o->service_us = 3200;
  o->service_jitter_us = 800;
  /* A gateway's first request on a connection costs it more (accepting,
   * TLS): what makes a burst on new connections stamp later than the next
   * one on warm ones. Without it one steady worker spreads every burst
   * alike and never refuses a bursting client. */
  o->connect_us = 3200;
}

ad_fake_airtable_t *ad_fake_airtable_start(const ad_fake_airtable_opts_t *o) {
  ad_fake_airtable_t *fa = calloc(1, sizeof(*fa));

  if (fa == NULL)
    return NULL;
  fa->o = *o;
  if (fa->o.bases_page_size <= 0 || fa->o.bases_page_size > 1000)
    fa->o.bases_page_size = 1000;
  snprintf(fa->token, sizeof(fa->token), "%s", o->token);
  fa->o.token = fa->token;
  fa->rng = o->seed ^ 0xA17AB1Eull;
  pthread_mutex_init(&fa->mu, NULL);
  fa->c.tightest_base_span_ms = -1;
  fa->c.tightest_token_span_ms = -1;
  fa->c.first_arrival_ms = fa->c.last_arrival_ms = -1;
  fa->offsets = json_object_new_object();
  if (fa->offsets == NULL || fa_build(fa) != 0) {
    ad_fake_airtable_stop(fa);
    return NULL;
  }
  fa->daemon = ad_fake_server_start(o->port, &fa_callbacks, fa, fa->url,
                                    sizeof(fa->url));
  if (fa->daemon == NULL) {
    ad_fake_airtable_stop(fa);
    return NULL;
  }
  return fa;
}

void ad_fake_airtable_stop(ad_fake_airtable_t *fa) {
  int b, t;
  if (fa == NULL)
    return;
  if (fa->daemon != NULL)
    MHD_stop_daemon(fa->daemon);
  for (b = 0; b < fa->nbases; b++) {
    for (t = 0; fa->bases[b].tables != NULL && t < fa->bases[b].ntables; t++) {
      free(fa->bases[b].tables[t].kinds);
      free(fa->bases[b].tables[t].fids);
    }
    free(fa->bases[b].tables);
    fa_limit_free(&fa->bases[b].limit);
  }
  free(fa->bases);
  free(fa->wide);
  free(fa->wide_names);
  fa_limit_free(&fa->token_limit);
  json_object_put(fa->offsets);
  free(fa->offset_list);
  pthread_mutex_destroy(&fa->mu);
  free(fa);
}

const char *ad_fake_airtable_url(const ad_fake_airtable_t *fa) {
  return fa->url;
}

void ad_fake_airtable_counters(ad_fake_airtable_t *fa,
                               ad_fake_airtable_counters_t *out) {
  pthread_mutex_lock(&fa->mu);
  *out = fa->c;
  pthread_mutex_unlock(&fa->mu);
}

json_object *ad_fake_airtable_counters_json(ad_fake_airtable_t *fa) {
  ad_fake_airtable_counters_t c;
  json_object *o = json_object_new_object();

  ad_fake_airtable_counters(fa, &c);
#define FA_COUNTER(name) json_object_object_add(o, #name, json_object_new_int64(c.name))
  FA_COUNTER(requests_bases);
  FA_COUNTER(requests_schema);
  FA_COUNTER(requests_records);
  FA_COUNTER(sent_429);
  FA_COUNTER(injected_429);
  FA_COUNTER(refused_in_penalty);
  FA_COUNTER(ignored_penalty);
  FA_COUNTER(early_retries);
  FA_COUNTER(sent_5xx);
  FA_COUNTER(dropped);
  FA_COUNTER(truncated);
  FA_COUNTER(expired_offsets);
  FA_COUNTER(max_per_base_window);
  FA_COUNTER(max_per_token_window);
  FA_COUNTER(tightest_base_span_ms);
  FA_COUNTER(tightest_token_span_ms);
  FA_COUNTER(max_arrival_lag_ms);
  FA_COUNTER(max_stamp_delay_ms);
  FA_COUNTER(first_arrival_ms);
  FA_COUNTER(last_arrival_ms);
  FA_COUNTER(records_served);
#undef FA_COUNTER
  return o;
}

char *ad_fake_airtable_page_json(const ad_fake_airtable_t *fa, int b, int t,
                                 int first, size_t *len) {
  const fa_table_t *tb = &fa->bases[b].tables[t];
  int end = first + FA_PAGE_MAX < tb->nrecords ? first + FA_PAGE_MAX
                                               : tb->nrecords;
  char last[18] = "";
  ad_buf_t page;

  ad_buf_init(&page, 0);
  fa_page(fa, tb, first, end, 0, NULL, &page, last);
  if (end < tb->nrecords) /* an offset of the real length */
    ad_buf_puts(&page, ",\"offset\":\"itrAAAAAAAAAAAAAA\\/recAAAAAAAAAAAAAA\"");
  ad_buf_append(&page, "}", 1);
  return ad_buf_steal(&page, len);
}

int ad_fake_airtable_nbases(const ad_fake_airtable_t *fa) { return fa->nbases; }

const char *ad_fake_airtable_base_id(const ad_fake_airtable_t *fa, int b) {
  return fa->bases[b].id;
}

int ad_fake_airtable_ntables(const ad_fake_airtable_t *fa, int b) {
  return fa->bases[b].ntables;
}

const char *ad_fake_airtable_table_id(const ad_fake_airtable_t *fa, int b,
                                      int t) {
  return fa->bases[b].tables[t].id;
}

const char *ad_fake_airtable_table_name(const ad_fake_airtable_t *fa, int b,
                                        int t) {
  return fa->bases[b].tables[t].name;
}

int ad_fake_airtable_nrecords(const ad_fake_airtable_t *fa, int b, int t) {
  return fa->bases[b].tables[t].nrecords;
}

const char *ad_fake_airtable_base_name(const ad_fake_airtable_t *fa, int b) {
  return fa->bases[b].name;
}

void ad_fake_airtable_block_token(ad_fake_airtable_t *fa) {
  pthread_mutex_lock(&fa->mu);
  fa->token_blocked_until = ad_fake_now_ms() + (uint64_t)fa->o.penalty_ms;
  pthread_mutex_unlock(&fa->mu);
}

void ad_fake_airtable_inject_429(ad_fake_airtable_t *fa, int b, int count) {
  pthread_mutex_lock(&fa->mu);
  fa->bases[b].inject_429 = count;
  pthread_mutex_unlock(&fa->mu);
}

void ad_fake_airtable_deny_table(ad_fake_airtable_t *fa, int b, int t) {
  pthread_mutex_lock(&fa->mu);
  fa->bases[b].tables[t].denied = 1;
  pthread_mutex_unlock(&fa->mu);
}

void ad_fake_airtable_insert_records(ad_fake_airtable_t *fa, int b, int t,
                                     int count) {
  pthread_mutex_lock(&fa->mu);
  fa->bases[b].tables[t].nrecords += count;
  fa->bases[b].tables[t].inserted += count;
  pthread_mutex_unlock(&fa->mu);
}

void ad_fake_airtable_expire_offsets(ad_fake_airtable_t *fa, int b, int t,
                                     int count) {
  pthread_mutex_lock(&fa->mu);
  fa->bases[b].tables[t].expire_next = count;
  pthread_mutex_unlock(&fa->mu);
}
