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
 * POST tables, GET tables, GET tables/{tId}, POST tables/{tId}/rows,
 * GET tables/{tId}/rows, POST documents/{documentId}, GET documents.
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
  int discard_values;         /* keep row and document ids and column types
                                 only, so a million-row benchmark does not
                                 hold gigabytes; validation is unchanged */
} ad_fake_dust_opts_t;

typedef struct ad_fake_dust_counters {
  long requests_tables_post, requests_tables_get;
  long requests_rows_post, requests_rows_get;
  long requests_documents_post, requests_documents_get;
  long rows_received, rows_stored, duplicate_rows;
  long documents_received, documents_stored;
  long validation_failures; /* 400 and 413 answers */
  long type_conflicts;      /* a column's type widened to text */
  long truncates;           /* rows requests that replaced a table */
  long sent_429, sent_5xx, dropped;
  long sent_non_json, sent_rows_500, slow_answers;
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
 * name, title, description, schema, rows:{row_id:value}}], "documents":
 * {id:document}}. The caller puts the reference. */
json_object *ad_fake_dust_dump(ad_fake_dust_t *fake);

/* From now on, rows for table_id are refused with 400 (a permanent
 * failure of one table, for tests). */
void ad_fake_dust_reject_table(ad_fake_dust_t *fake, const char *table_id);

/* Forgets a table and its rows, as if deleted behind the writer's back:
 * its rows are then refused with 500 until it is upserted again. Returns
 * the rows it held, -1 for an unknown table. */
long ad_fake_dust_drop_table(ad_fake_dust_t *fake, const char *table_id);

/* Stores an empty table as another writer would have made it. */
void ad_fake_dust_add_table(ad_fake_dust_t *fake, const char *table_id,
                            const char *name);

/* Sets the added latency at run time (a slow sink). */
void ad_fake_dust_set_latency(ad_fake_dust_t *fake, int latency_ms);

#endif
