/* ad_store: the memory of a recurring sync (one SQLite file per source and
 * destination).
 *
 * A sync (source -> destination) runs again and again. The store remembers
 * per table what was written to the destination (each record's id and a
 * 16-byte hash of what was sent) and per run which tables finished, so an
 * interrupted run resumes without redoing finished tables and a later run
 * sends only what changed.
 *
 * The caller writes a record's hash only after the destination acknowledged
 * the write, and deletes a record only after the destination acknowledged
 * the delete: a crash in between costs a rewrite, never a loss.
 *
 * Durability. put, del and note join one open transaction (begun on
 * demand); ad_store_commit makes them durable. table_finish, table_forget,
 * meta_set, run_begin and run_end commit at once (with whatever was
 * pending). The journal is SQLite's WAL with synchronous=NORMAL: a killed
 * process loses nothing committed (only what was pending); a power loss
 * may lose the last commits, which only means redoing that work.
 *
 * Exclusivity. An open store holds an exclusive lock on its file for its
 * whole life (another airdust process, or another ad_store_open in this
 * one, is refused with "in use by another run"); the lock goes with the
 * process, so a killed run never leaves a stale lock.
 *
 * Errors. Functions return 0 (or the count documented) or a negative AD_E*
 * code: AD_ECONFIG for a file that is not (or no longer) a usable store,
 * one made for another sync or in use; AD_EIO for I/O failures (disk full,
 * unreadable file); AD_ENOMEM; AD_EINVAL where documented. After an
 * error, ad_store_error says what failed, naming the file. A call that
 * fails in SQLite rolls back everything not yet committed (the caller
 * treats those records as not remembered: rewritten next time). Nothing
 * aborts.
 * Programmer errors (NULL where a value is required, runs begun twice)
 * are asserts.
 *
 * Threads: one store is used by one thread at a time. Secrets are never
 * stored: the source and destination texts must carry none. */
#ifndef AD_STORE_H
#define AD_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ad_store ad_store_t; /* opaque */

/* A record's content hash; all-zero means "unknown: rewrite it". */
typedef struct ad_store_hash {
  unsigned char b[16];
} ad_store_hash_t;

/* The schema this code reads and writes (SQLite's user_version). */
#define AD_STORE_SCHEMA 1

/* Opens the store at path (copied) for source and destination (JSON texts
 * saying what is synced from where to where; copied). A missing file is
 * created (mode 0600; its folder must exist) and records both texts; an
 * existing store must have been made for equal ones (as JSON values, so key
 * order and spacing do not matter), else it is refused with an error that
 * shows the stored and the given text. Refused as well (AD_ECONFIG, err
 * naming path): a file that is not an airdust store (the JSON resume file
 * of older versions is recognised and named as such), a store of a newer
 * schema, a store in use by another run. *created (may be NULL) is set to
 * 1 when the store was made now, else 0. On success *out is the store
 * (ad_store_close frees it); on failure *out is NULL, err (errlen bytes,
 * may be 0) says what failed and a file made by this call is removed. */
int ad_store_open(ad_store_t **out, const char *path, const char *source,
                  const char *destination, int *created, char *err,
                  size_t errlen);

/* Commits what is pending, releases the lock and frees st. NULL is fine.
 * A failing final commit loses only the uncommitted changes. A run still
 * open stays unended: the next ad_store_run_begin resumes it. */
void ad_store_close(ad_store_t *st);

/* The file's path (owned by st). */
const char *ad_store_path(const ad_store_t *st);

/* The text of the last error of a call on st that returned < 0 ("" when
 * none), naming the file, what failed and SQLite's message; owned by st,
 * valid until the next call on st. */
const char *ad_store_error(const ad_store_t *st);

/* ---- Meta: the caller's own key/value texts, per store. ---- */

/* Copies the value of key into out (outlen bytes, NUL-terminated).
 * Returns 1 when found, 0 when not (out = ""), AD_EINVAL when the value
 * does not fit (out = ""), or an error. */
int ad_store_meta_get(ad_store_t *st, const char *key, char *out,
                      size_t outlen);

/* Sets key to value (NULL removes it); committed at once. */
int ad_store_meta_set(ad_store_t *st, const char *key, const char *value);

/* ---- Runs. ---- */

/* Begins a run. When the last run did not end complete (ended with
 * complete = 0, or never ended: the process died) that run is resumed:
 * *resumed (may be NULL) = 1 and the tables it finished stay finished.
 * Otherwise a new run starts with no table finished (*resumed = 0).
 * Committed at once. Asserts no run is open. */
int ad_store_run_begin(ad_store_t *st, int *resumed);

/* Ends the open run (asserts one is): complete = 1, the next begin starts
 * afresh; complete = 0, the next begin resumes it. Commits everything. */
int ad_store_run_end(ad_store_t *st, int complete);

/* ---- Tables, keyed by (group_id, table_id): for Airtable a base id and
 * a table id. ---- */

typedef struct ad_store_table {
  const char *group_id, *table_id; /* borrowed for the callback */
  const char *origin, *name;       /* borrowed; NULL when never noted */
  uint64_t records;                /* records stored for it */
  int finished;                    /* 1: finished in the open run */
} ad_store_table_t;

/* Records the table if new; sets origin (e.g. "airtable") and name (its
 * display name) when given (NULL keeps what is stored). Joins the open
 * transaction. */
int ad_store_table_note(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *origin,
                        const char *name);

/* Calls cb for each known table, ordered by (group_id, table_id). cb
 * returns 0 to go on, nonzero to stop: that value is returned. cb may call
 * the store's other functions except ad_store_tables and ad_store_records
 * (asserted); whether changes made meanwhile show in this iteration is
 * unspecified. */
int ad_store_tables(ad_store_t *st,
                    int (*cb)(const ad_store_table_t *t, void *data),
                    void *data);

/* 1 when the table finished in the open run, 0 when not (or no run is
 * open, or the table is unknown), < 0 on error. */
int ad_store_table_finished(ad_store_t *st, const char *group_id,
                            const char *table_id);

/* Marks the table finished in the open run (asserts one is; notes the
 * table when unknown); commits at once, with what was pending. */
int ad_store_table_finish(ad_store_t *st, const char *group_id,
                          const char *table_id);

/* Forgets the table and all its records (unknown: nothing to do);
 * commits at once. */
int ad_store_table_forget(ad_store_t *st, const char *group_id,
                          const char *table_id);

/* The hash of how the destination last acknowledged the table's own
 * description (a sink's table upsert): 1 with *h set, 0 when none is
 * known (*h zeroed), < 0 on error. set_hash joins the open transaction,
 * noting the table when new. */
int ad_store_table_hash(ad_store_t *st, const char *group_id,
                        const char *table_id, ad_store_hash_t *h);
int ad_store_table_set_hash(ad_store_t *st, const char *group_id,
                            const char *table_id, const ad_store_hash_t *h);

/* ---- Records of a table. ---- */

/* Calls cb(id, hash, data) for every record stored for the table, ordered
 * by id, with one statement (id and hash borrowed for the call). cb
 * returns 0 to go on, nonzero to stop: that value is returned. An unknown
 * table has none. cb may call put, del, get, commit and the table
 * functions, not ad_store_records or ad_store_tables (asserted); whether
 * changes made meanwhile show in this iteration is unspecified, but
 * deleting the record just given is fine. */
int ad_store_records(ad_store_t *st, const char *group_id,
                     const char *table_id,
                     int (*cb)(const char *id, const ad_store_hash_t *h,
                               void *data),
                     void *data);

/* One record's hash into *h: 1 found, 0 not (*h zeroed), < 0 error. */
int ad_store_record_get(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id,
                        ad_store_hash_t *h);

/* How many records the table has (0 for an unknown table; 0 as well on
 * error, with ad_store_error set). */
uint64_t ad_store_record_count(ad_store_t *st, const char *group_id,
                               const char *table_id);

/* Inserts or replaces the record's hash (h copied). Notes the table when
 * unknown (origin and name NULL). Joins the open transaction. */
int ad_store_record_put(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id,
                        const ad_store_hash_t *h);

/* Removes the record (absent is fine). Joins the open transaction. */
/* put, unless a record of id is known (with its own hash, or waiting to
 * be settled by a later put): what a listing of the destination adds to
 * what the memory knows. Joins the open transaction. */
int ad_store_record_add(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id,
                        const ad_store_hash_t *h);
int ad_store_record_del(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id);

/* Commits the open transaction (none open: 0, nothing done). */
int ad_store_commit(ad_store_t *st);

/* ---- Where a sync's store lies. ---- */

/* state_dir + "/sync-" + the first 16 hex digits of the SHA-256 of
 * (source, destination[, key]) + ".db" (ad_digest_hex): the same for the
 * same sync, another for another source or destination. key (may be
 * NULL) tells apart syncs that must not share a memory but whose texts
 * are the same, such as two accounts' tokens: it is only digested, never
 * stored. *out is malloc'd (the caller frees it). Returns 0 or AD_ENOMEM
 * (*out NULL). */
int ad_store_default_path(const char *state_dir, const char *source,
                          const char *destination, const char *key,
                          char **out);

#endif
