/* ad_state: the resume file of `sync --state FILE`.
 *
 * It records each table once every row (or document) of it is
 * acknowledged by the sink, so a later run with the same file skips
 * finished tables and redoes the others (sinks upsert by id, so redoing a
 * table that was half written is safe). It belongs to one destination
 * (for Dust: URL, workspace, space, data source, format, table id
 * prefix; the sink plugin says what identifies it): a file
 * made for another one is refused rather than silently skipping tables
 * that were never written there.
 *
 * The text is JSON: {"version":1,"destination":{…},"tables":{"appX/tblY":
 * {"records":N,"finished_at":"2026-11-22T10:00:00Z"}}}. Each update is
 * written to FILE.tmp, flushed to disk and renamed over FILE, so a kill at
 * any moment leaves the old file or the new one, never a torn one. */
#ifndef AD_STATE_H
#define AD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>


typedef struct ad_state {
  char *path;         /* NULL: parsed from memory, never written */
  json_object *root;  /* owned */
  json_object *tables; /* borrowed from root */
} ad_state_t;

/* Pure: reads state text (len bytes, NUL not needed) for destination
 * (borrowed). len 0 makes an empty state. On failure returns AD_ECONFIG
 * (or AD_ENOMEM) and err says what is wrong. */
int ad_state_parse(ad_state_t *st, const char *text, size_t len,
                   json_object *destination, char *err, size_t errlen);

/* Opens path (copied) for destination (borrowed; the sink's
 * description of where it writes): reads it when it exists, starts empty
 * when it does not. Errors name the path. */
int ad_state_open(ad_state_t *st, const char *path, json_object *destination,
                  char *err, size_t errlen);

/* 1 when table (base_id, table_id) finished in an earlier run. */
int ad_state_finished(const ad_state_t *st, const char *base_id,
                      const char *table_id);

/* Records the table as finished with records written, and writes the file
 * (when it has a path). Returns 0, AD_ENOMEM or AD_EIO with err set. */
int ad_state_finish(ad_state_t *st, const char *base_id, const char *table_id,
                    uint64_t records, char *err, size_t errlen);

/* How many tables it records. */
size_t ad_state_count(const ad_state_t *st);

void ad_state_close(ad_state_t *st);

#endif
