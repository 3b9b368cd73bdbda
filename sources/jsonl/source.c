/* The jsonl source. Discovery lists the export folder on the thread pool
 * (GROUP/TABLE.schema.json with its TABLE.jsonl), then every table is
 * announced and read at once, each by a reader that reserves queue room
 * for a page of AD_JR_PAGE lines before it reads them: a full queue stops
 * the reading. Lines are read, parsed, made neutral and encoded by the
 * sink on the thread pool, a few pages at a time; the loop only pushes
 * pages. A line that cannot be read is counted failed with its file and
 * line number, and the others go on. */
#include "jsonl_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"
#include "host.h"
#include "jsonl.h"
#include "jsonw.h"
#include "list.h"
#include "page.h"
#include "timers.h"
#include "workq.h"

#define AD_JR_PAGE 100                 /* lines per page */
#define AD_JR_CHUNK 65536              /* bytes per read */
#define AD_JR_MAX_LINE (64u << 20)     /* a longer line fails */
#define AD_JR_MAX_SCHEMA (16u << 20)
#define AD_JR_MAX_JOBS 4
#define AD_JR_ROW_BYTES_GUESS 1024

typedef struct ad_jr_source ad_jr_source_t;

/* What discovery found: a table and its data file, or why not. */
typedef struct ad_jr_found {
  ad_table_t *table; /* NULL: error says why */
  char *data;
  char *group; /* the folder's name, for an error */
  char *error;
} ad_jr_found_t;

typedef struct ad_jr_reader {
  ad_list_t node;      /* src->readers */
  ad_list_t wait_node; /* src->waiters while the queue is full */
  ad_jr_source_t *src;
  ad_table_t *table; /* one reference */
  char *path;
  /* The worker's while the job is waiting or running: */
  int fd;            /* open only while a job reads */
  off_t file_off;    /* bytes read so far (the buffer's end) */
  /* The file first opened: each reopen must find the same file (device
   * and inode), at least as long as what was read of it. */
  dev_t dev;
  ino_t ino;
  ad_buf_t buf;      /* read and not yet cut into lines */
  size_t pos;        /* where the next line starts in buf */
  uint64_t line;     /* lines read so far */
  int eof, skipping; /* skipping: the rest of a line too long */
  json_tokener *tok;
  ad_jsonl_decoder_t dec;
  ad_buf_t scratch;
  ad_page_t *page;
  struct {
    int rc;           /* 0, or AD_EIO/AD_ENOMEM with err */
    int last;
    ad_buf_t failures; /* "record id\0message\0" per failed line */
    char err[600];
  } tally;
  /* The loop's: */
  ad_workq_job_t job; /* in src->read_q */
  int finish_after;
  int reserved;
  size_t reserved_bytes, row_bytes;
} ad_jr_reader_t;

struct ad_jr_source {
  ad_source_t *host;
  const ad_jl_source_config_t *conf;
  uv_loop_t *loop;
  ad_timers_t *timers;
  ad_list_t readers, waiters;
  ad_workq_t read_q; /* pages read, parsed and encoded, a few at once */
  uv_work_t discover;
  ad_jr_found_t *found;
  size_t nfound, capfound;
  int discover_rc;
  char discover_err[600];
  int pending; /* discovery and readers not yet finished */
  int started, stopping, finished;
  ad_timers_entry_t done_entry;
  char summary[256];
};

static void ad_jr_next(ad_jr_reader_t *r);

/* ---- completion ------------------------------------------------------------ */

static void ad_jr_on_done(ad_timers_entry_t *e, void *data) {
  ad_jr_source_t *src = data;
  (void)e;
  ad_source_done(src->host);
}

static void ad_jr_step_done(ad_jr_source_t *src) {
  if (--src->pending > 0 || src->finished)
    return;
  src->finished = 1;
  if (ad_timers_after(src->timers, &src->done_entry, 0, ad_jr_on_done, src))
    ad_jr_on_done(&src->done_entry, src);
}

static void ad_jr_release(ad_jr_reader_t *r) {
  if (!r->reserved)
    return;
  r->reserved = 0;
  ad_source_release(r->src->host, AD_JR_PAGE, r->reserved_bytes);
}

/* The reader ends: its table read (error NULL), stopped, or failed. */
static void ad_jr_finish(ad_jr_reader_t *r, const char *error) {
  ad_jr_source_t *src = r->src;
  if (ad_workq_cancel(&r->job) != 0) { /* the worker has it: once its
                                          page is back */
    r->finish_after = 1;
    return;
  }
  ad_jr_release(r);
  if (ad_list_linked(&r->wait_node))
    ad_list_remove(&r->wait_node);
  ad_list_remove(&r->node);
  if (r->tok != NULL)
    json_tokener_free(r->tok);
  ad_jsonl_decoder_free(&r->dec);
  ad_buf_free(&r->buf);
  ad_buf_free(&r->scratch);
  ad_buf_free(&r->tally.failures);
  ad_page_free(r->page);
  ad_source_table_end(src->host, r->table, error);
  ad_table_unref(r->table);
  free(r->path);
  free(r);
  ad_jr_step_done(src);
}

/* ---- reading (thread pool) --------------------------------------------- */

static int ad_jr_fail_line(ad_jr_reader_t *r, const char *id,
                           const char *why) {
  char msg[800];
  snprintf(msg, sizeof(msg), "%s line %llu: %s", r->path,
           (unsigned long long)r->line, why);
  return ad_failures_add(&r->tally.failures, id, msg);
}

/* One line (len bytes at s, no newline): a record into the page, or a
 * failure named by its line. */
static int ad_jr_line(ad_jr_reader_t *r, const char *s, size_t len) {
  json_object *obj;
  ad_record_t rec;
  enum json_tokener_error jerr;
  char err[512];
  size_t end, i;
  int rc;

  for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'); i++)
    ;
  if (i == len)
    return 1; /* blank: not a record */
  json_tokener_reset(r->tok);
  obj = json_tokener_parse_ex(r->tok, s, (int)len);
  jerr = json_tokener_get_error(r->tok);
  end = json_tokener_get_parse_end(r->tok);
  while (end < len && (s[end] == ' ' || s[end] == '\t' || s[end] == '\r'))
    end++;
  if (obj == NULL || jerr != json_tokener_success || end != len) {
    json_object_put(obj);
    snprintf(err, sizeof(err), "not JSON (%s)",
             jerr == json_tokener_continue || jerr == json_tokener_success
                 ? "the line does not end with the value"
                 : json_tokener_error_desc(jerr));
    return ad_jr_fail_line(r, "", err);
  }
  err[0] = '\0';
  rc = ad_jsonl_record_read(&r->dec, r->table, obj, &rec, err, sizeof(err));
  if (rc == 0)
    rc = ad_source_encode(r->src->host, r->page, &rec, &r->scratch, err,
                          sizeof(err));
  if (rc == AD_EPARSE)
    rc = ad_jr_fail_line(r, rec.id != NULL ? rec.id : "",
                         err[0] ? err : "cannot be written");
  json_object_put(obj);
  return rc;
}

/* Reads more into the buffer; 0 at the end of the file too. */
static int ad_jr_fill(ad_jr_reader_t *r) {
  ssize_t n;
  int rc;
  if (r->pos > 0) { /* keep only what is not yet a line */
    memmove(r->buf.data, r->buf.data + r->pos, r->buf.len - r->pos);
    r->buf.len -= r->pos;
    r->pos = 0;
  }
  if ((rc = ad_buf_reserve(&r->buf, AD_JR_CHUNK)) != 0)
    return rc;
  do
    n = read(r->fd, r->buf.data + r->buf.len, AD_JR_CHUNK);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    snprintf(r->tally.err, sizeof(r->tally.err), "cannot read %s: %s",
             r->path, strerror(errno));
    return AD_EIO;
  }
  r->buf.len += (size_t)n;
  r->buf.data[r->buf.len] = '\0';
  r->file_off += n;
  r->eof = n == 0;
  return 0;
}

static void ad_jr_work(ad_workq_job_t *job) {
  ad_jr_reader_t *r = ad_container_of(job, ad_jr_reader_t, job);
  struct stat st;
  int lines = 0, rc = 0;
  char *nl, *s;
  size_t len;

  /* Open only while reading, from where the last page stopped: an
   * export of thousands of tables read side by side holds a few
   * descriptors, not one per table. */
  if ((r->fd = open(r->path, O_RDONLY | O_CLOEXEC)) < 0 ||
      fstat(r->fd, &st) != 0 ||
      lseek(r->fd, r->file_off, SEEK_SET) != r->file_off) {
    snprintf(r->tally.err, sizeof(r->tally.err), "cannot read %s: %s",
             r->path, strerror(errno));
    r->tally.rc = AD_EIO;
    if (r->fd >= 0)
      close(r->fd);
    r->fd = -1;
    return;
  }
  if (r->file_off == 0) {
    r->dev = st.st_dev;
    r->ino = st.st_ino;
  } else if (st.st_dev != r->dev || st.st_ino != r->ino ||
             st.st_size < r->file_off) {
    snprintf(r->tally.err, sizeof(r->tally.err),
             "%s was replaced or cut while it was read; the table is not "
             "read further", r->path);
    r->tally.rc = AD_EIO;
    close(r->fd);
    r->fd = -1;
    return;
  }
  while (rc == 0 && lines < AD_JR_PAGE) {
    s = r->buf.data != NULL ? r->buf.data + r->pos : NULL;
    nl = s != NULL ? memchr(s, '\n', r->buf.len - r->pos) : NULL;
    if (nl == NULL && !r->eof) {
      if (r->buf.len - r->pos > AD_JR_MAX_LINE) { /* drop what it read */
        r->line += !r->skipping;
        if (!r->skipping)
          rc = ad_jr_fail_line(r, "", "a line longer than 64 MiB");
        r->skipping = 1;
        r->pos = r->buf.len;
        lines++;
        continue;
      }
      rc = ad_jr_fill(r);
      continue;
    }
    if (nl == NULL && r->pos == r->buf.len) {
      r->tally.last = 1; /* the end, with nothing left */
      break;
    }
    len = nl != NULL ? (size_t)(nl - s) : r->buf.len - r->pos;
    r->pos += len + (nl != NULL);
    if (r->skipping) { /* the end of the line too long */
      r->skipping = 0;
      continue;
    }
    r->line++;
    rc = ad_jr_line(r, s, len);
    if (rc == 1)
      rc = 0; /* blank */
    else
      lines++;
  }
  if (rc != 0 && r->tally.rc == 0) {
    r->tally.rc = rc;
    if (r->tally.err[0] == '\0')
      snprintf(r->tally.err, sizeof(r->tally.err), "%s: %s", r->path,
               ad_strerror(rc));
  }
  close(r->fd);
  r->fd = -1;
}

/* ---- on the loop -------------------------------------------------------- */

static void ad_jr_done(ad_workq_job_t *job) {
  ad_jr_reader_t *r = ad_container_of(job, ad_jr_reader_t, job);
  ad_jr_source_t *src = r->src;
  ad_page_t *page = r->page;
  int stop = r->finish_after;

  r->finish_after = 0;
  r->page = NULL;
  ad_source_failed_pending(src->host, r->table, &r->tally.failures);
  if (r->tally.rc != 0) { /* what the page holds was read: failed too */
    if (page->nunits > 0)
      ad_source_failed(src->host, r->table, NULL, r->tally.err,
                       page->nunits);
    ad_page_free(page);
    ad_jr_finish(r, r->tally.err);
    return;
  }
  if (page->nunits > 0) /* the table's row size, for reservations */
    r->row_bytes = (r->row_bytes + page->data.len / page->nunits) / 2 + 1;
  r->reserved = 0;
  ad_source_push(src->host, page, AD_JR_PAGE, r->reserved_bytes,
                 r->tally.last);
  if (r->tally.last || stop || src->stopping)
    ad_jr_finish(r, NULL);
  else
    ad_jr_next(r);
}

static void ad_jr_next(ad_jr_reader_t *r) {
  ad_jr_source_t *src = r->src;
  if (src->stopping) {
    ad_jr_finish(r, NULL);
    return;
  }
  if (!r->reserved) {
    r->reserved_bytes = r->row_bytes * AD_JR_PAGE;
    if (ad_source_reserve(src->host, AD_JR_PAGE, r->reserved_bytes) != 0) {
      ad_list_insert_tail(&src->waiters, &r->wait_node);
      return;
    }
    r->reserved = 1;
  }
  if ((r->page = ad_page_new(r->table)) == NULL) {
    ad_jr_finish(r, "out of memory reading a page");
    return;
  }
  r->tally.rc = 0;
  r->tally.last = 0;
  r->tally.err[0] = '\0';
  ad_buf_reset(&r->tally.failures);
  ad_workq_push(&src->read_q, &r->job, ad_jr_work, ad_jr_done);
}

static int ad_jr_reader_add(ad_jr_source_t *src, ad_jr_found_t *f) {
  ad_jr_reader_t *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->tok = json_tokener_new()) == NULL) {
    free(r);
    return AD_ENOMEM;
  }
  json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  r->src = src;
  r->table = f->table; /* the finding's reference, taken over */
  r->path = f->data;
  f->table = NULL;
  f->data = NULL;
  r->fd = -1;
  r->row_bytes = AD_JR_ROW_BYTES_GUESS;
  ad_buf_init(&r->buf, 0);
  ad_buf_init(&r->scratch, 0);
  ad_buf_init(&r->tally.failures, 0);
  ad_jsonl_decoder_init(&r->dec);
  ad_list_init(&r->wait_node);
  ad_list_insert_tail(&src->readers, &r->node);
  src->pending++;
  ad_jr_next(r);
  return 0;
}

/* ---- discovery (thread pool, then the loop) ------------------------------ */

static int ad_jr_add(ad_jr_source_t *src, ad_table_t *t, const char *data,
                     const char *group, const char *error) {
  ad_jr_found_t *f, *grown;
  if (src->nfound == src->capfound) {
    size_t cap = src->capfound ? src->capfound * 2 : 16;
    if ((grown = realloc(src->found, cap * sizeof(*grown))) == NULL) {
      ad_table_unref(t);
      return AD_ENOMEM;
    }
    src->found = grown;
    src->capfound = cap;
  }
  f = &src->found[src->nfound];
  memset(f, 0, sizeof(*f));
  f->data = data ? strdup(data) : NULL;
  f->group = strdup(group);
  f->error = error ? strdup(error) : NULL;
  if ((data != NULL && f->data == NULL) || f->group == NULL ||
      (error != NULL && f->error == NULL)) {
    free(f->data);
    free(f->group);
    free(f->error);
    ad_table_unref(t);
    return AD_ENOMEM;
  }
  f->table = t;
  src->nfound++;
  return 0;
}

static int ad_jr_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

/* A schema file's table; the reason in why when it cannot be had. */
static ad_table_t *ad_jr_schema(const char *path, char *why, size_t len) {
  ad_buf_t text;
  char chunk[65536], err[400];
  ad_table_t *t = NULL;
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

  if (fd < 0) {
    snprintf(why, len, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  ad_buf_init(&text, AD_JR_MAX_SCHEMA);
  while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0)
    rc = n < 0 ? (errno == EINTR ? 0 : AD_EIO)
               : ad_buf_append(&text, chunk, (size_t)n);
  close(fd);
  if (rc == 0)
    rc = ad_jsonl_schema_read(text.data ? text.data : "", text.len, &t, err,
                              sizeof(err));
  if (rc != 0)
    snprintf(why, len, "%s: %s", path,
             rc == AD_EPARSE ? err
             : rc == AD_EIO  ? strerror(errno)
                             : ad_strerror(rc));
  ad_buf_free(&text);
  return t;
}

/* One group's folder: its schemas with their data files. */
static int ad_jr_scan_group(ad_jr_source_t *src, const char *group) {
  struct dirent **names = NULL;
  char dir[4096], schema[4608], data[4608], part[4608], why[9400];
  struct stat st;
  ad_table_t *t;
  int i, n, rc = 0;
  size_t base;

  snprintf(dir, sizeof(dir), "%s/%s", src->conf->path, group);
  if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
    snprintf(why, sizeof(why), "cannot read %s: %s", dir, strerror(errno));
    return ad_jr_add(src, NULL, NULL, group, why);
  }
  for (i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (rc == 0 && ad_jr_ends_with(name, AD_JSONL_SCHEMA_SUFFIX)) {
      base = strlen(name) - strlen(AD_JSONL_SCHEMA_SUFFIX);
      snprintf(schema, sizeof(schema), "%s/%s", dir, name);
      snprintf(data, sizeof(data), "%s/%.*s%s", dir, (int)base, name,
               AD_JSONL_DATA_SUFFIX);
      snprintf(part, sizeof(part), "%s/%.*s%s", dir, (int)base, name,
               AD_JSONL_PART_SUFFIX);
      if (stat(data, &st) != 0) {
        snprintf(why, sizeof(why),
                 stat(part, &st) == 0
                     ? "%s: the export of this table did not finish (only "
                       "its .jsonl.part is there); not read"
                     : "%s: no data file next to the schema; not read",
                 data);
        rc = ad_jr_add(src, NULL, NULL, group, why);
      } else if ((t = ad_jr_schema(schema, why, sizeof(why))) == NULL) {
        rc = ad_jr_add(src, NULL, NULL, group, why);
      } else {
        rc = ad_jr_add(src, t, data, group, NULL);
      }
    } else if (rc == 0 && ad_jr_ends_with(name, AD_JSONL_DATA_SUFFIX)) {
      base = strlen(name) - strlen(AD_JSONL_DATA_SUFFIX);
      snprintf(schema, sizeof(schema), "%s/%.*s%s", dir, (int)base, name,
               AD_JSONL_SCHEMA_SUFFIX);
      if (stat(schema, &st) != 0) {
        snprintf(why, sizeof(why), "%s/%s: no schema file (%s); not read",
                 dir, name, schema);
        rc = ad_jr_add(src, NULL, NULL, group, why);
      }
    } else if (rc == 0 && ad_jr_ends_with(name, AD_JSONL_PART_SUFFIX)) {
      /* A table whose first export did not finish: no final files at
       * all (with its schema, the schema's turn above says so). */
      base = strlen(name) - strlen(AD_JSONL_PART_SUFFIX);
      snprintf(schema, sizeof(schema), "%s/%.*s%s", dir, (int)base, name,
               AD_JSONL_SCHEMA_SUFFIX);
      snprintf(data, sizeof(data), "%s/%.*s%s", dir, (int)base, name,
               AD_JSONL_DATA_SUFFIX);
      if (stat(schema, &st) != 0 && stat(data, &st) != 0) {
        snprintf(why, sizeof(why), "%s/%s: the export of this table did "
                                   "not finish; not read", dir, name);
        rc = ad_jr_add(src, NULL, NULL, group, why);
      }
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

static void ad_jr_discover_work(uv_work_t *work) {
  ad_jr_source_t *src = work->data;
  struct dirent **names = NULL;
  char path[4608];
  struct stat st;
  int i, n, rc = 0;

  if ((n = scandir(src->conf->path, &names, NULL, alphasort)) < 0) {
    snprintf(src->discover_err, sizeof(src->discover_err),
             "source.path: cannot read %s: %s", src->conf->path,
             strerror(errno));
    src->discover_rc = AD_ECONFIG;
    return;
  }
  for (i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    snprintf(path, sizeof(path), "%s/%s", src->conf->path, name);
    if (rc == 0 && name[0] != '.' && stat(path, &st) == 0 &&
        S_ISDIR(st.st_mode))
      rc = ad_jr_scan_group(src, name);
    free(names[i]);
  }
  free(names);
  src->discover_rc = rc;
  if (rc == 0 && src->nfound == 0) {
    snprintf(src->discover_err, sizeof(src->discover_err),
             "source.path: %s holds no exported table (GROUP/TABLE"
             ".schema.json and TABLE.jsonl)", src->conf->path);
    src->discover_rc = AD_ECONFIG;
  } else if (rc != 0) {
    snprintf(src->discover_err, sizeof(src->discover_err),
             "reading %s: %s", src->conf->path, ad_strerror(rc));
  }
}

/* Whether group was counted already (findings come grouped). */
static int ad_jr_group_seen(const ad_jr_source_t *src, size_t i) {
  return i > 0 && strcmp(src->found[i - 1].group, src->found[i].group) == 0;
}

static void ad_jr_discover_done(uv_work_t *work, int status) {
  ad_jr_source_t *src = work->data;
  size_t i, tables = 0;
  ad_jr_found_t *f;
  int rc = 0;

  (void)status;
  if (src->discover_rc != 0)
    ad_source_fatal(src->host, src->discover_err);
  for (i = 0; i < src->nfound && src->discover_rc == 0 && rc == 0; i++) {
    f = &src->found[i];
    if (!ad_jr_group_seen(src, i))
      ad_source_group(src->host,
                      f->table ? f->table->group_id : f->group,
                      f->table ? f->table->group_name : NULL);
    if (f->table == NULL) {
      ad_source_error(src->host, f->group, f->error);
      continue;
    }
    tables++;
    if (ad_source_is_check(src->host) || src->stopping)
      continue;
    rc = ad_source_table(src->host, f->table);
    if (rc == 0 && (rc = ad_jr_reader_add(src, f)) != 0)
      ad_source_table_end(src->host, f->table, "out of memory starting its "
                                               "reader");
    else if (rc != AD_ENOMEM)
      rc = 0; /* read, skipped or refused: counted */
  }
  if (rc != 0)
    ad_source_fatal(src->host, "out of memory starting the readers");
  snprintf(src->summary, sizeof(src->summary), "%zu table%s in %.200s",
           tables, tables == 1 ? "" : "s", src->conf->path);
  if (src->discover_rc != 0)
    snprintf(src->summary, sizeof(src->summary), "%.*s",
             (int)sizeof(src->summary) - 1, src->discover_err);
  ad_jr_step_done(src);
}

/* ---- the plugin ------------------------------------------------------------ */

static int ad_jr_start(void *ctx) {
  ad_jr_source_t *src = ctx;
  if (src->started)
    return AD_EINVAL;
  src->started = 1;
  src->pending = 1; /* discovery */
  src->discover.data = src;
  if (uv_queue_work(src->loop, &src->discover, ad_jr_discover_work,
                    ad_jr_discover_done) != 0) {
    src->started = 0;
    return AD_EINVAL;
  }
  return 0;
}

static void ad_jr_resume(void *ctx) {
  ad_jr_source_t *src = ctx;
  ad_list_t *n;
  ad_jr_reader_t *r;
  while (!src->stopping && (n = ad_list_head(&src->waiters)) != NULL) {
    r = ad_container_of(n, ad_jr_reader_t, wait_node);
    r->reserved_bytes = r->row_bytes * AD_JR_PAGE;
    if (ad_source_reserve(src->host, AD_JR_PAGE, r->reserved_bytes) != 0)
      return; /* still full: the next resume goes on */
    r->reserved = 1;
    ad_list_remove(n);
    ad_jr_next(r);
  }
}

static void ad_jr_stop(void *ctx) {
  ad_jr_source_t *src = ctx;
  ad_list_t *n, *next;
  if (src->stopping || !src->started)
    return;
  src->stopping = 1;
  src->pending++; /* finishing readers must not complete it early */
  for (n = src->readers.next; n != &src->readers; n = next) {
    next = n->next;
    ad_jr_finish(ad_container_of(n, ad_jr_reader_t, node), NULL);
  }
  ad_jr_step_done(src);
}

static const char *ad_jr_check_report(void *ctx) {
  return ((ad_jr_source_t *)ctx)->summary;
}

static int ad_jr_init(ad_source_t *host, const void *config, void **ctx,
                      char *err, size_t errlen) {
  ad_jr_source_t *src = calloc(1, sizeof(*src));
  (void)err;
  (void)errlen;
  if (src == NULL)
    return AD_ENOMEM;
  src->host = host;
  src->conf = config;
  src->loop = ad_source_loop(host);
  src->timers = ad_source_services(host)->timers;
  ad_list_init(&src->readers);
  ad_list_init(&src->waiters);
  ad_workq_init(&src->read_q, src->loop, AD_JR_MAX_JOBS);
  ad_timers_entry_init(&src->done_entry);
  *ctx = src;
  return 0;
}

static void ad_jr_close(void *ctx) {
  ad_jr_source_t *src = ctx;
  ad_list_t *n;
  size_t i;
  ad_timers_cancel(&src->done_entry);
  while ((n = ad_list_head(&src->readers)) != NULL) /* never started */
    ad_jr_finish(ad_container_of(n, ad_jr_reader_t, node), NULL);
  for (i = 0; i < src->nfound; i++) {
    ad_table_unref(src->found[i].table);
    free(src->found[i].data);
    free(src->found[i].group);
    free(src->found[i].error);
  }
  free(src->found);
  free(src);
}

static const ad_config_key_t ad_jr_keys[] = {
    {"path", AD_KEY_PATH, offsetof(ad_jl_source_config_t, path), NULL, NULL,
     AD_KEY_REQUIRED, NULL, "the export folder to read", NULL},
    {NULL}};

/* One memory per export folder: two exports loaded into one data source
 * never delete each other's tables, nor skip each other's on a resume. */
static char *ad_jr_identity(const void *config) {
  const ad_jl_source_config_t *c = config;
  return ad_jsonw_pair("path", c->path);
}

const ad_source_plugin_t ad_jsonl_source_plugin = {
    .name = "jsonl",
    .description = "an export folder of the jsonl sink, read back",
    .keys = ad_jr_keys,
    .config_size = sizeof(ad_jl_source_config_t),
    .init = ad_jr_init,
    .start = ad_jr_start,
    .resume = ad_jr_resume,
    .stop = ad_jr_stop,
    .check_report = ad_jr_check_report,
    .close = ad_jr_close,
    .identity = ad_jr_identity,
};
