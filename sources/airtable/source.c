#include "source.h"

#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "digest.h"
#include "error.h"
#include "mapping.h"
#include "page.h"
#include "request.h"
#include "table.h"

#define AD_AT_ROW_BYTES_GUESS 2048 /* per row, until a table's first page */
#define AD_AT_MAX_RESTARTS 3
/* Pages parsed at once: one per core, at most this many. At the real
 * limits the pages come in bursts (a window's worth of grants answers at
 * once), and the last burst's parsing is time the run waits for at its
 * end; with documents, the pages must keep up with 5 000 documents/s.
 * Each worker's malloc arena holds on to its largest page, so a few. */
#define AD_AT_MAX_PARSING 4
#define AD_AT_TRIM_EVERY 4

typedef struct ad_at_job {
  ad_list_t node; /* in src->bases */
  ad_at_source_t *src;
  char *id;
  char *name; /* NULL in one-table mode */
  ad_limiter_key_t key;
  char key_name[96]; /* its shared rate-limit key */
  ad_at_call_t call; /* its schema */
  char what[96];
  ad_at_schema_t schema;
  int readers_left;
} ad_at_job_t;

typedef struct ad_at_reader {
  ad_list_t node;      /* in src->readers */
  ad_list_t wait_node; /* in src->waiters while the queue is full */
  ad_at_source_t *src;
  ad_at_job_t *base;
  const ad_at_table_t *map; /* in base->schema */
  ad_table_t *table;
  ad_at_call_t call;
  ad_buf_t post; /* the listRecords body, when it goes as a POST */
  char what[160];
  char *offset; /* NULL: the first page */
  int restarts;
  int pages;    /* pushed */
  int reserved; /* a page's room is held in the queue */
  size_t reserved_bytes;
  size_t row_bytes; /* running estimate, for reservations */
  /* Restarts without remembering every id: the records delivered so far,
   * as a count and a hash of their ids in order. A restarted read skips
   * that many records if their ids hash the same (the table did not
   * change); otherwise it reads again sending every record, which the
   * sink's upserts by record id make safe. */
  uint64_t delivered, delivered_hash;
  uint64_t skipped, skipped_hash; /* in a restarted read */
  int skipping;
  int changed; /* a restarted read found a different prefix */
  /* A page is parsed and mapped on libuv's thread pool, so the loop stays
   * free for the network and for rate-limit grants that are due. While
   * `parsing`, the worker owns the page, the tally and the restart state
   * above, and the loop touches none of them. */
  ad_workq_job_t job; /* in src->parse_q */
  int parsing;
  /* glibc gives each pool thread its own malloc arena, and the freed parse
   * trees there, wedged between page buffers that wait in the queue, were
   * never handed back: 20 MB more RSS at 1 M records. Every
   * AD_AT_TRIM_EVERY pages the worker gives free memory back (malloc_trim
   * after each page cost 20 % more CPU). */
  int finish_after; /* the source stopped during the parse */
  char *body;       /* the answer being parsed (owned) */
  size_t body_len;
  ad_page_t *page;
  struct {
    int rc;          /* 0, AD_EPARSE (err says why) or AD_ENOMEM */
    int restart;     /* a restarted read found the table changed */
    char *next;      /* the page's offset (owned); NULL on the last page */
    size_t utf8_replaced;
    uint64_t read, failed;
    ad_buf_t failures; /* "record id\0message\0" per failed record */
    char err[256];
  } tally;
} ad_at_reader_t;

static void ad_at_reader_next(ad_at_reader_t *r);
static int ad_at_restart(ad_at_reader_t *r, int resend);
static void ad_at_fatal(ad_at_source_t *src, const char *msg);

/* ---- completion -------------------------------------------------------- */

static void ad_at_on_done(ad_timers_entry_t *e, void *data) {
  ad_at_source_t *src = data;
  ad_stats_t *stats = src->o.svc->stats;
  (void)e;
  /* The margin was tested if our pace kept a key at its limit. */
  if (src->o.margin != NULL && !src->o.svc->check)
    ad_margin_finish(src->o.margin, src->client.api.at_limit > 0);
  if (src->o.margin != NULL && stats != NULL) {
    stats->safety_margin_ms = (double)src->o.margin->current_us / 1000.0;
    stats->margin_widened = (uint64_t)src->o.margin->widened;
  }
  ad_source_done(src->o.host);
}

/* One discovery step or reader finished. on_done runs from the loop, never
 * from inside a callback chain that still touches the source. */
static void ad_at_step_done(ad_at_source_t *src) {
  if (--src->pending > 0 || src->finished)
    return;
  src->finished = 1;
  if (ad_timers_after(src->o.svc->timers, &src->done_entry, 0, ad_at_on_done, src))
    ad_at_on_done(&src->done_entry, src);
}

/* ---- readers ----------------------------------------------------------- */

static void ad_at_release(ad_at_reader_t *r) {
  if (!r->reserved)
    return;
  r->reserved = 0;
  ad_source_release(r->src->o.host, AD_AT_PAGE_SIZE, r->reserved_bytes);
}

static void ad_at_base_reader_gone(ad_at_job_t *b) {
  if (--b->readers_left == 0) /* its mappings are no longer needed */
    ad_at_schema_free(&b->schema);
}

/* The reader ends: the table fully read, stopped (error NULL), or failed
 * with error. */
static void ad_at_reader_finish(ad_at_reader_t *r, const char *error) {
  ad_at_source_t *src = r->src;
  if (r->parsing) { /* the worker has it: finish once the page is back */
    r->finish_after = 1;
    ad_list_remove(&r->node);
    return;
  }
  ad_at_call_cancel(&r->call);
  ad_at_release(r);
  if (ad_list_linked(&r->wait_node))
    ad_list_remove(&r->wait_node);
  ad_list_remove(&r->node);
  ad_at_base_reader_gone(r->base);
  ad_at_call_free(&r->call);
  ad_buf_free(&r->post);
  ad_buf_free(&r->tally.failures);
  ad_source_table_end(src->o.host, r->table, error);
  ad_table_unref(r->table);
  free(r->offset);
  free(r);
  ad_at_step_done(src);
}

static void ad_at_reader_fail(ad_at_reader_t *r, const char *msg) {
  ad_at_reader_finish(r, msg);
}

/* Counts a record read, and failed (id may be "", msg says why) when it
 * could not be mapped; the loop applies the tally (ad_at_apply_tally). */
static int ad_at_count_record(ad_at_reader_t *r, const char *id,
                              const char *msg) {
  r->tally.read++;
  if (msg == NULL)
    return 0;
  r->tally.failed++;
  return ad_failures_add(&r->tally.failures, id, msg);
}

/* The records the worker could not turn, to the engine (they count read
 * and failed; the page's units count read when it is pushed). */
static void ad_at_apply_tally(ad_at_reader_t *r) {
  ad_source_failed_pending(r->src->o.host, r->table, &r->tally.failures);
  if (r->tally.utf8_replaced > 0)
    ad_source_log(r->src->o.host, AD_LOG_WARN,
                  "%s: the page held %zu byte sequences that are not UTF-8; "
                  "each became U+FFFD",
                  r->what, r->tally.utf8_replaced);
}

#define AD_AT_HASH_INIT 14695981039346656037ULL

/* FNV-1a over an id and a separator, chained from h. */
static uint64_t ad_at_hash_id(uint64_t h, const char *id) {
  for (; *id != '\0'; id++)
    h = (h ^ (unsigned char)*id) * 1099511628211ULL;
  return (h ^ 0xff) * 1099511628211ULL;
}

/* In a restarted read, passes over what the last read delivered; 1 while
 * the record is to be skipped. Sets changed when the prefix differs. */
static int ad_at_skip_record(ad_at_reader_t *r, const char *id) {
  if (!r->skipping)
    return 0;
  r->skipped_hash = ad_at_hash_id(r->skipped_hash, id);
  if (++r->skipped == r->delivered) {
    r->skipping = 0;
    r->changed = r->skipped_hash != r->delivered_hash;
  }
  return 1;
}

/* What the worker turns a page's records with: the neutral records'
 * buffers and the encoder's scratch, made per page. */
typedef struct ad_at_work {
  ad_at_conv_t conv;
  ad_at_link_t link;
  ad_buf_t scratch;
  unsigned wants; /* what the sink reads of a record (AD_ENCODE_*) */
} ad_at_work_t;

/* Adds one record unless a restarted read already delivered it: made
 * neutral, then encoded into the page by the sink's encoder. A record that
 * cannot be read or encoded is counted failed, the page goes on. */
static int ad_at_add_record(ad_at_reader_t *r, json_object *rec,
                            ad_page_t *page, ad_at_work_t *w) {
  const ad_source_t *host = r->src->o.host;
  const char *id = ad_at_json_string(rec, "id");
  ad_record_t nrec;
  char err[256];
  int rc;

  if (!ad_at_id_ok(id))
    return ad_at_count_record(
        r, "", "a record without an \"id\" of letters and digits");
  if (ad_at_skip_record(r, id))
    return 0;
  r->delivered++;
  r->delivered_hash = ad_at_hash_id(r->delivered_hash, id);
  err[0] = '\0';
  rc = ad_at_record(&w->conv, r->map, &w->link, w->wants, rec, &nrec, err,
                    sizeof(err));
  if (rc == 0)
    rc = ad_source_encode(host, page, &nrec, &w->scratch, err, sizeof(err));
  if (rc == 0)
    return ad_at_count_record(r, id, NULL);
  if (rc == AD_ENOMEM)
    return rc;
  return ad_at_count_record(
      r, id, rc == AD_EPARSE && err[0] != '\0' ? err : ad_strerror(rc));
}

static int ad_at_build_page(ad_at_reader_t *r, const ad_at_page_t *ap,
                            ad_page_t *page) {
  const ad_at_config_t *conf = r->src->o.conf;
  size_t i, n = json_object_array_length(ap->records);
  ad_at_work_t w;
  int rc = 0;

  ad_at_conv_init(&w.conv);
  ad_buf_init(&w.scratch, 0);
  w.wants = ad_source_wants(r->src->o.host);
  w.link.base_id = r->base->id;
  w.link.view_id = conf->index_all ? NULL : conf->view_id;
  w.link.share_id = conf->index_all ? NULL : conf->share_id;
  for (i = 0; i < n && rc == 0 && !r->changed; i++)
    rc = ad_at_add_record(r, json_object_array_get_idx(ap->records, i), page,
                          &w);
  ad_at_conv_free(&w.conv);
  ad_buf_free(&w.scratch);
  return rc;
}

static void ad_at_push(ad_at_reader_t *r, ad_page_t *page, int last) {
  if (page->nunits > 0) /* learn the table's row size for reservations */
    r->row_bytes = (r->row_bytes + page->data.len / page->nunits) / 2 + 1;
  r->reserved = 0;
  r->pages++;
  ad_source_push(r->src->o.host, page, AD_AT_PAGE_SIZE, r->reserved_bytes,
                 last);
}

/* On the thread pool: parse the answer, make its records neutral and have
 * the sink's encoder write them into the page. Touches only the reader's
 * parse state, the page and immutable data (the table's mapping and
 * columns, what the encoder prepared, the config). */
static void ad_at_parse_work(ad_workq_job_t *job) {
  ad_at_reader_t *r = ad_container_of(job, ad_at_reader_t, job);
  ad_at_page_t ap;

  r->tally.rc = ad_at_page_parse(r->body, r->body_len, &ap, r->tally.err,
                                 sizeof(r->tally.err));
  free(r->body);
  r->body = NULL;
  if (r->tally.rc != 0)
    return;
  r->tally.utf8_replaced = ap.utf8_replaced;
  r->tally.rc = ad_at_build_page(r, &ap, r->page);
  r->tally.restart = r->tally.rc == 0 &&
                     (r->changed || (ap.offset == NULL && r->skipping));
  if (r->tally.rc == 0 && !r->tally.restart && ap.offset != NULL &&
      (r->tally.next = strdup(ap.offset)) == NULL)
    r->tally.rc = AD_ENOMEM;
  ad_at_page_free(&ap);
#ifdef __GLIBC__
  if (job->seq % AD_AT_TRIM_EVERY == 0)
    malloc_trim(0);
#endif
}

/* Back on the loop: count, then push the page and read on (or restart,
 * or retry a malformed answer). A page parsed while the source stopped is
 * still pushed: its records were read, and go out with the rest. */
static void ad_at_parse_done(ad_workq_job_t *job) {
  ad_at_reader_t *r = ad_container_of(job, ad_at_reader_t, job);
  ad_at_source_t *src = r->src;
  ad_page_t *page = r->page;
  int stop = r->finish_after;

  r->parsing = 0;
  r->finish_after = 0;
  r->page = NULL;
  ad_at_apply_tally(r);
  if (r->tally.rc != 0 || r->tally.restart)
    ad_page_free(page);
  if (r->tally.rc == AD_EPARSE && !stop) {
    ad_at_call_malformed(&r->call, r->tally.err);
  } else if (r->tally.rc != 0) {
    if (stop)
      ad_at_reader_finish(r, NULL);
    if (r->tally.rc != AD_EPARSE)
      ad_at_fatal(src, "out of memory while mapping records");
  } else if (r->tally.restart) {
    ad_at_release(r); /* nothing of the page was delivered */
    if (stop)
      ad_at_reader_finish(r, NULL);
    else if (ad_at_restart(r, 1) != 0)
      ad_at_reader_fail(r, "the table kept changing while it was read "
                           "again after its offsets expired");
  } else {
    free(r->offset);
    r->offset = r->tally.next;
    r->tally.next = NULL;
    ad_at_push(r, page, r->offset == NULL);
    if (r->offset == NULL || stop)
      ad_at_reader_finish(r, NULL);
    else
      ad_at_reader_next(r);
  }
}

/* The one-record read of `check`: readable is all it needs to know. */
static int ad_at_check_page(ad_at_reader_t *r, const char *body, size_t len,
                            char *err, size_t errlen) {
  ad_at_page_t ap;
  if (ad_at_page_parse(body, len, &ap, err, errlen) != 0)
    return AD_EPARSE;
  snprintf(r->src->summary, sizeof(r->src->summary),
           "table \"%s\" (%s) of base %s is readable: %zu fields",
           r->map->name, r->map->id, r->base->id, r->map->nfields);
  ad_at_page_free(&ap);
  ad_at_reader_finish(r, NULL);
  return 0;
}

static int ad_at_on_page(ad_at_call_t *call, const char *body, size_t len,
                         char *err, size_t errlen, void *data) {
  ad_at_reader_t *r = data;
  ad_at_source_t *src = r->src;

  if (src->o.svc->check)
    return ad_at_check_page(r, body, len, err, errlen);
  r->page = ad_page_new(r->table);
  r->body = ad_at_call_take_body(call, &r->body_len); /* no copy */
  if (r->page == NULL || r->body == NULL) {
    ad_page_free(r->page);
    r->page = NULL;
    free(r->body);
    r->body = NULL;
    ad_at_fatal(src, "out of memory while reading a page");
    return 0;
  }
  r->tally.rc = 0;
  r->tally.restart = 0;
  r->tally.read = r->tally.failed = 0;
  r->tally.utf8_replaced = 0;
  ad_buf_reset(&r->tally.failures);
  r->parsing = 1;
  ad_workq_push(&src->parse_q, &r->job, ad_at_parse_work, ad_at_parse_done);
  return 0;
}

static int ad_at_is_expired(const ad_at_failure_t *f) {
  return f->status == 422 &&
         strcmp(f->type, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE") == 0;
}

/* Reads the table again from its first page: skipping what was delivered
 * (an expired offset) or, when the table changed under the reader,
 * sending everything again. Returns -1 when the restarts are spent. */
static int ad_at_restart(ad_at_reader_t *r, int resend) {
  ad_at_source_t *src = r->src;
  int max = src->o.max_restarts > 0 ? src->o.max_restarts : AD_AT_MAX_RESTARTS;

  if (r->restarts >= max)
    return -1;
  r->restarts++;
  if (resend)
    ad_source_log(src->o.host, AD_LOG_WARN,
                "%s: the table changed while it was read again; reading it "
                "once more and sending every record (restart %d of %d; the "
                "%" PRIu64 " records sent before are counted twice, the "
                "sink keeps one copy)", r->what, r->restarts, max, r->delivered);
  else
    ad_source_log(src->o.host, AD_LOG_WARN,
                "%s: the offset expired; reading the table again from its "
                "first page (restart %d of %d, the %" PRIu64 " records "
                "already delivered are skipped)", r->what, r->restarts, max,
                r->delivered);
  if (resend) {
    r->delivered = 0;
    r->delivered_hash = AD_AT_HASH_INIT;
  }
  r->skipping = r->delivered > 0;
  r->skipped = 0;
  r->skipped_hash = AD_AT_HASH_INIT;
  r->changed = 0;
  free(r->offset);
  r->offset = NULL;
  ad_at_reader_next(r);
  return 0;
}

static void ad_at_on_page_fail(ad_at_call_t *call, const ad_at_failure_t *f,
                               void *data) {
  ad_at_reader_t *r = data;
  ad_at_source_t *src = r->src;

  (void)call;
  ad_at_release(r);
  if (f->fatal) {
    ad_at_fatal(src, f->message);
    return;
  }
  if (ad_at_is_expired(f) && r->offset != NULL && ad_at_restart(r, 0) == 0)
    return;
  ad_at_reader_fail(r, f->message);
}

/* Reserves room for the reader's next page; AD_EAGAIN when the queue is
 * full (on_low follows). */
static int ad_at_reserve(ad_at_reader_t *r) {
  r->reserved_bytes = r->row_bytes * AD_AT_PAGE_SIZE;
  if (ad_source_reserve(r->src->o.host, AD_AT_PAGE_SIZE, r->reserved_bytes))
    return AD_EAGAIN;
  r->reserved = 1;
  return 0;
}

static void ad_at_reader_next(ad_at_reader_t *r) {
  ad_at_source_t *src = r->src;
  size_t max_url = src->o.max_url ? src->o.max_url : AD_AT_MAX_URL;
  int rc;

  if (src->stopping)
    return;
  if (!r->reserved && ad_at_reserve(r) != 0) {
    ad_list_insert_tail(&src->waiters, &r->wait_node);
    return;
  }
  ad_buf_reset(ad_at_call_url(&r->call));
  ad_buf_reset(&r->post);
  rc = ad_at_list_request(ad_at_call_url(&r->call), &r->post,
                          src->o.conf->base_url, r->base->id, r->map->id,
                          src->o.svc->check ? 1 : AD_AT_PAGE_SIZE, r->offset,
                          NULL,
                          0, max_url);
  if (rc == 0)
    rc = ad_at_call_start(&r->call, &r->base->key,
                          r->post.len > 0 ? r->post.data : NULL, r->post.len,
                          ad_at_on_page, ad_at_on_page_fail);
  if (rc != 0) {
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s", r->what, ad_strerror(rc));
    ad_at_reader_fail(r, msg);
  }
}

/* The table's columns, from its schema in field order. */
static int ad_at_columns(ad_table_t *table, const ad_at_table_t *map,
                         const ad_at_config_t *conf) {
  size_t i;
  int rc = 0;

  if (conf->treat_all_non_attachment_fields_as_metadata)
    table->flags |= AD_TABLE_FIELDS_AS_TAGS;
  for (i = 0; i < map->nfields && rc == 0; i++)
    rc = ad_table_add_column(table, map->fields[i].id, map->fields[i].name,
                             map->fields[i].kind, map->fields[i].flags);
  return rc;
}

/* Announces the table to the engine (the sink prepares it, or refuses
 * it: then it fails alone, up front) and starts its reader. */
static int ad_at_reader_add(ad_at_job_t *b, const ad_at_table_t *map) {
  ad_at_source_t *src = b->src;
  ad_at_reader_t *r;
  ad_table_t *table;
  int rc;

  table = ad_table_new("airtable", b->id, b->name, map->id, map->name,
                       map->description);
  if (table == NULL || ad_at_columns(table, map, src->o.conf) != 0) {
    ad_table_unref(table);
    return AD_ENOMEM;
  }
  rc = ad_source_table(src->o.host, table);
  if (rc != 0) { /* skipped, or refused by the sink (counted) */
    ad_table_unref(table);
    return rc == AD_ENOMEM ? rc : 0;
  }
  if ((r = calloc(1, sizeof(*r))) == NULL) {
    ad_source_table_end(src->o.host, table, "out of memory starting its "
                                            "reader");
    ad_table_unref(table);
    return AD_ENOMEM;
  }
  r->table = table;
  r->src = src;
  r->base = b;
  r->map = map;
  r->row_bytes = AD_AT_ROW_BYTES_GUESS;
  r->delivered_hash = AD_AT_HASH_INIT;
  ad_buf_init(&r->post, 0);
  ad_buf_init(&r->tally.failures, 0);
  ad_list_init(&r->wait_node);
  ad_at_call_init(&r->call, &src->client);
  r->call.data = r;
  r->call.what = r->what;
  snprintf(r->what, sizeof(r->what), "records of %s/%s (\"%s\")", b->id,
           map->id, map->name);
  ad_list_insert_tail(&src->readers, &r->node);
  b->readers_left++;
  src->pending++;
  ad_at_reader_next(r);
  return 0;
}

/* ---- discovery --------------------------------------------------------- */

static int ad_at_start_tables(ad_at_job_t *b) {
  ad_at_source_t *src = b->src;
  const ad_at_config_t *conf = src->o.conf;
  const ad_at_table_t *t;
  char msg[512];
  size_t i;
  int rc = 0;

  b->readers_left++; /* hold the schema while readers start */
  if (conf->index_all) {
    for (i = 0; i < b->schema.ntables && rc == 0 && !src->stopping; i++)
      rc = ad_at_reader_add(b, &b->schema.tables[i]);
    if (rc == 0 && i == b->schema.ntables) /* a table not here is gone */
      ad_source_complete(src->o.host, b->id);
  } else if ((t = ad_at_schema_find(&b->schema, conf->table_name_or_id))) {
    rc = ad_at_reader_add(b, t);
  } else {
    snprintf(msg, sizeof(msg),
             "source.table_name_or_id: base %s has no table named or with id "
             "\"%s\" (it has %zu tables)",
             b->id, conf->table_name_or_id, b->schema.ntables);
    ad_at_fatal(src, msg);
  }
  ad_at_base_reader_gone(b);
  return rc;
}

static int ad_at_on_schema(ad_at_call_t *call, const char *body, size_t len,
                           char *err, size_t errlen, void *data) {
  ad_at_job_t *b = data;
  ad_at_source_t *src = b->src;
  (void)call;

  ad_at_schema_free(&b->schema);
  if (ad_at_schema_parse(body, len, &b->schema, err, errlen) != 0)
    return AD_EPARSE;
  ad_source_log(src->o.host, AD_LOG_INFO, "base %s%s%s%s: %zu tables",
                b->id, b->name ? " \"" : "", b->name ? b->name : "",
                b->name ? "\"" : "", b->schema.ntables);
  if (ad_at_start_tables(b) != 0)
    ad_at_fatal(src, "out of memory while starting table readers");
  ad_at_step_done(src);
  return 0;
}

static void ad_at_on_schema_fail(ad_at_call_t *call, const ad_at_failure_t *f,
                                 void *data) {
  ad_at_job_t *b = data;
  ad_at_source_t *src = b->src;
  (void)call;

  if (f->fatal || !src->o.conf->index_all)
    ad_at_fatal(src, f->message); /* one-table mode: nothing else to read */
  else /* the base's tables, as one */
    ad_source_error(src->o.host, b->id, f->message);
  ad_at_step_done(src);
}

/* The window of a one-second limit: widened by the server's margin. */
static uint64_t ad_at_window_us(const ad_at_source_t *src) {
  uint64_t margin =
      src->o.margin != NULL
          ? src->o.margin->current_us
          : (uint64_t)src->o.svc->config->rate_limits.safety_margin_ms * 1000;
  return 1000000 + margin;
}

/* A key allowing rps requests per second, spaced 1/rps apart over the
 * widened window. */
static int ad_at_key_init(ad_at_source_t *src, ad_limiter_key_t *key,
                          const char *name, double rps,
                          ad_limiter_key_t *parent) {
  return ad_limiter_key_init(src->o.svc->limiter, key, name, rps,
                             ad_at_window_us(src), parent);
}

/* The margin widened after a 429: every key spaces its grants over the
 * new window from now on. */
static void ad_at_on_margin(ad_at_client_t *c, void *data) {
  ad_at_source_t *src = data;
  uint64_t window = ad_at_window_us(src);
  ad_list_t *node;
  (void)c;
  ad_limiter_key_set_window(&src->token_key, window);
  for (node = src->bases.next; node != &src->bases; node = node->next)
    ad_limiter_key_set_window(&ad_container_of(node, ad_at_job_t, node)->key,
                              window);
}

static int ad_at_base_add(ad_at_source_t *src, const char *id,
                          const char *name) {
  const ad_config_t *cfg = src->o.svc->config;
  ad_at_job_t *b = calloc(1, sizeof(*b));
  int rc;

  if (b == NULL || (b->id = strdup(id)) == NULL ||
      (name != NULL && (b->name = strdup(name)) == NULL)) {
    if (b != NULL)
      free(b->id);
    free(b);
    return AD_ENOMEM;
  }
  b->src = src;
  snprintf(b->key_name, sizeof(b->key_name), "%s/base-%s", src->group, id);
  rc = ad_at_key_init(src, &b->key, b->key_name, cfg->rate_limits.per_base_rps,
                      &src->token_key);
  if (rc != 0) {
    free(b->name);
    free(b->id);
    free(b);
    return rc;
  }
  ad_list_insert_tail(&src->bases, &b->node);
  src->nbases++;
  ad_source_group(src->o.host, id, name);
  ad_at_call_init(&b->call, &src->client);
  b->call.data = b;
  b->call.what = b->what;
  snprintf(b->what, sizeof(b->what), "schema of base %s", id);
  rc = ad_at_schema_url(ad_at_call_url(&b->call), src->o.conf->base_url, id);
  if (rc == 0)
    rc = ad_at_call_start(&b->call, &b->key, NULL, 0, ad_at_on_schema,
                          ad_at_on_schema_fail);
  if (rc == 0)
    src->pending++;
  return rc;
}

static int ad_at_list_bases(ad_at_source_t *src, const char *offset);

static int ad_at_on_bases(ad_at_call_t *call, const char *body, size_t len,
                          char *err, size_t errlen, void *data) {
  ad_at_source_t *src = data;
  ad_at_base_t *bases = NULL;
  size_t n = 0, nparsed, i;
  char *offset = NULL;
  int rc, last;

  (void)call;
  rc = ad_at_bases_parse(body, len, &bases, &n, &offset, err, errlen);
  if (rc == AD_EPARSE)
    return rc;
  last = offset == NULL;
  nparsed = n;
  if (src->o.svc->check) {
    snprintf(src->summary, sizeof(src->summary), "%zu base%s visible%s", n,
             n == 1 ? "" : "s", offset != NULL ? " on the first page" : "");
    if (n == 0)
      ad_at_fatal(src, "the API key sees no base: add bases to the token's "
                       "access (scopes schema.bases:read, data.records:read)");
    free(offset);
    offset = NULL;
    n = 0;
  }
  for (i = 0; i < n && rc == 0 && !src->stopping; i++)
    rc = ad_at_base_add(src, bases[i].id, bases[i].name);
  ad_at_bases_free(bases, nparsed);
  if (rc == 0 && offset != NULL && !src->stopping)
    rc = ad_at_list_bases(src, offset);
  free(offset);
  if (rc != 0)
    ad_at_fatal(src, "out of memory during discovery");
  else if (last && src->nbases == 0 && !src->o.svc->check)
    ad_at_fatal(src, "the API key sees no base: add bases to the token's "
                     "access (scopes schema.bases:read, data.records:read)");
  else if (last && !src->stopping && !src->o.svc->check)
    ad_source_complete(src->o.host, NULL); /* a base not listed is gone */
  ad_at_step_done(src);
  return 0;
}

static void ad_at_on_bases_fail(ad_at_call_t *call, const ad_at_failure_t *f,
                                void *data) {
  ad_at_source_t *src = data;
  (void)call;
  ad_at_fatal(src, f->message); /* without the list, no sync is complete */
  ad_at_step_done(src);
}

static int ad_at_list_bases(ad_at_source_t *src, const char *offset) {
  ad_buf_t *url = ad_at_call_url(&src->bases_call);
  int rc;

  ad_buf_reset(url);
  rc = ad_at_bases_url(url, src->o.conf->base_url, offset);
  if (rc == 0)
    rc = ad_at_call_start(&src->bases_call, &src->token_key, NULL, 0,
                          ad_at_on_bases, ad_at_on_bases_fail);
  if (rc == 0)
    src->pending++;
  return rc;
}

/* ---- the source -------------------------------------------------------- */

static void ad_at_fatal(ad_at_source_t *src, const char *msg) {
  if (src->summary[0] == '\0') /* check mode reports what stopped it */
    snprintf(src->summary, sizeof(src->summary), "%.*s",
             (int)sizeof(src->summary) - 1, msg); /* cut, never overrun */
  ad_source_fatal(src->o.host, msg);
  ad_at_source_stop(src);
}

/* Names shared by every process of one server and token. A base's limit
 * is Airtable's for every caller of the base whatever their token, so
 * its name leaves the token out. */
static void ad_at_key_names(ad_at_source_t *src) {
  const ad_at_config_t *conf = src->o.conf;
  const char *server[] = {"airtable", conf->base_url, NULL};
  const char *token[] = {"airtable token", conf->base_url, conf->api_key,
                         NULL};
  char h[17], t[17];

  ad_digest_hex(server, h, 16);
  ad_digest_hex(token, t, 16);
  snprintf(src->group, sizeof(src->group), "at-%s", h);
  snprintf(src->token_name, sizeof(src->token_name), "%s/token-%s",
           src->group, t);
}

int ad_at_source_init(ad_at_source_t *src, const ad_at_source_opts_t *o) {
  ad_at_client_opts_t co;
  const ad_services_t *svc = o->svc;
  int rc, max_parsing;

  if (o->host == NULL || o->conf == NULL || svc == NULL ||
      svc->config == NULL || svc->http == NULL || svc->limiter == NULL ||
      svc->timers == NULL)
    return AD_EINVAL;
  memset(src, 0, sizeof(*src));
  src->o = *o;
  ad_list_init(&src->bases);
  ad_list_init(&src->readers);
  ad_list_init(&src->waiters);
  max_parsing = (int)uv_available_parallelism();
  ad_workq_init(&src->parse_q, svc->http->loop,
                max_parsing < AD_AT_MAX_PARSING ? max_parsing
                                                : AD_AT_MAX_PARSING);
  ad_timers_entry_init(&src->done_entry);
  memset(&co, 0, sizeof(co));
  co.api_key = o->conf->api_key;
  co.backoff_on_429_s = svc->config->rate_limits.backoff_on_429_s;
  co.max_retries = (int)svc->config->engine.max_retries;
  co.backoff_base_ms = svc->backoff_base_ms;
  co.seed = uv_hrtime();
  co.http = svc->http;
  co.timers = svc->timers;
  co.counts = svc->counts;
  co.log = svc->log;
  co.token_key = &src->token_key;
  co.margin = o->margin;
  co.on_margin = ad_at_on_margin;
  co.margin_data = src;
  if ((rc = ad_at_client_init(&src->client, &co)) != 0)
    return rc;
  ad_at_key_names(src);
  rc = ad_at_key_init(src, &src->token_key, src->token_name,
                      svc->config->rate_limits.per_token_rps, NULL);
  if (rc != 0) {
    ad_at_client_close(&src->client);
    return rc;
  }
  ad_at_call_init(&src->bases_call, &src->client);
  src->bases_call.data = src;
  src->bases_call.what = "list of bases";
  return 0;
}

int ad_at_source_start(ad_at_source_t *src) {
  const ad_at_config_t *conf = src->o.conf;
  int rc;

  if (src->started)
    return AD_EINVAL;
  src->started = 1;
  src->pending = 1; /* held until discovery is under way */
  rc = conf->index_all ? ad_at_list_bases(src, NULL)
                       : ad_at_base_add(src, conf->base_id, NULL);
  if (rc != 0) {
    src->started = 0;
    src->pending = 0;
    return rc;
  }
  ad_at_step_done(src);
  return 0;
}

void ad_at_source_resume(ad_at_source_t *src) {
  ad_list_t *node;
  ad_at_reader_t *r;

  while (!src->stopping && (node = ad_list_head(&src->waiters)) != NULL) {
    r = ad_container_of(node, ad_at_reader_t, wait_node);
    if (ad_at_reserve(r) != 0)
      return; /* still full: the next on_low resumes the rest */
    ad_list_remove(node);
    ad_at_reader_next(r);
  }
}

void ad_at_source_stop(ad_at_source_t *src) {
  ad_list_t *node;
  ad_at_job_t *b;

  if (src->stopping || !src->started)
    return;
  src->stopping = 1;
  src->pending++; /* finishing readers must not complete the source early */
  if (ad_at_call_busy(&src->bases_call)) {
    ad_at_call_cancel(&src->bases_call);
    ad_at_step_done(src);
  }
  for (node = src->bases.next; node != &src->bases; node = node->next) {
    b = ad_container_of(node, ad_at_job_t, node);
    if (ad_at_call_busy(&b->call)) {
      ad_at_call_cancel(&b->call);
      ad_at_step_done(src);
    }
  }
  while ((node = ad_list_head(&src->readers)) != NULL)
    ad_at_reader_finish(ad_container_of(node, ad_at_reader_t, node), NULL);
  ad_at_step_done(src);
}

void ad_at_source_close(ad_at_source_t *src) {
  ad_list_t *node;
  ad_at_job_t *b;

  ad_timers_cancel(&src->done_entry);
  while ((node = ad_list_head(&src->readers)) != NULL) /* never started */
    ad_at_reader_finish(ad_container_of(node, ad_at_reader_t, node), NULL);
  while ((node = ad_list_head(&src->bases)) != NULL) {
    b = ad_container_of(node, ad_at_job_t, node);
    ad_list_remove(node);
    ad_at_call_cancel(&b->call);
    ad_at_call_free(&b->call);
    ad_at_schema_free(&b->schema);
    ad_limiter_key_close(&b->key);
    free(b->id);
    free(b->name);
    free(b);
  }
  ad_at_call_cancel(&src->bases_call);
  ad_at_call_free(&src->bases_call);
  ad_limiter_key_close(&src->token_key);
  ad_at_client_close(&src->client);
}

const char *ad_at_source_check_result(const ad_at_source_t *src) {
  return src->summary;
}
