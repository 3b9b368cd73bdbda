/* The jsonl sink. Each table's pages are written in order by one job at
 * a time on libuv's thread pool (tables in parallel, up to
 * engine.sink_concurrency pages held at once), into TABLE.jsonl.part
 * beside TABLE.schema.json.part; after the table's last page both are
 * flushed to disk and renamed: only then is the table done, so an
 * interrupted export leaves the previous files of a table whole. */
#include "jsonl_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "error.h"
#include "host.h"
#include "jsonl.h"
#include "list.h"
#include "mkdirs.h"
#include "page.h"
#include "timers.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

typedef struct ad_jl_sink ad_jl_sink_t;

/* A table of the export: table->sink_data, from prepare until close. */
typedef struct ad_jl_table {
  ad_list_t node; /* sink->tables */
  ad_jl_sink_t *sink;
  ad_table_t *table; /* one reference */
  char *dir, *data, *part, *schema, *schema_part;
  int created;       /* its .part files exist (the first job made them) */
  ad_list_t pages;   /* taken, waiting for the table's writer */
  int busy;          /* a job is writing */
  int failed;
} ad_jl_table_t;

typedef struct ad_jl_job {
  uv_work_t work;
  ad_jl_table_t *tbl;
  ad_page_t *page;
  int fd; /* the .part file, open while the job writes */
  int rc;
  char err[600];
} ad_jl_job_t;

struct ad_jl_sink {
  ad_sink_t *host;
  const ad_jl_sink_config_t *conf;
  uv_loop_t *loop;
  ad_timers_t *timers;
  ad_list_t tables;
  size_t held, max_held; /* pages taken and not yet ended */
  int jobs;
  int finishing, aborted, drained;
  char abort_reason[512];
  ad_timers_entry_t drained_entry;
  uv_work_t check_work;
  int check_rc;
  char check_report[640];
};

static void ad_jl_pump(ad_jl_table_t *tbl);
static void ad_jl_take(void *ctx);

/* ---- paths --------------------------------------------------------------- */

/* DIR/GROUP and DIR/GROUP/TABLE + suffix, the ids made file names. */
static char *ad_jl_path(const char *root, const char *group,
                        const char *table, const char *suffix) {
  ad_buf_t b;
  int rc;
  ad_buf_init(&b, 0);
  rc = ad_buf_puts(&b, root);
  if (rc == 0)
    rc = ad_buf_append(&b, "/", 1);
  if (rc == 0)
    rc = ad_jsonl_file_name(&b, group);
  if (rc == 0 && table != NULL) {
    rc = ad_buf_append(&b, "/", 1);
    if (rc == 0)
      rc = ad_jsonl_file_name(&b, table);
    if (rc == 0)
      rc = ad_buf_puts(&b, suffix);
  }
  if (rc != 0) {
    ad_buf_free(&b);
    return NULL;
  }
  return ad_buf_steal(&b, NULL);
}

/* ---- the writer (thread pool) --------------------------------------------- */

static int ad_jl_errno(ad_jl_job_t *job, const char *what, const char *path) {
  snprintf(job->err, sizeof(job->err), "%s %s: %s", what, path,
           strerror(errno));
  return AD_EIO;
}

/* The whole buffer, through partial writes and interruptions. */
static int ad_jl_write_all(int fd, const char *p, size_t len) {
  ssize_t n;
  while (len > 0) {
    n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The schema as SCHEMA.part and the data file as TABLE.jsonl.part; both
 * take their names at the table's end (ad_jl_seal), so a table's schema
 * never changes under its data while the export runs. */
static int ad_jl_create(ad_jl_job_t *job) {
  ad_jl_table_t *tbl = job->tbl;
  char why[512];
  ad_buf_t text;
  int fd, rc;

  if (ad_mkdirs(tbl->dir, why, sizeof(why)) != 0) {
    snprintf(job->err, sizeof(job->err), "%s", why);
    return AD_EIO;
  }
  ad_buf_init(&text, 0);
  if ((rc = ad_jsonl_schema_write(&text, tbl->table)) != 0) {
    ad_buf_free(&text);
    snprintf(job->err, sizeof(job->err), "%s: %s", tbl->schema,
             ad_strerror(rc));
    return rc;
  }
  fd = open(tbl->schema_part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
            0644);
  rc = fd < 0 || ad_jl_write_all(fd, text.data, text.len) != 0 ||
       fsync(fd) != 0;
  ad_buf_free(&text);
  if (fd >= 0 && close(fd) != 0)
    rc = 1;
  if (rc)
    return ad_jl_errno(job, "cannot write", tbl->schema_part);
  fd = open(tbl->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || close(fd) != 0)
    return ad_jl_errno(job, "cannot create", tbl->part);
  tbl->created = 1;
  return 0;
}

/* The page's lines, IOV_MAX at a time (the ids between them stay out). */
static int ad_jl_write_page(ad_jl_job_t *job) {
  const ad_page_t *page = job->page;
  struct iovec iov[IOV_MAX > 1024 ? 1024 : IOV_MAX];
  size_t i = 0, n, k;
  ssize_t w;

  while (i < page->nunits) {
    n = page->nunits - i;
    if (n > sizeof(iov) / sizeof(iov[0]))
      n = sizeof(iov) / sizeof(iov[0]);
    for (k = 0; k < n; k++) {
      iov[k].iov_base = (char *)ad_page_unit(page, i + k);
      iov[k].iov_len = page->units[i + k].len;
    }
    k = 0;
    while (k < n) { /* partial writes: on from where it stopped */
      w = writev(job->fd, iov + k, (int)(n - k));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return ad_jl_errno(job, "cannot write", job->tbl->part);
      while (k < n && (size_t)w >= iov[k].iov_len)
        w -= (ssize_t)iov[k++].iov_len;
      if (k < n) {
        iov[k].iov_base = (char *)iov[k].iov_base + w;
        iov[k].iov_len -= (size_t)w;
      }
    }
    i += n;
  }
  return 0;
}

/* The table's end (the data already on disk): both files under their
 * final names (the schema first, back to back with the data), then the
 * folder on disk so the names are too: only then may a resumed run skip
 * it. */
static int ad_jl_seal(ad_jl_job_t *job) {
  ad_jl_table_t *tbl = job->tbl;
  int rc, dir;
  if (rename(tbl->schema_part, tbl->schema) != 0)
    return ad_jl_errno(job, "cannot rename to", tbl->schema);
  if (rename(tbl->part, tbl->data) != 0)
    return ad_jl_errno(job, "cannot rename to", tbl->data);
  if ((dir = open(tbl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
      fsync(dir) != 0) {
    rc = ad_jl_errno(job, "cannot write", tbl->dir);
    if (dir >= 0)
      close(dir);
    return rc;
  }
  close(dir);
  return 0;
}

/* One page: the files made at the table's first page, the page appended,
 * and at its last page flushed and named. The file is open only while a
 * job writes it, so an export of thousands of tables written side by
 * side holds a few descriptors, not one per table. */
static void ad_jl_work(uv_work_t *work) {
  ad_jl_job_t *job = work->data;
  ad_jl_table_t *tbl = job->tbl;
  int rc;

  job->rc = 0;
  if (!tbl->created && (job->rc = ad_jl_create(job)) != 0)
    return;
  job->fd = open(tbl->part, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (job->fd < 0) {
    job->rc = ad_jl_errno(job, "cannot open", tbl->part);
    return;
  }
  job->rc = ad_jl_write_page(job);
  if (job->rc == 0 && job->page->last && fsync(job->fd) != 0)
    job->rc = ad_jl_errno(job, "cannot write", tbl->part);
  rc = close(job->fd);
  if (job->rc == 0 && rc != 0)
    job->rc = ad_jl_errno(job, "cannot write", tbl->part);
  if (job->rc == 0 && job->page->last)
    job->rc = ad_jl_seal(job);
}

/* ---- on the loop ---------------------------------------------------------- */

static void ad_jl_on_drained(ad_timers_entry_t *e, void *data) {
  ad_jl_sink_t *sink = data;
  (void)e;
  ad_sink_drained(sink->host);
}

/* Done once finishing and nothing is held, out or queued; said from a
 * loop turn of its own. */
static void ad_jl_check_drained(ad_jl_sink_t *sink) {
  if (!sink->finishing || sink->drained || sink->held > 0 || sink->jobs > 0 ||
      ad_sink_has_page(sink->host))
    return;
  sink->drained = 1;
  if (ad_timers_after(sink->timers, &sink->drained_entry, 0, ad_jl_on_drained,
                      sink) != 0)
    ad_jl_on_drained(&sink->drained_entry, sink);
}

/* A page that will not be written: its records fail with why. */
static void ad_jl_fail_page(ad_jl_sink_t *sink, ad_page_t *page,
                            const char *why) {
  ad_sink_failed(sink->host, page->table, NULL, why, page->nunits);
  ad_page_free(page);
  sink->held--;
}

static void ad_jl_table_fail(ad_jl_table_t *tbl, const char *why) {
  ad_list_t *n;
  tbl->failed = 1;
  ad_sink_table_failed(tbl->sink->host, tbl->table, NULL);
  while ((n = ad_list_head(&tbl->pages)) != NULL) {
    ad_list_remove(n);
    ad_jl_fail_page(tbl->sink, ad_container_of(n, ad_page_t, item.node), why);
  }
}

static void ad_jl_done(uv_work_t *work, int status) {
  ad_jl_job_t *job = work->data;
  ad_jl_table_t *tbl = job->tbl;
  ad_jl_sink_t *sink = tbl->sink;
  ad_page_t *page = job->page;
  int last = page->last;

  (void)status; /* never canceled */
  sink->jobs--;
  tbl->busy = 0;
  if (job->rc == 0) {
    ad_sink_written(sink->host, page->table, page->nunits);
    ad_page_free(page);
    sink->held--;
    if (last)
      ad_sink_table_done(sink->host, tbl->table);
  } else {
    ad_jl_fail_page(sink, page, job->err);
    ad_jl_table_fail(tbl, job->err);
  }
  free(job);
  ad_jl_pump(tbl);
  ad_jl_take(sink); /* room again */
  ad_jl_check_drained(sink);
}

/* The table's next page to the thread pool, one at a time per table. */
static void ad_jl_pump(ad_jl_table_t *tbl) {
  ad_jl_sink_t *sink = tbl->sink;
  ad_list_t *n;
  ad_jl_job_t *job;

  if (tbl->busy || (n = ad_list_head(&tbl->pages)) == NULL)
    return;
  if ((job = calloc(1, sizeof(*job))) == NULL) {
    /* A page missing from the file would leave a gap in the table: the
     * table fails, with every page it holds. */
    ad_jl_table_fail(tbl, "out of memory writing the table");
    return;
  }
  ad_list_remove(n);
  job->tbl = tbl;
  job->page = ad_container_of(n, ad_page_t, item.node);
  job->work.data = job;
  tbl->busy = 1;
  sink->jobs++;
  if (uv_queue_work(sink->loop, &job->work, ad_jl_work, ad_jl_done) != 0) {
    ad_jl_work(&job->work); /* not with a live loop */
    ad_jl_done(&job->work, 0);
  }
}

static void ad_jl_paths_free(ad_jl_table_t *tbl) {
  free(tbl->dir);
  free(tbl->data);
  free(tbl->part);
  free(tbl->schema);
  free(tbl->schema_part);
}

static ad_jl_table_t *ad_jl_table_new(ad_jl_sink_t *sink, ad_table_t *t) {
  const char *root = sink->conf->path;
  ad_jl_table_t *tbl = calloc(1, sizeof(*tbl));
  if (tbl == NULL)
    return NULL;
  tbl->sink = sink;
  ad_list_init(&tbl->pages);
  tbl->dir = ad_jl_path(root, t->group_id, NULL, NULL);
  tbl->data = ad_jl_path(root, t->group_id, t->table_id,
                         AD_JSONL_DATA_SUFFIX);
  tbl->part = ad_jl_path(root, t->group_id, t->table_id,
                         AD_JSONL_PART_SUFFIX);
  tbl->schema = ad_jl_path(root, t->group_id, t->table_id,
                           AD_JSONL_SCHEMA_SUFFIX);
  tbl->schema_part = ad_jl_path(root, t->group_id, t->table_id,
                                AD_JSONL_SCHEMA_SUFFIX ".part");
  if (tbl->dir == NULL || tbl->data == NULL || tbl->part == NULL ||
      tbl->schema == NULL || tbl->schema_part == NULL) {
    ad_jl_paths_free(tbl);
    free(tbl);
    return NULL;
  }
  tbl->table = ad_table_ref(t);
  t->sink_data = tbl;
  ad_list_insert_tail(&sink->tables, &tbl->node);
  return tbl;
}

static void ad_jl_table_free(ad_jl_table_t *tbl) {
  ad_list_t *n;
  while ((n = ad_list_head(&tbl->pages)) != NULL) { /* aborted: counted */
    ad_list_remove(n);
    ad_page_free(ad_container_of(n, ad_page_t, item.node));
  }
  /* A table that never ended keeps its .part files. */
  tbl->table->sink_data = NULL;
  ad_table_unref(tbl->table);
  ad_jl_paths_free(tbl);
  free(tbl);
}

/* ---- the plugin ------------------------------------------------------------ */

static int ad_jl_prepare(void *ctx, ad_table_t *t, char *err, size_t errlen) {
  ad_jl_sink_t *sink = ctx;
  (void)err;
  (void)errlen;
  if (t->sink_data != NULL)
    return 0;
  return ad_jl_table_new(sink, t) != NULL ? 0 : AD_ENOMEM;
}

/* A line per record: the unit is the line and its newline. */
static int ad_jl_encode(void *ctx, const ad_table_t *t, const ad_record_t *rec,
                        ad_page_t *page, ad_buf_t *scratch, char *err,
                        size_t errlen) {
  int rc;
  (void)ctx;
  (void)scratch;
  if (rec->id == NULL || rec->id[0] == '\0') {
    snprintf(err, errlen, "a record without an id");
    return AD_EPARSE;
  }
  if ((rc = ad_page_begin(page, rec->id, strlen(rec->id))) != 0)
    return rc;
  rc = ad_jsonl_record_write(&page->data, t, rec, err, errlen);
  if (rc == 0)
    rc = ad_buf_append(&page->data, "\n", 1);
  if (rc != 0) {
    ad_page_abort(page);
    return rc == AD_ENOMEM ? rc : AD_EPARSE;
  }
  ad_page_commit(page);
  return 0;
}

static unsigned ad_jl_wants(void *ctx) {
  (void)ctx;
  return AD_ENCODE_URL | AD_ENCODE_CREATED; /* an export keeps it all */
}

static void ad_jl_take(void *ctx) {
  ad_jl_sink_t *sink = ctx;
  ad_jl_table_t *tbl;
  ad_page_t *page;
  int rc;

  while (sink->held < sink->max_held &&
         (page = ad_sink_pop(sink->host)) != NULL) {
    sink->held++;
    if (sink->aborted) {
      ad_jl_fail_page(sink, page, sink->abort_reason);
      continue;
    }
    tbl = page->table->sink_data;
    rc = tbl == NULL && ad_jl_prepare(sink, page->table, NULL, 0) != 0;
    tbl = page->table->sink_data;
    if (rc || tbl == NULL) {
      ad_jl_fail_page(sink, page, "out of memory taking a page");
    } else if (tbl->failed) {
      ad_jl_fail_page(sink, page, "not written: the table's file failed");
    } else {
      ad_list_insert_tail(&tbl->pages, &page->item.node);
      ad_jl_pump(tbl);
    }
  }
  ad_jl_check_drained(sink);
}

static void ad_jl_finish(void *ctx) {
  ad_jl_sink_t *sink = ctx;
  sink->finishing = 1;
  ad_jl_take(sink);
}

/* What is held and queued fails; a job out finishes its page. */
static void ad_jl_abort(void *ctx, const char *reason) {
  ad_jl_sink_t *sink = ctx;
  ad_list_t *n, *m;
  ad_jl_table_t *tbl;
  ad_page_t *page;

  if (sink->aborted)
    return;
  sink->aborted = 1;
  snprintf(sink->abort_reason, sizeof(sink->abort_reason), "%s", reason);
  for (n = sink->tables.next; n != &sink->tables; n = n->next) {
    tbl = ad_container_of(n, ad_jl_table_t, node);
    while ((m = ad_list_head(&tbl->pages)) != NULL) {
      ad_list_remove(m);
      ad_jl_fail_page(sink, ad_container_of(m, ad_page_t, item.node),
                      reason);
    }
  }
  while ((page = ad_sink_pop(sink->host)) != NULL) {
    sink->held++;
    ad_jl_fail_page(sink, page, reason);
  }
  ad_jl_check_drained(sink);
}

/* check writes nothing: the folder is writable, or the nearest folder
 * that exists above it is, so the export could make it. */
static void ad_jl_check_work(uv_work_t *work) {
  ad_jl_sink_t *sink = work->data;
  const char *path = sink->conf->path;
  char at[4096];
  struct stat st;
  char *slash;

  snprintf(at, sizeof(at), "%s", path);
  while (stat(at, &st) != 0 && (slash = strrchr(at, '/')) != NULL &&
         slash != at)
    *slash = '\0';
  if (stat(at, &st) != 0) /* a relative path with no part made yet */
    snprintf(at, sizeof(at), ".");
  sink->check_rc = 0;
  if (stat(at, &st) != 0 || !S_ISDIR(st.st_mode)) {
    sink->check_rc = AD_EIO;
    snprintf(sink->check_report, sizeof(sink->check_report),
             "cannot make folder %.300s: %.300s is not a folder", path, at);
  } else if (access(at, W_OK | X_OK) != 0) {
    sink->check_rc = AD_EIO;
    snprintf(sink->check_report, sizeof(sink->check_report),
             "cannot write in %.300s: %s", at, strerror(errno));
  } else if (strcmp(at, path) == 0) {
    snprintf(sink->check_report, sizeof(sink->check_report),
             "folder %.300s is writable", path);
  } else {
    snprintf(sink->check_report, sizeof(sink->check_report),
             "folder %.300s can be made (in %.300s)", path, at);
  }
}

static void ad_jl_check_done(uv_work_t *work, int status) {
  ad_jl_sink_t *sink = work->data;
  (void)status;
  if (sink->check_rc != 0)
    ad_sink_fatal(sink->host, sink->check_report);
  ad_sink_checked(sink->host);
}

static int ad_jl_check(void *ctx) {
  ad_jl_sink_t *sink = ctx;
  sink->check_work.data = sink;
  return uv_queue_work(sink->loop, &sink->check_work, ad_jl_check_work,
                       ad_jl_check_done) == 0
             ? 0
             : AD_EINVAL;
}

static const char *ad_jl_check_report(void *ctx) {
  return ((ad_jl_sink_t *)ctx)->check_report;
}

static char *ad_jl_destination(const void *config) {
  const ad_jl_sink_config_t *c = config;
  json_object *d = json_object_new_object();
  char *text;
  if (d == NULL)
    return NULL;
  json_object_object_add(d, "jsonl", json_object_new_string(c->path));
  text = strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
  json_object_put(d);
  return text;
}

static int ad_jl_init(ad_sink_t *host, const void *config, void **ctx,
                      char *err, size_t errlen) {
  const ad_services_t *svc = ad_sink_services(host);
  ad_jl_sink_t *sink = calloc(1, sizeof(*sink));
  (void)err;
  (void)errlen;
  if (sink == NULL)
    return AD_ENOMEM;
  sink->host = host;
  sink->conf = config;
  sink->loop = ad_sink_loop(host);
  sink->timers = svc->timers;
  sink->max_held = (size_t)svc->config->engine.sink_concurrency + 1;
  ad_list_init(&sink->tables);
  ad_timers_entry_init(&sink->drained_entry);
  *ctx = sink;
  return 0;
}

static void ad_jl_close(void *ctx) {
  ad_jl_sink_t *sink = ctx;
  ad_list_t *n;
  ad_timers_cancel(&sink->drained_entry);
  while ((n = ad_list_head(&sink->tables)) != NULL) {
    ad_list_remove(n);
    ad_jl_table_free(ad_container_of(n, ad_jl_table_t, node));
  }
  free(sink);
}

static const ad_config_key_t ad_jl_keys[] = {
    {"path", AD_KEY_PATH, offsetof(ad_jl_sink_config_t, path), NULL, NULL,
     AD_KEY_REQUIRED, NULL, "the export folder, made when missing", NULL},
    {NULL}};

const ad_sink_plugin_t ad_jsonl_sink_plugin = {
    .name = "jsonl",
    .description = "each table as newline-delimited JSON files in a folder",
    .keys = ad_jl_keys,
    .config_size = sizeof(ad_jl_sink_config_t),
    .init = ad_jl_init,
    .prepare = ad_jl_prepare,
    .encode = ad_jl_encode,
    .wants = ad_jl_wants,
    .take = ad_jl_take,
    .finish = ad_jl_finish,
    .abort = ad_jl_abort,
    .check = ad_jl_check,
    .check_report = ad_jl_check_report,
    .destination = ad_jl_destination,
    .close = ad_jl_close,
};
