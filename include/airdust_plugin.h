/* airdust plugins: sources and sinks the engine runs (docs/plugins.md).
 *
 * A sync is a source, a bounded queue and a sink on one libuv loop. The
 * source announces tables (ad_table_t: stable ids, names, typed columns)
 * and turns what it reads into neutral records (ad_record_t); the sink's
 * encoder turns each record into one unit of the sink's wire format,
 * inside a page (ad_page_t), on whatever thread the source reads on; the
 * engine queues the pages, and the sink pops and writes them. The engine
 * keeps the accounting: every record a source reads is counted once, and
 * ends written or failed, by what the plugins report through the
 * functions below.
 *
 * Built in: sources "airtable" and "jsonl", sinks "dust" and "jsonl". A
 * program registers its own through ad_sync_options_t.sources / .sinks;
 * `source.type` / `sink.type` in the config pick one by name, and the
 * section's other keys are parsed by the plugin's key table.
 *
 * Threads: every function here runs on the loop's thread, but for
 * ad_source_encode, the encoder's encode and the functions that write a
 * unit into a page (ad_page_begin, _append, _commit, _abort), which a
 * source may run on libuv's thread pool, and ad_page_new, ad_page_free,
 * ad_table_ref and ad_table_unref (references are counted atomically; the
 * last unref frees the table on whichever thread drops it, so a source
 * keeps its own reference while its workers use the table). A function
 * that returns an error never invokes a callback. */
#ifndef AIRDUST_PLUGIN_H
#define AIRDUST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "airdust.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- values and records ------------------------------------------------ */

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

/* Values borrow their bytes: they point into what the source parsed, and
 * the encoder is done with them before the source frees it. */
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

/* One record of a table: its values are in the order of the table's
 * columns, one each. */
typedef struct ad_record {
  const char *id;          /* stable: a sink keys its upserts on it */
  int64_t created_ms;      /* when it was made, 0 if not known */
  const char *url;         /* where a person sees it at the source, or NULL */
  const ad_value_t *values;
} ad_record_t;

/* The stable names of the kinds ("null", "text", "int", "float", "bool",
 * "datetime", "list", "json"); NULL for a kind that is not one. */
const char *ad_kind_name(ad_kind_t kind);

/* The kind named name (len bytes); -1 when none is. */
int ad_kind_parse(const char *name, size_t len);

/* ---- tables ------------------------------------------------------------ */

/* A column: the same column keeps its id across renames. */
typedef struct ad_column {
  char *id;       /* stable (Airtable's field id) */
  char *name;     /* what people call it */
  ad_kind_t kind; /* what its values are; a cell may still be NULL, or of
                     another kind where the source could not read it */
  unsigned flags; /* AD_COLUMN_* */
} ad_column_t;

enum {
  AD_COLUMN_PRIMARY = 1, /* names the record (a document's title) */
  AD_COLUMN_FILES = 2    /* holds files: never a tag */
};

enum {
  /* The fields are wanted as tags as well (Airtable's
   * treat_all_non_attachment_fields_as_metadata). */
  AD_TABLE_FIELDS_AS_TAGS = 1,
  /* The table's tags (ad_table_add_tag) say where its records come from:
   * a sink adds no provenance tags of its own (Dust's <origin>_base_id). */
  AD_TABLE_OWN_TAGS = 2,
  /* The destination's copy must end holding only this run's records (an
   * Airbyte overwrite): once the table was read to its end and every
   * record of it is acknowledged, with nothing failed, a sink that can
   * (Dust) deletes what it holds of the table that the run did not write
   * — but for what keep_column / keep_tag say an earlier attempt of the
   * same sync wrote. The table meanwhile holds old and new records side
   * by side, never half of it. A source may clear the flag until it
   * pushes the table's last page (what it read may not be whole); a
   * record of it that the source failed keeps the old ones too. */
  AD_TABLE_REPLACE = 4
};

/* A source's table. Made by the source, shared by reference with every
 * page of it, so the sink may write its rows after the source is done
 * with it. A table lives in a group (an Airtable base): the stats count
 * per group, and a sink may use the group in what it names. */
typedef struct ad_table {
  char *origin;      /* whose ids these are ("airtable"): a sink may put it
                        in what it names (document ids) */
  char *group_id;    /* stable */
  char *group_name;  /* NULL when not known */
  char *table_id;    /* stable, unique in its group */
  char *table_name;
  char *description; /* "" when the source has none */
  ad_column_t *columns; /* in the order of a record's values */
  size_t ncolumns;
  unsigned flags;    /* AD_TABLE_* */
  /* The sink's state of the table (its prepare makes it); sink_free (may
   * be NULL) frees it with the table. */
  void *sink_data;
  void (*sink_free)(void *sink_data);
  /* The engine's; plugins read them, never write them. */
  int failed;        /* it failed on either side: counted once */
  int stats_group;   /* its group's index in the stats, -1 unknown */
  uint64_t read, written, failed_records; /* the accounting */
  uint64_t pages;    /* pushed */
  size_t failure_entry; /* its last failure in the stats, or SIZE_MAX */
  int refs;
  /* The engine's too, for recurring syncs (docs/mirror.md). */
  uint64_t unchanged; /* read, and left alone: the destination holds them
                         as they are */
  uint64_t read_failed; /* of failed_records, those the source failed */
  int last_pushed;   /* its last page was pushed: the read reached its end */
  void *mirror;      /* the recurring sync's state of it */
  /* The source's: tags every record of the table carries ("name:value"),
   * added with ad_table_add_tag; a sink that tags writes them first. */
  char **tags;
  size_t ntags;
  /* AD_TABLE_REPLACE: records to keep although this run did not write
   * them — a row whose int column keep_column - 1 (0: none) holds
   * keep_from or more; a document with a tag keep_tag<N>, N >= keep_from
   * (keep_tag NULL: none). A document belongs to the table when it
   * carries each of the table's tags but those starting with keep_tag. */
  int keep_column;
  char *keep_tag;
  int64_t keep_from;
} ad_table_t;

/* A table with one reference (strings copied; group_name may be NULL), or
 * NULL when out of memory. origin NULL is "". */
ad_table_t *ad_table_new(const char *origin, const char *group_id,
                         const char *group_name, const char *table_id,
                         const char *table_name, const char *description);

/* Appends a column (strings copied); returns 0 or AD_ENOMEM. Columns are
 * added before the table is announced, and never after. */
int ad_table_add_column(ad_table_t *table, const char *id, const char *name,
                        ad_kind_t kind, unsigned flags);

/* Appends a tag every record of the table carries (copied); 0 or
 * AD_ENOMEM. Like columns, before the table is announced. */
int ad_table_add_tag(ad_table_t *table, const char *tag);

ad_table_t *ad_table_ref(ad_table_t *table);

/* Drops a reference; the last one frees the table and its sink data. */
void ad_table_unref(ad_table_t *table);

/* ---- pages ------------------------------------------------------------- */

/* One read of one table, encoded: the sink's units back to back, each
 * with its record's id. A page is the unit of the queue. */
typedef struct ad_page ad_page_t;

/* A new empty page taking a reference to table; NULL on ENOMEM. */
ad_page_t *ad_page_new(ad_table_t *table);
void ad_page_free(ad_page_t *page);

/* An encoder writes a unit: begin with the record's id (copied), append
 * its bytes, then commit, or abort to drop what was begun. Begin and
 * append return 0 or AD_ENOMEM. */
int ad_page_begin(ad_page_t *page, const char *id, size_t id_len);
int ad_page_append(ad_page_t *page, const void *bytes, size_t len);
void ad_page_commit(ad_page_t *page);
void ad_page_abort(ad_page_t *page);

/* What a sink reads of a popped page. */
ad_table_t *ad_page_table(const ad_page_t *page);
size_t ad_page_count(const ad_page_t *page);
const char *ad_page_id(const ad_page_t *page, size_t i); /* NUL-terminated */
const char *ad_page_data(const ad_page_t *page, size_t i, size_t *len);
/* 16 bytes: in a recurring sync, the engine's hash of unit i (what the
 * sink would send); all zero otherwise. A sink that removes keeps it with
 * the unit and hands it back with ad_sink_written_id. */
const unsigned char *ad_page_hash(const ad_page_t *page, size_t i);
/* The unit's number in the run: the engine numbers units 0, 1, 2… in the
 * order their pages were pushed, across tables. A sink that reports
 * acknowledgements with ad_sink_acked hands it back. */
uint64_t ad_page_seq(const ad_page_t *page, size_t i);
int ad_page_is_first(const ad_page_t *page); /* the table's first page */
int ad_page_is_last(const ad_page_t *page);  /* nothing of it follows */

/* ---- config keys ------------------------------------------------------- */

/* The types of a plugin's config keys, and what a value must be. */
typedef enum ad_key_type {
  AD_KEY_STRING,    /* char *; "" by default */
  AD_KEY_OPTSTRING, /* char *, null allowed; NULL by default */
  AD_KEY_URL,       /* char *, http:// or https:// */
  AD_KEY_PATH,      /* char *, a file or folder name */
  AD_KEY_BOOL,      /* int */
  AD_KEY_POSINT,    /* long > 0 */
  AD_KEY_UINT,      /* long >= 0 */
  AD_KEY_POSNUM,    /* double > 0 */
  AD_KEY_UNUM,      /* double >= 0 */
  AD_KEY_ENUM,      /* int: the index of the value in choices */
  AD_KEY_SECTION    /* a nested object of keys (keys[]), stores nothing */
} ad_key_type_t;

enum {
  AD_KEY_REQUIRED = 1, /* must end up a non-empty string */
  AD_KEY_SECRET = 2,   /* never echoed; redacted from logs and stats */
  AD_KEY_IDENT = 4     /* goes into URLs or headers: no control characters */
};

/* One key of a config section (Fluent Bit's config map): the engine
 * applies the default, checks the type, fills in the environment variable
 * when the key is missing or "", and stores the value at offset in the
 * plugin's config struct; strings are malloc'd and freed by the engine. */
typedef struct ad_config_key {
  const char *name;
  ad_key_type_t type;
  size_t offset;
  const char *def;     /* as JSON text: "500", "true", "\"tables\""...;
                          NULL: "" for AD_KEY_STRING, NULL for the other
                          strings, 0 for numbers */
  const char *choices; /* AD_KEY_ENUM: "tables|documents" */
  unsigned flags;      /* AD_KEY_* */
  const char *env;     /* fallback environment variable, or NULL */
  const char *description;
  const struct ad_config_key *keys; /* AD_KEY_SECTION's */
} ad_config_key_t;

/* ---- sources ----------------------------------------------------------- */

/* The engine's side of a running source. */
typedef struct ad_source ad_source_t;

typedef struct ad_source_plugin {
  const char *name;        /* what source.type says: "airtable" */
  const char *description; /* one line */
  const ad_config_key_t *keys; /* ends with a {NULL} entry */
  size_t config_size;      /* of the struct the keys fill */
  /* May be NULL. Rules across keys, once all are parsed: 0, or AD_ECONFIG
   * with "key: why" in err (the engine prefixes "source."). */
  int (*validate)(const void *config, char *err, size_t errlen);
  /* Makes the instance (*ctx) for config (borrowed for the run). Returns
   * 0, or an AD_E* code with err set (AD_ECONFIG for what the config
   * asks and cannot be had). */
  int (*init)(ad_source_t *src, const void *config, void **ctx, char *err,
              size_t errlen);
  /* Reads (in check mode: proves access and reads nothing); ends with
   * ad_source_done, from a later loop turn. */
  int (*start)(void *ctx);
  /* May be NULL. The queue reached its high watermark: stop reading
   * until resume (a source that reads before it reserves, say from a
   * stream, pauses the stream here; one that reserves first is already
   * held by ad_source_reserve). */
  void (*pause)(void *ctx);
  /* The queue fell back to its low watermark after a pause or a refused
   * ad_source_reserve: read again. */
  void (*resume)(void *ctx);
  /* No more reading: cancel what is in flight; ad_source_done follows. */
  void (*stop)(void *ctx);
  /* May be NULL. In check mode, after done: one line saying what was
   * found ("3 bases visible"). */
  const char *(*check_report)(void *ctx);
  /* Frees the instance; it is done or was never started. */
  void (*close)(void *ctx);
  /* May be NULL. What it reads, as JSON text without secrets (malloc'd;
   * NULL on ENOMEM), for the sync's state: one memory per source and
   * destination, so two syncs that read different things into one
   * destination never delete each other's data. */
  char *(*identity)(const void *config);
  /* May be NULL. Every unit numbered below `acked` (ad_page_seq: the
   * order of ad_source_push) is at the destination: what a source that
   * promises durability points to its reader waits for (Airbyte's STATE).
   * A unit the sink failed is never acknowledged, so `acked` stops before
   * it for good. Every unit below `settled` has ended, at the destination
   * or failed (acked <= settled): nothing of them is in flight any more.
   * Called on the loop whenever either rises. */
  void (*acked)(void *ctx, uint64_t acked, uint64_t settled);
} ad_source_plugin_t;

/* What the source runs on, its instance name ("source:airtable") and
 * whether the run is a check (read nothing). */
uv_loop_t *ad_source_loop(const ad_source_t *src);
const char *ad_source_name(const ad_source_t *src);
int ad_source_is_check(const ad_source_t *src);

/* A log line under the instance's name (level: 0 error … 3 debug). */
void ad_source_log(ad_source_t *src, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts a group (an Airtable base) the source found: the stats report
 * per group. id and name (may be NULL) are copied. Returns its index, or
 * -1 (not kept, counted only) when out of memory. */
int ad_source_group(ad_source_t *src, const char *id, const char *name);

/* Announces table, its columns complete, before any page of it. Returns
 * 0 (read it), 1 (skip it: an earlier run finished it; counted skipped),
 * AD_ENOMEM, or AD_EINVAL when the sink cannot hold it: the table is
 * counted failed with the reason, and must not be read. */
int ad_source_table(ad_source_t *src, ad_table_t *table);

/* Room in the queue for a page of rows records, and about bytes bytes,
 * before reading it. AD_EAGAIN: full; the plugin's resume follows. */
int ad_source_reserve(ad_source_t *src, size_t rows, size_t bytes);
void ad_source_release(ad_source_t *src, size_t rows, size_t bytes);

/* Encodes rec into page with the sink's encoder. Thread-safe (several
 * pages may be encoded at once); scratch is the caller's own buffer, or
 * NULL. 0; AD_EPARSE with the reason in err for a record the sink cannot
 * write (the caller counts it failed); AD_ENOMEM. */
typedef struct ad_buf ad_buf_t;
int ad_source_encode(const ad_source_t *src, ad_page_t *page,
                     const ad_record_t *rec, ad_buf_t *scratch, char *err,
                     size_t errlen);
/* What of a record the sink reads beyond its id and values (AD_ENCODE_*):
 * a source may leave the rest out. */
unsigned ad_source_wants(const ad_source_t *src);

/* Hands a page to the queue (its records counted read), taking it over,
 * with the reservation it was read under. last: the table is fully
 * read. */
void ad_source_push(ad_source_t *src, ad_page_t *page, size_t rows,
                    size_t bytes, int last);

/* The number the next unit pushed will get (ad_page_seq): the units
 * pushed so far are those below it. */
uint64_t ad_source_pushed(const ad_source_t *src);

/* The source waits for what it pushed to be acknowledged (a durability
 * point): the sink writes what it holds now rather than waiting to fill
 * its batches. Cheap; call it at each such point. */
void ad_source_flush(ad_source_t *src);

/* Records that were read and cannot be written (count of them, record
 * may be NULL for several): counted read and failed, with the reason.
 * table may be NULL for input that names no table the source knows. */
void ad_source_failed(ad_source_t *src, ad_table_t *table,
                      const char *record, const char *reason,
                      uint64_t count);

/* The table ends: read (error NULL) or failed with error. Read to its
 * end only if its last page was pushed with last set; a table a stop
 * ended short of that (error NULL too) is cut short, and a recurring sync
 * deletes nothing from it. */
void ad_source_table_end(ad_source_t *src, ad_table_t *table,
                         const char *error);

/* A failure of the source outside any announced table (a base whose
 * schema could not be read: group may be NULL). Counts one failed
 * table. */
void ad_source_error(ad_source_t *src, const char *group,
                     const char *error);

/* The run cannot go on (a refused key): the sync stops with error
 * (copied; the first one wins), and the engine calls the plugin's stop
 * from a loop turn of its own (a plugin that must stop at once stops
 * itself too: stop is called only while it has not reported done). */
void ad_source_fatal(ad_source_t *src, const char *error);

/* Every table of group (an Airtable base) was announced: a table the
 * destination holds for the group and that was not announced in this run
 * is gone at the source. group NULL: every group was announced, so a
 * group not seen is gone too. A source that filters what it reads says
 * so only for what it fully listed. Recurring syncs delete what is gone
 * (docs/mirror.md); a source that never calls this has nothing deleted
 * but records. */
void ad_source_complete(ad_source_t *src, const char *group);

/* Every table ended and nothing is in flight; once, from the loop. */
void ad_source_done(ad_source_t *src);

/* ---- sinks ------------------------------------------------------------- */

/* The engine's side of a running sink. */
typedef struct ad_sink ad_sink_t;

enum {
  AD_ENCODE_URL = 1,    /* ad_record_t.url */
  AD_ENCODE_CREATED = 2 /* ad_record_t.created_ms */
};

typedef struct ad_sink_plugin {
  const char *name;        /* what sink.type says: "dust" */
  const char *description;
  const ad_config_key_t *keys;
  size_t config_size;
  int (*validate)(const void *config, char *err, size_t errlen);
  int (*init)(ad_sink_t *sink, const void *config, void **ctx, char *err,
              size_t errlen);
  /* On the loop, once per table, before any of its records is encoded:
   * builds what encoding needs into table->sink_data, or refuses the
   * table (AD_EINVAL, the reason in err). */
  int (*prepare)(void *ctx, ad_table_t *table, char *err, size_t errlen);
  /* On any thread: appends rec's unit to page. It may read the table and
   * what prepare made, and must write nothing shared. 0, AD_EPARSE (this
   * record cannot be written: err says why), AD_ENOMEM. */
  int (*encode)(void *ctx, const ad_table_t *table, const ad_record_t *rec,
                ad_page_t *page, ad_buf_t *scratch, char *err,
                size_t errlen);
  /* May be NULL (everything). What encode reads of a record besides its
   * id and values (AD_ENCODE_*): a source may leave the rest out. */
  unsigned (*wants)(void *ctx);
  /* Pages wait in the queue: pop them (ad_sink_pop) while there is room
   * to write them. Called again whenever a page comes. */
  void (*take)(void *ctx);
  /* No page will come any more: write out what is held, then
   * ad_sink_drained once everything ended written or failed. */
  void (*finish)(void *ctx);
  /* Stop at once: cancel what is in flight and fail every record held or
   * still queued with reason; ad_sink_drained follows finish. */
  void (*abort)(void *ctx, const char *reason);
  /* May be NULL. Check mode: prove the destination, write nothing;
   * ad_sink_checked follows, from a later loop turn. */
  int (*check)(void *ctx);
  const char *(*check_report)(void *ctx);
  /* May be NULL. Where it writes, as JSON text, for the sync's state
   * (`sync --state`): a state made for another destination is refused. */
  char *(*destination)(const void *config);
  void (*close)(void *ctx);
  /* May be NULL: the sink rewrites what it holds whole at every run (a
   * file), so every record is sent and nothing is deleted. Otherwise the
   * engine runs a recurring sync (docs/mirror.md): records the
   * destination already holds as they are are not offered again, and
   * remove deletes what the source no longer has — n records of table by
   * their ids (copied if kept), or with whole the table itself, which is
   * gone at the source (ids then lists every record written to it, and
   * table is a stand-in holding only its ids, origin and name). Without
   * whole, each id ends with one ad_sink_removed(sink, table, id, error).
   * With whole, the sink may delete the records one by one (each then
   * reported so) or the table in one call, and ends with one
   * ad_sink_removed(sink, table, NULL, error) after any per-id reports.
   * Reports may come before remove returns (the ids are copied first).
   * Called between the pages and before finish; the sink's drained waits
   * for what it started. A sink that removes reports writes with
   * ad_sink_written_id. Returns 0, AD_ENOMEM, or AD_ECLOSING (the sink
   * stopped); then nothing started and no report comes. */
  int (*remove)(void *ctx, ad_table_t *table, const char *const *ids,
                size_t n, int whole);
  /* May be NULL. The sync's memory was lost (a new machine): list what
   * earlier runs wrote at the destination, reporting each table with
   * ad_sink_owned_table and each record with ad_sink_owned, then
   * ad_sink_inventoried, from a later loop turn. Returns 0 or an AD_E*
   * code (no callback). */
  int (*inventory)(void *ctx);
  /* May be NULL. The source waits on what was pushed (ad_source_flush):
   * send held records without waiting for more, as slots allow. */
  void (*flush)(void *ctx);
} ad_sink_plugin_t;

uv_loop_t *ad_sink_loop(const ad_sink_t *sink);
const char *ad_sink_name(const ad_sink_t *sink);
void ad_sink_log(ad_sink_t *sink, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether what it writes counts as documents (else rows) in the stats. */
void ad_sink_set_documents(ad_sink_t *sink, int documents);

/* The oldest queued page, or NULL; the sink owns it (ad_page_free). */
ad_page_t *ad_sink_pop(ad_sink_t *sink);
/* Whether a page waits. */
int ad_sink_has_page(const ad_sink_t *sink);

/* The destination acknowledged count records of table. */
void ad_sink_written(ad_sink_t *sink, ad_table_t *table, uint64_t count);

/* The destination acknowledged the unit of record id of table (counted as
 * one written), whose ad_page_hash was hash (NULL: not known): what a sink
 * with remove reports, so the sync remembers what the destination holds.
 * Each write reports its own unit's hash, so a record sent twice in a run
 * is remembered as the write acknowledged last. */
void ad_sink_written_id(ad_sink_t *sink, ad_table_t *table, const char *id,
                        const unsigned char *hash);

/* The unit numbered seq (ad_page_seq) is at the destination (acked), or
 * will never be (nacked; its failure is counted with ad_sink_failed as
 * ever). A sink that reports one or the other for every unit lets the
 * source learn when everything before a point is durable, and when a
 * unit is no longer in flight (its acked hook). A sink that never calls
 * them has its units acknowledged all at once when it drains with
 * nothing failed; a unit a numbering sink never reports counts as failed
 * when it drains. */
void ad_sink_acked(ad_sink_t *sink, uint64_t seq);
void ad_sink_nacked(ad_sink_t *sink, uint64_t seq);

/* A sink that describes each table to the destination (Dust's table
 * upsert) asks whether the destination holds table as desc (its own bytes,
 * len of them) says: 1 when an earlier run's description, acknowledged,
 * was the same, so it need not be sent again (a recurring sync's rerun
 * sends nothing for what did not change); else 0. It reports each
 * description the destination acknowledged with ad_sink_described. */
int ad_sink_table_same(ad_sink_t *sink, ad_table_t *table, const void *desc,
                       size_t len);
void ad_sink_described(ad_sink_t *sink, ad_table_t *table, const void *desc,
                       size_t len);

/* Some of the run's records are not sent: the destination holds them as
 * they are. A sink that writes every run whole (remove is NULL) never
 * sees this; one that must get every record again (it replaces tables at
 * their first write: Dust's truncate) calls this with 1 at init. */
void ad_sink_set_rewrites(ad_sink_t *sink, int rewrites);

/* remove's answer for id of table (NULL: the whole table): error NULL
 * when it is gone (already gone counts), else why it is not. */
void ad_sink_removed(ad_sink_t *sink, ad_table_t *table, const char *id,
                     const char *error);

/* inventory's reports: a table the sink owns (group_id and table_id as
 * the source names them; origin as in ad_table_t, may be NULL), and a
 * record of it. Strings are copied. */
void ad_sink_owned_table(ad_sink_t *sink, const char *origin,
                         const char *group_id, const char *table_id);
void ad_sink_owned(ad_sink_t *sink, const char *group_id,
                   const char *table_id, const char *id);
/* The inventory is over: error NULL when the listing was complete. */
void ad_sink_inventoried(ad_sink_t *sink, const char *error);

/* count records of table will never be written (record may be NULL). */
void ad_sink_failed(ad_sink_t *sink, ad_table_t *table, const char *record,
                    const char *reason, uint64_t count);

/* table cannot be written (reason may be NULL when its records' failures
 * say why): counted failed once, whichever side fails it first. */
void ad_sink_table_failed(ad_sink_t *sink, ad_table_t *table,
                          const char *reason);

/* Every record of table is acknowledged (its last page was taken and
 * nothing of it failed): a resumed run may skip it. */
void ad_sink_table_done(ad_sink_t *sink, ad_table_t *table);

/* The destination refused the run: the sync stops with error (copied;
 * the first one wins) and the source is stopped; the sink fails what it
 * holds itself (its abort). */
void ad_sink_fatal(ad_sink_t *sink, const char *error);

/* finish was called and everything ended written or failed. */
void ad_sink_drained(ad_sink_t *sink);

/* Check mode: the check is over (a refusal was reported with fatal). */
void ad_sink_checked(ad_sink_t *sink);

#ifdef __cplusplus
}
#endif

#endif
