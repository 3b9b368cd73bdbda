/* A fake Dust data-source API on 127.0.0.1 (libmicrohttpd), as strict as
 * the real one (dust-api.md): bearer sk- keys, the workspace / space /
 * data source ids, table upserts with Dust's own rules (name, description,
 * title required; no mime_type, parents; a name taken by another table id
 * is a 500), rows with slug keys and primitive or datetime cells, the 1 MB
 * body limit (413, plain text), 512 columns, rows for an unknown table
 * (500), documents limited per minute per workspace (429), and column
 * type inference as Dust core does it (int + float -> float, any other mix
 * -> text), counting conflicts.
 *
 * Routes under /api/v1/w/{wId}/spaces/{spaceId}/data_sources/{dsId}/:
 * POST tables, GET tables, GET tables/{tId}, DELETE tables/{tId},
 * POST tables/{tId}/rows, GET tables/{tId}/rows?limit=&offset=,
 * DELETE tables/{tId}/rows/{rId}, POST documents/{documentId},
 * DELETE documents/{documentId}, GET documents?limit=&offset=&document_ids=.
 * Any other method on these is 405. What each answers, and where in Dust's
 * code that was read, is in docs/testing.md ("The fake Dust's delete and
 * list routes"). The schema a table reports is recomputed from the rows
 * it holds once a row was rewritten or deleted, as core does with a stale
 * schema (with discard_values it is only merged, and emptied with the
 * last row). Faults and max_rps apply to every method.
 * Plus GET /_fake/counters and GET /_fake/dump (JSON, no auth). */
#ifndef AD_FAKE_DUST_H
#define AD_FAKE_DUST_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

typedef struct ad_fake_dust ad_fake_dust_t;

typedef struct ad_fake_dust_opts {
  const char *api_key;        /* the accepted key; "sk-fake0123456789" */
  const char *workspace_id;   /* "wFake" */
  const char *space_id;       /* "vltFake" */
  const char *data_source_id; /* "dsFake" */
  uint16_t port;              /* 0: any free port */
  uint64_t seed;
  int documents_per_minute;   /* per workspace; default 120, 0 = no limit */
  int documents_window_ms;    /* the limit's window; default 60 000 */
  size_t max_body;            /* tables and rows; default 1 MB (1 048 576) */
  int latency_ms;             /* added to every answer */
  double fail_5xx;            /* fraction answered 500/503 */
  double drop;                /* fraction of connections closed unanswered */
  int max_rps;                /* above this many requests/s: 429; 0 = off */
  double non_json;            /* fraction answered 200 with an HTML page */
  double rows_500;            /* fraction of rows writes answered 500 */
  double slow;                /* fraction answered slow_ms later still */
  int slow_ms;
  double apply_late;          /* fraction of writes (POST, DELETE) that take
                                 effect slow_ms after they came, after
                                 writes that came later: a server that
                                 applies queued work out of order */
  int discard_values;         /* keep row and document ids and column types
                                 only, so a million-row benchmark does not
                                 hold gigabytes; validation is unchanged */
} ad_fake_dust_opts_t;

typedef struct ad_fake_dust_counters {
  long requests_tables_post, requests_tables_get, requests_tables_delete;
  long requests_rows_post, requests_rows_get, requests_rows_delete;
  long requests_documents_post, requests_documents_get,
      requests_documents_delete;
  long rows_received;
  long rows_stored;         /* new row ids stored (a deleted row stored
                               again counts again) */
  long duplicate_rows;
  long documents_received;
  long documents_stored;    /* documents held now */
  long tables_deleted, rows_deleted, documents_deleted; /* by DELETE, of
                               something held (a table's rows are not
                               counted in rows_deleted) */
  long delete_not_found;    /* DELETEs of a table, row or document not
                               held (answered as Dust does: 200, except a
                               row of an unknown table, 404) */
  long validation_failures; /* 400 and 413 answers */
  long type_conflicts;      /* a column's type widened to text */
  long truncates;           /* rows requests that replaced a table */
  long sent_429, sent_5xx, dropped;
  long sent_non_json, sent_rows_500, slow_answers, applied_late;
  long largest_request;     /* bytes of the largest body */
  long max_concurrent;      /* most requests in progress at once */
} ad_fake_dust_counters_t;

void ad_fake_dust_opts_default(ad_fake_dust_opts_t *opts);

/* Starts the server; NULL on failure. */
ad_fake_dust_t *ad_fake_dust_start(const ad_fake_dust_opts_t *opts);
void ad_fake_dust_stop(ad_fake_dust_t *fake);

/* "http://127.0.0.1:PORT" */
const char *ad_fake_dust_url(const ad_fake_dust_t *fake);
void ad_fake_dust_counters(ad_fake_dust_t *fake, ad_fake_dust_counters_t *out);

/* The counters as a JSON object (what GET /_fake/counters answers); the
 * caller puts the reference. */
json_object *ad_fake_dust_counters_json(ad_fake_dust_t *fake);

/* Everything stored, as GET /_fake/dump returns it: {"tables":[{table_id,
 * name, title, description, schema, tags, parents, ..., rows:{row_id:
 * value}}], "documents": {id: document as posted}}; no timestamps (the
 * clock's when none was sent). The caller puts the reference. */
json_object *ad_fake_dust_dump(ad_fake_dust_t *fake);

/* From now on, rows for table_id, and deletes of them, are refused with
 * 400 (a permanent failure of one table, for tests). */
void ad_fake_dust_reject_table(ad_fake_dust_t *fake, const char *table_id);

/* From now on (on: 1), listings of a table's rows and of the documents
 * answer 500, as a Dust failing to read its store would. */
void ad_fake_dust_fail_listings(ad_fake_dust_t *fake, int on);

/* Forgets a table and its rows, as if deleted behind the writer's back:
 * its rows are then refused with 500 until it is upserted again. Returns
 * the rows it held, -1 for an unknown table. */
long ad_fake_dust_drop_table(ad_fake_dust_t *fake, const char *table_id);

/* Stores an empty table as another writer would have made it. */
void ad_fake_dust_add_table(ad_fake_dust_t *fake, const char *table_id,
                            const char *name);

/* Stores a document as another writer's upsert would have: title, text
 * (the title again), then its tags, NULL-terminated (Dust adds a
 * "title:<title>" tag when none is given). Counts no request and takes
 * nothing from the per-minute limit. */
void ad_fake_dust_put_document(ad_fake_dust_t *fake, const char *document_id,
                               const char *title, ...)
    __attribute__((sentinel));

/* Stores a row into an existing table as another writer would (the
 * value, a JSON object, checked as the rows route checks it; the caller
 * keeps its reference). Counts nothing. 0, or -1 for an unknown table or
 * a value Dust would refuse. */
int ad_fake_dust_put_row(ad_fake_dust_t *fake, const char *table_id,
                         const char *row_id, json_object *value);

/* Sets the added latency at run time (a slow sink). */
void ad_fake_dust_set_latency(ad_fake_dust_t *fake, int latency_ms);

#endif
