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
  int stats_slot; /* in stats->per_base */
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
  uv_work_t work;
  ad_list_t parse_node; /* in src->to_parse while it waits its turn */
  int parsing;
  /* glibc gives each pool thread its own malloc arena, and the freed parse
   * trees there, wedged between page buffers that wait in the queue, were
   * never handed back: 20 MB more RSS at 1 M records. Every
   * AD_AT_TRIM_EVERY pages the worker gives free memory back (malloc_trim
   * after each page cost 20 % more CPU). */
  int trim;
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
static void ad_at_parse_next(ad_at_source_t *src);

/* ---- completion -------------------------------------------------------- */

static void ad_at_on_done(ad_timers_entry_t *e, void *data) {
  ad_at_source_t *src = data;
  (void)e;
  if (src->o.on_done != NULL)
    src->o.on_done(src, src->o.data);
}

/* One discovery step or reader finished. on_done runs from the loop, never
 * from inside a callback chain that still touches the source. */
static void ad_at_step_done(ad_at_source_t *src) {
  if (--src->pending > 0 || src->finished)
    return;
  src->finished = 1;
  if (ad_timers_after(src->o.timers, &src->done_entry, 0, ad_at_on_done, src))
    ad_at_on_done(&src->done_entry, src);
}

/* Records (and logs, once) a failure that the run survives. */
static void ad_at_failure(ad_at_source_t *src, const char *base,
                          const char *table, const char *record,
                          const char *msg, uint64_t records) {
  if (src->o.log != NULL)
    ad_log_warn(src->o.log, "airtable", "%s%s%s", msg, record ? ": record " : "",
                record ? record : "");
  if (ad_stats_add_failure(src->o.stats, base ? base : "", table ? table : "",
                           record, msg, records) != 0 &&
      src->o.log != NULL)
    ad_log_error(src->o.log, "airtable", "out of memory recording: %s", msg);
}

/* ---- readers ----------------------------------------------------------- */

static void ad_at_release(ad_at_reader_t *r) {
  if (!r->reserved)
    return;
  r->reserved = 0;
  ad_queue_release(r->src->o.queue, AD_AT_PAGE_SIZE, r->reserved_bytes);
}

static void ad_at_base_reader_gone(ad_at_job_t *b) {
  if (--b->readers_left == 0) /* its mappings are no longer needed */
    ad_at_schema_free(&b->schema);
}

static void ad_at_reader_finish(ad_at_reader_t *r) {
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
  ad_table_unref(r->table);
  free(r->offset);
  free(r);
  src->tables_done++;
  ad_at_step_done(src);
}

static void ad_at_reader_fail(ad_at_reader_t *r, const char *msg) {
  if (ad_table_mark_failed(r->table)) {
    r->src->o.stats->tables_failed++;
    ad_stats_base_at(r->src->o.stats, r->base->stats_slot)->tables_failed++;
  }
  ad_at_failure(r->src, r->base->id, r->map->id, NULL, msg, 0);
  ad_at_reader_finish(r);
}

/* Counts a record read, and failed (id may be "", msg says why) when it
 * could not be mapped; the loop applies the tally (ad_at_apply_tally). */
static int ad_at_count_record(ad_at_reader_t *r, const char *id,
                              const char *msg) {
  r->tally.read++;
  if (msg == NULL)
    return 0;
  r->tally.failed++;
  if (ad_buf_append(&r->tally.failures, id, strlen(id) + 1) != 0 ||
      ad_buf_append(&r->tally.failures, msg, strlen(msg) + 1) != 0)
    return AD_ENOMEM;
  return 0;
}

/* What the worker counted, into the stats and the log. */
static void ad_at_apply_tally(ad_at_reader_t *r) {
  ad_stats_t *stats = r->src->o.stats;
  ad_stats_base_t *b = ad_stats_base_at(stats, r->base->stats_slot);
  const char *p = r->tally.failures.data, *end = p + r->tally.failures.len;
  const char *id, *msg;

  stats->records_read += r->tally.read;
  stats->records_failed += r->tally.failed;
  b->records_read += r->tally.read;
  b->records_failed += r->tally.failed;
  while (p != NULL && p < end) {
    id = p;
    msg = id + strlen(id) + 1;
    p = msg + strlen(msg) + 1;
    ad_at_failure(r->src, r->base->id, r->map->id, id[0] ? id : NULL, msg, 1);
  }
  if (r->tally.utf8_replaced > 0 && r->src->o.log != NULL)
    ad_log_warn(r->src->o.log, "airtable",
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
} ad_at_work_t;

/* Adds one record unless a restarted read already delivered it: made
 * neutral, then encoded into the page by the sink's encoder. A record that
 * cannot be read or encoded is counted failed, the page goes on. */
static int ad_at_add_record(ad_at_reader_t *r, json_object *rec,
                            ad_page_t *page, ad_at_work_t *w) {
  const ad_encoder_t *enc = r->src->o.encoder;
  const char *id = ad_at_json_string(rec, "id");
  size_t mark = page->data.len, nunits = page->nunits;
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
  rc = ad_at_record(&w->conv, r->map, &w->link, enc->wants, rec, &nrec, err,
                    sizeof(err));
  if (rc == 0)
    rc = enc->encode(enc->data, r->table, &nrec, page, &w->scratch, err,
                     sizeof(err));
  if (rc == 0)
    return ad_at_count_record(r, id, NULL);
  if (page->nunits == nunits && page->data.len > mark) { /* a unit begun */
    page->data.len = mark;
    page->data.data[mark] = '\0';
  }
  if (rc == AD_ENOMEM)
    return rc;
  return ad_at_count_record(
      r, id, rc == AD_EPARSE && err[0] != '\0' ? err : ad_strerror(rc));
}

static int ad_at_build_page(ad_at_reader_t *r, const ad_at_page_t *ap,
                            ad_page_t *page) {
  const ad_config_t *cfg = r->src->o.config;
  size_t i, n = json_object_array_length(ap->records);
  ad_at_work_t w;
  int rc = 0;

  ad_at_conv_init(&w.conv);
  ad_buf_init(&w.scratch, 0);
  w.link.base_id = r->base->id;
  w.link.view_id = cfg->source.index_all ? NULL : cfg->source.view_id;
  w.link.share_id = cfg->source.index_all ? NULL : cfg->source.share_id;
  for (i = 0; i < n && rc == 0 && !r->changed; i++)
    rc = ad_at_add_record(r, json_object_array_get_idx(ap->records, i), page,
                          &w);
  ad_at_conv_free(&w.conv);
  ad_buf_free(&w.scratch);
  return rc;
}

static void ad_at_push(ad_at_reader_t *r, ad_page_t *page, int last) {
  ad_at_source_t *src = r->src;
  page->first = r->pages == 0;
  page->last = last;
  if (page->nunits > 0) /* learn the table's row size for reservations */
    r->row_bytes = (r->row_bytes + page->data.len / page->nunits) / 2 + 1;
  r->reserved = 0;
  ad_queue_push(src->o.queue, &page->item, AD_AT_PAGE_SIZE,
                r->reserved_bytes);
  r->pages++;
  if (src->o.on_page != NULL)
    src->o.on_page(src, src->o.data);
}

/* On the thread pool: parse the answer, make its records neutral and have
 * the sink's encoder write them into the page. Touches only the reader's
 * parse state, the page and immutable data (the table's mapping and
 * columns, what the encoder prepared, the config). */
static void ad_at_parse_work(uv_work_t *work) {
  ad_at_reader_t *r = work->data;
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
  if (r->trim)
    malloc_trim(0);
#endif
}

/* Back on the loop: count, then push the page and read on (or restart,
 * or retry a malformed answer). A page parsed while the source stopped is
 * still pushed: its records were read, and go out with the rest. */
static void ad_at_parse_done(uv_work_t *work, int status) {
  ad_at_reader_t *r = work->data;
  ad_at_source_t *src = r->src;
  ad_page_t *page = r->page;
  int stop = r->finish_after;

  (void)status; /* the work is never canceled */
  r->parsing = 0;
  src->parsing--;
  r->finish_after = 0;
  r->page = NULL;
  ad_at_parse_next(src); /* before the push: the sink's sends take a while */
  ad_at_apply_tally(r);
  if (r->tally.rc != 0 || r->tally.restart)
    ad_page_free(page);
  if (r->tally.rc == AD_EPARSE && !stop) {
    ad_at_call_malformed(&r->call, r->tally.err);
  } else if (r->tally.rc != 0) {
    if (stop)
      ad_at_reader_finish(r);
    if (r->tally.rc != AD_EPARSE)
      ad_at_fatal(src, "out of memory while mapping records");
  } else if (r->tally.restart) {
    ad_at_release(r); /* nothing of the page was delivered */
    if (stop)
      ad_at_reader_finish(r);
    else if (ad_at_restart(r, 1) != 0)
      ad_at_reader_fail(r, "the table kept changing while it was read "
                           "again after its offsets expired");
  } else {
    free(r->offset);
    r->offset = r->tally.next;
    r->tally.next = NULL;
    ad_at_push(r, page, r->offset == NULL);
    if (r->offset == NULL || stop)
      ad_at_reader_finish(r);
    else
      ad_at_reader_next(r);
  }
}

/* Hands waiting pages to the thread pool, max_parsing at a time. */
static void ad_at_parse_next(ad_at_source_t *src) {
  ad_list_t *node;
  ad_at_reader_t *r;

  while (src->parsing < src->max_parsing &&
         (node = ad_list_head(&src->to_parse)) != NULL) {
    r = ad_container_of(node, ad_at_reader_t, parse_node);
    ad_list_remove(node);
    r->work.data = r;
    r->trim = ++src->parsed % AD_AT_TRIM_EVERY == 0;
    src->parsing++;
    if (uv_queue_work(src->o.http->loop, &r->work, ad_at_parse_work,
                      ad_at_parse_done) != 0) { /* not with a live loop */
      ad_at_parse_work(&r->work);
      ad_at_parse_done(&r->work, 0);
    }
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
  ad_at_reader_finish(r);
  return 0;
}

static int ad_at_on_page(ad_at_call_t *call, const char *body, size_t len,
                         char *err, size_t errlen, void *data) {
  ad_at_reader_t *r = data;
  ad_at_source_t *src = r->src;

  if (src->o.check)
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
  ad_list_insert_tail(&src->to_parse, &r->parse_node);
  ad_at_parse_next(src);
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
  if (src->o.log != NULL && resend)
    ad_log_warn(src->o.log, "airtable",
                "%s: the table changed while it was read again; reading it "
                "once more and sending every record (restart %d of %d; the "
                "%" PRIu64 " records sent before are counted twice, the "
                "sink keeps one copy)", r->what, r->restarts, max, r->delivered);
  else if (src->o.log != NULL)
    ad_log_warn(src->o.log, "airtable",
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
  if (ad_queue_reserve(r->src->o.queue, AD_AT_PAGE_SIZE, r->reserved_bytes))
    return AD_EAGAIN;
  r->reserved = 1;
  return 0;
}

static void ad_at_reader_next(ad_at_reader_t *r) {
  ad_at_source_t *src = r->src;
  const ad_config_t *cfg = src->o.config;
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
                          cfg->source.base_url, r->base->id, r->map->id,
                          src->o.check ? 1 : AD_AT_PAGE_SIZE, r->offset, NULL,
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
                         const ad_config_t *cfg) {
  size_t i;
  int rc = 0;

  if (cfg->source.treat_all_non_attachment_fields_as_metadata)
    table->flags |= AD_TABLE_FIELDS_AS_TAGS;
  for (i = 0; i < map->nfields && rc == 0; i++)
    rc = ad_table_add_column(table, map->fields[i].id, map->fields[i].name,
                             map->fields[i].kind, map->fields[i].flags);
  return rc;
}

/* The sink prepares the table before any of it is read, or refuses it (a
 * table it cannot hold): then the table fails alone, up front, with the
 * sink's reason. Returns 1 when it did, AD_ENOMEM when out of memory. */
static int ad_at_prepare(ad_at_reader_t *r) {
  const ad_encoder_t *enc = r->src->o.encoder;
  char err[256], msg[300];
  int rc;

  err[0] = '\0';
  rc = enc->prepare(enc->data, r->table, err, sizeof(err));
  if (rc == 0)
    return 0;
  if (rc == AD_ENOMEM) {
    snprintf(msg, sizeof(msg), "%s: out of memory preparing the table",
             r->what);
    ad_at_reader_fail(r, msg);
    return AD_ENOMEM;
  }
  ad_at_reader_fail(r, err[0] != '\0' ? err : ad_strerror(rc));
  return 1;
}

static int ad_at_reader_add(ad_at_job_t *b, const ad_at_table_t *map) {
  ad_at_source_t *src = b->src;
  ad_at_reader_t *r;
  int rc;

  if (src->o.skip_table != NULL &&
      src->o.skip_table(b->id, map->id, src->o.data)) {
    src->o.stats->tables_skipped++;
    if (src->o.log != NULL)
      ad_log_info(src->o.log, "airtable",
                  "%s/%s (\"%s\"): finished in an earlier run; skipped",
                  b->id, map->id, map->name);
    return 0;
  }
  if ((r = calloc(1, sizeof(*r))) == NULL)
    return AD_ENOMEM;
  r->table = ad_table_new("airtable", b->id, b->name, map->id, map->name,
                          map->description);
  if (r->table == NULL || ad_at_columns(r->table, map, src->o.config) != 0) {
    ad_table_unref(r->table);
    free(r);
    return AD_ENOMEM;
  }
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
  src->tables_total++;
  src->o.stats->tables++;
  r->table->stats_base = b->stats_slot;
  ad_stats_base_at(src->o.stats, b->stats_slot)->tables++;
  if ((rc = ad_at_prepare(r)) != 0)
    return rc == AD_ENOMEM ? rc : 0;
  ad_at_reader_next(r);
  return 0;
}

/* ---- discovery --------------------------------------------------------- */

static int ad_at_start_tables(ad_at_job_t *b) {
  ad_at_source_t *src = b->src;
  const ad_config_t *cfg = src->o.config;
  const ad_at_table_t *t;
  char msg[512];
  size_t i;
  int rc = 0;

  b->readers_left++; /* hold the schema while readers start */
  if (cfg->source.index_all) {
    for (i = 0; i < b->schema.ntables && rc == 0 && !src->stopping; i++)
      rc = ad_at_reader_add(b, &b->schema.tables[i]);
  } else if ((t = ad_at_schema_find(&b->schema, cfg->source.table_name_or_id))) {
    rc = ad_at_reader_add(b, t);
  } else {
    snprintf(msg, sizeof(msg),
             "source.table_name_or_id: base %s has no table named or with id "
             "\"%s\" (it has %zu tables)",
             b->id, cfg->source.table_name_or_id, b->schema.ntables);
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
  if (src->o.log != NULL)
    ad_log_info(src->o.log, "airtable", "base %s%s%s%s: %zu tables", b->id,
                b->name ? " \"" : "", b->name ? b->name : "",
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

  if (f->fatal || !src->o.config->source.index_all) {
    ad_at_fatal(src, f->message); /* one-table mode: nothing else to read */
  } else {
    src->o.stats->tables_failed++; /* the base's tables, as one */
    ad_stats_base_at(src->o.stats, b->stats_slot)->tables_failed++;
    ad_at_failure(src, b->id, NULL, NULL, f->message, 0);
  }
  ad_at_step_done(src);
}

/* The window of a one-second limit: widened by the server's margin. */
static uint64_t ad_at_window_us(const ad_at_source_t *src) {
  uint64_t margin =
      src->o.margin != NULL
          ? src->o.margin->current_us
          : (uint64_t)src->o.config->rate_limits.safety_margin_ms * 1000;
  return 1000000 + margin;
}

/* A key allowing rps requests per second, spaced 1/rps apart over the
 * widened window. */
static int ad_at_key_init(ad_at_source_t *src, ad_limiter_key_t *key,
                          const char *name, double rps,
                          ad_limiter_key_t *parent) {
  return ad_limiter_key_init(src->o.limiter, key, name, rps,
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
  const ad_config_t *cfg = src->o.config;
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
  src->o.stats->bases++;
  b->stats_slot = ad_stats_base(src->o.stats, id, name); /* -1: not kept */
  ad_at_call_init(&b->call, &src->client);
  b->call.data = b;
  b->call.what = b->what;
  snprintf(b->what, sizeof(b->what), "schema of base %s", id);
  rc = ad_at_schema_url(ad_at_call_url(&b->call), cfg->source.base_url, id);
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
  if (src->o.check) {
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
  else if (last && src->o.stats->bases == 0 && !src->o.check)
    ad_at_fatal(src, "the API key sees no base: add bases to the token's "
                     "access (scopes schema.bases:read, data.records:read)");
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
  rc = ad_at_bases_url(url, src->o.config->source.base_url, offset);
  if (rc == 0)
    rc = ad_at_call_start(&src->bases_call, &src->token_key, NULL, 0,
                          ad_at_on_bases, ad_at_on_bases_fail);
  if (rc == 0)
    src->pending++;
  return rc;
}

/* ---- the source -------------------------------------------------------- */

static void ad_at_fatal(ad_at_source_t *src, const char *msg) {
  ad_stats_set_fatal(src->o.stats, msg);
  if (src->summary[0] == '\0') /* check mode reports what stopped it */
    snprintf(src->summary, sizeof(src->summary), "%.*s",
             (int)sizeof(src->summary) - 1, msg); /* cut, never overrun */
  if (src->o.log != NULL)
    ad_log_error(src->o.log, "airtable", "%s", msg);
  ad_at_source_stop(src);
}

/* Names shared by every process of one server and token. A base's limit
 * is Airtable's for every caller of the base whatever their token, so
 * its name leaves the token out. */
static void ad_at_key_names(ad_at_source_t *src) {
  const ad_config_t *cfg = src->o.config;
  const char *server[] = {"airtable", cfg->source.base_url, NULL};
  const char *token[] = {"airtable token", cfg->source.base_url,
                         cfg->source.api_key, NULL};
  char h[17], t[17];

  ad_digest_hex(server, h, 16);
  ad_digest_hex(token, t, 16);
  snprintf(src->group, sizeof(src->group), "at-%s", h);
  snprintf(src->token_name, sizeof(src->token_name), "%s/token-%s",
           src->group, t);
}

int ad_at_source_init(ad_at_source_t *src, const ad_at_source_opts_t *o) {
  ad_at_client_opts_t co;
  const ad_config_t *cfg = o->config;
  int rc;

  if (cfg == NULL || o->http == NULL || o->limiter == NULL ||
      o->timers == NULL || o->queue == NULL || o->stats == NULL ||
      o->encoder == NULL || o->encoder->prepare == NULL ||
      o->encoder->encode == NULL ||
      o->queue->opts.max_rows < AD_AT_PAGE_SIZE)
    return AD_EINVAL;
  memset(src, 0, sizeof(*src));
  src->o = *o;
  ad_list_init(&src->bases);
  ad_list_init(&src->readers);
  ad_list_init(&src->waiters);
  ad_list_init(&src->to_parse);
  src->max_parsing = (int)uv_available_parallelism();
  if (src->max_parsing > AD_AT_MAX_PARSING)
    src->max_parsing = AD_AT_MAX_PARSING;
  ad_timers_entry_init(&src->done_entry);
  memset(&co, 0, sizeof(co));
  co.api_key = cfg->source.api_key;
  co.backoff_on_429_s = cfg->rate_limits.backoff_on_429_s;
  co.max_retries = (int)cfg->engine.max_retries;
  co.backoff_base_ms = o->backoff_base_ms;
  co.seed = uv_hrtime();
  co.http = o->http;
  co.timers = o->timers;
  co.stats = o->stats;
  co.log = o->log;
  co.token_key = &src->token_key;
  co.margin = o->margin;
  co.on_margin = ad_at_on_margin;
  co.margin_data = src;
  if ((rc = ad_at_client_init(&src->client, &co)) != 0)
    return rc;
  ad_at_key_names(src);
  rc = ad_at_key_init(src, &src->token_key, src->token_name,
                      cfg->rate_limits.per_token_rps, NULL);
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
  const ad_config_t *cfg = src->o.config;
  int rc;

  if (src->started)
    return AD_EINVAL;
  src->started = 1;
  src->pending = 1; /* held until discovery is under way */
  rc = cfg->source.index_all
           ? ad_at_list_bases(src, NULL)
           : ad_at_base_add(src, cfg->source.base_id, NULL);
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
    ad_at_reader_finish(ad_container_of(node, ad_at_reader_t, node));
  ad_at_step_done(src);
}

void ad_at_source_close(ad_at_source_t *src) {
  ad_list_t *node;
  ad_at_job_t *b;

  ad_timers_cancel(&src->done_entry);
  while ((node = ad_list_head(&src->readers)) != NULL) /* never started */
    ad_at_reader_finish(ad_container_of(node, ad_at_reader_t, node));
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
