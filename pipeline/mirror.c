#include "mirror.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "error.h"
#include "page.h"
#include "table.h"

/* Stored puts and deletes become durable about once a second (and at each
 * table's end): a crash loses at most that second's acknowledgements,
 * which only means rewriting those records. Each commit writes every page
 * it dirtied to the journal, and ids arrive in no order, so fewer commits
 * write fewer pages. */
#define AD_MIRROR_COMMIT_MS 1000
#define AD_MIRROR_COMMIT_MAX 262144 /* and at most this many at once */

enum { AD_MIRROR_SEEN = 1 }; /* stored: read in this run */

/* Deletions of fewer records than this pass the guard whatever their
 * share: a table of four losing three is an edit, not an accident. */
#define AD_MIRROR_GUARD_MIN 10

/* A table of this run (or one gone at the source, being removed). */
typedef struct ad_mirror_table {
  ad_list_t node;
  ad_table_t *table; /* one reference */
  ad_idmap_t stored;  /* what the destination holds; SEEN when read now */
  uint64_t removing;  /* deletions asked and not yet answered */
  ad_store_hash_t described; /* the sink's description the destination
                                holds (all zero: none known) */
  uint64_t remove_failed;    /* deletions refused, reported at the end */
  char *remove_error;        /* the first one's reason */
  int loaded, read, acked, finished, gone;
} ad_mirror_table_t;

/* ---- the store, and what to do when it fails ------------------------- */

/* A store that cannot be written costs the memory of this run, never the
 * data: the run goes on, says so once, and deletes nothing more. */
static void ad_mirror_broken(ad_mirror_t *m, int rc) {
  if (rc == 0 || m->store_broken)
    return;
  m->store_broken = 1;
  if (m->o.log != NULL)
    ad_log_error(m->o.log, "state",
                 "%s: the sync's memory cannot be updated; this run "
                 "goes on without it (the next run rewrites what this one "
                 "could not record, and deletes nothing it does not know)",
                 ad_store_error(m->o.store));
}

static void ad_mirror_commit(ad_mirror_t *m) {
  if (m->store_broken)
    return;
  m->uncommitted = 0;
  m->committed_ms = uv_now(m->o.host->loop);
  ad_mirror_broken(m, ad_store_commit(m->o.store));
}

static void ad_mirror_counted(ad_mirror_t *m) {
  if (++m->uncommitted >= AD_MIRROR_COMMIT_MAX ||
      uv_now(m->o.host->loop) - m->committed_ms >= AD_MIRROR_COMMIT_MS)
    ad_mirror_commit(m);
}

/* "group\037table": a table's key in the maps of tables. */
static int ad_mirror_key(ad_buf_t *b, const char *group, const char *table) {
  ad_buf_reset(b);
  return ad_buf_printf(b, "%s\037%s", group, table);
}

static int ad_mirror_mark(ad_idmap_t *map, const char *group,
                          const char *table) {
  ad_buf_t key;
  int created, rc = AD_ENOMEM;
  ad_buf_init(&key, 0);
  if (ad_mirror_key(&key, group, table) == 0 &&
      ad_idmap_put(map, key.data, key.len, &created) != NULL)
    rc = 0;
  ad_buf_free(&key);
  return rc;
}

static int ad_mirror_marked(const ad_idmap_t *map, const char *group,
                            const char *table) {
  ad_buf_t key;
  int found = 0;
  ad_buf_init(&key, 0);
  if (ad_mirror_key(&key, group, table) == 0)
    found = ad_idmap_get(map, key.data, key.len) != NULL;
  ad_buf_free(&key);
  return found;
}

/* ---- life ---------------------------------------------------------------- */

int ad_mirror_init(ad_mirror_t *m, const ad_mirror_opts_t *opts,
                   int resumed) {
  const ad_sink_t *sink = &opts->host->sink;
  memset(m, 0, sizeof(*m));
  m->o = *opts;
  m->resumed = resumed;
  m->incremental = sink->plugin->remove != NULL;
  m->rewrites = sink->rewrites;
  m->committed_ms = uv_now(opts->host->loop);
  ad_idmap_init(&m->tables);
  ad_idmap_init(&m->groups);
  ad_list_init(&m->states);
  return 0;
}

static void ad_mirror_table_free(ad_mirror_table_t *mt) {
  ad_list_remove(&mt->node);
  free(mt->remove_error);
  ad_idmap_free(&mt->stored);
  mt->table->mirror = NULL;
  ad_table_unref(mt->table);
  free(mt);
}

void ad_mirror_close(ad_mirror_t *m) {
  ad_list_t *n;
  ad_mirror_commit(m);
  while ((n = ad_list_head(&m->states)) != NULL)
    ad_mirror_table_free(ad_container_of(n, ad_mirror_table_t, node));
  ad_idmap_free(&m->tables);
  ad_idmap_free(&m->groups);
}

static ad_mirror_table_t *ad_mirror_state(ad_mirror_t *m, ad_table_t *t) {
  ad_mirror_table_t *mt = t->mirror;
  if (mt != NULL)
    return mt;
  if ((mt = calloc(1, sizeof(*mt))) == NULL)
    return NULL;
  mt->table = ad_table_ref(t);
  ad_idmap_init(&mt->stored);
  ad_list_insert_tail(&m->states, &mt->node);
  t->mirror = mt;
  return mt;
}

/* ---- tables announced ---------------------------------------------------- */

int ad_mirror_skip(ad_mirror_t *m, const ad_table_t *t) {
  int rc;
  /* Announced, so never gone, whether it is read now or skipped. */
  if (ad_mirror_mark(&m->tables, t->group_id, t->table_id) != 0 &&
      m->o.log != NULL)
    ad_log_error(m->o.log, "state", "out of memory: no table will be "
                                    "deleted in this run");
  if (!m->resumed || m->store_broken)
    return 0;
  rc = ad_store_table_finished(m->o.store, t->group_id, t->table_id);
  if (rc < 0) {
    ad_mirror_broken(m, rc);
    return 0;
  }
  return rc;
}

static int ad_mirror_load_one(const char *id, const ad_store_hash_t *h,
                              void *data) {
  ad_mirror_table_t *mt = data;
  int created;
  ad_idmap_entry_t *e = ad_idmap_put(&mt->stored, id, strlen(id), &created);
  if (e == NULL)
    return AD_ENOMEM;
  memcpy(e->hash, h->b, sizeof(e->hash));
  return 0;
}

void ad_mirror_table_begin(ad_mirror_t *m, ad_table_t *t) {
  ad_mirror_table_t *mt;
  int rc;

  if (m->store_broken)
    return;
  if ((mt = ad_mirror_state(m, t)) == NULL) {
    if (m->o.log != NULL)
      ad_log_error(m->o.log, "state", "%s/%s: out of memory: every record "
                   "of it is written, none deleted", t->group_id, t->table_id);
    return;
  }
  rc = ad_store_table_note(m->o.store, t->group_id, t->table_id, t->origin,
                           t->table_name);
  if (rc == 0 && m->incremental)
    rc = ad_store_records(m->o.store, t->group_id, t->table_id,
                          ad_mirror_load_one, mt);
  if (rc == 0 && m->incremental &&
      ad_store_table_hash(m->o.store, t->group_id, t->table_id,
                          &mt->described) < 0)
    rc = AD_EIO;
  if (rc == AD_ENOMEM) {
    /* Without what it holds, nothing can be skipped or deleted. */
    ad_idmap_free(&mt->stored);
    ad_idmap_init(&mt->stored);
    if (m->o.log != NULL)
      ad_log_error(m->o.log, "state", "%s/%s: out of memory loading what "
                   "the destination holds: every record of it is written, "
                   "none deleted", t->group_id, t->table_id);
    return;
  }
  ad_mirror_broken(m, rc);
  mt->loaded = rc == 0;
}

static void ad_mirror_hash(const void *bytes, size_t len,
                           ad_store_hash_t *out) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(bytes, len));
  memcpy(out->b, c.digest, sizeof(out->b));
}

int ad_mirror_table_same(ad_mirror_t *m, ad_table_t *t, const void *desc,
                         size_t len) {
  ad_mirror_table_t *mt = t->mirror;
  ad_store_hash_t h;
  static const ad_store_hash_t none;
  if (mt == NULL || !mt->loaded || m->store_broken ||
      memcmp(&mt->described, &none, sizeof(none)) == 0)
    return 0;
  ad_mirror_hash(desc, len, &h);
  return memcmp(&h, &mt->described, sizeof(h)) == 0;
}

void ad_mirror_described(ad_mirror_t *m, ad_table_t *t, const void *desc,
                         size_t len) {
  ad_mirror_table_t *mt = t->mirror;
  if (mt == NULL || m->store_broken)
    return;
  ad_mirror_hash(desc, len, &mt->described);
  ad_mirror_broken(m, ad_store_table_set_hash(m->o.store, t->group_id,
                                              t->table_id, &mt->described));
  ad_mirror_counted(m);
}

/* ---- pages ------------------------------------------------------------------ */

size_t ad_mirror_filter(ad_mirror_t *m, ad_page_t *page) {
  ad_mirror_table_t *mt = page->table->mirror;
  ad_idmap_entry_t *e;
  ad_store_hash_t h;
  size_t i, kept = 0;

  if (mt == NULL || !mt->loaded || !m->incremental)
    return 0;
  for (i = 0; i < page->nunits; i++) {
    ad_unit_t *u = &page->units[i];
    ad_mirror_hash(ad_page_unit(page, i), u->len, &h);
    e = ad_idmap_get(&mt->stored, ad_page_unit_id(page, i), u->id_len);
    if (e != NULL) {
      e->flags |= AD_MIRROR_SEEN;
      if (!m->rewrites && memcmp(e->hash, h.b, sizeof(h.b)) == 0)
        continue; /* the destination holds it as it is */
    }
    memcpy(u->hash, h.b, sizeof(u->hash)); /* the sink hands it back */
    page->units[kept++] = *u;
  }
  i = page->nunits - kept;
  page->nunits = kept;
  page->item.rows = kept;
  return i;
}

void ad_mirror_written(ad_mirror_t *m, ad_table_t *t, const char *id,
                       const unsigned char *hash) {
  ad_store_hash_t h;

  if (t->mirror == NULL || m->store_broken)
    return;
  if (hash != NULL)
    memcpy(h.b, hash, sizeof(h.b));
  else
    memset(h.b, 0, sizeof(h.b)); /* unknown: the next run rewrites it */
  ad_mirror_broken(m, ad_store_record_put(m->o.store, t->group_id,
                                          t->table_id, id, &h));
  ad_mirror_counted(m);
}

/* ---- the end of a table -------------------------------------------------- */

/* Read, acknowledged and its deletions answered: an interrupted run that
 * resumes may skip it. What it held in memory goes. */
static void ad_mirror_try_finish(ad_mirror_t *m, ad_mirror_table_t *mt) {
  ad_table_t *t = mt->table;
  if (mt->finished || !mt->read || !mt->acked || mt->removing > 0 ||
      mt->remove_failed > 0)
    return;
  mt->finished = 1;
  ad_idmap_free(&mt->stored);
  if (m->store_broken)
    return;
  ad_mirror_commit(m);
  ad_mirror_broken(m, ad_store_table_finish(m->o.store, t->group_id,
                                            t->table_id));
}

/* A failure of the mirror's own (a deletion not done or held back): one
 * entry of the run's failures, so the run ends partial. */
static void ad_mirror_fail(ad_mirror_t *m, ad_table_t *t, const char *group,
                           const char *table, const char *msg) {
  ad_stats_t *st = m->o.host->stats;
  if (m->o.log != NULL)
    ad_log_warn(m->o.log, "mirror", "%s", msg);
  ad_stats_add_failure(st, t != NULL ? t->group_id : group,
                       t != NULL ? t->table_id : table, NULL, msg, 0);
}

/* Whether the guard holds back deleting gone of a table's total records
 * (t), or gone of the total tables (t NULL; their records, gone_records
 * of total_records, count too); says so when it does. */
static int ad_mirror_held(ad_mirror_t *m, const ad_table_t *t, uint64_t gone,
                          uint64_t total, uint64_t gone_records,
                          uint64_t total_records) {
  double share = m->o.max_delete_share;
  char msg[600];

  if (m->o.allow_mass_delete || gone == 0 ||
      (t != NULL && gone < AD_MIRROR_GUARD_MIN))
    return 0;
  if ((double)gone <= share * (double)total &&
      (t != NULL || (double)gone_records <= share * (double)total_records))
    return 0;
  if (t != NULL) {
    snprintf(msg, sizeof(msg),
             "%s/%s: %" PRIu64 " of its %" PRIu64 " records (%.0f%%, more "
             "than the guard's %.0f%%) are gone at the source: nothing "
             "deleted there. If that is right, run again with "
             "--allow-mass-delete",
             t->group_id, t->table_id, gone, total,
             100.0 * (double)gone / (double)total, 100.0 * share);
    m->o.host->stats->deletes_held += gone;
  } else {
    snprintf(msg, sizeof(msg),
             "%" PRIu64 " of the %" PRIu64 " tables written before, with %"
             PRIu64 " of the %" PRIu64 " records, are gone at the source "
             "(more than the guard's %.0f%%): no table deleted. If that is "
             "right, run again with --allow-mass-delete",
             gone, total, gone_records, total_records, 100.0 * share);
    m->o.host->stats->tables_held += gone;
  }
  ad_mirror_fail(m, NULL, t != NULL ? t->group_id : "",
                 t != NULL ? t->table_id : "", msg);
  return 1;
}

/* Asks the sink to remove n ids (whole: the table itself is gone). */
static void ad_mirror_remove(ad_mirror_t *m, ad_mirror_table_t *mt,
                             const char *const *ids, size_t n, int whole) {
  ad_sink_t *sink = &m->o.host->sink;
  char msg[300];
  int rc;

  if (n == 0 && !whole)
    return;
  mt->removing = whole ? 1 : n;
  rc = sink->plugin->remove(sink->ctx, mt->table, ids, n, whole);
  if (rc == AD_ECLOSING) { /* the sink stopped: the run says why */
    mt->removing = 0;
  } else if (rc != 0) {
    mt->removing = 0;
    snprintf(msg, sizeof(msg), "%s/%s: nothing deleted: %s",
             mt->table->group_id, mt->table->table_id, ad_strerror(rc));
    ad_mirror_fail(m, mt->table, NULL, NULL, msg);
  }
}

/* Whether deletions may go out now: never once the run is stopping or
 * failed (what was not read then is not known to be gone). */
static int ad_mirror_may_delete(const ad_mirror_t *m) {
  return m->incremental && !m->store_broken && !m->stopping &&
         m->o.host->stats->fatal_error == NULL;
}

void ad_mirror_table_read(ad_mirror_t *m, ad_table_t *t) {
  ad_mirror_table_t *mt = t->mirror;
  const char **ids = NULL, **grown;
  size_t i, n = 0, cap = 0;

  if (mt == NULL || (m->incremental && !ad_mirror_may_delete(m)))
    return; /* not finished either: the run that resumes reads it again */
  mt->read = 1;
  /* Deletions only from a table read whole, every record of it seen. */
  if (mt->loaded && !m->rewrites && !t->failed &&
      t->read_failed == 0 && mt->stored.count > 0) {
    for (i = 0; i < mt->stored.cap; i++) {
      if (!ad_idmap_live(&mt->stored.slots[i]) ||
          (mt->stored.slots[i].flags & AD_MIRROR_SEEN))
        continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        if ((grown = realloc(ids, cap * sizeof(*ids))) == NULL) {
          ad_mirror_fail(m, t, NULL, NULL, "out of memory listing what to "
                                           "delete: nothing deleted");
          n = 0;
          break;
        }
        ids = grown;
      }
      ids[n++] = ad_idmap_key(&mt->stored, &mt->stored.slots[i]);
    }
    if (n > 0 && !ad_mirror_held(m, t, n, mt->stored.count, 0, 0))
      ad_mirror_remove(m, mt, ids, n, 0);
    free(ids);
  }
  ad_mirror_try_finish(m, mt);
}

void ad_mirror_table_done(ad_mirror_t *m, ad_table_t *t) {
  ad_mirror_table_t *mt = t->mirror;
  if (mt == NULL)
    return;
  mt->acked = 1;
  ad_mirror_try_finish(m, mt);
}

/* The table's deletions are all answered: those refused are one failure
 * (a thousand refused for one reason are one line, not a thousand). */
static void ad_mirror_removals_failed(ad_mirror_t *m, ad_mirror_table_t *mt) {
  char msg[800];
  if (mt->remove_failed == 0)
    return;
  snprintf(msg, sizeof(msg), "%s/%s: %" PRIu64 " deletion%s not done (%s); "
           "the next run tries again", mt->table->group_id,
           mt->table->table_id, mt->remove_failed,
           mt->remove_failed == 1 ? "" : "s",
           mt->remove_error != NULL ? mt->remove_error : "out of memory");
  ad_mirror_fail(m, mt->table, NULL, NULL, msg);
}

void ad_mirror_removed(ad_mirror_t *m, ad_table_t *t, const char *id,
                       const char *error) {
  ad_mirror_table_t *mt = t->mirror;
  ad_stats_t *st = m->o.host->stats;
  ad_stats_base_t *g = ad_stats_base_at(st, t->stats_group);

  if (mt == NULL || mt->removing == 0)
    return;
  if (error != NULL) {
    if (mt->remove_failed++ == 0)
      mt->remove_error = strdup(error);
  } else if (id != NULL) {
    if (m->o.host->sink.documents)
      st->documents_deleted++;
    else
      st->rows_deleted++;
    g->deleted++;
    if (!m->store_broken) {
      ad_mirror_broken(m, ad_store_record_del(m->o.store, t->group_id,
                                              t->table_id, id));
      ad_mirror_counted(m);
    }
  }
  if (mt->gone) {
    /* A table gone at the source ends with one report for all of it, and
     * is forgotten once all of it is gone. */
    if (id != NULL)
      return;
    mt->removing = 0;
    if (mt->remove_failed > 0) {
      ad_mirror_removals_failed(m, mt);
      return;
    }
    st->tables_deleted++;
    if (!m->store_broken) {
      ad_mirror_commit(m);
      ad_mirror_broken(m, ad_store_table_forget(m->o.store, t->group_id,
                                                t->table_id));
    }
    return;
  }
  if (id != NULL && --mt->removing == 0) {
    ad_mirror_removals_failed(m, mt);
    ad_mirror_try_finish(m, mt);
  }
}

void ad_mirror_group(ad_mirror_t *m, const char *group) {
  ad_mirror_mark(&m->groups, group, "listed");
}

void ad_mirror_complete(ad_mirror_t *m, const char *group) {
  if (group == NULL)
    m->all_groups = 1;
  else
    ad_mirror_mark(&m->groups, group, "complete");
}

/* ---- tables gone at the source ------------------------------------------- */

typedef struct ad_mirror_gone {
  ad_mirror_t *m;
  ad_store_table_t *list; /* strings malloc'd */
  size_t n, cap, total;
  uint64_t records, total_records; /* theirs, and of every table */
} ad_mirror_gone_t;

static int ad_mirror_collect(const ad_store_table_t *t, void *data) {
  ad_mirror_gone_t *g = data;
  ad_mirror_t *m = g->m;
  ad_store_table_t *grown, *e;

  g->total++;
  g->total_records += t->records;
  /* Gone: not announced in a group listed whole, or, for a table a run of
   * this sync announced once (it has a name), in a group no longer listed
   * when every group was. A table only a lost memory's inventory found
   * may be another sync's, of a base this source never sees. */
  if (ad_mirror_marked(&m->tables, t->group_id, t->table_id) ||
      !(ad_mirror_marked(&m->groups, t->group_id, "complete") ||
        (m->all_groups && t->name != NULL &&
         !ad_mirror_marked(&m->groups, t->group_id, "listed"))))
    return 0;
  g->records += t->records;
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 16;
    if ((grown = realloc(g->list, g->cap * sizeof(*grown))) == NULL)
      return AD_ENOMEM;
    g->list = grown;
  }
  e = &g->list[g->n];
  memset(e, 0, sizeof(*e));
  e->group_id = strdup(t->group_id);
  e->table_id = strdup(t->table_id);
  e->origin = t->origin != NULL ? strdup(t->origin) : NULL;
  e->name = t->name != NULL ? strdup(t->name) : NULL;
  e->records = t->records;
  g->n++;
  if (e->group_id == NULL || e->table_id == NULL)
    return AD_ENOMEM;
  return 0;
}

typedef struct ad_mirror_ids {
  ad_buf_t bytes;
  size_t n;
} ad_mirror_ids_t;

static int ad_mirror_collect_id(const char *id, const ad_store_hash_t *h,
                                void *data) {
  ad_mirror_ids_t *ids = data;
  (void)h;
  ids->n++;
  return ad_buf_append(&ids->bytes, id, strlen(id) + 1);
}

/* Removes a table gone at the source, with every record the store holds
 * for it. */
static void ad_mirror_drop(ad_mirror_t *m, const ad_store_table_t *gone) {
  ad_mirror_ids_t ids;
  ad_mirror_table_t *mt = NULL;
  ad_table_t *t;
  const char **list = NULL;
  const char *p;
  size_t i;
  int rc;

  t = ad_table_new(gone->origin, gone->group_id, NULL, gone->table_id,
                   gone->name != NULL ? gone->name : gone->table_id, "");
  ad_buf_init(&ids.bytes, 0);
  ids.n = 0;
  rc = t != NULL ? 0 : AD_ENOMEM;
  if (rc == 0)
    rc = ad_store_records(m->o.store, gone->group_id, gone->table_id,
                          ad_mirror_collect_id, &ids);
  if (rc == 0 && ids.n > 0 &&
      (list = malloc(ids.n * sizeof(*list))) == NULL)
    rc = AD_ENOMEM;
  if (rc == 0 && (mt = ad_mirror_state(m, t)) == NULL)
    rc = AD_ENOMEM;
  if (rc == 0) {
    for (i = 0, p = ids.bytes.data; i < ids.n; i++, p += strlen(p) + 1)
      list[i] = p;
    mt->gone = 1;
    if (m->o.log != NULL)
      ad_log_info(m->o.log, "mirror",
                  "%s/%s (\"%s\") is gone at the source: deleting it",
                  gone->group_id, gone->table_id, t->table_name);
    ad_mirror_remove(m, mt, list, ids.n, 1);
  } else if (rc == AD_ENOMEM) {
    ad_mirror_fail(m, NULL, gone->group_id, gone->table_id,
                   "out of memory: the table is gone at the source and was "
                   "not deleted");
  } else {
    ad_mirror_broken(m, rc);
  }
  free(list);
  ad_buf_free(&ids.bytes);
  if (t != NULL)
    ad_table_unref(t);
}

void ad_mirror_source_done(ad_mirror_t *m) {
  ad_mirror_gone_t g;
  size_t i;
  int rc;

  if (!ad_mirror_may_delete(m))
    return;
  memset(&g, 0, sizeof(g));
  g.m = m;
  rc = ad_store_tables(m->o.store, ad_mirror_collect, &g);
  if (rc == AD_ENOMEM && m->o.log != NULL)
    ad_log_error(m->o.log, "mirror", "out of memory: no table deleted");
  else
    ad_mirror_broken(m, rc);
  if (rc == 0 && g.n > 0 &&
      !ad_mirror_held(m, NULL, g.n, g.total, g.records, g.total_records))
    for (i = 0; i < g.n; i++)
      ad_mirror_drop(m, &g.list[i]);
  for (i = 0; i < g.n; i++) {
    free((char *)g.list[i].group_id);
    free((char *)g.list[i].table_id);
    free((char *)g.list[i].origin);
    free((char *)g.list[i].name);
  }
  free(g.list);
}

/* ---- lost state ------------------------------------------------------------ */

void ad_mirror_owned_table(ad_mirror_t *m, const char *origin,
                           const char *group_id, const char *table_id) {
  if (m->store_broken)
    return;
  ad_mirror_broken(m, ad_store_table_note(m->o.store, group_id, table_id,
                                          origin, NULL));
}

void ad_mirror_owned(ad_mirror_t *m, const char *group_id,
                     const char *table_id, const char *id) {
  ad_store_hash_t unknown;
  if (m->store_broken)
    return;
  /* A record an earlier, cut inventory or a run already stored keeps its
   * hash; a new one gets the unknown hash (never a unit's: rewritten). */
  memset(&unknown, 0, sizeof(unknown));
  ad_mirror_broken(m, ad_store_record_add(m->o.store, group_id, table_id, id,
                                          &unknown));
  ad_mirror_counted(m);
}

void ad_mirror_stop(ad_mirror_t *m) { m->stopping = 1; }

int ad_mirror_healthy(const ad_mirror_t *m) { return !m->store_broken; }

void ad_mirror_end(ad_mirror_t *m, int complete) {
  ad_mirror_commit(m);
  if (!m->store_broken)
    ad_mirror_broken(m, ad_store_run_end(m->o.store, complete));
}
