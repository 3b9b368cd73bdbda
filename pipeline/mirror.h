/* ad_mirror: what makes a run of a recurring sync write only what changed
 * (docs/mirror.md).
 *
 * It sits between the source and the sink, on the engine's hooks
 * (engine/host.h), with the sync's memory (state/store.h):
 *  - a page on its way to the queue loses the records the destination
 *    holds as they are: the hash of each record's unit (the bytes the sink
 *    would send) is compared with the one stored for it, and kept in the
 *    page with the unit;
 *  - the sink hands that hash back when the destination acknowledged the
 *    unit, and only then is it stored: a crash in between means a
 *    rewrite;
 *  - a table fully read, with no record failed on the read side, loses at
 *    the destination the records the store holds and the read did not
 *    see; a table, or group, the source listed completely and that no
 *    longer has a table the store holds loses that table;
 *  - a mass-delete guard: more than max_delete_share of a table's records
 *    (ten or more), or of the tables (or of the records in them), gone at
 *    once deletes nothing there, unless allow_mass_delete; the run then
 *    reports it and is partial;
 *  - tables finished in an interrupted run are skipped when it resumes.
 * Nothing is deleted that the store does not hold: only what this sync
 * wrote (or, with a lost store, what the sink's inventory says it owns).
 * Loop thread only. */
#ifndef AD_MIRROR_H
#define AD_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "idmap.h"
#include "list.h"
#include "store.h"

typedef struct ad_mirror_opts {
  ad_store_t *store;       /* borrowed; the sync's memory */
  ad_host_t *host;         /* its sink removes; its stats count */
  ad_log_t *log;           /* may be NULL */
  double max_delete_share; /* (0, 1]: the guard */
  int allow_mass_delete;
} ad_mirror_opts_t;

typedef struct ad_mirror {
  /* Readable. */
  int resumed;     /* this run resumes an interrupted one */
  int incremental; /* the sink removes: skip unchanged, delete what is gone */
  /* Private. */
  ad_mirror_opts_t o;
  int rewrites;        /* the sink replaces tables: nothing is skipped */
  ad_idmap_t tables;   /* "group\037table" of every table announced */
  ad_idmap_t groups;   /* "group\037listed", "group\037complete" */
  int all_groups;      /* it listed every group */
  ad_list_t states;    /* ad_mirror_table_t */
  uint64_t uncommitted, committed_ms;
  int store_broken;    /* a store error was reported: remember nothing more */
  int stopping;        /* the run stops short: delete nothing more */
} ad_mirror_t;

/* Binds the mirror to the run (the store's run begun: resumed says so).
 * Returns 0 or AD_ENOMEM. */
int ad_mirror_init(ad_mirror_t *m, const ad_mirror_opts_t *opts,
                   int resumed);

/* Frees the tables' states; the store is committed. */
void ad_mirror_close(ad_mirror_t *m);

/* The hooks (engine/host.h), same meanings. skip: 1 when table finished
 * in the interrupted run this one resumes. */
int ad_mirror_skip(ad_mirror_t *m, const ad_table_t *table);
void ad_mirror_table_begin(ad_mirror_t *m, ad_table_t *table);
size_t ad_mirror_filter(ad_mirror_t *m, ad_page_t *page);
void ad_mirror_table_read(ad_mirror_t *m, ad_table_t *table);
void ad_mirror_table_done(ad_mirror_t *m, ad_table_t *table);
void ad_mirror_group(ad_mirror_t *m, const char *group);
void ad_mirror_complete(ad_mirror_t *m, const char *group);
void ad_mirror_written(ad_mirror_t *m, ad_table_t *table, const char *id,
                       const unsigned char *hash);
int ad_mirror_table_same(ad_mirror_t *m, ad_table_t *table, const void *desc,
                         size_t len);
void ad_mirror_described(ad_mirror_t *m, ad_table_t *table, const void *desc,
                         size_t len);
void ad_mirror_removed(ad_mirror_t *m, ad_table_t *table, const char *id,
                       const char *error);
/* The inventory's reports (lost state): what the sink owns is stored with
 * an unknown hash, so it is rewritten, or deleted when gone. */
void ad_mirror_owned_table(ad_mirror_t *m, const char *origin,
                           const char *group_id, const char *table_id);
void ad_mirror_owned(ad_mirror_t *m, const char *group_id,
                     const char *table_id, const char *id);

/* The run stops short of its end (a stop, an abort): no deletion starts
 * any more. */
void ad_mirror_stop(ad_mirror_t *m);

/* 0 once the store failed: nothing more is remembered in this run. */
int ad_mirror_healthy(const ad_mirror_t *m);

/* The source is done: tables gone at the source are removed (before the
 * sink's finish). */
void ad_mirror_source_done(ad_mirror_t *m);

/* The run is over: commits, and ends the store's run (complete: the next
 * run starts afresh; else it resumes this one). */
void ad_mirror_end(ad_mirror_t *m, int complete);

#endif
