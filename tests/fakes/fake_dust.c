#include "fake_dust.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "backoff.h"
#include "fake_server.h"
#include "fake_window.h"

#define FD_MAX_BODY_DOCS (8u << 20) /* the documents route's limit */
#define FD_MAX_COLUMNS 512
#define FD_MAX_TITLE 512

typedef struct fd_table {
  char *table_id;
  char *name, *title, *description;
  int64_t timestamp;     /* ms, as upserted (core: now when absent) */
  json_object *tags;     /* as upserted, [] when absent */
  json_object *rows;    /* row_id -> value */
  json_object *schema;  /* column -> "int" | "float" | "text" | "bool" | "datetime" */
  json_object *received; /* row ids ever received, for duplicates */
  /* The cached schema may name a column no stored row holds any more (a
   * row was rewritten or deleted): Dust core marks it stale and recomputes
   * it from all stored rows on the next read, so a column can narrow back
   * or disappear. Never set with discard_values (no values to recompute
   * from). */
  int stale;
} fd_table_t;

/* How much of a table an answer carries (Dust's routes differ). */
enum { FD_TJ_UPSERT, FD_TJ_GET, FD_TJ_ROWS };

struct ad_fake_dust {
  ad_fake_dust_opts_t o;
  char key[128], wid[128], sid[128], dsid[128];
  char url[64];
  struct MHD_Daemon *daemon;
  pthread_mutex_t mu;
  fd_table_t *tables;
  size_t ntables, cap;
  json_object *documents; /* id -> document, as posted */
  json_object *listed;    /* id -> the document as GET documents lists it */
  json_object *rejected;  /* table ids whose rows are refused */
  int fail_listings;      /* rows and documents listings answer 500 */
  ad_fake_window_t docs;     /* admitted upserts, for the per-minute limit */
  ad_fake_window_t requests; /* arrivals, for max_rps */
  long inflight;
  uint64_t rng;
  regex_t slug;
  ad_fake_dust_counters_t c;
};

typedef struct fd_request {
  char *raw_uri;
  uint64_t arrival; /* ms: see ad_fake_arrival_ms */
  int latency_ms;   /* the answer leaves this long after arrival */
  char *body;
  size_t len;
  int answered_once, counted, too_big;
} fd_request_t;

/* ---- answers ----------------------------------------------------------- */

static enum MHD_Result fd_send(struct MHD_Connection *conn, unsigned status,
                               const char *type, const char *body) {
  struct MHD_Response *res = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result r;
  if (res == NULL)
    return MHD_NO;
  MHD_add_response_header(res, "Content-Type", type);
  r = MHD_queue_response(conn, status, res);
  MHD_destroy_response(res);
  return r;
}

static enum MHD_Result fd_json(struct MHD_Connection *conn, unsigned status,
                               json_object *obj) {
  enum MHD_Result r = fd_send(
      conn, status, "application/json",
      json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
  json_object_put(obj);
  return r;
}

/* {"error":{"type","message"}}; 400s count as validation failures. */
static enum MHD_Result fd_error(ad_fake_dust_t *fd, struct MHD_Connection *conn,
                                unsigned status, const char *type,
                                const char *message) {
  json_object *root = json_object_new_object(), *e = json_object_new_object();
  pthread_mutex_lock(&fd->mu);
  if (status == 400)
    fd->c.validation_failures++;
  else if (status == 429)
    fd->c.sent_429++;
  pthread_mutex_unlock(&fd->mu);
  json_object_object_add(e, "type", json_object_new_string(type));
  json_object_object_add(e, "message", json_object_new_string(message));
  json_object_object_add(root, "error", e);
  return fd_json(conn, status, root);
}

/* ---- tables ------------------------------------------------------------ */

static fd_table_t *fd_find(ad_fake_dust_t *fd, const char *id) {
  size_t i;
  for (i = 0; i < fd->ntables; i++)
    if (strcmp(fd->tables[i].table_id, id) == 0)
      return &fd->tables[i];
  return NULL;
}

static void fd_table_free(fd_table_t *t) {
  free(t->table_id);
  free(t->name);
  free(t->title);
  free(t->description);
  json_object_put(t->tags);
  json_object_put(t->rows);
  json_object_put(t->schema);
  json_object_put(t->received);
}

/* Wall-clock ms: what core stamps when a timestamp is absent. */
static int64_t fd_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The table tid, made if new, with these strings; tags is taken (NULL:
 * []). Lock held. */
static fd_table_t *fd_table_put(ad_fake_dust_t *fd, const char *tid,
                                const char *name, const char *title,
                                const char *desc, int64_t timestamp,
                                json_object *tags) {
  fd_table_t *t = fd_find(fd, tid);
  if (t == NULL) {
    if (fd->ntables == fd->cap) {
      fd_table_t *grown;
      fd->cap = fd->cap ? fd->cap * 2 : 16;
      grown = realloc(fd->tables, fd->cap * sizeof(*grown));
      if (grown == NULL)
        abort();
      fd->tables = grown;
    }
    t = &fd->tables[fd->ntables++];
    memset(t, 0, sizeof(*t));
    t->table_id = strdup(tid);
    t->rows = json_object_new_object();
    t->schema = json_object_new_object();
    t->received = json_object_new_object();
  }
  free(t->name);
  free(t->title);
  free(t->description);
  json_object_put(t->tags);
  t->name = strdup(name);
  t->title = strdup(title);
  t->description = strdup(desc);
  t->timestamp = timestamp;
  t->tags = tags != NULL ? tags : json_object_new_array();
  return t;
}

/* Dust core's type of a cell, or NULL when zod refuses it (400); "bad"
 * when core refuses it (500). */
static const char *fd_cell_type(json_object *v) {
  json_object *t, *e;
  double d;
  switch (json_object_get_type(v)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "bool";
  case json_type_int:
    return "int";
  case json_type_double:
    /* The front re-serializes numbers: 2.0 arrives at core as 2. */
    d = json_object_get_double(v);
    return d == floor(d) && fabs(d) < 9.2e18 ? "int" : "float";
  case json_type_string:
    return "text";
  case json_type_object:
    if (json_object_object_length(v) != 2 ||
        !json_object_object_get_ex(v, "type", &t) ||
        !json_object_object_get_ex(v, "epoch", &e) ||
        !json_object_is_type(t, json_type_string) ||
        strcmp(json_object_get_string(t), "datetime") != 0 ||
        !(json_object_is_type(e, json_type_int) ||
          json_object_is_type(e, json_type_double)))
      return NULL;
    if (json_object_is_type(e, json_type_double) &&
        json_object_get_double(e) != floor(json_object_get_double(e)))
      return "bad"; /* core's datetime parse needs an integer */
    return "datetime";
  default:
    return NULL;
  }
}

static const char *fd_merge(const char *a, const char *b) {
  if (strcmp(a, b) == 0)
    return a;
  if ((!strcmp(a, "int") && !strcmp(b, "float")) ||
      (!strcmp(a, "float") && !strcmp(b, "int")))
    return "float";
  return "text";
}

/* Merges one row's cells into schema as core does (nulls skipped, new
 * columns appended, int + float -> float, any other mix -> text). A
 * widening to text is counted in *conflicts unless it is NULL. */
static void fd_schema_add(json_object *schema, json_object *value,
                          long *conflicts) {
  json_object *old;
  const char *type, *merged;
  json_object_object_foreach(value, key, cell) {
    type = fd_cell_type(cell);
    if (type == NULL || strcmp(type, "null") == 0)
      continue;
    if (!json_object_object_get_ex(schema, key, &old)) {
      json_object_object_add(schema, key, json_object_new_string(type));
      continue;
    }
    merged = fd_merge(json_object_get_string(old), type);
    if (strcmp(merged, json_object_get_string(old)) != 0) {
      if (conflicts != NULL && strcmp(merged, "text") == 0)
        (*conflicts)++;
      json_object_object_add(schema, key, json_object_new_string(merged));
    }
  }
}

/* A stale schema recomputed from every stored row, as core does on the
 * next read: the merge of all rows is what the cache would be had no row
 * ever been rewritten or deleted (the merge is a join, so order does not
 * matter). Lock held. */
static void fd_table_refresh(fd_table_t *t) {
  json_object *fresh;
  if (!t->stale)
    return;
  fresh = json_object_new_object();
  json_object_object_foreach(t->rows, id, value) {
    (void)id;
    if (value != NULL)
      fd_schema_add(fresh, value, NULL);
  }
  json_object_put(t->schema);
  t->schema = fresh;
  t->stale = 0;
}

static json_object *fd_schema_json(const fd_table_t *t) {
  json_object *arr = json_object_new_array();
  if (json_object_object_length(t->schema) == 0) {
    json_object_put(arr);
    return NULL;
  }
  json_object_object_foreach(t->schema, col, type) {
    json_object *c = json_object_new_object();
    json_object_object_add(c, "name", json_object_new_string(col));
    /* New strings, not references: the answer is freed after the lock
     * is let go, and json-c's reference counts need not be atomic. */
    json_object_object_add(c, "value_type",
                           json_object_new_string(json_object_get_string(type)));
    json_object_object_add(c, "possible_values", NULL);
    json_object_array_add(arr, c);
  }
  return arr;
}

/* The table as one of Dust's routes answers it (what): the rows POST
 * gives {name, table_id, description, schema}; the tables POST adds
 * timestamp, tags, parents, mime_type, title; GET adds parent_id. Lock
 * held (a stale schema is recomputed first). */
static json_object *fd_table_json(fd_table_t *t, int what) {
  json_object *o = json_object_new_object();
  fd_table_refresh(t);
  json_object_object_add(o, "name", json_object_new_string(t->name));
  json_object_object_add(o, "table_id", json_object_new_string(t->table_id));
  json_object_object_add(o, "description",
                         json_object_new_string(t->description));
  json_object_object_add(o, "schema", fd_schema_json(t));
  if (what == FD_TJ_ROWS)
    return o;
  json_object_object_add(o, "timestamp", json_object_new_int64(t->timestamp));
  {
    json_object *tags = NULL;
    json_object_deep_copy(t->tags, &tags, NULL);
    json_object_object_add(o, "tags", tags);
  }
  json_object_object_add(o, "title", json_object_new_string(t->title));
  json_object_object_add(o, "mime_type",
                         json_object_new_string("application/vnd.dust.table"));
  {
    json_object *parents = json_object_new_array();
    json_object_array_add(parents, json_object_new_string(t->table_id));
    json_object_object_add(o, "parents", parents);
  }
  if (what == FD_TJ_GET)
    json_object_object_add(o, "parent_id", NULL);
  return o;
}

static const char *fd_string(json_object *o, const char *key, int *present) {
  json_object *v;
  *present = json_object_object_get_ex(o, key, &v) && v != NULL;
  return *present && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* Whether a member is set to something truthy (JavaScript's sense). */
static int fd_truthy(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string))
    return json_object_get_string_len(v) > 0;
  if (json_object_is_type(v, json_type_boolean))
    return json_object_get_boolean(v);
  return 1;
}

/* zod's string[] | null for tags and number | null for timestamp (both
 * tables and documents): NULL when they pass, else why not. */
static const char *fd_check_tags_timestamp(json_object *body) {
  json_object *v;
  size_t i;
  if (json_object_object_get_ex(body, "tags", &v) && v != NULL) {
    if (!json_object_is_type(v, json_type_array))
      return "Invalid request body: tags must be an array of strings";
    for (i = 0; i < json_object_array_length(v); i++)
      if (!json_object_is_type(json_object_array_get_idx(v, i),
                               json_type_string))
        return "Invalid request body: tags must be an array of strings";
  }
  if (json_object_object_get_ex(body, "timestamp", &v) && v != NULL &&
      !json_object_is_type(v, json_type_int) &&
      !json_object_is_type(v, json_type_double))
    return "Invalid request body: timestamp must be a number";
  return NULL;
}

/* The stored timestamp: the front floors it (cleanTimestamp), core stamps
 * now when it is absent or null. */
static int64_t fd_timestamp(json_object *body) {
  json_object *v;
  if (!json_object_object_get_ex(body, "timestamp", &v) || v == NULL)
    return fd_wall_ms();
  if (json_object_is_type(v, json_type_int))
    return json_object_get_int64(v);
  return (int64_t)floor(json_object_get_double(v));
}

/* The tags as sent (a copy), or NULL when there are none. */
static json_object *fd_tags_copy(json_object *body) {
  json_object *v, *copy = NULL;
  if (!json_object_object_get_ex(body, "tags", &v) || v == NULL)
    return NULL;
  json_object_deep_copy(v, &copy, NULL);
  return copy;
}

static enum MHD_Result fd_upsert_table(ad_fake_dust_t *fd,
                                       struct MHD_Connection *conn,
                                       json_object *body) {
  int has_name, has_desc, has_title, p;
  const char *name = fd_string(body, "name", &has_name);
  const char *desc = fd_string(body, "description", &has_desc);
  const char *title = fd_string(body, "title", &has_title);
  const char *tid = fd_string(body, "table_id", &p);
  const char *why;
  char gen[32];
  fd_table_t *t;
  size_t i;
  json_object *out;

  if (name == NULL || desc == NULL || title == NULL)
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: name, description and title must "
                    "be strings");
  if (fd_truthy(body, "mime_type"))
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: mimeType must not be provided");
  if (fd_truthy(body, "parents") || fd_truthy(body, "parent_id"))
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: custom hierarchy not supported");
  if ((why = fd_check_tags_timestamp(body)) != NULL)
    return fd_error(fd, conn, 400, "invalid_request_error", why);
  pthread_mutex_lock(&fd->mu);
  if (tid == NULL || *tid == '\0') {
    snprintf(gen, sizeof(gen), "tbl%016llx",
             (unsigned long long)ad_rand_next(&fd->rng));
    tid = gen;
  }
  for (i = 0; i < fd->ntables; i++)
    if (strcmp(fd->tables[i].name, name) == 0 &&
        strcmp(fd->tables[i].table_id, tid) != 0) {
      pthread_mutex_unlock(&fd->mu);
      return fd_error(fd, conn, 500, "internal_server_error",
                      "Failed to upsert table (table names must be unique).");
    }
  /* The stored title: trimmed, else the name. */
  t = fd_table_put(fd, tid, name, *title ? title : name, desc,
                   fd_timestamp(body), fd_tags_copy(body));
  out = json_object_new_object();
  json_object_object_add(out, "table", fd_table_json(t, FD_TJ_UPSERT));
  pthread_mutex_unlock(&fd->mu);
  return fd_json(conn, 200, out);
}

/* Checks every row as zod and core would: 0 ok, else the status. */
static int fd_check_rows(ad_fake_dust_t *fd, json_object *rows,
                         const char **why) {
  size_t i, n = json_object_array_length(rows);
  json_object *row, *id, *value;
  const char *type;

  for (i = 0; i < n; i++) {
    row = json_object_array_get_idx(rows, i);
    if (!json_object_is_type(row, json_type_object) ||
        !json_object_object_get_ex(row, "row_id", &id) ||
        !json_object_is_type(id, json_type_string) ||
        !json_object_object_get_ex(row, "value", &value) ||
        !json_object_is_type(value, json_type_object)) {
      *why = "Invalid request body: each row needs a string row_id and a "
             "value object";
      return 400;
    }
    if (json_object_object_length(value) > FD_MAX_COLUMNS) {
      *why = "Failed to upsert database rows.";
      return 500;
    }
    json_object_object_foreach(value, key, cell) {
      if (regexec(&fd->slug, key, 0, NULL, 0) != 0) {
        *why = "Invalid request body: keys must be lowercase alphanumeric.";
        return 400;
      }
      type = fd_cell_type(cell);
      if (type == NULL) {
        *why = "Invalid request body: cells must be a string, number, "
               "boolean, null or {\"type\":\"datetime\",\"epoch\":…}";
        return 400;
      }
      if (strcmp(type, "bad") == 0) {
        *why = "Failed to upsert database rows.";
        return 500;
      }
    }
  }
  return 0;
}

/* Stores one valid row and merges it into the cached schema; a row that
 * replaces one makes the cache stale, since the replaced values may have
 * been all that held a column or widened its type. Lock held. */
static void fd_put_row(ad_fake_dust_t *fd, fd_table_t *t, const char *id,
                       json_object *value, long *conflicts) {
  json_object *copy = NULL;
  if (json_object_object_get_ex(t->rows, id, NULL) && !fd->o.discard_values)
    t->stale = 1;
  /* A copy: the request's body is put after the lock is let go, and a
   * DELETE may put the stored value meanwhile (see fd_schema_json). */
  if (!fd->o.discard_values)
    json_object_deep_copy(value, &copy, NULL);
  json_object_object_add(t->rows, id, copy);
  fd_schema_add(t->schema, value, conflicts);
}

/* Stores valid rows and merges the schema. Lock held. */
static void fd_store_rows(ad_fake_dust_t *fd, fd_table_t *t, json_object *rows,
                          int truncate) {
  size_t i, n = json_object_array_length(rows);
  json_object *row, *value;
  const char *id;

  if (truncate) { /* the schema is this batch's alone, not stale */
    fd->c.truncates++;
    json_object_put(t->rows);
    json_object_put(t->schema);
    t->rows = json_object_new_object();
    t->schema = json_object_new_object();
    t->stale = 0;
  }
  for (i = 0; i < n; i++) {
    row = json_object_array_get_idx(rows, i);
    id = json_object_get_string(json_object_object_get(row, "row_id"));
    value = json_object_object_get(row, "value");
    fd->c.rows_received++;
    if (json_object_object_get_ex(t->received, id, NULL))
      fd->c.duplicate_rows++;
    else
      json_object_object_add(t->received, id, NULL);
    if (!json_object_object_get_ex(t->rows, id, NULL))
      fd->c.rows_stored++;
    fd_put_row(fd, t, id, value, &fd->c.type_conflicts);
  }
}

static enum MHD_Result fd_upsert_rows(ad_fake_dust_t *fd,
                                      struct MHD_Connection *conn,
                                      const char *tid, json_object *body) {
  json_object *rows, *tr, *out;
  const char *why = NULL;
  fd_table_t *t;
  int status;

  if (!json_object_object_get_ex(body, "rows", &rows) ||
      !json_object_is_type(rows, json_type_array))
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: rows must be an array");
  if (json_object_object_get_ex(body, "truncate", &tr) && tr != NULL &&
      !json_object_is_type(tr, json_type_boolean))
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: truncate must be a boolean");
  status = fd_check_rows(fd, rows, &why);
  if (status != 0)
    return fd_error(fd, conn, (unsigned)status,
                    status == 400 ? "invalid_request_error"
                                  : "internal_server_error",
                    why);
  pthread_mutex_lock(&fd->mu);
  t = fd_find(fd, tid);
  if (t == NULL) { /* core's 404 table_not_found, as the front maps it */
    pthread_mutex_unlock(&fd->mu);
    return fd_error(fd, conn, 500, "internal_server_error",
                    "Failed to upsert database rows.");
  }
  if (json_object_object_get_ex(fd->rejected, tid, NULL)) {
    pthread_mutex_unlock(&fd->mu);
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: rejected for this table by the "
                    "test");
  }
  fd_store_rows(fd, t, rows, tr != NULL && json_object_get_boolean(tr));
  out = json_object_new_object();
  json_object_object_add(out, "table", fd_table_json(t, FD_TJ_ROWS));
  pthread_mutex_unlock(&fd->mu);
  return fd_json(conn, 200, out);
}

/* Dust's answer when core failed the rows write (a missing table looks the
 * same): nothing stored. */
static enum MHD_Result fd_rows_500(ad_fake_dust_t *fd,
                                   struct MHD_Connection *conn) {
  pthread_mutex_lock(&fd->mu);
  fd->c.sent_rows_500++;
  pthread_mutex_unlock(&fd->mu);
  return fd_error(fd, conn, 500, "internal_server_error",
                  "Failed to upsert database rows.");
}

/* A limit or offset query value: def when absent, else a non-negative
 * integer in decimal digits only. 0 when it is one, -1 when not: the Hono
 * routes coerce it with zod (int, nonnegative: 400), the Next ones pass
 * what parseInt made of it to core, whose usize parse refuses NaN and
 * negatives; both refuse what this refuses, and no client should send
 * "10abc" or "" and count on either reading. */
static int fd_query_count(struct MHD_Connection *conn, const char *key,
                          long def, long *out) {
  const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
  size_t n;
  if (v == NULL) {
    *out = def;
    return 0;
  }
  n = strlen(v);
  if (n == 0 || n > 15 || strspn(v, "0123456789") != n)
    return -1;
  *out = strtol(v, NULL, 10);
  return 0;
}

static enum MHD_Result fd_bad_page(ad_fake_dust_t *fd,
                                   struct MHD_Connection *conn) {
  return fd_error(fd, conn, 400, "invalid_request_error",
                  "Invalid request query: limit and offset must be "
                  "non-negative integers");
}

/* GET tables (no pagination on the public route) and GET tables/{tId}. */
static enum MHD_Result fd_get_tables(ad_fake_dust_t *fd,
                                     struct MHD_Connection *conn,
                                     const char *tid) {
  json_object *out = json_object_new_object(), *arr;
  fd_table_t *t;
  size_t i;

  pthread_mutex_lock(&fd->mu);
  if (tid == NULL) {
    arr = json_object_new_array();
    for (i = 0; i < fd->ntables; i++)
      json_object_array_add(arr, fd_table_json(&fd->tables[i], FD_TJ_GET));
    json_object_object_add(out, "tables", arr);
  } else if ((t = fd_find(fd, tid)) == NULL) {
    pthread_mutex_unlock(&fd->mu);
    json_object_put(out);
    return fd_error(fd, conn, 404, "table_not_found", "Failed to get table.");
  } else {
    json_object_object_add(out, "table", fd_table_json(t, FD_TJ_GET));
  }
  pthread_mutex_unlock(&fd->mu);
  return fd_json(conn, 200, out);
}

/* GET tables/{tId}/rows?limit=&offset=: limit defaults to 10, no maximum
 * (the front and core cap neither); {rows:[{row_id, value}], offset,
 * limit, total}, total counting every row of the table. An unknown table
 * is core's 404, which the rows route turns into a 500. */
static enum MHD_Result fd_get_rows(ad_fake_dust_t *fd,
                                   struct MHD_Connection *conn,
                                   const char *tid) {
  json_object *out, *arr;
  long offset, limit, i = 0;
  fd_table_t *t;

  if (fd_query_count(conn, "limit", 10, &limit) != 0 ||
      fd_query_count(conn, "offset", 0, &offset) != 0)
    return fd_bad_page(fd, conn);
  pthread_mutex_lock(&fd->mu);
  if ((t = fd_find(fd, tid)) == NULL) {
    pthread_mutex_unlock(&fd->mu);
    return fd_error(fd, conn, 500, "internal_server_error",
                    "Failed to list database rows.");
  }
  arr = json_object_new_array();
  json_object_object_foreach(t->rows, id, value) {
    if (i >= offset && i - offset < limit) {
      json_object *o = json_object_new_object(), *copy = NULL;
      json_object_object_add(o, "row_id", json_object_new_string(id));
      json_object_deep_copy(value, &copy, NULL); /* see fd_schema_json */
      json_object_object_add(o, "value", copy);
      json_object_array_add(arr, o);
    }
    i++;
  }
  out = json_object_new_object();
  json_object_object_add(out, "rows", arr);
  json_object_object_add(out, "offset", json_object_new_int64(offset));
  json_object_object_add(out, "limit", json_object_new_int64(limit));
  json_object_object_add(out, "total",
                         json_object_new_int64(json_object_object_length(t->rows)));
  pthread_mutex_unlock(&fd->mu);
  return fd_json(conn, 200, out);
}

/* 200 with an empty body and no Content-Type, as Next's res.end() sends. */
static enum MHD_Result fd_empty(struct MHD_Connection *conn) {
  struct MHD_Response *res =
      MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result r;
  if (res == NULL)
    return MHD_NO;
  r = MHD_queue_response(conn, 200, res);
  MHD_destroy_response(res);
  return r;
}

/* Forgets a table and its rows. Lock held. */
static void fd_table_remove(ad_fake_dust_t *fd, fd_table_t *t) {
  fd_table_free(t);
  *t = fd->tables[--fd->ntables];
}

/* DELETE tables/{tId}: the table and its rows go; 200, empty body. Core
 * answers success for a table it does not have, so the front's 404 branch
 * is never taken: an unknown id is a 200 too (counted). */
static enum MHD_Result fd_delete_table(ad_fake_dust_t *fd,
                                       struct MHD_Connection *conn,
                                       const char *tid) {
  fd_table_t *t;
  pthread_mutex_lock(&fd->mu);
  if ((t = fd_find(fd, tid)) != NULL) {
    fd_table_remove(fd, t);
    fd->c.tables_deleted++;
  } else {
    fd->c.delete_not_found++;
  }
  pthread_mutex_unlock(&fd->mu);
  return fd_empty(conn);
}

/* DELETE tables/{tId}/rows/{rId}: {"success":true}; an unknown table is
 * 404 table_not_found, an unknown row a success (core's DELETE ... WHERE
 * matches nothing, counted). The schema goes stale: a column only that
 * row held disappears on the next read. */
static enum MHD_Result fd_delete_row(ad_fake_dust_t *fd,
                                     struct MHD_Connection *conn,
                                     const char *tid, const char *rid) {
  json_object *out;
  fd_table_t *t;
  pthread_mutex_lock(&fd->mu);
  if ((t = fd_find(fd, tid)) == NULL) {
    pthread_mutex_unlock(&fd->mu);
    return fd_error(fd, conn, 404, "table_not_found",
                    "The table you requested was not found.");
  }
  if (json_object_object_get_ex(fd->rejected, tid, NULL)) { /* a test's */
    pthread_mutex_unlock(&fd->mu);
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request: rejected for this table by the test");
  }
  if (json_object_object_get_ex(t->rows, rid, NULL)) {
    json_object_object_del(t->rows, rid);
    fd->c.rows_deleted++;
    if (!fd->o.discard_values)
      t->stale = 1;
    else if (json_object_object_length(t->rows) == 0) {
      /* Without values only an empty table's schema is known for sure. */
      json_object_put(t->schema);
      t->schema = json_object_new_object();
    }
  } else {
    fd->c.delete_not_found++;
  }
  pthread_mutex_unlock(&fd->mu);
  out = json_object_new_object();
  json_object_object_add(out, "success", json_object_new_boolean(1));
  return fd_json(conn, 200, out);
}

/* ---- documents --------------------------------------------------------- */

/* JavaScript's string length: UTF-16 code units. */
static size_t fd_js_length(const char *s) {
  size_t n = 0;
  const unsigned char *p;
  for (p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xC0) != 0x80)
      n += *p >= 0xF0 ? 2 : 1;
  return n;
}

static int fd_valid_url(const char *s) {
  const char *host;
  if (strncmp(s, "https://", 8) == 0)
    host = s + 8;
  else if (strncmp(s, "http://", 7) == 0)
    host = s + 7;
  else
    return 0;
  return *host != '\0' && *host != '/' && strpbrk(s, " \t\r\n") == NULL;
}

static const char *fd_check_document(json_object *body) {
  json_object *v;
  int p;
  const char *s;

  if (!json_object_object_get_ex(body, "text", &v) ||
      !json_object_is_type(v, json_type_string)) {
    if (!json_object_object_get_ex(body, "section", &v) ||
        !json_object_is_type(v, json_type_object))
      return "Invalid request body: `text` or `section` must be provided.";
  }
  s = fd_string(body, "title", &p);
  if (p && s == NULL)
    return "Invalid request body: title must be a string";
  if (s != NULL && fd_js_length(s) > FD_MAX_TITLE)
    return "Invalid request body: title is too long (max 512 characters)";
  s = fd_string(body, "source_url", &p);
  if (p && (s == NULL || !fd_valid_url(s)))
    return "Invalid request body: source_url must be a valid URL";
  if ((s = fd_check_tags_timestamp(body)) != NULL)
    return s;
  if (fd_truthy(body, "parents") || fd_truthy(body, "parent_id"))
    return "Invalid request body: custom hierarchy not supported";
  return NULL;
}

/* Bytes of a section's full text: prefix, content, then its sections. */
static size_t fd_section_size(json_object *sec, int depth) {
  json_object *v;
  size_t n = 0, i;
  if (sec == NULL || !json_object_is_type(sec, json_type_object) || depth > 64)
    return 0;
  if (json_object_object_get_ex(sec, "prefix", &v) &&
      json_object_is_type(v, json_type_string))
    n += (size_t)json_object_get_string_len(v);
  if (json_object_object_get_ex(sec, "content", &v) &&
      json_object_is_type(v, json_type_string))
    n += (size_t)json_object_get_string_len(v);
  if (json_object_object_get_ex(sec, "sections", &v) &&
      json_object_is_type(v, json_type_array))
    for (i = 0; i < json_object_array_length(v); i++)
      n += fd_section_size(json_object_array_get_idx(v, i), depth + 1);
  return n;
}

/* JavaScript's trim, for ASCII whitespace. */
static char *fd_trimmed(const char *s) {
  size_t n;
  while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
    s++;
  n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
    n--;
  return strndup(s, n);
}

/* The document as Dust stores and lists it, from a valid upsert body (no
 * text: core's list leaves it out). The front's title is the trimmed
 * title, else the value of the first "title:" tag, else the document id
 * (the Hono route; Next's says "Untitled Document"); a "title:<title>" tag
 * is added when none has a value, but only reaches core when the body had
 * a tags array: without one core stores no tags at all. */
static json_object *fd_doc_listed(ad_fake_dust_t *fd, const char *id,
                                  json_object *body) {
  json_object *o = json_object_new_object(), *tags = json_object_new_array();
  json_object *v, *parents = json_object_new_array();
  const char *t, *in_tags = NULL;
  char *title = NULL, *tagged = NULL, hash[17];
  uint64_t h = 1469598103934665603ull;
  const char *p;
  size_t i, size;
  int present;

  if (json_object_object_get_ex(body, "tags", &v) &&
      json_object_is_type(v, json_type_array)) {
    for (i = 0; i < json_object_array_length(v); i++) {
      t = json_object_get_string(json_object_array_get_idx(v, i));
      if (in_tags == NULL && strncmp(t, "title:", 6) == 0)
        in_tags = t + 6;
      json_object_array_add(tags, json_object_new_string(t));
    }
  }
  if ((t = fd_string(body, "title", &present)) != NULL)
    title = fd_trimmed(t);
  if (in_tags != NULL)
    tagged = fd_trimmed(in_tags);
  if (title == NULL || *title == '\0') {
    free(title);
    title = strdup(tagged != NULL && *tagged ? tagged : id);
  }
  if ((tagged == NULL || *tagged == '\0') &&
      json_object_object_get_ex(body, "tags", &v) &&
      json_object_is_type(v, json_type_array)) {
    char *tag = malloc(strlen(title) + 7);
    sprintf(tag, "title:%s", title);
    json_object_array_add(tags, json_object_new_string(tag));
    free(tag);
  }
  free(tagged);
  if (json_object_object_get_ex(body, "text", &v) &&
      json_object_is_type(v, json_type_string))
    size = (size_t)json_object_get_string_len(v);
  else
    size = fd_section_size(json_object_object_get(body, "section"), 0);
  /* A content hash, as core's hash covers text and metadata. */
  for (p = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN); *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)h);
  json_object_array_add(parents, json_object_new_string(id));
  json_object_object_add(o, "data_source_id", json_object_new_string(fd->dsid));
  json_object_object_add(o, "data_source_internal_id",
                         json_object_new_string(fd->dsid));
  json_object_object_add(o, "created", json_object_new_int64(fd_wall_ms()));
  json_object_object_add(o, "document_id", json_object_new_string(id));
  json_object_object_add(o, "timestamp", json_object_new_int64(fd_timestamp(body)));
  json_object_object_add(o, "title", json_object_new_string(title));
  t = fd_string(body, "mime_type", &present);
  json_object_object_add(o, "mime_type",
                         json_object_new_string(t ? t : "application/octet-stream"));
  json_object_object_add(o, "provider_visibility", NULL);
  json_object_object_add(o, "tags", tags);
  json_object_object_add(o, "parent_id", NULL);
  json_object_object_add(o, "parents", parents);
  t = fd_string(body, "source_url", &present);
  json_object_object_add(o, "source_url", t ? json_object_new_string(t) : NULL);
  json_object_object_add(o, "hash", json_object_new_string(hash));
  json_object_object_add(o, "text_size", json_object_new_int64((int64_t)size));
  json_object_object_add(o, "chunk_count", json_object_new_int(size > 0));
  json_object_object_add(o, "chunks", json_object_new_array());
  json_object_object_add(o, "token_count", NULL);
  free(title);
  return o;
}

/* Stores a valid document (the body as posted, its listed form). Returns
 * the listed form, borrowed. Lock held. */
static json_object *fd_store_document(ad_fake_dust_t *fd, const char *id,
                                      json_object *body) {
  json_object *listed = fd_doc_listed(fd, id, body), *copy = NULL;
  if (!fd->o.discard_values) /* a copy, as fd_put_row's */
    json_object_deep_copy(body, &copy, NULL);
  json_object_object_add(fd->documents, id, copy);
  json_object_object_add(fd->listed, id, listed);
  fd->c.documents_stored = json_object_object_length(fd->documents);
  return listed;
}

/* The per-minute document limit, a sliding window. Lock held. */
static int fd_doc_admit(ad_fake_dust_t *fd, uint64_t now) {
  int limit = fd->o.documents_per_minute;
  if (limit <= 0)
    return 1;
  if (ad_fake_window_busiest(&fd->docs, now) > (size_t)limit)
    return 0;
  ad_fake_window_add(&fd->docs, now);
  return 1;
}

static enum MHD_Result fd_upsert_document(ad_fake_dust_t *fd,
                                          struct MHD_Connection *conn,
                                          const char *id, json_object *body,
                                          uint64_t arrival) {
  const char *why;
  json_object *out, *doc = NULL, *listed;
  int admitted;

  /* Dust's limiter counts an upsert before the body is checked: a refused
   * document costs its place in the minute too. */
  pthread_mutex_lock(&fd->mu);
  admitted = fd_doc_admit(fd, arrival);
  pthread_mutex_unlock(&fd->mu);
  if (!admitted)
    return fd_error(fd, conn, 429, "rate_limit_error",
                    "You have reached the maximum number of 120 upserts per "
                    "minute.");
  if ((why = fd_check_document(body)) != NULL)
    return fd_error(fd, conn, 400, "invalid_request_error", why);
  pthread_mutex_lock(&fd->mu);
  fd->c.documents_received++;
  listed = fd_store_document(fd, id, body);
  /* light_document_output: {hash, text_size, chunk_count, token_count,
   * created}; else the whole document. */
  if (fd_truthy(body, "light_document_output")) {
    static const char *const light[] = {"hash", "text_size", "chunk_count",
                                        "created", NULL};
    size_t i;
    doc = json_object_new_object();
    for (i = 0; light[i] != NULL; i++) { /* copies: see fd_schema_json */
      json_object *copy = NULL;
      json_object_deep_copy(json_object_object_get(listed, light[i]), &copy,
                            NULL);
      json_object_object_add(doc, light[i], copy);
    }
    json_object_object_add(doc, "token_count",
                           json_object_new_int64(json_object_get_int64(
                               json_object_object_get(listed, "text_size")) / 4));
  } else {
    json_object_deep_copy(listed, &doc, NULL);
  }
  pthread_mutex_unlock(&fd->mu);
  out = json_object_new_object();
  json_object_object_add(out, "document", doc);
  json_object_object_add(out, "data_source", json_object_new_object());
  return fd_json(conn, 200, out);
}

/* DELETE documents/{documentId}: {"document":{"document_id"}}, also for a
 * document Dust does not have (core returns early, counted). Not limited:
 * the 120 per minute are taken by upserts only. */
static enum MHD_Result fd_delete_document(ad_fake_dust_t *fd,
                                          struct MHD_Connection *conn,
                                          const char *id) {
  json_object *out = json_object_new_object(), *doc = json_object_new_object();
  pthread_mutex_lock(&fd->mu);
  if (json_object_object_get_ex(fd->listed, id, NULL)) {
    json_object_object_del(fd->documents, id);
    json_object_object_del(fd->listed, id);
    fd->c.documents_deleted++;
    fd->c.documents_stored = json_object_object_length(fd->documents);
  } else {
    fd->c.delete_not_found++;
  }
  pthread_mutex_unlock(&fd->mu);
  json_object_object_add(doc, "document_id", json_object_new_string(id));
  json_object_object_add(out, "document", doc);
  return fd_json(conn, 200, out);
}

/* Collects the document_ids query values (the parameter repeated). */
static enum MHD_Result fd_collect_ids(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value) {
  (void)kind;
  if (strcmp(key, "document_ids") == 0)
    json_object_object_add(cls, value != NULL ? value : "", NULL);
  return MHD_YES;
}

typedef struct fd_listed {
  json_object *doc;
  int64_t timestamp;
  size_t seq;
} fd_listed_t;

/* Core lists by timestamp, newest first. */
static int fd_listed_cmp(const void *a, const void *b) {
  const fd_listed_t *x = a, *y = b;
  if (x->timestamp != y->timestamp)
    return x->timestamp > y->timestamp ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* GET documents?limit=&offset=&document_ids=: limit defaults to 10, no
 * maximum; {documents, total} only (the front drops core's limit and
 * offset), newest timestamp first, each document without its text. total
 * is the data source's document count, whatever document_ids selects (core
 * takes it from the search index's stats). */
static enum MHD_Result fd_get_documents(ad_fake_dust_t *fd,
                                        struct MHD_Connection *conn) {
  json_object *out, *arr, *ids = json_object_new_object();
  long offset, limit, i;
  fd_listed_t *all;
  size_t n = 0;
  int filter;

  if (fd_query_count(conn, "limit", 10, &limit) != 0 ||
      fd_query_count(conn, "offset", 0, &offset) != 0) {
    json_object_put(ids);
    return fd_bad_page(fd, conn);
  }
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, fd_collect_ids, ids);
  filter = json_object_object_length(ids) > 0;
  pthread_mutex_lock(&fd->mu);
  all = calloc((size_t)json_object_object_length(fd->listed) + 1, sizeof(*all));
  if (all == NULL)
    abort();
  json_object_object_foreach(fd->listed, id, doc) {
    if (filter && !json_object_object_get_ex(ids, id, NULL))
      continue;
    all[n].doc = doc;
    all[n].timestamp = json_object_get_int64(json_object_object_get(doc, "timestamp"));
    all[n].seq = n;
    n++;
  }
  qsort(all, n, sizeof(*all), fd_listed_cmp);
  arr = json_object_new_array();
  for (i = offset; i < (long)n && i - offset < limit; i++) {
    json_object *copy = NULL;
    json_object_deep_copy(all[i].doc, &copy, NULL); /* see fd_schema_json */
    json_object_array_add(arr, copy);
  }
  out = json_object_new_object();
  json_object_object_add(out, "documents", arr);
  json_object_object_add(out, "total",
                         json_object_new_int64(json_object_object_length(fd->listed)));
  pthread_mutex_unlock(&fd->mu);
  free(all);
  json_object_put(ids);
  return fd_json(conn, 200, out);
}

/* ---- dispatch ---------------------------------------------------------- */

/* Authorization as Dust checks it: 0 ok, else the 401 type. */
static const char *fd_auth(ad_fake_dust_t *fd, struct MHD_Connection *conn) {
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              "Authorization");
  const char *k;
  if (h == NULL)
    return "missing_authorization_header_error";
  if (strncmp(h, "Bearer sk-", 10) != 0 || h[10] == '\0')
    return "malformed_authorization_header_error";
  for (k = h + 10; *k; k++)
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
          (*k >= '0' && *k <= '9')))
      return "malformed_authorization_header_error";
  return strcmp(h + 7, fd->key) == 0 ? NULL : "invalid_api_key_error";
}

enum { FD_OK, FD_DROP, FD_5XX, FD_429, FD_NON_JSON, FD_ROWS_500 };

static double fd_draw(ad_fake_dust_t *fd) {
  return (double)(ad_rand_next(&fd->rng) % 1000000) / 1e6;
}

/* Faults and the request-rate limit (FD_*). The rate is checked before the
 * 5xx draw, as a server refuses excess requests before it does any work
 * that could fail. Every fault is decided before anything is stored, so
 * only a slow answer the client gave up on can store a row twice. Lock
 * held. */
static int fd_fault(ad_fake_dust_t *fd, uint64_t now) {
  size_t busiest;
  double x = fd_draw(fd);
  if (x < fd->o.drop) {
    fd->c.dropped++;
    return FD_DROP;
  }
  if (fd->o.max_rps > 0) {
    busiest = ad_fake_window_busiest(&fd->requests, now);
    ad_fake_window_add(&fd->requests, now);
    if (busiest > (size_t)fd->o.max_rps)
      return FD_429;
  }
  if (fd_draw(fd) < fd->o.fail_5xx) {
    fd->c.sent_5xx++;
    return FD_5XX;
  }
  if (fd_draw(fd) < fd->o.non_json) {
    fd->c.sent_non_json++;
    return FD_NON_JSON;
  }
  return fd_draw(fd) < fd->o.rows_500 ? FD_ROWS_500 : FD_OK;
}

/* This request's added latency: the base one, or slow_ms more. */
static int fd_latency(ad_fake_dust_t *fd) {
  if (fd->o.slow > 0 && fd_draw(fd) < fd->o.slow) {
    fd->c.slow_answers++;
    return fd->o.latency_ms + fd->o.slow_ms;
  }
  return fd->o.latency_ms;
}

/* A 200 that is not JSON, as a captive proxy or a misrouted gateway
 * sends. */
static enum MHD_Result fd_non_json(struct MHD_Connection *conn) {
  static const char page[] = "<html><body>Bad gateway</body></html>";
  return fd_send(conn, 200, "text/html", page);
}

enum { FD_GET, FD_POST, FD_DELETE, FD_OTHER };

static enum MHD_Result fd_405(ad_fake_dust_t *fd, struct MHD_Connection *conn) {
  return fd_error(fd, conn, 405, "method_not_supported_error",
                  "The method passed is not supported.");
}

/* Every method goes through the faults and the rate limit first, as every
 * request reaches the same gateway; a route Dust has answers any other
 * method 405, a path it does not have 404. */
static enum MHD_Result fd_route(ad_fake_dust_t *fd, struct MHD_Connection *conn,
                                fd_request_t *rq, int method) {
  char seg[12][256];
  int n = ad_fake_split_path(rq->raw_uri, seg, 12), fault;
  const char *auth;
  json_object *body = NULL;
  enum MHD_Result r;
  int docs, rows, fail;
  uint64_t arrival = rq->arrival; /* limits count arrivals, as Dust does */

  int late;

  pthread_mutex_lock(&fd->mu);
  fault = fd_fault(fd, arrival);
  rq->latency_ms = fd_latency(fd);
  late = method != FD_GET && fd->o.apply_late > 0 &&
         fd_draw(fd) < fd->o.apply_late;
  fd->c.applied_late += late;
  pthread_mutex_unlock(&fd->mu);
  if (fault == FD_DROP)
    return MHD_NO;
  /* A server that queues writes and applies them in its own order: this
   * one takes effect slow_ms after it came, after later ones. */
  if (late)
    ad_fake_hold(arrival, fd->o.slow_ms);
  if (fault == FD_5XX)
    return fd_error(fd, conn, 503, "service_unavailable",
                    "The service is temporarily unavailable.");
  if (fault == FD_NON_JSON)
    return fd_non_json(conn);
  if (fault == FD_429)
    return fd_error(fd, conn, 429, "rate_limit_error",
                    "Too many pending table updates are queued for this "
                    "table. Please retry later.");
  if (n < 9 || strcmp(seg[0], "api") || strcmp(seg[1], "v1") ||
      strcmp(seg[2], "w") || strcmp(seg[4], "spaces") ||
      strcmp(seg[6], "data_sources"))
    return fd_error(fd, conn, 404, "not_found", "Not found.");
  if ((auth = fd_auth(fd, conn)) != NULL)
    return fd_error(fd, conn, 401, auth, "The API key is missing or invalid.");
  if (strcmp(seg[3], fd->wid) != 0)
    return fd_error(fd, conn, 404, "workspace_not_found",
                    "The workspace was not found.");
  if (strcmp(seg[5], fd->sid) != 0)
    return fd_error(fd, conn, 404, "space_not_found", "Space not found.");
  if (strcmp(seg[7], fd->dsid) != 0)
    return fd_error(fd, conn, 404, "data_source_not_found",
                    "The data source you requested was not found.");
  docs = strcmp(seg[8], "documents") == 0;
  if (!docs && strcmp(seg[8], "tables") != 0)
    return fd_error(fd, conn, 404, "not_found", "Not found.");
  if (rq->too_big || (!docs && rq->len > fd->o.max_body)) {
    pthread_mutex_lock(&fd->mu);
    fd->c.validation_failures++;
    pthread_mutex_unlock(&fd->mu);
    return fd_send(conn, 413, "text/plain", "Body exceeded 1mb limit");
  }
  rows = !docs && n >= 11 && strcmp(seg[10], "rows") == 0;
  pthread_mutex_lock(&fd->mu);
  if (method == FD_GET)
    docs ? fd->c.requests_documents_get++
         : rows ? fd->c.requests_rows_get++ : fd->c.requests_tables_get++;
  else if (method == FD_POST)
    docs ? fd->c.requests_documents_post++
         : rows ? fd->c.requests_rows_post++ : fd->c.requests_tables_post++;
  else if (method == FD_DELETE)
    docs ? fd->c.requests_documents_delete++
         : rows ? fd->c.requests_rows_delete++ : fd->c.requests_tables_delete++;
  fail = fd->fail_listings && method == FD_GET &&
         ((docs && n == 9) || (rows && n == 11));
  pthread_mutex_unlock(&fd->mu);
  if (fail) /* a test's: Dust failing to read its own store */
    return fd_error(fd, conn, 500, "internal_server_error",
                    "Failed to list.");
  if (method == FD_GET) {
    if (docs && n == 9)
      return fd_get_documents(fd, conn);
    if (!docs && n <= 10)
      return fd_get_tables(fd, conn, n == 10 ? seg[9] : NULL);
    if (rows && n == 11)
      return fd_get_rows(fd, conn, seg[9]);
    /* GET documents/{id} and rows/{rId} exist but are not modeled. */
    return fd_error(fd, conn, 404, "not_found", "Not found.");
  }
  if (method == FD_DELETE) {
    if (docs && n == 10)
      return fd_delete_document(fd, conn, seg[9]);
    if (!docs && n == 10)
      return fd_delete_table(fd, conn, seg[9]);
    if (rows && n == 12)
      return fd_delete_row(fd, conn, seg[9], seg[11]);
    if (n <= 11)
      return fd_405(fd, conn);
    return fd_error(fd, conn, 404, "not_found", "Not found.");
  }
  if (method != FD_POST)
    return n <= 12 ? fd_405(fd, conn)
                   : fd_error(fd, conn, 404, "not_found", "Not found.");
  body = json_tokener_parse(rq->body ? rq->body : "");
  if (body == NULL || !json_object_is_type(body, json_type_object)) {
    json_object_put(body);
    return fd_error(fd, conn, 400, "invalid_request_error",
                    "Invalid request body: not a JSON object");
  }
  if (docs && n == 10)
    r = fd_upsert_document(fd, conn, seg[9], body, arrival);
  else if (!docs && n == 9)
    r = fd_upsert_table(fd, conn, body);
  else if (rows && n == 11 && fault == FD_ROWS_500)
    r = fd_rows_500(fd, conn);
  else if (rows && n == 11)
    r = fd_upsert_rows(fd, conn, seg[9], body);
  else
    r = fd_405(fd, conn);
  json_object_put(body);
  return r;
}

static enum MHD_Result fd_counters_answer(ad_fake_dust_t *fd,
                                          struct MHD_Connection *conn) {
  return fd_json(conn, 200, ad_fake_dust_counters_json(fd));
}

static void *fd_uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
  fd_request_t *rq = calloc(1, sizeof(*rq));
  (void)cls;
  if (rq != NULL) {
    rq->arrival = ad_fake_arrival_ms(c, NULL);
    rq->raw_uri = strdup(uri);
  }
  return rq;
}

static int fd_append(fd_request_t *rq, const char *data, size_t len) {
  char *grown;
  if (rq->len + len > FD_MAX_BODY_DOCS) { /* keep counting, stop storing */
    rq->too_big = 1;
    return 0;
  }
  grown = realloc(rq->body, rq->len + len + 1);
  if (grown == NULL)
    return -1;
  rq->body = grown;
  memcpy(rq->body + rq->len, data, len);
  rq->len += len;
  rq->body[rq->len] = '\0';
  return 0;
}

static enum MHD_Result fd_handler(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **ctx) {
  ad_fake_dust_t *fd = cls;
  fd_request_t *rq = *ctx;
  enum MHD_Result r;
  (void)url;
  (void)version;

  if (rq == NULL || rq->raw_uri == NULL)
    return MHD_NO;
  if (!rq->answered_once) { /* MHD 0.9.75 drops keep-alive otherwise */
    rq->answered_once = 1;
    pthread_mutex_lock(&fd->mu);
    rq->counted = 1;
    if (++fd->inflight > fd->c.max_concurrent)
      fd->c.max_concurrent = fd->inflight;
    pthread_mutex_unlock(&fd->mu);
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (fd_append(rq, upload, *upload_size) != 0)
      return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  pthread_mutex_lock(&fd->mu);
  if ((long)rq->len > fd->c.largest_request)
    fd->c.largest_request = (long)rq->len;
  pthread_mutex_unlock(&fd->mu);
  if (strncmp(rq->raw_uri, "/_fake/counters", 15) == 0)
    return fd_counters_answer(fd, conn);
  if (strncmp(rq->raw_uri, "/_fake/dump", 11) == 0)
    return fd_json(conn, 200, ad_fake_dust_dump(fd));
  r = fd_route(fd, conn, rq,
               !strcmp(method, "GET")      ? FD_GET
               : !strcmp(method, "POST")   ? FD_POST
               : !strcmp(method, "DELETE") ? FD_DELETE
                                           : FD_OTHER);
  ad_fake_hold(rq->arrival, rq->latency_ms);
  return r;
}

static void fd_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode code) {
  ad_fake_dust_t *fd = cls;
  fd_request_t *rq = *ctx;
  (void)conn;
  (void)code;
  if (rq == NULL)
    return;
  if (rq->counted) {
    pthread_mutex_lock(&fd->mu);
    fd->inflight--;
    pthread_mutex_unlock(&fd->mu);
  }
  free(rq->raw_uri);
  free(rq->body);
  free(rq);
  *ctx = NULL;
}

/* ---- life -------------------------------------------------------------- */

static const ad_fake_server_cbs_t fd_callbacks = {fd_handler, fd_uri_log,
                                                   fd_completed, NULL};

void ad_fake_dust_opts_default(ad_fake_dust_opts_t *o) {
  memset(o, 0, sizeof(*o));
  o->api_key = "sk-fake0123456789";
  o->workspace_id = "wFake";
  o->space_id = "vltFake";
  o->data_source_id = "dsFake";
  o->seed = 1;
  o->documents_per_minute = 120;
  o->documents_window_ms = 60000;
  o->max_body = 1048576;
}

ad_fake_dust_t *ad_fake_dust_start(const ad_fake_dust_opts_t *o) {
  ad_fake_dust_t *fd = calloc(1, sizeof(*fd));

  if (fd == NULL)
    return NULL;
  fd->o = *o;
  snprintf(fd->key, sizeof(fd->key), "%s", o->api_key);
  snprintf(fd->wid, sizeof(fd->wid), "%s", o->workspace_id);
  snprintf(fd->sid, sizeof(fd->sid), "%s", o->space_id);
  snprintf(fd->dsid, sizeof(fd->dsid), "%s", o->data_source_id);
  if (fd->o.max_body == 0)
    fd->o.max_body = 1048576;
  fd->rng = o->seed ^ 0xD057ull;
  pthread_mutex_init(&fd->mu, NULL);
  ad_fake_window_init(&fd->docs, (uint64_t)fd->o.documents_window_ms);
  ad_fake_window_init(&fd->requests, 1000);
  fd->documents = json_object_new_object();
  fd->listed = json_object_new_object();
  fd->rejected = json_object_new_object();
  if (regcomp(&fd->slug, "^[a-z0-9_]+$", REG_EXTENDED | REG_NOSUB) != 0) {
    free(fd);
    return NULL;
  }
  fd->daemon = ad_fake_server_start(o->port, &fd_callbacks, fd, fd->url,
                                    sizeof(fd->url));
  if (fd->daemon == NULL) {
    ad_fake_dust_stop(fd);
    return NULL;
  }
  return fd;
}

void ad_fake_dust_stop(ad_fake_dust_t *fd) {
  size_t i;
  if (fd == NULL)
    return;
  if (fd->daemon != NULL)
    MHD_stop_daemon(fd->daemon);
  for (i = 0; i < fd->ntables; i++) {
    fd_table_free(&fd->tables[i]);
  }
  free(fd->tables);
  json_object_put(fd->documents);
  json_object_put(fd->listed);
  json_object_put(fd->rejected);
  regfree(&fd->slug);
  ad_fake_window_free(&fd->docs);
  ad_fake_window_free(&fd->requests);
  pthread_mutex_destroy(&fd->mu);
  free(fd);
}

const char *ad_fake_dust_url(const ad_fake_dust_t *fd) { return fd->url; }

void ad_fake_dust_counters(ad_fake_dust_t *fd, ad_fake_dust_counters_t *out) {
  pthread_mutex_lock(&fd->mu);
  *out = fd->c;
  pthread_mutex_unlock(&fd->mu);
}

json_object *ad_fake_dust_counters_json(ad_fake_dust_t *fd) {
  ad_fake_dust_counters_t c;
  json_object *o = json_object_new_object();

  ad_fake_dust_counters(fd, &c);
#define FD_COUNTER(name) json_object_object_add(o, #name, json_object_new_int64(c.name))
  FD_COUNTER(requests_tables_post);
  FD_COUNTER(requests_tables_get);
  FD_COUNTER(requests_rows_post);
  FD_COUNTER(requests_rows_get);
  FD_COUNTER(requests_documents_post);
  FD_COUNTER(requests_documents_get);
  FD_COUNTER(requests_tables_delete);
  FD_COUNTER(requests_rows_delete);
  FD_COUNTER(requests_documents_delete);
  FD_COUNTER(rows_received);
  FD_COUNTER(rows_stored);
  FD_COUNTER(duplicate_rows);
  FD_COUNTER(documents_received);
  FD_COUNTER(documents_stored);
  FD_COUNTER(tables_deleted);
  FD_COUNTER(rows_deleted);
  FD_COUNTER(documents_deleted);
  FD_COUNTER(delete_not_found);
  FD_COUNTER(validation_failures);
  FD_COUNTER(type_conflicts);
  FD_COUNTER(truncates);
  FD_COUNTER(sent_429);
  FD_COUNTER(sent_5xx);
  FD_COUNTER(dropped);
  FD_COUNTER(sent_non_json);
  FD_COUNTER(sent_rows_500);
  FD_COUNTER(slow_answers);
  FD_COUNTER(applied_late);
  FD_COUNTER(largest_request);
  FD_COUNTER(max_concurrent);
#undef FD_COUNTER
  return o;
}

json_object *ad_fake_dust_dump(ad_fake_dust_t *fd) {
  json_object *out = json_object_new_object(), *arr = json_object_new_array();
  size_t i;

  pthread_mutex_lock(&fd->mu);
  for (i = 0; i < fd->ntables; i++) {
    json_object *t = fd_table_json(&fd->tables[i], FD_TJ_GET);
    /* Without the timestamp, which is the clock's when none was sent:
     * two fakes given the same writes dump the same. */
    json_object_object_del(t, "timestamp");
    json_object *rows = NULL;
    json_object_deep_copy(fd->tables[i].rows, &rows, NULL);
    json_object_object_add(t, "rows", rows);
    json_object_array_add(arr, t);
  }
  json_object_object_add(out, "tables", arr);
  {
    json_object *docs = NULL;
    json_object_deep_copy(fd->documents, &docs, NULL);
    json_object_object_add(out, "documents", docs);
  }
  pthread_mutex_unlock(&fd->mu);
  return out;
}

void ad_fake_dust_fail_listings(ad_fake_dust_t *fd, int on) {
  pthread_mutex_lock(&fd->mu);
  fd->fail_listings = on;
  pthread_mutex_unlock(&fd->mu);
}

void ad_fake_dust_reject_table(ad_fake_dust_t *fd, const char *table_id) {
  pthread_mutex_lock(&fd->mu);
  json_object_object_add(fd->rejected, table_id, NULL);
  pthread_mutex_unlock(&fd->mu);
}

void ad_fake_dust_add_table(ad_fake_dust_t *fd, const char *table_id,
                            const char *name) {
  pthread_mutex_lock(&fd->mu);
  fd_table_put(fd, table_id, name, name, "", fd_wall_ms(), NULL);
  pthread_mutex_unlock(&fd->mu);
}

long ad_fake_dust_drop_table(ad_fake_dust_t *fd, const char *table_id) {
  fd_table_t *t;
  long rows = -1;
  pthread_mutex_lock(&fd->mu);
  if ((t = fd_find(fd, table_id)) != NULL) {
    rows = (long)json_object_object_length(t->rows);
    fd_table_remove(fd, t);
  }
  pthread_mutex_unlock(&fd->mu);
  return rows;
}

void ad_fake_dust_set_latency(ad_fake_dust_t *fd, int latency_ms) {
  pthread_mutex_lock(&fd->mu);
  fd->o.latency_ms = latency_ms;
  pthread_mutex_unlock(&fd->mu);
}

/* Another writer's document: stored as its upsert through the API would
 * store it (title and tags rules, listed form), without touching the
 * request counters or the per-minute limit. */
void ad_fake_dust_put_document(ad_fake_dust_t *fd, const char *document_id,
                               const char *title, ...) {
  json_object *body = json_object_new_object(), *tags = json_object_new_array();
  const char *tag;
  va_list ap;

  va_start(ap, title);
  while ((tag = va_arg(ap, const char *)) != NULL)
    json_object_array_add(tags, json_object_new_string(tag));
  va_end(ap);
  json_object_object_add(body, "title", json_object_new_string(title));
  json_object_object_add(body, "text", json_object_new_string(title));
  json_object_object_add(body, "tags", tags);
  pthread_mutex_lock(&fd->mu);
  fd_store_document(fd, document_id, body);
  pthread_mutex_unlock(&fd->mu);
  json_object_put(body);
}

int ad_fake_dust_put_row(ad_fake_dust_t *fd, const char *table_id,
                         const char *row_id, json_object *value) {
  json_object *rows = json_object_new_array(), *row = json_object_new_object();
  const char *why;
  fd_table_t *t;
  int rc = -1;

  /* Checked as the rows route would check it. */
  json_object_object_add(row, "row_id", json_object_new_string(row_id));
  json_object_object_add(row, "value", json_object_get(value));
  json_object_array_add(rows, row);
  pthread_mutex_lock(&fd->mu);
  if ((t = fd_find(fd, table_id)) != NULL &&
      fd_check_rows(fd, rows, &why) == 0) {
    fd_put_row(fd, t, row_id, value, NULL);
    rc = 0;
  }
  pthread_mutex_unlock(&fd->mu);
  json_object_put(rows);
  return rc;
}
