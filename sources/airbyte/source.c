/* The airbyte source. The input is read on the loop (a pipe or a
 * terminal through a libuv stream, a file through libuv's fs reads) and
 * cut at line ends into jobs of whole lines; each job reserves queue room
 * for as many records as it has lines, then is parsed, mapped and encoded
 * on the thread pool, a few at once. Jobs come back in any order and are
 * committed in input order: their pages pushed, their failures counted,
 * their STATEs put in line behind the units pushed before them. A full
 * queue, or too many jobs out, stops the reading.
 *
 * Two writes of one record id must not race to Dust (the later one must
 * land last): a job starts a new page for an id its stream's page holds
 * already, and the commit holds a page back while an earlier unit with
 * one of its ids is unacknowledged. */
#define _GNU_SOURCE /* memrchr, fwrite_unlocked */
#include "airbyte_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "catalog.h"
#include "error.h"
#include "host.h"
#include "jsonw.h"
#include "keymap.h"
#include "list.h"
#include "message.h"
#include "page.h"
#include "record.h"
#include "timers.h"
#include "workq.h"

#define AD_AB_READ (256u * 1024)     /* bytes asked of each read */
#define AD_AB_MAX_DEPTH 1000         /* json-c's default 32 refuses
                                        records sources do send */
#define AD_AB_JOB_LINES 500          /* at most; the queue must hold one */
#define AD_AB_MAX_LINE (64u << 20)   /* a longer line fails */
#define AD_AB_WORKERS 2              /* jobs on the pool at once */
#define AD_AB_MAX_JOBS 8             /* jobs read and not committed */
#define AD_AB_TICK_MS 250

typedef struct ad_ab_source ad_ab_source_t;

typedef enum {
  AD_AB_ITEM_PAGE,  /* a stream's records: push */
  AD_AB_ITEM_COUNT, /* RECORD messages of a stream, for destinationStats */
  AD_AB_ITEM_STATE, /* echo once what came before is acknowledged */
  AD_AB_ITEM_FAIL,  /* a line or record that cannot be written */
  AD_AB_ITEM_STATUS /* the source says a stream was read whole, or not */
} ad_ab_item_kind_t;

typedef struct ad_ab_item {
  ad_ab_item_kind_t kind;
  size_t stream;      /* its index, or SIZE_MAX (FAIL, COUNT: none) */
  ad_page_t *page;    /* PAGE */
  uint64_t n;         /* COUNT */
  json_object *state; /* STATE: one reference */
  int state_kind;     /* STATE: ad_ab_state_kind_t */
  char *record, *reason; /* FAIL: record may be NULL */
  int complete;          /* STATUS: COMPLETE 1, INCOMPLETE -1, else 0 */
} ad_ab_item_t;

/* Whole lines of input, parsed on the pool, committed on the loop. */
typedef struct ad_ab_job {
  ad_list_t node; /* src->jobs, in input order */
  ad_workq_job_t wq;
  ad_ab_source_t *src;
  char *text;
  size_t len, lines;
  uint64_t first_line; /* the number of its first line */
  size_t rows, bytes;  /* queue room reserved, what is left of it */
  int reserved, parsed;
  ad_ab_item_t *items;
  size_t nitems, cap, next; /* next: the first not committed */
  int rc;                   /* AD_ENOMEM on the pool */
} ad_ab_job_t;

/* The input, apart from the source: a read still out when the source
 * closes finishes into it, and it frees itself. */
typedef struct ad_ab_input {
  ad_ab_source_t *src; /* NULL once the source closed */
  int fd, is_stream, own_fd;
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_stream_t stream;
  } h;
  uv_fs_t req;
  int reading, closing;
  char *chunk; /* fs reads land here */
} ad_ab_input_t;

/* A STATE waiting for the units pushed before it. */
typedef struct ad_ab_pending {
  ad_list_t node;
  uint64_t below; /* every unit numbered below it must be acknowledged */
  char *line;     /* the echo, with its newline */
  size_t len;
} ad_ab_pending_t;

/* A unit on its way, for the ids guard: key and number, in push order. */
typedef struct ad_ab_flying {
  uint64_t key, seq;
} ad_ab_flying_t;

struct ad_ab_source {
  ad_source_t *host;
  const ad_ab_source_config_t *conf;
  uv_loop_t *loop;
  ad_timers_t *timers;
  ad_ab_catalog_t catalog;
  int *refused; /* per stream: the sink cannot hold its table */
  /* Per stream, from STREAM_STATUS traces: 1 COMPLETE, -1 INCOMPLETE, 0
   * not said; and whether the input said any (a platform that does not
   * send them has only EOF to go by). */
  int *status;
  int status_seen;
  FILE *out;
  int own_out;
  ad_ab_input_t *in;
  ad_buf_t carry;      /* read and not yet cut into a job */
  uint64_t lines_cut;  /* lines handed to jobs (and skipped) */
  int skipping;        /* the rest of a line too long is dropped */
  int eof, started, stopping, finished, full;
  ad_list_t jobs;      /* in input order */
  size_t njobs;
  ad_workq_t q;
  /* destinationStats: RECORD messages since the last state of a stream
   * (STREAM states) and of the sync (GLOBAL, LEGACY). */
  uint64_t *since, since_all;
  ad_list_t pending;   /* STATEs, in input order */
  uint64_t acked_below, settled_below;
  uint64_t states_in;
  ad_keymap_t inflight;
  uint64_t *keys; /* the page being committed: its units' keys */
  size_t cap_keys;
  ad_ab_flying_t *flying; /* a ring, cap a power of two */
  size_t fly_head, fly_n, fly_cap;
  uint64_t blocked_on; /* the commit waits for this unit, or UINT64_MAX */
  uint64_t last_input_ms, last_flush_ms, flushed_at;
  ad_timers_entry_t tick, done_entry, commit_entry;
  char summary[256];
};

static void ad_ab_read_more(ad_ab_source_t *src);
static void ad_ab_commit(ad_ab_source_t *src);

/* ---- output -------------------------------------------------------------- */

/* One whole line, under stdio's lock: the program's logs share stdout. */
static void ad_ab_write_line(ad_ab_source_t *src, const char *line,
                             size_t len) {
  char msg[600];
  int failed;
  flockfile(src->out);
  failed = fwrite_unlocked(line, 1, len, src->out) != len ||
           fflush_unlocked(src->out) != 0;
  funlockfile(src->out);
  if (!failed)
    return;
  /* Nobody hears the STATEs any more: going on would only write what
   * Airbyte will send again. */
  snprintf(msg, sizeof(msg), "writing a STATE to %s: %s",
           strcmp(src->conf->output, "-") ? src->conf->output : "stdout",
           strerror(errno));
  ad_source_fatal(src->host, msg);
}

/* Echoes every STATE whose units are all acknowledged. Once a unit
 * failed (acknowledged stops below settled), no later STATE can ever be:
 * those waiting are dropped, and new ones with them, so memory stays
 * flat however long the run goes on. */
static void ad_ab_emit_states(ad_ab_source_t *src) {
  ad_list_t *n;
  ad_ab_pending_t *p;
  int stuck = src->acked_below < src->settled_below;
  while ((n = ad_list_head(&src->pending)) != NULL) {
    p = ad_container_of(n, ad_ab_pending_t, node);
    if (p->below > src->acked_below && !stuck)
      return;
    ad_list_remove(n);
    if (p->below <= src->acked_below) {
      ad_ab_write_line(src, p->line, p->len);
    }
    free(p->line);
    free(p);
  }
}

/* ---- the pool: a job's lines into items ------------------------------------ */

static int ad_ab_item_add(ad_ab_job_t *job, const ad_ab_item_t *it) {
  ad_ab_item_t *grown;
  if (job->nitems == job->cap) {
    size_t cap = job->cap ? job->cap * 2 : 16;
    if ((grown = realloc(job->items, cap * sizeof(*grown))) == NULL)
      return AD_ENOMEM;
    job->items = grown;
    job->cap = cap;
  }
  job->items[job->nitems++] = *it;
  return 0;
}

/* What parsing a job keeps between its lines. */
typedef struct ad_ab_parse {
  ad_ab_job_t *job;
  json_tokener *tok;
  ad_ab_decoder_t dec;
  ad_buf_t scratch;
  ad_page_t **pages;  /* per stream: the open page, or NULL */
  uint64_t *serial;   /* per stream: its open page's number */
  uint64_t *counts;   /* per stream (and one more: no stream) */
  ad_keymap_t ids; /* id key -> serial of the page holding it */
  uint64_t line;
} ad_ab_parse_t;

static int ad_ab_fail(ad_ab_parse_t *ps, size_t stream, const char *record,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ad_ab_fail(ad_ab_parse_t *ps, size_t stream, const char *record,
                      const char *fmt, ...) {
  const ad_ab_catalog_t *cat = &ps->job->src->catalog;
  ad_ab_item_t it = {.kind = AD_AB_ITEM_FAIL, .stream = stream};
  char why[1024], msg[1400];
  va_list ap;
  int rc;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  if (stream != SIZE_MAX)
    snprintf(msg, sizeof(msg), "input line %llu, stream \"%.300s\": %s",
             (unsigned long long)ps->line, cat->streams[stream].name, why);
  else
    snprintf(msg, sizeof(msg), "input line %llu: %s",
             (unsigned long long)ps->line, why);
  it.reason = strdup(msg);
  it.record = record != NULL && *record ? strdup(record) : NULL;
  if (it.reason == NULL || (record != NULL && *record && it.record == NULL) ||
      (rc = ad_ab_item_add(ps->job, &it)) != 0) {
    free(it.reason);
    free(it.record);
    return AD_ENOMEM;
  }
  return 0;
}

/* Closes the stream's open page into an item. */
static int ad_ab_close_page(ad_ab_parse_t *ps, size_t s) {
  ad_ab_item_t it = {.kind = AD_AB_ITEM_PAGE, .stream = s};
  if (ps->pages[s] == NULL)
    return 0;
  it.page = ps->pages[s];
  ps->pages[s] = NULL;
  if (ad_ab_item_add(ps->job, &it) != 0) {
    ad_page_free(it.page);
    return AD_ENOMEM;
  }
  return 0;
}

/* Every open page, then the counts: what a STATE (or the job's end)
 * comes after. */
static int ad_ab_close_all(ad_ab_parse_t *ps) {
  const ad_ab_catalog_t *cat = &ps->job->src->catalog;
  ad_ab_item_t it = {.kind = AD_AB_ITEM_COUNT};
  size_t s;
  int rc = 0;
  for (s = 0; s < cat->n && rc == 0; s++)
    rc = ad_ab_close_page(ps, s);
  for (s = 0; s <= cat->n && rc == 0; s++) {
    if (ps->counts[s] == 0)
      continue;
    it.stream = s < cat->n ? s : SIZE_MAX;
    it.n = ps->counts[s];
    ps->counts[s] = 0;
    rc = ad_ab_item_add(ps->job, &it);
  }
  return rc;
}

static int ad_ab_record(ad_ab_parse_t *ps, const ad_ab_msg_t *m) {
  ad_ab_source_t *src = ps->job->src;
  const ad_ab_stream_t *st = ad_ab_catalog_find(&src->catalog, m->ns,
                                                m->stream);
  ad_record_t rec;
  char err[600];
  uint64_t key, serial;
  size_t s;
  int rc;

  if (st == NULL) {
    ps->counts[src->catalog.n]++;
    return ad_ab_fail(ps, SIZE_MAX, NULL,
                      "a record of stream \"%s%s%.300s\", which is not in "
                      "the configured catalog",
                      m->ns ? m->ns : "", m->ns ? "." : "", m->stream);
  }
  s = (size_t)(st - src->catalog.streams);
  ps->counts[s]++;
  if (src->refused[s])
    return ad_ab_fail(ps, s, NULL, "its Dust table was refused (see above)");
  err[0] = '\0';
  rc = ad_ab_record_read(&ps->dec, st, m->data, m->emitted_at,
                         src->conf->document_ids, &rec, err, sizeof(err));
  if (rc == AD_EPARSE)
    return ad_ab_fail(ps, s, NULL, "%s", err);
  if (rc != 0)
    return rc;
  key = ad_keymap_key(s, rec.id, strlen(rec.id));
  if (ps->pages[s] != NULL && ad_keymap_get(&ps->ids, key, &serial) &&
      serial == ps->serial[s] && (rc = ad_ab_close_page(ps, s)) != 0)
    return rc; /* the id again: the second write goes in a page of its own */
  if (ps->pages[s] == NULL) {
    if ((ps->pages[s] = ad_page_new(st->table)) == NULL)
      return AD_ENOMEM;
    ps->serial[s]++;
  }
  if ((rc = ad_keymap_put(&ps->ids, key, ps->serial[s])) != 0)
    return rc;
  rc = ad_source_encode(src->host, ps->pages[s], &rec, &ps->scratch, err,
                        sizeof(err));
  if (rc == AD_EPARSE)
    return ad_ab_fail(ps, s, rec.id, "%s", err);
  return rc;
}

static int ad_ab_state(ad_ab_parse_t *ps, const ad_ab_msg_t *m) {
  ad_ab_source_t *src = ps->job->src;
  ad_ab_item_t it = {.kind = AD_AB_ITEM_STATE, .stream = SIZE_MAX};
  const ad_ab_stream_t *st;
  int rc = ad_ab_close_all(ps);

  if (rc != 0)
    return rc;
  if (m->state_kind == AD_AB_STATE_STREAM &&
      (st = ad_ab_catalog_find(&src->catalog, m->ns, m->stream)) != NULL)
    it.stream = (size_t)(st - src->catalog.streams);
  it.state_kind = m->state_kind;
  it.state = json_object_get(m->state);
  if ((rc = ad_ab_item_add(ps->job, &it)) != 0)
    json_object_put(it.state);
  return rc;
}

/* A stream's status, as the source tells it: any says the platform sends
 * them (so only a COMPLETE stream is read whole); COMPLETE and INCOMPLETE
 * say how the stream ended. */
static int ad_ab_status(ad_ab_parse_t *ps, const ad_ab_msg_t *m) {
  ad_ab_source_t *src = ps->job->src;
  ad_ab_item_t it = {.kind = AD_AB_ITEM_STATUS, .stream = SIZE_MAX};
  const ad_ab_stream_t *st = ad_ab_catalog_find(&src->catalog, m->ns,
                                                m->stream);
  if (st != NULL)
    it.stream = (size_t)(st - src->catalog.streams);
  it.complete = strcmp(m->status, "COMPLETE") == 0      ? 1
                : strcmp(m->status, "INCOMPLETE") == 0 ? -1
                                                       : 0;
  return ad_ab_item_add(ps->job, &it);
}

/* One line (len bytes at s, no newline). */
static int ad_ab_line(ad_ab_parse_t *ps, const char *s, size_t len) {
  json_object *obj;
  enum json_tokener_error jerr;
  ad_ab_msg_t m;
  char err[400];
  size_t end, i;
  int rc;

  for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'); i++)
    ;
  if (i == len)
    return 0; /* blank */
  json_tokener_reset(ps->tok);
  obj = json_tokener_parse_ex(ps->tok, s, (int)len);
  jerr = json_tokener_get_error(ps->tok);
  end = json_tokener_get_parse_end(ps->tok);
  while (end < len && (s[end] == ' ' || s[end] == '\t' || s[end] == '\r'))
    end++;
  if (obj == NULL || jerr != json_tokener_success || end != len) {
    json_object_put(obj);
    return ad_ab_fail(ps, SIZE_MAX, NULL, "not JSON (%s)",
                      jerr == json_tokener_continue ||
                              jerr == json_tokener_success
                          ? "the line does not end with the value"
                          : json_tokener_error_desc(jerr));
  }
  if (ad_ab_msg_read(obj, &m, err, sizeof(err)) != 0) {
    const ad_ab_stream_t *st =
        m.stream ? ad_ab_catalog_find(&ps->job->src->catalog, m.ns, m.stream)
                 : NULL;
    rc = ad_ab_fail(ps, st ? (size_t)(st - ps->job->src->catalog.streams)
                           : SIZE_MAX,
                    NULL, "%s", err);
  } else if (m.type == AD_AB_MSG_RECORD) {
    rc = ad_ab_record(ps, &m);
  } else if (m.type == AD_AB_MSG_STATE) {
    rc = ad_ab_state(ps, &m);
  } else if (m.type == AD_AB_MSG_STATUS) {
    rc = ad_ab_status(ps, &m);
  } else {
    rc = 0; /* LOG, TRACE, CONTROL…: the source's, not a destination's */
  }
  json_object_put(obj);
  return rc;
}

static void ad_ab_job_run(ad_workq_job_t *wq) {
  ad_ab_job_t *job = ad_container_of(wq, ad_ab_job_t, wq);
  size_t nstreams = job->src->catalog.n, s;
  ad_ab_parse_t ps;
  const char *p = job->text, *end = job->text + job->len, *nl;
  int rc = 0;

  memset(&ps, 0, sizeof(ps));
  ps.job = job;
  ps.line = job->first_line;
  ps.tok = json_tokener_new_ex(AD_AB_MAX_DEPTH);
  ps.pages = calloc(nstreams + 1, sizeof(*ps.pages));
  ps.serial = calloc(nstreams + 1, sizeof(*ps.serial));
  ps.counts = calloc(nstreams + 1, sizeof(*ps.counts));
  ad_ab_decoder_init(&ps.dec);
  ad_buf_init(&ps.scratch, 0);
  ad_keymap_init(&ps.ids);
  if (ps.tok == NULL || ps.pages == NULL || ps.serial == NULL ||
      ps.counts == NULL)
    rc = AD_ENOMEM;
  else
    json_tokener_set_flags(ps.tok, JSON_TOKENER_STRICT |
                                       JSON_TOKENER_VALIDATE_UTF8);
  while (rc == 0 && p < end) {
    nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
      nl = end; /* the job's text ends with a newline but for EOF's */
    rc = ad_ab_line(&ps, p, (size_t)(nl - p));
    ps.line++;
    p = nl + 1;
  }
  if (rc == 0)
    rc = ad_ab_close_all(&ps);
  for (s = 0; ps.pages != NULL && s < nstreams; s++)
    ad_page_free(ps.pages[s]);
  if (ps.tok != NULL)
    json_tokener_free(ps.tok);
  free(ps.pages);
  free(ps.serial);
  free(ps.counts);
  ad_ab_decoder_free(&ps.dec);
  ad_buf_free(&ps.scratch);
  ad_keymap_free(&ps.ids);
  free(job->text);
  job->text = NULL;
  job->rc = rc;
}

static void ad_ab_job_free(ad_ab_job_t *job) {
  size_t i;
  for (i = job->next; i < job->nitems; i++) {
    ad_ab_item_t *it = &job->items[i];
    ad_page_free(it->page);
    json_object_put(it->state);
    free(it->record);
    free(it->reason);
  }
  free(job->items);
  free(job->text);
  free(job);
}

static void ad_ab_finish(ad_ab_source_t *src);

/* A job is back. On a stop nothing of it is pushed: its lines were not
 * counted read, and Airbyte sends them again after the last STATE
 * echoed. */
static void ad_ab_job_done(ad_workq_job_t *wq) {
  ad_ab_job_t *job = ad_container_of(wq, ad_ab_job_t, wq);
  ad_ab_source_t *src = job->src;
  job->parsed = 1;
  if (!src->stopping) {
    ad_ab_commit(src);
    return;
  }
  ad_list_remove(&job->node);
  src->njobs--;
  ad_source_release(src->host, job->rows, job->bytes);
  ad_ab_job_free(job);
  if (src->njobs == 0)
    ad_ab_finish(src);
}

/* ---- the loop: committing jobs in order ------------------------------------ */

static int ad_ab_fly_add(ad_ab_source_t *src, uint64_t key, uint64_t seq) {
  ad_ab_flying_t *ring;
  size_t i, cap;
  if (src->fly_n == src->fly_cap) {
    cap = src->fly_cap ? src->fly_cap * 2 : 1024;
    if ((ring = malloc(cap * sizeof(*ring))) == NULL)
      return AD_ENOMEM;
    for (i = 0; i < src->fly_n; i++)
      ring[i] = src->flying[(src->fly_head + i) & (src->fly_cap - 1)];
    free(src->flying);
    src->flying = ring;
    src->fly_cap = cap;
    src->fly_head = 0;
  }
  src->flying[(src->fly_head + src->fly_n++) & (src->fly_cap - 1)] =
      (ad_ab_flying_t){key, seq};
  return ad_keymap_put(&src->inflight, key, seq);
}

/* Forgets the ids of units that ended. */
static void ad_ab_fly_prune(ad_ab_source_t *src) {
  ad_ab_flying_t *f;
  while (src->fly_n > 0) {
    f = &src->flying[src->fly_head];
    if (f->seq >= src->settled_below)
      return;
    ad_keymap_drop(&src->inflight, f->key, f->seq);
    src->fly_head = (src->fly_head + 1) & (src->fly_cap - 1);
    src->fly_n--;
  }
}

/* The unit the page must wait for (an earlier write of one of its ids
 * still in flight) in *wait, or UINT64_MAX; the page's keys, computed once
 * for this and for ad_ab_push, in src->keys. 0 or AD_ENOMEM. */
static int ad_ab_page_waits(ad_ab_source_t *src, size_t s,
                            const ad_page_t *page, uint64_t *wait) {
  uint64_t seq;
  size_t i;
  *wait = UINT64_MAX;
  if (ad_array_grow((void **)&src->keys, &src->cap_keys, page->nunits,
                    sizeof(*src->keys)) != 0)
    return AD_ENOMEM;
  for (i = 0; i < page->nunits; i++) {
    src->keys[i] = ad_keymap_key(s, ad_page_unit_id(page, i),
                                 page->units[i].id_len);
    if (ad_keymap_get(&src->inflight, src->keys[i], &seq) &&
        seq >= src->settled_below && (*wait == UINT64_MAX || seq > *wait))
      *wait = seq;
  }
  return 0;
}

/* Pushes a page ad_ab_page_waits let go (its keys are in src->keys). */
static int ad_ab_push(ad_ab_source_t *src, ad_ab_job_t *job,
                      ad_page_t *page) {
  size_t rows = page->nunits, i;
  size_t bytes = page->data.len < job->bytes ? page->data.len : job->bytes;
  uint64_t first = ad_source_pushed(src->host);
  int rc = 0;

  if (rows > job->rows)
    rows = job->rows; /* cannot be: one line, one record at most */
  job->rows -= rows;
  job->bytes -= bytes;
  for (i = 0; i < page->nunits && rc == 0; i++)
    rc = ad_ab_fly_add(src, src->keys[i], first + i);
  ad_source_push(src->host, page, rows, bytes, 0);
  return rc;
}

static int ad_ab_pend(ad_ab_source_t *src, const ad_ab_item_t *it) {
  ad_ab_pending_t *p = calloc(1, sizeof(*p));
  ad_buf_t line;
  uint64_t count;

  if (it->state_kind == AD_AB_STATE_STREAM) {
    count = it->stream != SIZE_MAX ? src->since[it->stream] : 0;
    if (it->stream != SIZE_MAX)
      src->since[it->stream] = 0;
  } else {
    count = src->since_all;
    src->since_all = 0;
    memset(src->since, 0, src->catalog.n * sizeof(*src->since));
  }
  ad_buf_init(&line, 0);
  if (p == NULL || ad_ab_state_echo(it->state, count, &line) != 0) {
    free(p);
    ad_buf_free(&line);
    return AD_ENOMEM;
  }
  p->below = ad_source_pushed(src->host);
  p->line = ad_buf_steal(&line, &p->len);
  ad_list_insert_tail(&src->pending, &p->node);
  src->states_in++;
  ad_ab_emit_states(src); /* at once when nothing was pushed since */
  return 0;
}

/* A replaced stream (overwrite) keeps its old records when this sync's
 * may not all have come: a record of it failed to read (stream), or a
 * line that names no stream did (SIZE_MAX: it may have been any). Called
 * before the table's last page, so the sink never sweeps it. */
static void ad_ab_keep_old(ad_ab_source_t *src, size_t stream,
                           const char *why) {
  size_t s;
  for (s = 0; s < src->catalog.n; s++) {
    ad_table_t *t = src->catalog.streams[s].table;
    if ((stream != SIZE_MAX && s != stream) || !(t->flags & AD_TABLE_REPLACE))
      continue;
    t->flags &= ~(unsigned)AD_TABLE_REPLACE;
    ad_source_log(src->host, 1, "stream \"%s\" is not replaced: its old "
                  "records stay, since %s", src->catalog.streams[s].label,
                  why);
  }
}

/* One item; 1 when it must wait for acknowledgements. */
static int ad_ab_commit_item(ad_ab_source_t *src, ad_ab_job_t *job,
                             ad_ab_item_t *it) {
  const ad_ab_catalog_t *cat = &src->catalog;
  int rc = 0;

  switch (it->kind) {
  case AD_AB_ITEM_PAGE:
    if ((rc = ad_ab_page_waits(src, it->stream, it->page,
                               &src->blocked_on)) != 0) {
      ad_source_failed(src->host, cat->streams[it->stream].table, NULL,
                       "out of memory committing input", it->page->nunits);
      ad_page_free(it->page);
      it->page = NULL;
      break;
    }
    if (src->blocked_on != UINT64_MAX)
      return 1;
    rc = ad_ab_push(src, job, it->page);
    it->page = NULL;
    break;
  case AD_AB_ITEM_COUNT:
    if (it->stream != SIZE_MAX)
      src->since[it->stream] += it->n;
    src->since_all += it->n;
    break;
  case AD_AB_ITEM_STATE:
    rc = ad_ab_pend(src, it);
    json_object_put(it->state);
    it->state = NULL;
    ad_source_flush(src->host);
    src->last_flush_ms = uv_now(src->loop);
    break;
  case AD_AB_ITEM_STATUS:
    src->status_seen = 1;
    if (it->stream != SIZE_MAX && it->complete != 0)
      src->status[it->stream] = it->complete;
    break;
  case AD_AB_ITEM_FAIL:
    ad_ab_keep_old(src, it->stream, it->reason);
    ad_source_failed(src->host,
                     it->stream != SIZE_MAX ? cat->streams[it->stream].table
                                            : NULL,
                     it->record, it->reason, 1);
    free(it->record);
    free(it->reason);
    it->record = it->reason = NULL;
    break;
  }
  if (rc != 0)
    ad_source_fatal(src->host, "out of memory committing input");
  return 0;
}

static void ad_ab_commit(ad_ab_source_t *src) {
  ad_list_t *n;
  ad_ab_job_t *job;

  while (!src->stopping && (n = ad_list_head(&src->jobs)) != NULL) {
    job = ad_container_of(n, ad_ab_job_t, node);
    if (!job->parsed)
      break;
    if (job->rc != 0) {
      ad_source_fatal(src->host, "out of memory parsing input");
      return;
    }
    while (job->next < job->nitems &&
           ad_ab_commit_item(src, job, &job->items[job->next]) == 0)
      job->next++;
    if (job->next < job->nitems) { /* a page waits for acknowledgements */
      ad_source_flush(src->host);
      src->last_flush_ms = uv_now(src->loop);
      break;
    }
    ad_source_release(src->host, job->rows, job->bytes);
    ad_list_remove(n);
    src->njobs--;
    ad_ab_job_free(job);
  }
  ad_ab_emit_states(src);
  if (src->stopping)
    return;
  ad_ab_read_more(src);
  if (src->eof && src->njobs == 0 && src->carry.len == 0)
    ad_ab_finish(src);
}

/* ---- reading --------------------------------------------------------------- */

/* Where the first AD_AB_JOB_LINES whole lines of s end (0: no whole
 * line), their number in *lines. */
static size_t ad_ab_lines_end(const char *s, size_t len, size_t *lines) {
  const char *p = s, *end = s + len, *nl;
  *lines = 0;
  while (*lines < AD_AB_JOB_LINES && p < end &&
         (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    (*lines)++;
    p = nl + 1;
  }
  return (size_t)(p - s);
}

/* Room in the queue for the job, or 0 to wait for resume. */
static int ad_ab_reserve(ad_ab_source_t *src, ad_ab_job_t *job) {
  if (job->reserved)
    return 1;
  if (ad_source_reserve(src->host, job->lines, job->len) != 0) {
    src->full = 1;
    return 0;
  }
  job->rows = job->lines;
  job->bytes = job->len;
  job->reserved = 1;
  ad_workq_push(&src->q, &job->wq, ad_ab_job_run, ad_ab_job_done);
  return 1;
}

/* Cuts the carried bytes from *off into a job of up to AD_AB_JOB_LINES
 * whole lines (at EOF the last line too, newline or not), moving *off
 * past them. 0 with *off unmoved when no whole line is left; AD_ENOMEM. */
static int ad_ab_cut(ad_ab_source_t *src, size_t *off) {
  const char *from = src->carry.data + *off;
  size_t left = src->carry.len - *off, take, lines;
  ad_ab_job_t *job;

  take = ad_ab_lines_end(from, left, &lines);
  if (src->eof && lines < AD_AB_JOB_LINES && take < left) {
    take = left; /* EOF's last line, without its newline */
    lines++;
  }
  if (take == 0)
    return 0;
  if ((job = calloc(1, sizeof(*job))) == NULL ||
      (job->text = malloc(take)) == NULL) {
    free(job);
    return AD_ENOMEM;
  }
  memcpy(job->text, from, take);
  *off += take;
  job->src = src;
  job->len = take;
  job->lines = lines;
  job->first_line = src->lines_cut + 1;
  src->lines_cut += lines;
  ad_list_insert_tail(&src->jobs, &job->node);
  src->njobs++;
  if (!src->full) /* in order: a later job never takes an earlier's room */
    ad_ab_reserve(src, job);
  return 0;
}

/* Every whole line carried goes into jobs (at EOF the last one too); what
 * is left of a line moves to the carry's front. */
static int ad_ab_cut_all(ad_ab_source_t *src) {
  size_t off = 0, before;
  int rc = 0;
  do {
    before = off;
    rc = ad_ab_cut(src, &off);
  } while (rc == 0 && off > before && off < src->carry.len);
  if (off > 0) {
    memmove(src->carry.data, src->carry.data + off, src->carry.len - off);
    src->carry.len -= off;
  }
  return rc;
}

/* A line past AD_AB_MAX_LINE: counted failed, the rest of it dropped. */
static void ad_ab_too_long(ad_ab_source_t *src) {
  char msg[200];
  snprintf(msg, sizeof(msg), "input line %llu: longer than %u MiB; not read",
           (unsigned long long)src->lines_cut + 1, AD_AB_MAX_LINE >> 20);
  ad_source_failed(src->host, NULL, NULL, msg, 1);
  src->lines_cut++;
  src->skipping = 1;
  ad_buf_reset(&src->carry);
}

/* len bytes just read into the carry's tail (already appended). */
static void ad_ab_got(ad_ab_source_t *src, size_t len) {
  const char *nl;
  size_t start = src->carry.len - len;

  src->last_input_ms = uv_now(src->loop);
  if (src->skipping) {
    nl = memchr(src->carry.data + start, '\n', len);
    if (nl == NULL) {
      ad_buf_reset(&src->carry);
      return;
    }
    memmove(src->carry.data, nl + 1,
            src->carry.len - (size_t)(nl + 1 - src->carry.data));
    src->carry.len -= (size_t)(nl + 1 - src->carry.data);
    src->skipping = 0;
  }
  if (memchr(src->carry.data + start, '\n', src->carry.len - start) != NULL &&
      ad_ab_cut_all(src) != 0)
    ad_source_fatal(src->host, "out of memory reading input");
  if (src->carry.len > AD_AB_MAX_LINE)
    ad_ab_too_long(src);
}

static int ad_ab_may_read(const ad_ab_source_t *src) {
  return !src->eof && !src->stopping && !src->full &&
         src->njobs < AD_AB_MAX_JOBS;
}

static void ad_ab_at_eof(ad_ab_source_t *src) {
  src->eof = 1;
  src->last_input_ms = uv_now(src->loop);
  if (src->skipping)
    ad_buf_reset(&src->carry);
  if (ad_ab_cut_all(src) != 0)
    ad_source_fatal(src->host, "out of memory reading input");
  ad_ab_commit(src);
}

static void ad_ab_read_failed(ad_ab_source_t *src, int uverr) {
  char msg[300];
  snprintf(msg, sizeof(msg), "reading the input (%s): %s",
           strcmp(src->conf->input, "-") ? src->conf->input : "stdin",
           uv_strerror(uverr));
  ad_source_fatal(src->host, msg);
}

static void ad_ab_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  ad_ab_input_t *in = h->data;
  ad_ab_source_t *src = in->src;
  (void)hint;
  if (src == NULL || ad_buf_reserve(&src->carry, AD_AB_READ) != 0) {
    buf->base = NULL;
    buf->len = 0;
    return;
  }
  buf->base = src->carry.data + src->carry.len;
  buf->len = AD_AB_READ;
}

static void ad_ab_on_stream(uv_stream_t *s, ssize_t nread,
                            const uv_buf_t *buf) {
  ad_ab_input_t *in = s->data;
  ad_ab_source_t *src = in->src;
  (void)buf;
  if (src == NULL || nread == 0)
    return;
  if (nread == UV_ENOBUFS) {
    uv_read_stop(s);
    in->reading = 0;
    ad_source_fatal(src->host, "out of memory reading input");
    return;
  }
  if (nread < 0) {
    uv_read_stop(s);
    in->reading = 0;
    if (nread == UV_EOF)
      ad_ab_at_eof(src);
    else
      ad_ab_read_failed(src, (int)nread);
    return;
  }
  src->carry.len += (size_t)nread;
  ad_ab_got(src, (size_t)nread);
  if (!ad_ab_may_read(src)) {
    uv_read_stop(s);
    in->reading = 0;
  }
}

static void ad_ab_input_free(ad_ab_input_t *in) {
  if (in->own_fd)
    close(in->fd);
  free(in->chunk);
  free(in);
}

static void ad_ab_on_closed(uv_handle_t *h) { ad_ab_input_free(h->data); }

static void ad_ab_on_fs(uv_fs_t *req) {
  ad_ab_input_t *in = req->data;
  ad_ab_source_t *src = in->src;
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  in->reading = 0;
  if (src == NULL) { /* the source closed while this read was out */
    ad_ab_input_free(in);
    return;
  }
  if (n < 0) {
    ad_ab_read_failed(src, (int)n);
    return;
  }
  if (n == 0) {
    ad_ab_at_eof(src);
    return;
  }
  if (ad_buf_append(&src->carry, in->chunk, (size_t)n) != 0) {
    ad_source_fatal(src->host, "out of memory reading input");
    return;
  }
  ad_ab_got(src, (size_t)n);
  ad_ab_read_more(src);
}

static void ad_ab_read_more(ad_ab_source_t *src) {
  ad_ab_input_t *in = src->in;
  uv_buf_t b;
  int rc;

  if (in == NULL || in->reading || !ad_ab_may_read(src))
    return;
  if (in->is_stream) {
    rc = uv_read_start(&in->h.stream, ad_ab_on_alloc, ad_ab_on_stream);
  } else {
    b = uv_buf_init(in->chunk, AD_AB_READ);
    rc = uv_fs_read(src->loop, &in->req, in->fd, &b, 1, -1, ad_ab_on_fs);
  }
  if (rc != 0) {
    ad_ab_read_failed(src, rc);
    return;
  }
  in->reading = 1;
}

static int ad_ab_input_open(ad_ab_source_t *src, char *err, size_t errlen) {
  ad_ab_input_t *in = calloc(1, sizeof(*in));
  uv_handle_type type;
  int rc = 0;

  if (in == NULL)
    return AD_ENOMEM;
  in->src = src;
  in->fd = 0;
  if (strcmp(src->conf->input, "-") != 0) {
    if ((in->fd = open(src->conf->input, O_RDONLY | O_CLOEXEC)) < 0) {
      snprintf(err, errlen, "source.input: cannot open %s: %s",
               src->conf->input, strerror(errno));
      free(in);
      return AD_ECONFIG;
    }
    in->own_fd = 1;
  }
  type = uv_guess_handle(in->fd);
  if (type == UV_NAMED_PIPE) {
    rc = uv_pipe_init(src->loop, &in->h.pipe, 0);
    if (rc == 0 && (rc = uv_pipe_open(&in->h.pipe, in->fd)) != 0)
      uv_close((uv_handle_t *)&in->h.pipe, NULL);
    in->is_stream = rc == 0;
  } else if (type == UV_TTY) {
    rc = uv_tty_init(src->loop, &in->h.tty, in->fd, 1);
    in->is_stream = rc == 0;
  }
  if (in->is_stream) {
    in->h.stream.data = in;
    in->own_fd = 0; /* the handle closes it with itself */
    if (strcmp(src->conf->input, "-") == 0)
      in->own_fd = 0;
  } else if ((in->chunk = malloc(AD_AB_READ)) == NULL) {
    ad_ab_input_free(in);
    return AD_ENOMEM;
  }
  in->req.data = in;
  src->in = in;
  return 0;
}

/* The source lets go of its input: a stream handle closes (and frees it),
 * an fs read still out frees it when it lands. */
static void ad_ab_input_close(ad_ab_source_t *src) {
  ad_ab_input_t *in = src->in;
  if (in == NULL)
    return;
  src->in = NULL;
  in->src = NULL;
  if (in->is_stream) {
    if (in->reading)
      uv_read_stop(&in->h.stream);
    uv_close((uv_handle_t *)&in->h.stream, ad_ab_on_closed);
  } else if (!in->reading) {
    ad_ab_input_free(in);
  }
}

/* ---- the end ----------------------------------------------------------------- */

static void ad_ab_on_done(ad_timers_entry_t *e, void *data) {
  ad_ab_source_t *src = data;
  (void)e;
  ad_source_done(src->host);
}

/* Every table ends: read to its end (an empty last page says so) at EOF,
 * cut short on a stop. */
static void ad_ab_finish(ad_ab_source_t *src) {
  ad_page_t *page;
  size_t s;

  if (src->finished)
    return;
  src->finished = 1;
  ad_timers_cancel(&src->tick);
  for (s = 0; s < src->catalog.n; s++) {
    ad_table_t *t = src->catalog.streams[s].table;
    if (src->refused[s])
      continue;
    if (src->status_seen && src->status[s] != 1)
      ad_ab_keep_old(src, s, "the source did not report it COMPLETE");
    if (src->eof && !src->stopping && (page = ad_page_new(t)) != NULL)
      ad_source_push(src->host, page, 0, 0, 1);
    ad_source_table_end(src->host, t, NULL);
  }
  ad_ab_input_close(src);
  ad_source_log(src->host, 2, "%llu input lines, %llu STATE messages%s",
                (unsigned long long)src->lines_cut,
                (unsigned long long)src->states_in,
                src->eof ? "" : " (stopped before the end of the input)");
  if (ad_timers_after(src->timers, &src->done_entry, 0, ad_ab_on_done, src))
    ad_ab_on_done(&src->done_entry, src);
}

/* Quiet input, or a long time since the last flush: what the sink holds
 * goes out, so STATEs do not wait on batches that would fill slowly. */
static void ad_ab_on_tick(ad_timers_entry_t *e, void *data) {
  ad_ab_source_t *src = data;
  uint64_t now = uv_now(src->loop), pushed = ad_source_pushed(src->host);
  (void)e;
  if (pushed > src->flushed_at &&
      (now - src->last_input_ms >= (uint64_t)src->conf->idle_flush_ms ||
       now - src->last_flush_ms >=
           (uint64_t)src->conf->flush_interval_s * 1000)) {
    ad_source_flush(src->host);
    src->flushed_at = pushed;
    src->last_flush_ms = now;
  } else if ((!ad_list_empty(&src->pending) ||
              src->blocked_on != UINT64_MAX) &&
             now - src->last_flush_ms >= AD_AB_TICK_MS) {
    /* A STATE, or a held page, waits on the sink: keep it sending (a
     * flush ends when nothing ready is open; a table not yet upserted
     * then was skipped). */
    ad_source_flush(src->host);
    src->last_flush_ms = now;
  }
  if (!src->finished)
    ad_timers_after(src->timers, &src->tick, AD_AB_TICK_MS, ad_ab_on_tick,
                    src);
}

/* ---- the plugin ---------------------------------------------------------------- */

static void ad_ab_on_unblocked(ad_timers_entry_t *e, void *data) {
  (void)e;
  ad_ab_commit(data);
}

/* Heard inside the sink's own acknowledgement: the echoes go out now,
 * the commit a held page waited for in a loop turn of its own. A page
 * waits for the earlier write of its id to end, written or failed (a
 * failed one holds the STATEs, not the writing). */
static void ad_ab_acked(void *ctx, uint64_t acked, uint64_t settled) {
  ad_ab_source_t *src = ctx;
  src->acked_below = acked;
  src->settled_below = settled;
  ad_ab_fly_prune(src);
  ad_ab_emit_states(src);
  if (src->blocked_on != UINT64_MAX && src->blocked_on < settled) {
    src->blocked_on = UINT64_MAX;
    if (ad_timers_after(src->timers, &src->commit_entry, 0,
                        ad_ab_on_unblocked, src) != 0)
      ad_source_fatal(src->host, "the engine's timers closed");
  }
}

static int ad_ab_start(void *ctx) {
  ad_ab_source_t *src = ctx;
  size_t s;
  int rc;

  if (src->started)
    return AD_EINVAL;
  src->started = 1;
  if (ad_source_is_check(src->host)) {
    snprintf(src->summary, sizeof(src->summary),
             "a check reads no input");
    src->finished = 1;
    if (ad_timers_after(src->timers, &src->done_entry, 0, ad_ab_on_done, src))
      return AD_ECLOSING;
    return 0;
  }
  ad_source_group(src->host, "", NULL);
  for (s = 0; s < src->catalog.n; s++) {
    rc = ad_source_table(src->host, src->catalog.streams[s].table);
    if (rc == AD_ENOMEM)
      return rc;
    src->refused[s] = rc != 0; /* refused (counted), or skipped */
  }
  src->last_input_ms = src->last_flush_ms = uv_now(src->loop);
  ad_timers_after(src->timers, &src->tick, AD_AB_TICK_MS, ad_ab_on_tick, src);
  ad_ab_read_more(src);
  return 0;
}

static void ad_ab_resume(void *ctx) {
  ad_ab_source_t *src = ctx;
  ad_list_t *n;
  src->full = 0;
  for (n = src->jobs.next; n != &src->jobs; n = n->next)
    if (!ad_ab_reserve(src, ad_container_of(n, ad_ab_job_t, node)))
      return;
  ad_ab_read_more(src);
}

static void ad_ab_stop(void *ctx) {
  ad_ab_source_t *src = ctx;
  ad_list_t *n, *next;
  ad_ab_job_t *job;

  if (src->stopping || !src->started || src->finished)
    return;
  src->stopping = 1;
  ad_ab_input_close(src);
  for (n = src->jobs.next; n != &src->jobs; n = next) {
    next = n->next;
    job = ad_container_of(n, ad_ab_job_t, node);
    if (job->parsed || !job->reserved || ad_workq_cancel(&job->wq) == 0) {
      ad_list_remove(n);
      src->njobs--;
      ad_source_release(src->host, job->rows, job->bytes);
      ad_ab_job_free(job);
    } /* else on the pool: its done frees it */
  }
  if (src->njobs == 0)
    ad_ab_finish(src);
}

static const char *ad_ab_check_report(void *ctx) {
  return ((ad_ab_source_t *)ctx)->summary;
}

static int ad_ab_read_catalog(ad_ab_source_t *src, char *err, size_t errlen) {
  ad_buf_t text;
  char chunk[65536];
  ssize_t n;
  int fd = open(src->conf->catalog, O_RDONLY | O_CLOEXEC), rc = 0;
  char why[600];

  if (fd < 0) {
    snprintf(err, errlen, "source.catalog: cannot open %s: %s",
             src->conf->catalog, strerror(errno));
    return AD_ECONFIG;
  }
  ad_buf_init(&text, 64u << 20);
  while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0)
    rc = n < 0 ? (errno == EINTR ? 0 : AD_EIO)
               : ad_buf_append(&text, chunk, (size_t)n);
  close(fd);
  if (rc == 0) {
    why[0] = '\0';
    rc = ad_ab_catalog_parse(&src->catalog, text.data ? text.data : "",
                             text.len, why, sizeof(why));
    if (rc != 0 && rc != AD_ENOMEM)
      snprintf(err, errlen, "the catalog %s: %s", src->conf->catalog, why);
  } else {
    snprintf(err, errlen, "source.catalog: reading %s: %s",
             src->conf->catalog, ad_strerror(rc));
    rc = AD_ECONFIG;
  }
  ad_buf_free(&text);
  return rc == AD_EPARSE ? AD_ECONFIG : rc;
}

static void ad_ab_close(void *ctx);

static int ad_ab_init(ad_source_t *host, const void *config, void **ctx,
                      char *err, size_t errlen) {
  ad_ab_source_t *src = calloc(1, sizeof(*src));
  int rc;

  if (src == NULL)
    return AD_ENOMEM;
  src->host = host;
  src->conf = config;
  src->loop = ad_source_loop(host);
  src->timers = ad_source_services(host)->timers;
  src->blocked_on = UINT64_MAX;
  ad_list_init(&src->jobs);
  ad_list_init(&src->pending);
  ad_buf_init(&src->carry, 0);
  ad_keymap_init(&src->inflight);
  ad_workq_init(&src->q, src->loop, AD_AB_WORKERS);
  ad_timers_entry_init(&src->tick);
  ad_timers_entry_init(&src->done_entry);
  ad_timers_entry_init(&src->commit_entry);
  *ctx = src;
  if (ad_source_is_check(host))
    return 0; /* a check proves the destination: nothing is read */
  if (ad_source_services(host)->config->engine.queue_rows < AD_AB_JOB_LINES) {
    snprintf(err, errlen, "engine.queue_rows: the airbyte source reads %d "
             "lines at a time and needs room for them (at least %d)",
             AD_AB_JOB_LINES, AD_AB_JOB_LINES);
    rc = AD_ECONFIG;
    goto fail;
  }
  if (*src->conf->catalog == '\0') {
    snprintf(err, errlen, "source.catalog: the configured catalog is "
                          "needed to write");
    rc = AD_ECONFIG;
    goto fail;
  }
  if ((rc = ad_ab_read_catalog(src, err, errlen)) != 0)
    goto fail;
  src->refused = calloc(src->catalog.n + 1, sizeof(*src->refused));
  src->since = calloc(src->catalog.n + 1, sizeof(*src->since));
  src->status = calloc(src->catalog.n + 1, sizeof(*src->status));
  if (src->refused == NULL || src->since == NULL || src->status == NULL) {
    rc = AD_ENOMEM;
    goto fail;
  }
  if (strcmp(src->conf->output, "-") == 0) {
    src->out = stdout;
  } else if ((src->out = fopen(src->conf->output, "ae")) == NULL) {
    snprintf(err, errlen, "source.output: cannot open %s: %s",
             src->conf->output, strerror(errno));
    rc = AD_ECONFIG;
    goto fail;
  } else {
    src->own_out = 1;
  }
  if ((rc = ad_ab_input_open(src, err, errlen)) != 0)
    goto fail;
  return 0;
fail:
  ad_ab_close(src);
  *ctx = NULL;
  return rc;
}

static void ad_ab_close(void *ctx) {
  ad_ab_source_t *src = ctx;
  ad_list_t *n;
  if (src == NULL)
    return;
  ad_timers_cancel(&src->tick);
  ad_timers_cancel(&src->done_entry);
  ad_timers_cancel(&src->commit_entry);
  ad_ab_input_close(src);
  while ((n = ad_list_head(&src->jobs)) != NULL) { /* never started */
    ad_list_remove(n);
    ad_ab_job_free(ad_container_of(n, ad_ab_job_t, node));
  }
  while ((n = ad_list_head(&src->pending)) != NULL) {
    ad_list_remove(n);
    free(ad_container_of(n, ad_ab_pending_t, node)->line);
    free(ad_container_of(n, ad_ab_pending_t, node));
  }
  if (src->own_out && src->out != NULL)
    fclose(src->out);
  ad_ab_catalog_free(&src->catalog);
  ad_keymap_free(&src->inflight);
  ad_buf_free(&src->carry);
  free(src->flying);
  free(src->keys);
  free(src->refused);
  free(src->since);
  free(src->status);
  free(src);
}

static const ad_config_key_t ad_ab_keys[] = {
    {"catalog", AD_KEY_STRING, offsetof(ad_ab_source_config_t, catalog), NULL,
     NULL, 0, NULL, "the configured catalog (JSON); needed but to check",
     NULL},
    {"input", AD_KEY_PATH, offsetof(ad_ab_source_config_t, input), "\"-\"",
     NULL, 0, NULL, "the messages, one per line: - for stdin", NULL},
    {"output", AD_KEY_PATH, offsetof(ad_ab_source_config_t, output),
     "\"-\"", NULL, 0, NULL, "where STATE echoes go: - for stdout", NULL},
    {"document_ids", AD_KEY_BOOL,
     offsetof(ad_ab_source_config_t, document_ids), "false", NULL, 0, NULL,
     "record ids for Dust documents (stream-pk)", NULL},
    {"idle_flush_ms", AD_KEY_POSINT,
     offsetof(ad_ab_source_config_t, idle_flush_ms), "1000", NULL, 0, NULL,
     "input quiet this long: write what is held", NULL},
    {"flush_interval_s", AD_KEY_POSINT,
     offsetof(ad_ab_source_config_t, flush_interval_s), "600", NULL, 0, NULL,
     "write what is held at least this often", NULL},
    {NULL}};

/* The catalog's file names what is read: its streams' memory, if any. */
static char *ad_ab_identity(const void *config) {
  const ad_ab_source_config_t *c = config;
  return ad_jsonw_pair("catalog", c->catalog);
}

const ad_source_plugin_t ad_airbyte_source_plugin = {
    .name = "airbyte",
    .description = "Airbyte protocol messages on stdin, by a configured "
                   "catalog",
    .keys = ad_ab_keys,
    .config_size = sizeof(ad_ab_source_config_t),
    .init = ad_ab_init,
    .start = ad_ab_start,
    .resume = ad_ab_resume,
    .stop = ad_ab_stop,
    .check_report = ad_ab_check_report,
    .close = ad_ab_close,
    .identity = ad_ab_identity,
    .acked = ad_ab_acked,
};
