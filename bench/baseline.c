/* The CPU baseline of benchmark 2: the irreducible work of a sync on the
 * same bytes, with no network and no engine.
 *
 * It renders every record page the fake Airtable would serve for the
 * dataset (untimed), then, timed on this thread's CPU clock: json-c parses
 * each page, each record becomes a {"row_id","value"} row that shares its
 * parsed "fields" (no copy), and every `batch` rows are serialized by
 * json-c as one {"rows":[...]} body. Prints one JSON line:
 * {"records","pages","page_bytes","batch_bytes","cpu_s"}. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "fake_airtable.h"

typedef struct ad_baseline {
  json_tokener *tok;
  json_object *rows; /* the batch being filled */
  int batch;
  long records, pages;
  size_t page_bytes, batch_bytes;
  double cpu_s;
} ad_baseline_t;

static double ad_thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ad_baseline_flush(ad_baseline_t *bl) {
  json_object *body;
  size_t len = 0;

  if (json_object_array_length(bl->rows) == 0)
    return;
  body = json_object_new_object();
  json_object_object_add(body, "rows", bl->rows);
  json_object_to_json_string_length(
      body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  bl->batch_bytes += len;
  json_object_put(body);
  bl->rows = json_object_new_array();
}

/* The timed part, for one page of text. Returns -1 on a parse error. */
static int ad_baseline_page(ad_baseline_t *bl, const char *text, size_t len) {
  json_object *page, *records, *rec, *row, *id, *fields;
  size_t i, n;

  json_tokener_reset(bl->tok);
  page = json_tokener_parse_ex(bl->tok, text, (int)len);
  if (page == NULL || !json_object_object_get_ex(page, "records", &records))
    return -1;
  n = json_object_array_length(records);
  for (i = 0; i < n; i++) {
    rec = json_object_array_get_idx(records, i);
    json_object_object_get_ex(rec, "id", &id);
    json_object_object_get_ex(rec, "fields", &fields);
    row = json_object_new_object();
    json_object_object_add(row, "row_id", json_object_get(id));
    json_object_object_add(row, "value", json_object_get(fields));
    json_object_array_add(bl->rows, row);
    if ((int)json_object_array_length(bl->rows) == bl->batch)
      ad_baseline_flush(bl);
  }
  bl->records += (long)n;
  json_object_put(page);
  return 0;
}

static int ad_baseline_table(ad_baseline_t *bl, ad_fake_airtable_t *fa, int b,
                             int t) {
  int first, n = ad_fake_airtable_nrecords(fa, b, t);
  size_t len;
  char *text;
  double t0;

  for (first = 0; first == 0 || first < n; first += 100) {
    text = ad_fake_airtable_page_json(fa, b, t, first, &len);
    if (text == NULL)
      return -1;
    t0 = ad_thread_cpu();
    if (ad_baseline_page(bl, text, len) != 0) {
      free(text);
      return -1;
    }
    bl->cpu_s += ad_thread_cpu() - t0;
    bl->pages++;
    bl->page_bytes += len;
    free(text);
  }
  t0 = ad_thread_cpu(); /* a table's rows never share a batch with another's */
  ad_baseline_flush(bl);
  bl->cpu_s += ad_thread_cpu() - t0;
  return 0;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"bases", 1, 0, 'b'}, {"tables", 1, 0, 't'}, {"records", 1, 0, 'r'},
      {"seed", 1, 0, 's'},  {"batch", 1, 0, 'B'},  {0, 0, 0, 0}};
  ad_fake_airtable_opts_t o;
  ad_fake_airtable_t *fa;
  ad_baseline_t bl;
  int ch, b, t, rc = 0;

  memset(&bl, 0, sizeof(bl));
  bl.batch = 500;
  ad_fake_airtable_opts_default(&o);
  o.per_base_rps = o.per_token_rps = 0;
  while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case 'b': o.bases = atoi(optarg); break;
    case 't': o.tables_per_base = atoi(optarg); break;
    case 'r': o.records_per_table = atoi(optarg); break;
    case 's': o.seed = strtoull(optarg, NULL, 10); break;
    case 'B': bl.batch = atoi(optarg); break;
    default:
      fprintf(stderr, "usage: %s --bases N --tables N --records N "
                      "[--seed N] [--batch N]\n", argv[0]);
      return 2;
    }
  }
  fa = ad_fake_airtable_start(&o);
  bl.tok = json_tokener_new();
  bl.rows = json_object_new_array();
  if (fa == NULL || bl.tok == NULL || bl.rows == NULL) {
    fprintf(stderr, "baseline: cannot start\n");
    return 1;
  }
  for (b = 0; b < ad_fake_airtable_nbases(fa) && rc == 0; b++)
    for (t = 0; t < ad_fake_airtable_ntables(fa, b) && rc == 0; t++)
      rc = ad_baseline_table(&bl, fa, b, t);
  if (rc != 0)
    fprintf(stderr, "baseline: a page did not parse\n");
  else
    printf("{\"records\":%ld,\"pages\":%ld,\"page_bytes\":%zu,"
           "\"batch_bytes\":%zu,\"cpu_s\":%.6f}\n",
           bl.records, bl.pages, bl.page_bytes, bl.batch_bytes, bl.cpu_s);
  json_object_put(bl.rows);
  json_tokener_free(bl.tok);
  ad_fake_airtable_stop(fa);
  return rc == 0 ? 0 : 1;
}
