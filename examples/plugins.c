/* A program's own source and sink, registered with airdust: "counter"
 * makes tables of generated records, "count" prints how many records of
 * each table it was given. Only the public headers are used
 * (docs/plugins.md says what each side promises).
 *
 *   plugins                 counter -> count, 3 tables of 1 000 records
 *   plugins CONFIG.json     any config: its source or sink may be
 *                           "counter" or "count" as well as the built-in
 *                           ones (say, Airtable -> count)
 * Exit status: the sync's result (0, 1 or 3). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <airdust.h>
#include <airdust_plugin.h>

/* ---- the "counter" source ------------------------------------------------ */

typedef struct counter_config {
  long tables, records; /* the keys below fill these */
} counter_config_t;

static const ad_config_key_t counter_keys[] = {
    {"tables", AD_KEY_POSINT, offsetof(counter_config_t, tables), "3", NULL,
     0, NULL, "how many tables", NULL},
    {"records", AD_KEY_POSINT, offsetof(counter_config_t, records), "1000",
     NULL, 0, NULL, "records per table", NULL},
    {NULL}};

#define COUNTER_PAGE 100

typedef struct counter {
  ad_source_t *src;
  const counter_config_t *conf;
  uv_idle_t idle; /* makes a page per loop turn while there is room */
  ad_table_t **tables;
  long table, record; /* where it is */
  int stopping, done;
} counter_t;

static int counter_init(ad_source_t *src, const void *config, void **ctx,
                        char *err, size_t errlen) {
  counter_t *c = calloc(1, sizeof(*c));
  (void)err;
  (void)errlen;
  if (c == NULL)
    return AD_ENOMEM;
  c->src = src;
  c->conf = config;
  c->tables = calloc((size_t)c->conf->tables, sizeof(*c->tables));
  if (c->tables == NULL) {
    free(c);
    return AD_ENOMEM;
  }
  uv_idle_init(ad_source_loop(src), &c->idle);
  c->idle.data = c;
  *ctx = c;
  return 0;
}

/* Every table ended: done, from this loop turn's idle callback. */
static void counter_finish(counter_t *c) {
  uv_idle_stop(&c->idle);
  if (!c->done) {
    c->done = 1;
    ad_source_done(c->src);
  }
}

/* One page of the current table: reserved, made, encoded by the sink,
 * pushed. */
static void counter_page(uv_idle_t *idle) {
  counter_t *c = idle->data;
  ad_table_t *t;
  ad_page_t *page;
  ad_value_t v[2];
  ad_record_t rec;
  char id[32], label[32], err[256];
  long i, n;

  if (c->stopping || c->table == c->conf->tables) {
    counter_finish(c);
    return;
  }
  t = c->tables[c->table];
  if (t == NULL) { /* skipped or refused: nothing to read */
    c->table++;
    return;
  }
  n = c->conf->records - c->record;
  if (n > COUNTER_PAGE)
    n = COUNTER_PAGE;
  if (ad_source_reserve(c->src, COUNTER_PAGE, (size_t)n * 64) != 0) {
    uv_idle_stop(idle); /* full: resume comes */
    return;
  }
  page = ad_page_new(t);
  for (i = 0; i < n && page != NULL; i++, c->record++) {
    snprintf(id, sizeof(id), "rec%ld", c->record);
    snprintf(label, sizeof(label), "record %ld", c->record);
    v[0].kind = AD_KIND_TEXT;
    v[0].n = (uint32_t)strlen(label);
    v[0].u.s = label;
    v[1].kind = AD_KIND_INT;
    v[1].n = 0;
    v[1].u.i = c->record;
    memset(&rec, 0, sizeof(rec));
    rec.id = id;
    rec.values = v;
    if (ad_source_encode(c->src, page, &rec, NULL, err, sizeof(err)) != 0)
      ad_source_failed(c->src, t, id, err, 1);
  }
  if (page == NULL) {
    ad_source_release(c->src, COUNTER_PAGE, (size_t)n * 64);
    ad_source_fatal(c->src, "out of memory");
    return;
  }
  ad_source_push(c->src, page, COUNTER_PAGE, (size_t)n * 64,
                 c->record == c->conf->records);
  if (c->record == c->conf->records) {
    ad_source_table_end(c->src, t, NULL);
    c->table++;
    c->record = 0;
  }
}

/* Announces every table, then makes pages from the loop. */
static int counter_start(void *ctx) {
  counter_t *c = ctx;
  char tid[32], name[32];
  ad_table_t *t;
  long i;
  int rc;

  ad_source_group(c->src, "gen", "Generated");
  for (i = 0; i < c->conf->tables; i++) {
    snprintf(tid, sizeof(tid), "t%ld", i + 1);
    snprintf(name, sizeof(name), "Table %ld", i + 1);
    t = ad_table_new("counter", "gen", "Generated", tid, name, "");
    if (t == NULL ||
        ad_table_add_column(t, "label", "Label", AD_KIND_TEXT,
                            AD_COLUMN_PRIMARY) != 0 ||
        ad_table_add_column(t, "n", "N", AD_KIND_INT, 0) != 0) {
      ad_table_unref(t);
      return AD_ENOMEM;
    }
    rc = ad_source_table(c->src, t);
    if (rc == AD_ENOMEM) {
      ad_table_unref(t);
      return rc;
    }
    if (rc == 0)
      c->tables[i] = t;
    else
      ad_table_unref(t); /* skipped, or refused by the sink (counted) */
  }
  uv_idle_start(&c->idle, counter_page);
  return 0;
}

static void counter_resume(void *ctx) {
  counter_t *c = ctx;
  if (!c->done)
    uv_idle_start(&c->idle, counter_page);
}

static void counter_stop(void *ctx) {
  counter_t *c = ctx;
  if (c->done)
    return;
  c->stopping = 1; /* the next idle turn finishes */
  uv_idle_start(&c->idle, counter_page);
}

static void counter_closed(uv_handle_t *h) {
  counter_t *c = h->data;
  long i;
  for (i = 0; i < c->conf->tables; i++)
    ad_table_unref(c->tables[i]);
  free(c->tables);
  free(c);
}

static void counter_close(void *ctx) {
  counter_t *c = ctx;
  uv_close((uv_handle_t *)&c->idle, counter_closed);
}

static const ad_source_plugin_t counter_source = {
    .name = "counter",
    .description = "tables of generated records",
    .keys = counter_keys,
    .config_size = sizeof(counter_config_t),
    .init = counter_init,
    .start = counter_start,
    .resume = counter_resume,
    .stop = counter_stop,
    .close = counter_close,
};

/* ---- the "count" sink ------------------------------------------------------ */

typedef struct count {
  ad_sink_t *sink;
  int finishing, drained;
} count_t;

static int count_init(ad_sink_t *sink, const void *config, void **ctx,
                      char *err, size_t errlen) {
  count_t *k = calloc(1, sizeof(*k));
  (void)config;
  (void)err;
  (void)errlen;
  if (k == NULL)
    return AD_ENOMEM;
  k->sink = sink;
  *ctx = k;
  return 0;
}

/* Each table's count lives with the table. */
static int count_prepare(void *ctx, ad_table_t *t, char *err, size_t errlen) {
  (void)ctx;
  (void)err;
  (void)errlen;
  if (t->sink_data == NULL && (t->sink_data = calloc(1, sizeof(long))) == NULL)
    return AD_ENOMEM;
  t->sink_free = free;
  return 0;
}

/* Nothing to write but the record's id: an empty unit. */
static int count_encode(void *ctx, const ad_table_t *t, const ad_record_t *rec,
                        ad_page_t *page, ad_buf_t *scratch, char *err,
                        size_t errlen) {
  int rc;
  (void)ctx;
  (void)t;
  (void)scratch;
  (void)err;
  (void)errlen;
  if ((rc = ad_page_begin(page, rec->id, strlen(rec->id))) != 0)
    return rc;
  ad_page_commit(page);
  return 0;
}

static unsigned count_wants(void *ctx) {
  (void)ctx;
  return 0; /* neither links nor creation times */
}

static void count_drain(count_t *k) {
  if (k->finishing && !k->drained && !ad_sink_has_page(k->sink)) {
    k->drained = 1;
    ad_sink_drained(k->sink);
  }
}

static void count_take(void *ctx) {
  count_t *k = ctx;
  ad_page_t *page;
  ad_table_t *t;
  long *n;

  while ((page = ad_sink_pop(k->sink)) != NULL) {
    t = ad_page_table(page);
    n = t->sink_data;
    *n += (long)ad_page_count(page);
    ad_sink_written(k->sink, t, ad_page_count(page));
    if (ad_page_is_last(page)) {
      printf("count: %s/%s \"%s\": %ld records\n", t->group_id, t->table_id,
             t->table_name, *n);
      ad_sink_table_done(k->sink, t);
    }
    ad_page_free(page);
  }
  count_drain(k);
}

static void count_finish(void *ctx) {
  count_t *k = ctx;
  k->finishing = 1;
  count_take(k);
}

static void count_abort(void *ctx, const char *reason) {
  count_t *k = ctx;
  ad_page_t *page;
  while ((page = ad_sink_pop(k->sink)) != NULL) {
    ad_sink_failed(k->sink, ad_page_table(page), NULL, reason,
                   ad_page_count(page));
    ad_page_free(page);
  }
  count_drain(k);
}

static void count_close(void *ctx) { free(ctx); }

static const ad_config_key_t count_keys[] = {{NULL}};

static const ad_sink_plugin_t count_sink = {
    .name = "count",
    .description = "prints each table's record count",
    .keys = count_keys,
    .config_size = 0,
    .init = count_init,
    .prepare = count_prepare,
    .encode = count_encode,
    .wants = count_wants,
    .take = count_take,
    .finish = count_finish,
    .abort = count_abort,
    .close = count_close,
};

/* ---- the program ----------------------------------------------------------- */

static void on_done(ad_sync_t *s, void *data) {
  int *result = data;
  ad_sync_progress_t p;
  ad_sync_progress(s, &p);
  *result = ad_sync_result(s);
  printf("done: %llu records read, %llu written, %llu failed\n",
         (unsigned long long)p.records_read,
         (unsigned long long)(p.rows_written + p.documents_written),
         (unsigned long long)p.records_failed);
  ad_sync_close(s, NULL, NULL);
}

int main(int argc, char **argv) {
  static const ad_source_plugin_t *const sources[] = {&counter_source, NULL};
  static const ad_sink_plugin_t *const sinks[] = {&count_sink, NULL};
  static const char builtin[] =
      "{\"source\":{\"type\":\"counter\"},\"sink\":{\"type\":\"count\"}}";
  uv_loop_t *loop = uv_default_loop();
  ad_sync_options_t opts = {0};
  ad_sync_t *sync;
  int result = 1, rc;
  char err[512];

  opts.log_level = 1;
  opts.sources = sources;
  opts.sinks = sinks;
  rc = argc > 1 ? ad_sync_new_file(&sync, loop, argv[1], &opts, err,
                                   sizeof(err))
                : ad_sync_new(&sync, loop, builtin, sizeof(builtin) - 1,
                              &opts, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "plugins: %s\n", err);
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }
  if (ad_sync_start(sync, on_done, &result) != 0) {
    fprintf(stderr, "plugins: cannot start\n");
    return 1;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return result;
}
