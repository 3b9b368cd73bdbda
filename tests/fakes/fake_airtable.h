/* A fake Airtable Web API on 127.0.0.1 (libmicrohttpd), as strict as the
 * real one (airtable-api.md): bearer auth, 100-record pages with opaque
 * expiring offsets, tables by id or URL-encoded name, error bodies in the
 * real shapes, and 5 requests/s per base and 50/s per token in any sliding
 * second, with a penalty after a 429. The limits judge a request on when
 * the kernel received it, or (stamp_mode) on when the one worker of a busy
 * gateway would have got to it.
 *
 * Datasets are generated from a seed: records are computed on demand, so a
 * million records cost no memory. Faults (latency, 5xx, dropped
 * connections, truncated bodies) are drawn per request from the seed.
 *
 * A demo dataset (opts.demo) serves two realistic bases, "Bug Tracking
 * System" and "Employee Bio Database", with four tables each.
 *
 * A generated dataset can change between two runs of a sync, as a base
 * does in a week of edits (ad_fake_airtable_delete_record … _mutate,
 * below): deterministic, so that a fresh fake given the same seed and the
 * same mutations serves the same pages, and small (a bitmap of deleted
 * records, a map of edited ones, runs of added ones, a table's own field
 * list once its schema changed; nothing at all for a table left alone).
 *
 * Routes: GET /v0/meta/bases, GET /v0/meta/bases/{base}/tables,
 * GET /v0/{base}/{table}, POST /v0/{base}/{table}/listRecords, and
 * GET /_fake/counters (JSON, no auth). */
#ifndef AD_FAKE_AIRTABLE_H
#define AD_FAKE_AIRTABLE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

typedef struct ad_fake_airtable ad_fake_airtable_t;

/* What the limits judge a request on (docs/architecture.md, "Arrivals and
 * latency"). */
typedef enum ad_fake_stamp_mode {
  /* When the kernel received it: a server with CPU to spare. */
  AD_FAKE_STAMP_KERNEL = 0,
  /* When the one virtual worker of a busy gateway got to it: a burst is
   * stamped late and spread out, the answers held back as long. */
  AD_FAKE_STAMP_WORKER
} ad_fake_stamp_mode_t;

typedef struct ad_fake_airtable_opts {
  const char *token;       /* the one accepted bearer token */
  uint16_t port;           /* 0: any free port */
  uint64_t seed;
  int bases;               /* generated dataset: bases x tables x records */
  int tables_per_base;
  int records_per_table;
  int bases_page_size;     /* bases per /v0/meta/bases page (max 1000) */
  int per_base_rps;        /* 0 = no limit */
  int per_token_rps;       /* 0 = no limit */
  int penalty_ms;          /* refusal after a 429; default 30 000 */
  int latency_ms;          /* added to every answer */
  int latency_jitter_ms;   /* each answer: plus uniform 0..this (seeded) */
  ad_fake_stamp_mode_t stamp_mode; /* default AD_FAKE_STAMP_KERNEL */
  /* Worker mode only: the worker's time per request, service_us plus
   * uniform 0..service_jitter_us (seeded; defaults 3 200 and 800), and
   * connect_us more for a connection's first request (accepting it, and
   * the TLS handshake a real gateway does; default 3 200). */
  int service_us, service_jitter_us, connect_us;
  double fail_5xx;         /* fraction of requests answered 500/502/503 */
  double drop;             /* fraction of connections closed unanswered */
  double truncate;         /* fraction of record pages cut mid-JSON */
  int offset_ttl_ms;       /* 0 = offsets never expire */
  int retry_after_s;       /* > 0: 503 answers carry Retry-After */
  int billing_exhausted;   /* every call: the monthly-quota 429 */
  int wide_fields;         /* > 0: table (0, 0) has this many text fields */
  size_t huge_cell_bytes;  /* > 0: the first record of table (0, 0) holds
                              a text cell this long in its primary field */
  int demo;                /* serve the demo bases instead (sizes ignored) */
} ad_fake_airtable_opts_t;

typedef struct ad_fake_airtable_counters {
  long requests_bases, requests_schema, requests_records;
  long sent_429, refused_in_penalty;
  /* Requests to a base stamped (see below), on a connection that had
   * carried a 429 for it, before the penalty in force then ended (a
   * well-behaved client keeps it at 0; curl does not pipeline, so such a
   * request was sent after the 429 was read), and
   * before a 503's Retry-After had passed (0 when one call at a time
   * goes to the base, as with a one-table sync). */
  long ignored_penalty, early_retries;
  long injected_429;        /* sent by ad_fake_airtable_inject_429 */
  long sent_5xx, dropped, truncated, expired_offsets;
  /* The most requests stamped in 1 s for one base, and for the token. A
   * request's stamp is what the limits judge: its arrival in kernel mode,
   * when the worker got to it in worker mode. */
  long max_per_base_window, max_per_token_window;
  /* The shortest span in which limit + 1 requests were stamped, for one
   * base and for the token: how close a client came to the limit (a span
   * under 1 000 ms went over it). -1 until limit + 1 were stamped. */
  long tightest_base_span_ms, tightest_token_span_ms;
  /* The most a request waited in the kernel before a fake thread took it
   * (see ad_fake_arrival_ms): how loaded the machine was. */
  long max_arrival_lag_ms;
  /* The most a request's stamp trailed its arrival: how long it queued
   * for the worker (always 0 in kernel mode). */
  long max_stamp_delay_ms;
  /* The first and the latest arrival, in ms on CLOCK_MONOTONIC (as
   * ad_fake_now_ms): with the client's own clock, what it did before and
   * after its requests. -1 before any. */
  long first_arrival_ms, last_arrival_ms;
  long records_served;
} ad_fake_airtable_counters_t;

void ad_fake_airtable_opts_default(ad_fake_airtable_opts_t *opts);

/* Starts the server; NULL on failure. */
ad_fake_airtable_t *ad_fake_airtable_start(const ad_fake_airtable_opts_t *o);
void ad_fake_airtable_stop(ad_fake_airtable_t *fake);

/* "http://127.0.0.1:PORT" */
const char *ad_fake_airtable_url(const ad_fake_airtable_t *fake);
void ad_fake_airtable_counters(ad_fake_airtable_t *fake,
                               ad_fake_airtable_counters_t *out);

/* The counters as a JSON object (what GET /_fake/counters answers); the
 * caller puts the reference. */
json_object *ad_fake_airtable_counters_json(ad_fake_airtable_t *fake);

/* The page of table (b, t) that starts at record `first`, as the server
 * would send it (fields by name, an offset of the real length when more
 * follow), without going through HTTP: for the benchmarks' baseline. The
 * caller frees the text. NULL when out of memory. */
char *ad_fake_airtable_page_json(const ad_fake_airtable_t *fake, int b, int t,
                                 int first, size_t *len);

/* Dataset facts, for tests: ids are "app…"/"tbl…" strings of 17 chars.
 * Bases and tables keep their index for good: nbases and ntables count
 * the dropped ones too (…_dropped says which), and nrecords is the
 * records a listing of the table serves now: deleted ones left out,
 * added and inserted ones in, 0 for a dropped table or a table of a
 * dropped base. So summing nrecords over every (b, t) gives the records
 * a full sync reads. */
int ad_fake_airtable_nbases(const ad_fake_airtable_t *fake);
const char *ad_fake_airtable_base_id(const ad_fake_airtable_t *fake, int b);
int ad_fake_airtable_ntables(const ad_fake_airtable_t *fake, int b);
const char *ad_fake_airtable_table_id(const ad_fake_airtable_t *fake, int b,
                                      int t);
const char *ad_fake_airtable_table_name(const ad_fake_airtable_t *fake, int b,
                                        int t);
int ad_fake_airtable_nrecords(const ad_fake_airtable_t *fake, int b, int t);
const char *ad_fake_airtable_base_name(const ad_fake_airtable_t *fake, int b);
/* 1 when base b was dropped; for a table, when it or its base was. */
int ad_fake_airtable_base_dropped(const ad_fake_airtable_t *fake, int b);
int ad_fake_airtable_table_dropped(const ad_fake_airtable_t *fake, int b,
                                   int t);
/* A table's record slots: every record it ever had, deleted ones
 * included, in listing order (inserted records first, added ones last).
 * A record's slot is the r of the mutations below; deleting a record
 * moves no other. record_id writes the id of the record in slot r into
 * id and returns 1, or 0 when that record was deleted, -1 when there is
 * no such slot. */
int ad_fake_airtable_record_slots(const ad_fake_airtable_t *fake, int b, int t);
int ad_fake_airtable_record_id(const ad_fake_airtable_t *fake, int b, int t,
                               int r, char id[18]);
/* The fields the schema lists for table (b, t), in order (field 0 is the
 * primary field): id, name and type as GET …/tables answers them. The
 * strings stay valid until the fake stops, through renames and retypes. */
int ad_fake_airtable_nfields(const ad_fake_airtable_t *fake, int b, int t);
const char *ad_fake_airtable_field_id(const ad_fake_airtable_t *fake, int b,
                                      int t, int f);
const char *ad_fake_airtable_field_name(const ad_fake_airtable_t *fake, int b,
                                        int t, int f);
const char *ad_fake_airtable_field_type(const ad_fake_airtable_t *fake, int b,
                                        int t, int f);

/* Faults at run time, for tests. The next `count` requests to base b get
 * 429 and start its penalty, as an over-limit request would. */
void ad_fake_airtable_inject_429(ad_fake_airtable_t *fake, int b, int count);
/* Another client of the same token went over its limit: every request is
 * refused for penalty_ms from now. */
void ad_fake_airtable_block_token(ad_fake_airtable_t *fake);
/* From now on, table (b, t) answers its records with 403
 * INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND. */
void ad_fake_airtable_deny_table(ad_fake_airtable_t *fake, int b, int t);
/* count new records appear at the start of table (b, t), as if created
 * ahead of a reader: every later page shifts by count. */
void ad_fake_airtable_insert_records(ad_fake_airtable_t *fake, int b, int t,
                                     int count);
/* The next `count` valid offsets of table (b, t) are refused with 422
 * LIST_RECORDS_ITERATOR_NOT_AVAILABLE. */
void ad_fake_airtable_expire_offsets(ad_fake_airtable_t *fake, int b, int t,
                                     int count);
/* A table whose read fails midway: after `pages` more record pages of
 * table (b, t) answered 200 (from now; 0: at once), every records
 * request to it answers 500 (SERVER_ERROR, "Unexpected server error"),
 * for good, so a client that retries 5xx keeps failing. pages < 0 turns
 * it off. Works on the demo dataset too. 0, or -1 for no such table. */
int ad_fake_airtable_fail_table_after(ad_fake_airtable_t *fake, int b, int t,
                                      int pages);

/* ---- mutations ----------------------------------------------------------
 * What changes in a base between two syncs. Thread-safe: each waits for
 * the requests being served and applies between two of them (a page is
 * always served from one state). Each returns 0 (add_field: the new
 * field's index) or -1 when refused: the demo dataset (which stays as it
 * is), an index out of range, a dropped base or table, a deleted record,
 * a name already taken, out of memory. Deterministic: the same seed and
 * the same calls give the same data.
 *
 * Dropped tables and bases answer as those that never existed do, which
 * airtable-api.md 2.2 gives as 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND
 * ("either no permission or the base/table/field id does not exist"), by
 * id and by name, on the schema route (base) and the records routes. */

/* The record in slot r is deleted: listings skip it, no other record's
 * slot or page boundary moves, offsets already handed out stay valid. */
int ad_fake_airtable_delete_record(ad_fake_airtable_t *fake, int b, int t,
                                   int r);
/* The record in slot r is edited (again): same id and createdTime, every
 * cell drawn anew from its revision, and every text cell (the generated
 * primary field is one) shows it, "alpha 12 (edit 1)", so at least one
 * visible value always differs. */
int ad_fake_airtable_edit_record(ad_fake_airtable_t *fake, int b, int t,
                                 int r);
/* count new records are appended after every other one, with ids never
 * used in the table (ad_fake_airtable_insert_records puts them first). */
int ad_fake_airtable_add_records(ad_fake_airtable_t *fake, int b, int t,
                                 int count);
/* A new last field of type `type` (an Airtable type name, e.g. "number",
 * "singleLineText"; the fake generates the types of fa_generic_fields in
 * fake_airtable_data.c, and a name it does not know gets plain words, as
 * a type new to the client would), with a new fld id, the name "Added N"
 * (unused in the table), the options the generic field of that type has,
 * and values in every record, old and new. Returns its index. */
int ad_fake_airtable_add_field(ad_fake_airtable_t *fake, int b, int t,
                               const char *type);
/* Field f keeps its id, type and values under new_name (records are keyed
 * by name unless returnFieldsByFieldId: they follow). Refused when
 * another field of the table has that name; the same name is a no-op. */
int ad_fake_airtable_rename_field(ad_fake_airtable_t *fake, int b, int t,
                                  int f, const char *new_name);
/* Field f keeps its id and name and becomes of type `type` (as for
 * add_field), with that type's options, and new values drawn for it per
 * the new type; the other fields' values do not change. The same type is
 * a no-op. */
int ad_fake_airtable_retype_field(ad_fake_airtable_t *fake, int b, int t,
                                  int f, const char *type);
/* Table (b, t) leaves its base's schema; its records routes answer 403
 * INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND. (Airtable keeps at least one
 * table in a base; this does not check: _mutate does.) */
int ad_fake_airtable_drop_table(ad_fake_airtable_t *fake, int b, int t);
/* Base b leaves GET /v0/meta/bases (its pages and offsets skip it); its
 * schema and records routes answer 403 INVALID_PERMISSIONS_OR_MODEL_NOT_
 * FOUND, before any rate limit, as for an id that never existed. */
int ad_fake_airtable_drop_base(ad_fake_airtable_t *fake, int b);

/* Kinds of random mutation, for ad_fake_airtable_mutate. */
#define AD_FAKE_MUT_DELETE (1u << 0)
#define AD_FAKE_MUT_EDIT (1u << 1)
#define AD_FAKE_MUT_ADD (1u << 2)
#define AD_FAKE_MUT_ADD_FIELD (1u << 3)
#define AD_FAKE_MUT_RENAME_FIELD (1u << 4)
#define AD_FAKE_MUT_RETYPE_FIELD (1u << 5)
#define AD_FAKE_MUT_DROP_TABLE (1u << 6)
#define AD_FAKE_MUT_RECORDS \
  (AD_FAKE_MUT_DELETE | AD_FAKE_MUT_EDIT | AD_FAKE_MUT_ADD)
#define AD_FAKE_MUT_SCHEMA                                                   \
  (AD_FAKE_MUT_ADD_FIELD | AD_FAKE_MUT_RENAME_FIELD | AD_FAKE_MUT_RETYPE_FIELD | \
   AD_FAKE_MUT_DROP_TABLE)
#define AD_FAKE_MUT_ALL (AD_FAKE_MUT_RECORDS | AD_FAKE_MUT_SCHEMA)

/* What ad_fake_airtable_mutate changed. */
typedef struct ad_fake_mutation {
  long deleted, edited, added; /* records */
  int fields_added, fields_renamed, fields_retyped, tables_dropped;
  /* "deleted 25, edited 25, added 25 records; fields: 2 added, 7 renamed,
   * 6 retyped; tables: 1 dropped", for a test's log. */
  char summary[160];
} ad_fake_mutation_t;

/* Random mutations drawn from seed over every table still there (each
 * kind from its own draws, so adding a kind leaves the others' choices
 * alone), in this order:
 * - ADD_FIELD: share of the tables (at least one) get one field each, of
 *   a type drawn from those the fake generates;
 * - RENAME_FIELD: share of all their fields (at least one) get a new name
 *   ("Renamed N");
 * - RETYPE_FIELD: share of the fields that are not primary (at least one)
 *   get another type;
 * - DELETE, then EDIT: in each table, share of its records (rounded, at
 *   least one when share > 0) among those not deleted;
 * - ADD: in each table, share of its records (at least one) appended;
 * - DROP_TABLE: share of the tables (at least one) dropped, never the
 *   last one of a base (none when every base has just one).
 * share is in [0, 1]. Fills out (may be NULL) with the counts and their
 * summary; returns 0, or -1 on the demo dataset or a bad share (nothing
 * changed) or out of memory (out says what was done). */
int ad_fake_airtable_mutate(ad_fake_airtable_t *fake, uint64_t seed,
                            unsigned kinds, double share,
                            ad_fake_mutation_t *out);

#endif
