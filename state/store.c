/* ad_store: one SQLite file per sync (state/store.h).
 *
 * Schema 1 (application_id "adst", user_version 1):
 *   store(id = 1, source, destination, created_at, opened_at)
 *   meta(key PRIMARY KEY, value) WITHOUT ROWID
 *   runs(id AUTOINCREMENT, started_at, resumed, ended_at, complete)
 *   tables(id INTEGER PRIMARY KEY, group_id, table_id, origin, name,
 *          finished_run, finished_at, UNIQUE(group_id, table_id))
 *   records(tbl, id, hash BLOB(16), PRIMARY KEY(tbl, id)) WITHOUT ROWID
 * A table is finished in the open run when its finished_run is that run's
 * id, so a new run starts with none finished without touching any row. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "digest.h"
#include "error.h"

#define AD_STORE_APP_ID 0x61647374 /* "adst" */
#define AD_STORE_RUNS_KEPT 100     /* runs remembered (history only) */
#define AD_STORE_NOW "strftime('%Y-%m-%dT%H:%M:%SZ','now')"

static const char ad_store_schema[] =
    "CREATE TABLE store("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " source TEXT NOT NULL,"
    " destination TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " opened_at TEXT NOT NULL);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE runs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " started_at TEXT NOT NULL,"
    " resumed INTEGER NOT NULL DEFAULT 0,"
    " ended_at TEXT,"
    " complete INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE tables("
    " id INTEGER PRIMARY KEY,"
    " group_id TEXT NOT NULL,"
    " table_id TEXT NOT NULL,"
    " origin TEXT,"
    " name TEXT,"
    " finished_run INTEGER,"
    " finished_at TEXT,"
    " described BLOB,"
    " UNIQUE (group_id, table_id));"
    "CREATE TABLE records("
    " tbl INTEGER NOT NULL,"
    " id TEXT NOT NULL,"
    " hash BLOB NOT NULL,"
    " PRIMARY KEY (tbl, id)) WITHOUT ROWID;"
    /* puts land here first, in the order they come (ad_store_record_put) */
    "CREATE TABLE acks("
    " seq INTEGER PRIMARY KEY,"
    " tbl INTEGER NOT NULL,"
    " id TEXT NOT NULL,"
    " hash BLOB NOT NULL);"
    "CREATE INDEX acks_tbl ON acks(tbl, seq);"
    "PRAGMA application_id = 1633973108;" /* AD_STORE_APP_ID */
    "PRAGMA user_version = 1;";           /* AD_STORE_SCHEMA */

enum {
  S_BEGIN,
  S_COMMIT,
  S_ROLLBACK,
  S_TABLE_GET,
  S_TABLE_NOTE,
  S_TABLES,
  S_FINISHED,
  S_FINISH,
  S_FORGET_RECORDS,
  S_FORGET_TABLE,
  S_RECORDS,
  S_GET,
  S_COUNT,
  S_PUT,
  S_DEL,
  S_META_GET,
  S_META_SET,
  S_META_DEL,
  S_RUN_LAST,
  S_RUN_NEW,
  S_RUN_RESUME,
  S_RUN_END,
  S_RUN_PRUNE,
  S_DESC_GET,
  S_DESC_SET,
  S_SETTLE,
  S_SETTLE_DROP,
  S_SETTLE_ALL,
  S_SETTLE_ALL_DROP,
  S_ADD,
  S_N
};

static const char *const ad_store_sql[S_N] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_TABLE_GET] = "SELECT id FROM tables WHERE group_id = ?1 AND table_id = ?2",
    [S_TABLE_NOTE] =
        "INSERT INTO tables(group_id, table_id, origin, name)"
        " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(group_id, table_id) DO UPDATE"
        " SET origin = coalesce(excluded.origin, origin),"
        " name = coalesce(excluded.name, name)",
    [S_TABLES] = "SELECT t.group_id, t.table_id, t.origin, t.name,"
                 " t.finished_run,"
                 " (SELECT count(*) FROM records r WHERE r.tbl = t.id)"
                 " FROM tables t ORDER BY t.group_id, t.table_id",
    [S_FINISHED] =
        "SELECT finished_run FROM tables WHERE group_id = ?1 AND table_id = ?2",
    [S_FINISH] = "UPDATE tables SET finished_run = ?1, finished_at = " AD_STORE_NOW
                 " WHERE id = ?2",
    [S_FORGET_RECORDS] = "DELETE FROM records WHERE tbl = ?1",
    [S_FORGET_TABLE] = "DELETE FROM tables WHERE id = ?1",
    [S_RECORDS] = "SELECT id, hash FROM records WHERE tbl = ?1 ORDER BY id",
    [S_GET] = "SELECT hash FROM records WHERE tbl = ?1 AND id = ?2",
    [S_COUNT] = "SELECT count(*) FROM records WHERE tbl = ?1",
    [S_PUT] = "INSERT INTO acks(tbl, id, hash) VALUES(?1, ?2, ?3)",
    [S_SETTLE] = "INSERT OR REPLACE INTO records(tbl, id, hash)"
                 " SELECT tbl, id, hash FROM acks WHERE tbl = ?1 ORDER BY seq",
    [S_SETTLE_DROP] = "DELETE FROM acks WHERE tbl = ?1",
    [S_SETTLE_ALL] = "INSERT OR REPLACE INTO records(tbl, id, hash)"
                     " SELECT tbl, id, hash FROM acks ORDER BY seq",
    [S_SETTLE_ALL_DROP] = "DELETE FROM acks",
    [S_ADD] = "INSERT OR IGNORE INTO records(tbl, id, hash) VALUES(?1, ?2, ?3)",
    [S_DEL] = "DELETE FROM records WHERE tbl = ?1 AND id = ?2",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [S_META_DEL] = "DELETE FROM meta WHERE key = ?1",
    [S_RUN_LAST] = "SELECT id, complete FROM runs ORDER BY id DESC LIMIT 1",
    [S_RUN_NEW] = "INSERT INTO runs(started_at) VALUES(" AD_STORE_NOW ")",
    [S_RUN_RESUME] =
        "UPDATE runs SET resumed = resumed + 1, ended_at = NULL WHERE id = ?1",
    [S_RUN_END] = "UPDATE runs SET ended_at = " AD_STORE_NOW
                  ", complete = ?2 WHERE id = ?1",
    [S_RUN_PRUNE] = "DELETE FROM runs WHERE id <= ?1",
    [S_DESC_GET] = "SELECT described FROM tables WHERE id = ?1",
    [S_DESC_SET] = "UPDATE tables SET described = ?2 WHERE id = ?1",
};

struct ad_store {
  sqlite3 *db;
  sqlite3_stmt *stmt[S_N]; /* prepared once, for the store's life */
  char *path;
  int64_t run;   /* the open run's id; 0: none open */
  int iterating; /* inside ad_store_tables or ad_store_records */
  int in_use;    /* open: refused because another run holds the file */
  /* The last table looked up, so that a stream of puts costs one lookup. */
  char *cache_group, *cache_table;
  int64_t cache_key;
  char sqlmsg[256]; /* SQLite's message for the last failure */
  char err[1024];
};

/* ---- Errors ---- */

static int st_code(int rc) {
  switch (rc & 0xff) {
  case SQLITE_NOMEM:
    return AD_ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
  case SQLITE_SCHEMA:
  case SQLITE_MISMATCH:
    return AD_ECONFIG;
  default:
    return AD_EIO;
  }
}

/* Keeps SQLite's message for rc, before another call replaces it. */
static int st_sqlerr(ad_store_t *st, int rc) {
  const char *msg = sqlite3_errstr(rc);
  if (st->db != NULL && (sqlite3_errcode(st->db) & 0xff) == (rc & 0xff))
    msg = sqlite3_errmsg(st->db);
  snprintf(st->sqlmsg, sizeof(st->sqlmsg), "%s", msg);
  return rc;
}

static void st_cache_drop(ad_store_t *st) {
  free(st->cache_group);
  free(st->cache_table);
  st->cache_group = st->cache_table = NULL;
  st->cache_key = 0;
}

/* Drops what was not committed: a failed write leaves no half of it. */
static void st_rollback(ad_store_t *st) {
  if (st->db != NULL && !sqlite3_get_autocommit(st->db)) {
    if (st->stmt[S_ROLLBACK] != NULL) {
      sqlite3_step(st->stmt[S_ROLLBACK]);
      sqlite3_reset(st->stmt[S_ROLLBACK]);
    } else { /* while opening */
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
  }
  st_cache_drop(st);
}

/* st->err = "store PATH: WHAT[: SQLite's message]"; returns code. */
static int st_errorv(ad_store_t *st, int code, const char *sqlmsg,
                     const char *fmt, va_list ap) {
  char what[512];
  vsnprintf(what, sizeof(what), fmt, ap);
  if (sqlmsg != NULL)
    snprintf(st->err, sizeof(st->err), "store %s: %s: %s", st->path, what,
             sqlmsg);
  else
    snprintf(st->err, sizeof(st->err), "store %s: %s", st->path, what);
  return code;
}

/* A SQLite failure rc while doing WHAT: rolls back, sets the text. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int st_fail(ad_store_t *st, int rc, const char *fmt, ...) {
  va_list ap;
  int code;
  va_start(ap, fmt);
  code = st_errorv(st, st_code(rc), st->sqlmsg, fmt, ap);
  va_end(ap);
  st_rollback(st);
  return code;
}

/* A failure of ours (code), not SQLite's. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int st_failf(ad_store_t *st, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  st_errorv(st, code, NULL, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- Statements ---- */

/* Steps s, which returns no row, to its end and resets it: SQLITE_OK or
 * the failure (its message kept). */
static int st_run(ad_store_t *st, sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    rc = SQLITE_OK;
  else
    st_sqlerr(st, rc);
  sqlite3_reset(s);
  return rc;
}

/* The one-row query s: SQLITE_ROW (the caller reads, then resets),
 * SQLITE_DONE (reset) or the failure (reset, message kept). */
static int st_row(ad_store_t *st, sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    return rc;
  if (rc != SQLITE_DONE)
    st_sqlerr(st, rc);
  sqlite3_reset(s);
  return rc;
}

static void st_bind_text(sqlite3_stmt *s, int i, const char *text) {
  if (text == NULL)
    sqlite3_bind_null(s, i);
  else
    sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
}

/* Opens a transaction unless one is. */
static int st_begin(ad_store_t *st) {
  if (!sqlite3_get_autocommit(st->db))
    return SQLITE_OK;
  return st_run(st, st->stmt[S_BEGIN]);
}

static int st_commit(ad_store_t *st) {
  if (sqlite3_get_autocommit(st->db))
    return SQLITE_OK;
  return st_run(st, st->stmt[S_COMMIT]);
}

/* The key of table (g, t): 1 and *key when known; 0 when not (create 0);
 * created (origin and name NULL) when create, inside the transaction the
 * caller opened. A SQLite failure is returned as a negative AD code with
 * st->err set. */
static int st_table_key(ad_store_t *st, const char *g, const char *t,
                        int create, int64_t *key) {
  sqlite3_stmt *s;
  int rc;

  if (st->cache_group != NULL && strcmp(st->cache_group, g) == 0 &&
      strcmp(st->cache_table, t) == 0) {
    *key = st->cache_key;
    return 1;
  }
  s = st->stmt[S_TABLE_GET];
  st_bind_text(s, 1, g);
  st_bind_text(s, 2, t);
  rc = st_row(st, s);
  if (rc == SQLITE_ROW) {
    *key = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
  } else if (rc != SQLITE_DONE) {
    return st_fail(st, rc, "looking up table %s/%s", g, t);
  } else if (!create) {
    return 0;
  } else {
    s = st->stmt[S_TABLE_NOTE];
    st_bind_text(s, 1, g);
    st_bind_text(s, 2, t);
    st_bind_text(s, 3, NULL);
    st_bind_text(s, 4, NULL);
    if ((rc = st_run(st, s)) != SQLITE_OK)
      return st_fail(st, rc, "recording table %s/%s", g, t);
    *key = sqlite3_last_insert_rowid(st->db);
  }
  st_cache_drop(st);
  st->cache_group = strdup(g);
  st->cache_table = strdup(t);
  if (st->cache_group == NULL || st->cache_table == NULL)
    st_cache_drop(st); /* no cache is only slower */
  else
    st->cache_key = *key;
  return 1;
}

/* ---- Open and close ---- */

static void st_unlink_side_files(const char *path) {
  static const char *const ext[] = {"-wal", "-shm", "-journal"};
  size_t len = strlen(path), i;
  char *side = malloc(len + 16);
  if (side == NULL)
    return;
  for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
    snprintf(side, len + 16, "%s%s", path, ext[i]);
    unlink(side);
  }
  free(side);
}

/* What a file SQLite calls not a database is: the JSON resume file of
 * engine/state.c, or anything else. */
static const char *st_what_file(const char *path) {
  char head[4096];
  size_t n = 0, i = 0;
  FILE *f = fopen(path, "rb");
  if (f != NULL) {
    n = fread(head, 1, sizeof(head) - 1, f);
    fclose(f);
  }
  head[n] = '\0';
  while (i < n && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' ||
                   head[i] == '\t'))
    i++;
  if (i < n && head[i] == '{' && strstr(head + i, "\"version\"") != NULL &&
      (strstr(head + i, "\"destination\"") != NULL ||
       strstr(head + i, "\"tables\"") != NULL))
    return "an airdust resume file of an older version: remove it (the next "
           "run rewrites everything once)";
  return "not an airdust store (not an SQLite database): move it away or "
         "choose another file";
}

/* 1 when the texts are equal, as JSON values when both are JSON. */
static int st_same_json(const char *a, const char *b) {
  json_object *ja, *jb;
  int same;
  if (strcmp(a, b) == 0)
    return 1;
  ja = json_tokener_parse(a);
  jb = json_tokener_parse(b);
  same = ja != NULL && jb != NULL && json_object_equal(ja, jb);
  json_object_put(ja);
  json_object_put(jb);
  return same;
}

/* A pragma or statement's first column as an integer (or text into buf). */
static int st_query1(ad_store_t *st, const char *sql, int64_t *num,
                     char *buf, size_t len) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
  if (rc != SQLITE_OK)
    return st_sqlerr(st, rc);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    if (num != NULL)
      *num = sqlite3_column_int64(s, 0);
    if (buf != NULL)
      snprintf(buf, len, "%s",
               sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
                                         : "");
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  } else {
    st_sqlerr(st, rc);
  }
  sqlite3_finalize(s);
  return rc;
}

static int st_exec(ad_store_t *st, const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    snprintf(st->sqlmsg, sizeof(st->sqlmsg), "%s",
             msg != NULL ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
  }
  return rc;
}

/* A SQLite failure rc while opening: "in use" for a lock held elsewhere. */
static int st_open_fail(ad_store_t *st, int rc, const char *what) {
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    st->in_use = 1;
    return st_failf(st, AD_ECONFIG,
                    "in use by another run (an airdust process, or another "
                    "sync of this one, has it open); wait for it to end or "
                    "use another store file");
  }
  if ((rc & 0xff) == SQLITE_NOTADB) {
    sqlite3_close_v2(st->db); /* before reading the file ourselves */
    st->db = NULL;
    return st_failf(st, AD_ECONFIG, "%s", st_what_file(st->path));
  }
  return st_fail(st, rc, "%s", what);
}

/* The store this connection opened is ours and made for source and
 * destination; makes the schema in an empty file (*fresh = 1). Inside
 * the open transaction. */
static int st_check(ad_store_t *st, const char *source,
                    const char *destination, int *fresh) {
  int64_t app = 0, version = 0, objects = 0;
  sqlite3_stmt *s;
  const char *have;
  int rc;

  if ((rc = st_query1(st, "PRAGMA application_id", &app, NULL, 0)) != 0 ||
      (rc = st_query1(st, "PRAGMA user_version", &version, NULL, 0)) != 0 ||
      (rc = st_query1(st, "SELECT count(*) FROM sqlite_master", &objects, NULL,
                      0)) != 0)
    return st_open_fail(st, rc, "reading its header");
  if (app == 0 && version == 0 && objects == 0) {
    if ((rc = st_exec(st, ad_store_schema)) != SQLITE_OK)
      return st_fail(st, rc, "creating the store");
    rc = sqlite3_prepare_v2(st->db,
                            "INSERT INTO store(id, source, destination,"
                            " created_at, opened_at) VALUES(1, ?1, ?2, " AD_STORE_NOW
                            ", " AD_STORE_NOW ")",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
      return st_fail(st, st_sqlerr(st, rc), "creating the store");
    st_bind_text(s, 1, source);
    st_bind_text(s, 2, destination);
    rc = st_run(st, s);
    sqlite3_finalize(s);
    if (rc != SQLITE_OK)
      return st_fail(st, rc, "creating the store");
    *fresh = 1;
    return 0;
  }
  if (app != AD_STORE_APP_ID)
    return st_failf(st, AD_ECONFIG,
                    "an SQLite database that is not an airdust store: move "
                    "it away or choose another file");
  if (version > AD_STORE_SCHEMA)
    return st_failf(st, AD_ECONFIG,
                    "made by a newer airdust (store schema %lld; this one "
                    "reads schema %d): use that version, or remove the file "
                    "(the next run rewrites everything once)",
                    (long long)version, AD_STORE_SCHEMA);
  if (version < 1)
    return st_failf(st, AD_ECONFIG,
                    "an airdust store without a schema version: remove it "
                    "(the next run rewrites everything once)");
  rc = sqlite3_prepare_v2(st->db,
                          "SELECT source, destination FROM store WHERE id = 1",
                          -1, &s, NULL);
  if (rc != SQLITE_OK)
    return st_open_fail(st, st_sqlerr(st, rc), "reading what it was made for");
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE)
      rc = st_failf(st, AD_ECONFIG,
                    "damaged airdust store (it does not say what it was made "
                    "for): remove it (the next run rewrites everything once)");
    else
      rc = st_open_fail(st, st_sqlerr(st, rc), "reading what it was made for");
    sqlite3_finalize(s);
    return rc;
  }
  rc = 0;
  have = (const char *)sqlite3_column_text(s, 0);
  if (have == NULL || !st_same_json(have, source))
    rc = st_failf(st, AD_ECONFIG,
                  "made for another source: %s (this run reads from %s); use "
                  "another store file, or remove this one to start over",
                  have ? have : "none", source);
  have = (const char *)sqlite3_column_text(s, 1);
  if (rc == 0 && (have == NULL || !st_same_json(have, destination)))
    rc = st_failf(st, AD_ECONFIG,
                  "made for another destination: %s (this run writes to %s); "
                  "use another store file, or remove this one to start over",
                  have ? have : "none", destination);
  sqlite3_finalize(s);
  if (rc != 0)
    return rc;
  /* The write that takes the lock for good (and dates this open). */
  if ((rc = st_exec(st, "UPDATE store SET opened_at = " AD_STORE_NOW
                        " WHERE id = 1")) != SQLITE_OK)
    return st_open_fail(st, rc, "writing to it");
  return 0;
}

static int st_connect(ad_store_t *st, const char *source,
                      const char *destination, int *fresh) {
  char mode[16];
  int rc, i;

  rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK) {
    if (st->db != NULL)
      st_sqlerr(st, rc);
    else
      snprintf(st->sqlmsg, sizeof(st->sqlmsg), "%s", sqlite3_errstr(rc));
    return st_fail(st, rc, "cannot open it");
  }
  sqlite3_extended_result_codes(st->db, 1);
  sqlite3_busy_timeout(st->db, 0); /* a held lock is refused at once */
  /* Exclusive: the first read takes a lock that is kept, and WAL then runs
   * in heap memory (no -shm), taking the exclusive lock at once. */
  if ((rc = st_exec(st, "PRAGMA locking_mode = EXCLUSIVE")) != SQLITE_OK)
    return st_open_fail(st, rc, "setting its locking mode");
  if ((rc = st_query1(st, "PRAGMA journal_mode = WAL", NULL, mode,
                      sizeof(mode))) != SQLITE_OK)
    return st_open_fail(st, rc, "setting its journal mode");
  if (strcmp(mode, "wal") != 0) {
    snprintf(st->sqlmsg, sizeof(st->sqlmsg), "journal mode stays %s", mode);
    return st_fail(st, SQLITE_IOERR, "setting WAL journal mode");
  }
  if ((rc = st_exec(st, "PRAGMA synchronous = NORMAL;"
                        "PRAGMA cache_size = -1024")) != SQLITE_OK)
    return st_open_fail(st, rc, "setting its options");
  if ((rc = st_exec(st, "BEGIN IMMEDIATE")) != SQLITE_OK)
    return st_open_fail(st, rc, "locking it");
  if ((rc = st_check(st, source, destination, fresh)) != 0)
    return rc; /* rolled back at close */
  for (i = 0; i < S_N; i++) {
    rc = sqlite3_prepare_v3(st->db, ad_store_sql[i], -1,
                            SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
    if (rc != SQLITE_OK)
      return st_open_fail(st, st_sqlerr(st, rc), "preparing its statements");
  }
  if ((rc = st_commit(st)) != SQLITE_OK)
    return st_open_fail(st, rc, "writing to it");
  return 0;
}

static void st_free(ad_store_t *st) {
  int i;
  for (i = 0; i < S_N; i++)
    sqlite3_finalize(st->stmt[i]);
  sqlite3_close_v2(st->db);
  st_cache_drop(st);
  free(st->path);
  free(st);
}

int ad_store_open(ad_store_t **out, const char *path, const char *source,
                  const char *destination, int *created, char *err,
                  size_t errlen) {
  ad_store_t *st;
  int made = 0, fresh = 0, fd, rc;

  assert(out != NULL && path != NULL && source != NULL &&
         destination != NULL && (err != NULL || errlen == 0));
  *out = NULL;
  if (created != NULL)
    *created = 0;
  if (errlen > 0)
    err[0] = '\0';
  if ((st = calloc(1, sizeof(*st))) == NULL ||
      (st->path = strdup(path)) == NULL) {
    free(st);
    if (errlen > 0)
      snprintf(err, errlen, "store %s: %s", path, ad_strerror(AD_ENOMEM));
    return AD_ENOMEM;
  }
  /* Made here, private (SQLite's side files take its mode); a stale WAL
   * left beside a removed store must not be replayed into the new one. */
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    made = 1;
    st_unlink_side_files(path);
  } else if (errno != EEXIST) {
    rc = st_failf(st, AD_EIO, "cannot create it: %s", strerror(errno));
    goto fail;
  }
  if ((rc = st_connect(st, source, destination, &fresh)) != 0)
    goto fail;
  if (created != NULL)
    *created = fresh;
  *out = st;
  return 0;

fail:
  if (errlen > 0)
    snprintf(err, errlen, "%s", st->err);
  if (st->db != NULL && !sqlite3_get_autocommit(st->db))
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  if (made && !st->in_use) {
    sqlite3_close_v2(st->db);
    st->db = NULL;
    unlink(path);
    st_unlink_side_files(path);
  }
  st_free(st);
  return rc;
}

void ad_store_close(ad_store_t *st) {
  if (st == NULL)
    return;
  assert(!st->iterating);
  if (st_commit(st) != SQLITE_OK)
    st_rollback(st);
  st_free(st);
}

const char *ad_store_path(const ad_store_t *st) {
  assert(st != NULL);
  return st->path;
}

const char *ad_store_error(const ad_store_t *st) {
  assert(st != NULL);
  return st->err;
}

int ad_store_commit(ad_store_t *st) {
  int rc;
  assert(st != NULL);
  if ((rc = st_commit(st)) != SQLITE_OK)
    return st_fail(st, rc, "committing");
  return 0;
}

/* ---- Meta ---- */

int ad_store_meta_get(ad_store_t *st, const char *key, char *out,
                      size_t outlen) {
  sqlite3_stmt *s;
  size_t n;
  int rc;

  assert(st != NULL && key != NULL && out != NULL && outlen > 0);
  out[0] = '\0';
  s = st->stmt[S_META_GET];
  st_bind_text(s, 1, key);
  rc = st_row(st, s);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_fail(st, rc, "reading meta %s", key);
  n = (size_t)sqlite3_column_bytes(s, 0);
  if (n >= outlen) {
    sqlite3_reset(s);
    return st_failf(st, AD_EINVAL, "meta %s: its value (%zu bytes) does not "
                    "fit in %zu", key, n, outlen);
  }
  if (n > 0)
    memcpy(out, sqlite3_column_text(s, 0), n);
  out[n] = '\0';
  sqlite3_reset(s);
  return 1;
}

int ad_store_meta_set(ad_store_t *st, const char *key, const char *value) {
  sqlite3_stmt *s;
  int rc;

  assert(st != NULL && key != NULL);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "setting meta %s", key);
  s = st->stmt[value != NULL ? S_META_SET : S_META_DEL];
  st_bind_text(s, 1, key);
  if (value != NULL)
    st_bind_text(s, 2, value);
  if ((rc = st_run(st, s)) != SQLITE_OK || (rc = st_commit(st)) != SQLITE_OK)
    return st_fail(st, rc, "setting meta %s", key);
  return 0;
}

/* ---- Runs ---- */

int ad_store_run_begin(ad_store_t *st, int *resumed) {
  sqlite3_stmt *s = st->stmt[S_RUN_LAST];
  int64_t last = 0;
  int complete = 1, rc;

  assert(st != NULL && st->run == 0);
  if (resumed != NULL)
    *resumed = 0;
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "beginning a run");
  rc = st_row(st, s);
  if (rc == SQLITE_ROW) {
    last = sqlite3_column_int64(s, 0);
    complete = sqlite3_column_int(s, 1);
    sqlite3_reset(s);
  } else if (rc != SQLITE_DONE) {
    return st_fail(st, rc, "reading the last run");
  }
  if (last != 0 && !complete) {
    s = st->stmt[S_RUN_RESUME];
    sqlite3_bind_int64(s, 1, last);
    if ((rc = st_run(st, s)) != SQLITE_OK)
      return st_fail(st, rc, "resuming run %lld", (long long)last);
  } else {
    if ((rc = st_run(st, st->stmt[S_RUN_NEW])) != SQLITE_OK)
      return st_fail(st, rc, "beginning a run");
    last = sqlite3_last_insert_rowid(st->db);
    s = st->stmt[S_RUN_PRUNE];
    sqlite3_bind_int64(s, 1, last - AD_STORE_RUNS_KEPT);
    if ((rc = st_run(st, s)) != SQLITE_OK)
      return st_fail(st, rc, "forgetting old runs");
    complete = 1;
  }
  if ((rc = st_commit(st)) != SQLITE_OK)
    return st_fail(st, rc, "beginning a run");
  st->run = last;
  if (resumed != NULL)
    *resumed = !complete;
  return 0;
}

int ad_store_run_end(ad_store_t *st, int complete) {
  sqlite3_stmt *s;
  int rc;

  assert(st != NULL && st->run != 0);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "ending run %lld", (long long)st->run);
  s = st->stmt[S_RUN_END];
  sqlite3_bind_int64(s, 1, st->run);
  sqlite3_bind_int(s, 2, complete ? 1 : 0);
  if ((rc = st_run(st, s)) != SQLITE_OK || (rc = st_commit(st)) != SQLITE_OK)
    return st_fail(st, rc, "ending run %lld", (long long)st->run);
  st->run = 0;
  return 0;
}

/* ---- Tables ---- */

int ad_store_table_note(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *origin,
                        const char *name) {
  sqlite3_stmt *s;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "recording table %s/%s", group_id, table_id);
  s = st->stmt[S_TABLE_NOTE];
  st_bind_text(s, 1, group_id);
  st_bind_text(s, 2, table_id);
  st_bind_text(s, 3, origin);
  st_bind_text(s, 4, name);
  if ((rc = st_run(st, s)) != SQLITE_OK)
    return st_fail(st, rc, "recording table %s/%s", group_id, table_id);
  return 0;
}

int ad_store_tables(ad_store_t *st,
                    int (*cb)(const ad_store_table_t *t, void *data),
                    void *data) {
  sqlite3_stmt *s;
  ad_store_table_t t;
  int rc, stop = 0;

  assert(st != NULL && cb != NULL && !st->iterating);
  /* every table's puts settled first, so each one's count is whole */
  if ((rc = st_begin(st)) != SQLITE_OK ||
      (rc = st_run(st, st->stmt[S_SETTLE_ALL])) != SQLITE_OK ||
      (rc = st_run(st, st->stmt[S_SETTLE_ALL_DROP])) != SQLITE_OK)
    return st_fail(st, rc, "listing tables");
  s = st->stmt[S_TABLES];
  st->iterating = 1;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    t.group_id = (const char *)sqlite3_column_text(s, 0);
    t.table_id = (const char *)sqlite3_column_text(s, 1);
    t.origin = (const char *)sqlite3_column_text(s, 2);
    t.name = (const char *)sqlite3_column_text(s, 3);
    t.finished = st->run != 0 && sqlite3_column_type(s, 4) != SQLITE_NULL &&
                 sqlite3_column_int64(s, 4) == st->run;
    t.records = (uint64_t)sqlite3_column_int64(s, 5);
    if (t.group_id == NULL || t.table_id == NULL)
      continue;
    if ((stop = cb(&t, data)) != 0)
      break;
  }
  st->iterating = 0;
  if (stop == 0 && rc != SQLITE_DONE)
    st_sqlerr(st, rc);
  sqlite3_reset(s);
  if (stop != 0)
    return stop;
  if (rc != SQLITE_DONE)
    return st_fail(st, rc, "listing tables");
  return 0;
}

int ad_store_table_finished(ad_store_t *st, const char *group_id,
                            const char *table_id) {
  sqlite3_stmt *s;
  int rc, finished;

  assert(st != NULL && group_id != NULL && table_id != NULL);
  if (st->run == 0)
    return 0;
  s = st->stmt[S_FINISHED];
  st_bind_text(s, 1, group_id);
  st_bind_text(s, 2, table_id);
  rc = st_row(st, s);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_fail(st, rc, "reading table %s/%s", group_id, table_id);
  finished = sqlite3_column_type(s, 0) != SQLITE_NULL &&
             sqlite3_column_int64(s, 0) == st->run;
  sqlite3_reset(s);
  return finished;
}

static int st_settle(ad_store_t *st, int64_t key);

int ad_store_table_finish(ad_store_t *st, const char *group_id,
                          const char *table_id) {
  sqlite3_stmt *s;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL && st->run != 0);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "finishing table %s/%s", group_id, table_id);
  if ((rc = st_table_key(st, group_id, table_id, 1, &key)) < 0)
    return rc;
  if ((rc = st_settle(st, key)) != SQLITE_OK)
    return st_fail(st, rc, "finishing table %s/%s", group_id, table_id);
  s = st->stmt[S_FINISH];
  sqlite3_bind_int64(s, 1, st->run);
  sqlite3_bind_int64(s, 2, key);
  if ((rc = st_run(st, s)) != SQLITE_OK || (rc = st_commit(st)) != SQLITE_OK)
    return st_fail(st, rc, "finishing table %s/%s", group_id, table_id);
  return 0;
}

int ad_store_table_forget(ad_store_t *st, const char *group_id,
                          const char *table_id) {
  sqlite3_stmt *s;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "forgetting table %s/%s", group_id, table_id);
  if ((rc = st_table_key(st, group_id, table_id, 0, &key)) < 0)
    return rc;
  if (rc == 1) {
    st_cache_drop(st);
    s = st->stmt[S_SETTLE_DROP];
    sqlite3_bind_int64(s, 1, key);
    if ((rc = st_run(st, s)) != SQLITE_OK)
      return st_fail(st, rc, "forgetting table %s/%s", group_id, table_id);
    s = st->stmt[S_FORGET_RECORDS];
    sqlite3_bind_int64(s, 1, key);
    if ((rc = st_run(st, s)) != SQLITE_OK)
      return st_fail(st, rc, "forgetting table %s/%s", group_id, table_id);
    s = st->stmt[S_FORGET_TABLE];
    sqlite3_bind_int64(s, 1, key);
    if ((rc = st_run(st, s)) != SQLITE_OK)
      return st_fail(st, rc, "forgetting table %s/%s", group_id, table_id);
  }
  if ((rc = st_commit(st)) != SQLITE_OK)
    return st_fail(st, rc, "forgetting table %s/%s", group_id, table_id);
  return 0;
}

/* ---- Records ---- */

/* Puts go to the acks log in the order they come, which costs a page at
 * its end; a table's puts move into records, sorted there by SQLite, when
 * the table is read (records, get, count), finished, deleted from or
 * forgotten. Inserting a million acknowledgements straight into records,
 * whose ids arrive in no order, rewrote most of its pages at every commit
 * (the sync's system time grew by a third). Later puts of an id win. */
static int st_settle(ad_store_t *st, int64_t key) {
  sqlite3_stmt *s;
  int rc;
  if ((rc = st_begin(st)) != SQLITE_OK)
    return rc;
  s = st->stmt[S_SETTLE];
  sqlite3_bind_int64(s, 1, key);
  if ((rc = st_run(st, s)) != SQLITE_OK)
    return rc;
  s = st->stmt[S_SETTLE_DROP];
  sqlite3_bind_int64(s, 1, key);
  return st_run(st, s);
}

static void st_hash_of(sqlite3_stmt *s, int col, ad_store_hash_t *h) {
  const void *blob = sqlite3_column_blob(s, col);
  if (blob != NULL && sqlite3_column_bytes(s, col) == (int)sizeof(h->b))
    memcpy(h->b, blob, sizeof(h->b));
  else /* damaged: unknown, so rewritten */
    memset(h->b, 0, sizeof(h->b));
}

int ad_store_records(ad_store_t *st, const char *group_id,
                     const char *table_id,
                     int (*cb)(const char *id, const ad_store_hash_t *h,
                               void *data),
                     void *data) {
  sqlite3_stmt *s;
  ad_store_hash_t h;
  const char *id;
  int64_t key;
  int rc, stop = 0;

  assert(st != NULL && group_id != NULL && table_id != NULL && cb != NULL &&
         !st->iterating);
  if ((rc = st_table_key(st, group_id, table_id, 0, &key)) <= 0)
    return rc;
  if ((rc = st_settle(st, key)) != SQLITE_OK)
    return st_fail(st, rc, "reading the records of %s/%s", group_id,
                   table_id);
  s = st->stmt[S_RECORDS];
  sqlite3_bind_int64(s, 1, key);
  st->iterating = 1;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    id = (const char *)sqlite3_column_text(s, 0);
    st_hash_of(s, 1, &h);
    if ((stop = cb(id != NULL ? id : "", &h, data)) != 0)
      break;
  }
  st->iterating = 0;
  if (stop == 0 && rc != SQLITE_DONE)
    st_sqlerr(st, rc);
  sqlite3_reset(s);
  if (stop != 0)
    return stop;
  if (rc != SQLITE_DONE)
    return st_fail(st, rc, "reading the records of %s/%s", group_id, table_id);
  return 0;
}

int ad_store_record_get(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id,
                        ad_store_hash_t *h) {
  sqlite3_stmt *s;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL && id != NULL &&
         h != NULL);
  memset(h->b, 0, sizeof(h->b));
  if ((rc = st_table_key(st, group_id, table_id, 0, &key)) <= 0)
    return rc;
  if ((rc = st_settle(st, key)) != SQLITE_OK)
    return st_fail(st, rc, "reading record %s of %s/%s", id, group_id,
                   table_id);
  s = st->stmt[S_GET];
  sqlite3_bind_int64(s, 1, key);
  st_bind_text(s, 2, id);
  rc = st_row(st, s);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_fail(st, rc, "reading record %s of %s/%s", id, group_id,
                   table_id);
  st_hash_of(s, 0, h);
  sqlite3_reset(s);
  return 1;
}

uint64_t ad_store_record_count(ad_store_t *st, const char *group_id,
                               const char *table_id) {
  sqlite3_stmt *s;
  uint64_t n;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL);
  if (st_table_key(st, group_id, table_id, 0, &key) <= 0)
    return 0;
  if ((rc = st_settle(st, key)) != SQLITE_OK) {
    st_fail(st, rc, "counting the records of %s/%s", group_id, table_id);
    return 0;
  }
  s = st->stmt[S_COUNT];
  sqlite3_bind_int64(s, 1, key);
  rc = st_row(st, s);
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE)
      st_fail(st, rc, "counting the records of %s/%s", group_id, table_id);
    return 0;
  }
  n = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return n;
}

/* A record written with statement which (S_PUT or S_ADD). */
static int st_record_write(ad_store_t *st, int which, const char *group_id,
                           const char *table_id, const char *id,
                           const ad_store_hash_t *h) {
  sqlite3_stmt *s;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL && id != NULL &&
         h != NULL);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "writing record %s of %s/%s", id, group_id,
                   table_id);
  if ((rc = st_table_key(st, group_id, table_id, 1, &key)) < 0)
    return rc;
  s = st->stmt[which];
  sqlite3_bind_int64(s, 1, key);
  st_bind_text(s, 2, id);
  sqlite3_bind_blob(s, 3, h->b, (int)sizeof(h->b), SQLITE_STATIC);
  if ((rc = st_run(st, s)) != SQLITE_OK)
    return st_fail(st, rc, "writing record %s of %s/%s", id, group_id,
                   table_id);
  return 0;
}

int ad_store_record_put(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id,
                        const ad_store_hash_t *h) {
  return st_record_write(st, S_PUT, group_id, table_id, id, h);
}

int ad_store_record_add(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id,
                        const ad_store_hash_t *h) {
  return st_record_write(st, S_ADD, group_id, table_id, id, h);
}

int ad_store_record_del(ad_store_t *st, const char *group_id,
                        const char *table_id, const char *id) {
  sqlite3_stmt *s;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL && id != NULL);
  if ((rc = st_table_key(st, group_id, table_id, 0, &key)) <= 0)
    return rc;
  if ((rc = st_settle(st, key)) != SQLITE_OK) /* a put of it may wait */
    return st_fail(st, rc, "deleting record %s of %s/%s", id, group_id,
                   table_id);
  s = st->stmt[S_DEL];
  sqlite3_bind_int64(s, 1, key);
  st_bind_text(s, 2, id);
  if ((rc = st_run(st, s)) != SQLITE_OK)
    return st_fail(st, rc, "deleting record %s of %s/%s", id, group_id,
                   table_id);
  return 0;
}

int ad_store_table_hash(ad_store_t *st, const char *group_id,
                        const char *table_id, ad_store_hash_t *h) {
  sqlite3_stmt *s;
  int64_t key;
  int rc, found;

  assert(st != NULL && group_id != NULL && table_id != NULL && h != NULL);
  memset(h->b, 0, sizeof(h->b));
  if ((rc = st_table_key(st, group_id, table_id, 0, &key)) <= 0)
    return rc;
  s = st->stmt[S_DESC_GET];
  sqlite3_bind_int64(s, 1, key);
  rc = st_row(st, s);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_fail(st, rc, "reading table %s/%s", group_id, table_id);
  found = sqlite3_column_type(s, 0) == SQLITE_BLOB;
  if (found)
    st_hash_of(s, 0, h);
  sqlite3_reset(s);
  return found;
}

int ad_store_table_set_hash(ad_store_t *st, const char *group_id,
                            const char *table_id, const ad_store_hash_t *h) {
  sqlite3_stmt *s;
  int64_t key;
  int rc;

  assert(st != NULL && group_id != NULL && table_id != NULL && h != NULL);
  if ((rc = st_begin(st)) != SQLITE_OK)
    return st_fail(st, rc, "writing table %s/%s", group_id, table_id);
  if ((rc = st_table_key(st, group_id, table_id, 1, &key)) < 0)
    return rc;
  s = st->stmt[S_DESC_SET];
  sqlite3_bind_int64(s, 1, key);
  sqlite3_bind_blob(s, 2, h->b, (int)sizeof(h->b), SQLITE_STATIC);
  if ((rc = st_run(st, s)) != SQLITE_OK)
    return st_fail(st, rc, "writing table %s/%s", group_id, table_id);
  return 0;
}

/* ---- Paths ---- */

int ad_store_default_path(const char *state_dir, const char *source,
                          const char *destination, const char *key,
                          char **out) {
  const char *parts[4];
  char hex[17];
  size_t len;

  assert(state_dir != NULL && source != NULL && destination != NULL &&
         out != NULL);
  parts[0] = source;
  parts[1] = destination;
  parts[2] = key; /* NULL ends the list there */
  parts[3] = NULL;
  ad_digest_hex(parts, hex, 16);
  len = strlen(state_dir) + sizeof("/sync-") - 1 + 16 + sizeof(".db");
  if ((*out = malloc(len)) == NULL)
    return AD_ENOMEM;
  snprintf(*out, len, "%s/sync-%s.db", state_dir, hex);
  return 0;
}
