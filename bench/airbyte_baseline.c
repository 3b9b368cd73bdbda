/* The comparison writer of benchmark 8 (docs/benchmarks.md): what the
 * public Python Airbyte destination for Dust does in tables mode, done
 * right, in C.
 *
 * write mode (the default): reads Airbyte messages on stdin, one per
 * line; json-c parses each; a RECORD becomes a row {"row_id": "<primary
 * key>", "value": {fields, nested objects and arrays as JSON text}} in
 * its stream's buffer; a buffer that holds `batch` rows is sent as one
 * POST …/tables/{tId}/rows {"rows":[…],"truncate":false}, and every
 * buffer is sent at each STATE (which is then echoed on stdout) and at
 * the end. One request at a time, synchronously, on one libcurl easy
 * handle (one keep-alive connection), after upserting each stream's table
 * once (POST …/tables). The last line on stdout is a JSON summary:
 * {"records","states","requests","rows","bytes_sent","wall_s","cpu_s"}.
 *
 * --jsonc-cpu: json-c's own cost on the same bytes. The input is read
 * whole first (untimed); then, timed with getrusage (user + system), each
 * line is parsed as airdust parses it (one json_tokener reused, strict,
 * UTF-8 checked) and a RECORD's data serialized with
 * json_object_to_json_string_ext(PLAIN). Passes repeat until --min-cpu
 * seconds were spent, three at least; prints {"lines","records",
 * "passes","cpu_s","cpu_s_min"}: a pass's mean and its least. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#define AB_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

typedef struct ab_stream {
  char *name, *table_id;
  char **pk; /* the primary key's fields (top-level paths) */
  size_t npk;
  json_object *rows; /* the buffer */
} ab_stream_t;

typedef struct ab_writer {
  char *base;  /* …/data_sources/{dsId}/tables */
  CURL *curl;
  struct curl_slist *headers;
  ab_stream_t *streams;
  size_t nstreams;
  int batch;
  long records, states, requests, rows;
  size_t bytes_sent;
} ab_writer_t;

static double ab_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double ab_rusage_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const char *ab_str(json_object *o, const char *key, const char *dflt) {
  json_object *v;
  if (json_object_object_get_ex(o, key, &v) &&
      json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return dflt;
}

/* ---- HTTP ------------------------------------------------------------- */

static size_t ab_discard(char *p, size_t size, size_t n, void *data) {
  (void)p;
  (void)data;
  return size * n;
}

/* POSTs body to url; 0 on a 200. */
static int ab_post(ab_writer_t *w, const char *url, const char *body,
                   size_t len) {
  long status = 0;
  CURLcode rc;

  curl_easy_setopt(w->curl, CURLOPT_URL, url);
  curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  rc = curl_easy_perform(w->curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
  w->requests++;
  w->bytes_sent += len;
  if (rc != CURLE_OK || status != 200) {
    fprintf(stderr, "airbyte_baseline: POST %s: %s %ld\n", url,
            rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP", status);
    return -1;
  }
  return 0;
}

/* ---- the catalog and the tables ---------------------------------------- */

static int ab_catalog(ab_writer_t *w, const char *path, const char *prefix) {
  json_object *cat = json_object_from_file(path), *streams, *cs, *s, *pk, *p;
  size_t i, j;

  if (cat == NULL || !json_object_object_get_ex(cat, "streams", &streams)) {
    fprintf(stderr, "airbyte_baseline: cannot read the catalog %s\n", path);
    json_object_put(cat);
    return -1;
  }
  w->nstreams = json_object_array_length(streams);
  w->streams = calloc(w->nstreams, sizeof(*w->streams));
  for (i = 0; i < w->nstreams; i++) {
    ab_stream_t *st = &w->streams[i];
    cs = json_object_array_get_idx(streams, i);
    json_object_object_get_ex(cs, "stream", &s);
    st->name = strdup(ab_str(s, "name", ""));
    st->table_id = malloc(strlen(prefix) + strlen(st->name) + 1);
    sprintf(st->table_id, "%s%s", prefix, st->name);
    if (json_object_object_get_ex(cs, "primary_key", &pk) &&
        json_object_is_type(pk, json_type_array)) {
      st->npk = json_object_array_length(pk);
      st->pk = calloc(st->npk + 1, sizeof(char *));
      for (j = 0; j < st->npk; j++) {
        p = json_object_array_get_idx(pk, j);
        st->pk[j] = strdup(json_object_get_string(
            json_object_array_get_idx(p, json_object_array_length(p) - 1)));
      }
    }
    st->rows = json_object_new_array();
  }
  json_object_put(cat);
  return 0;
}

/* Upserts each stream's table once, as the connector does first. */
static int ab_tables(ab_writer_t *w) {
  json_object *body;
  size_t i, len;
  const char *text;
  int rc = 0;

  for (i = 0; i < w->nstreams && rc == 0; i++) {
    body = json_object_new_object();
    json_object_object_add(body, "table_id",
                           json_object_new_string(w->streams[i].table_id));
    json_object_object_add(body, "name",
                           json_object_new_string(w->streams[i].name));
    json_object_object_add(body, "title",
                           json_object_new_string(w->streams[i].name));
    json_object_object_add(body, "description", json_object_new_string(""));
    text = json_object_to_json_string_length(body, AB_FLAGS, &len);
    rc = ab_post(w, w->base, text, len);
    json_object_put(body);
  }
  return rc;
}

/* ---- rows --------------------------------------------------------------- */

static int ab_flush(ab_writer_t *w, ab_stream_t *st) {
  json_object *body;
  size_t n = json_object_array_length(st->rows), len;
  const char *text;
  char url[1024];
  int rc;

  if (n == 0)
    return 0;
  body = json_object_new_object();
  json_object_object_add(body, "rows", st->rows);
  json_object_object_add(body, "truncate", json_object_new_boolean(0));
  text = json_object_to_json_string_length(body, AB_FLAGS, &len);
  snprintf(url, sizeof(url), "%s/%s/rows", w->base, st->table_id);
  rc = ab_post(w, url, text, len);
  json_object_put(body);
  st->rows = json_object_new_array();
  w->rows += (long)n;
  return rc;
}

static int ab_flush_all(ab_writer_t *w) {
  size_t i;
  for (i = 0; i < w->nstreams; i++)
    if (ab_flush(w, &w->streams[i]) != 0)
      return -1;
  return 0;
}

/* The row id: the primary key's values as text, joined by "|". */
static void ab_row_id(const ab_stream_t *st, json_object *data, char *out,
                      size_t len) {
  size_t i, used = 0;
  json_object *v;
  const char *s;

  out[0] = '\0';
  for (i = 0; i < st->npk && used < len; i++) {
    v = json_object_object_get(data, st->pk[i]);
    s = json_object_is_type(v, json_type_string)
            ? json_object_get_string(v)
            : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "|" : "", s);
  }
}

static int ab_record(ab_writer_t *w, json_object *rec) {
  json_object *data, *value, *row;
  const char *name = ab_str(rec, "stream", "");
  ab_stream_t *st = NULL;
  char id[512];
  size_t i;

  for (i = 0; i < w->nstreams && st == NULL; i++)
    if (strcmp(w->streams[i].name, name) == 0)
      st = &w->streams[i];
  if (st == NULL || !json_object_object_get_ex(rec, "data", &data) ||
      !json_object_is_type(data, json_type_object)) {
    fprintf(stderr, "airbyte_baseline: a record of no stream in the catalog\n");
    return -1;
  }
  value = json_object_new_object();
  json_object_object_foreach(data, key, v) {
    if (json_object_is_type(v, json_type_object) ||
        json_object_is_type(v, json_type_array))
      json_object_object_add(
          value, key,
          json_object_new_string(json_object_to_json_string_ext(v, AB_FLAGS)));
    else
      json_object_object_add(value, key, json_object_get(v));
  }
  ab_row_id(st, data, id, sizeof(id));
  row = json_object_new_object();
  json_object_object_add(row, "row_id", json_object_new_string(id));
  json_object_object_add(row, "value", value);
  json_object_array_add(st->rows, row);
  w->records++;
  if ((int)json_object_array_length(st->rows) >= w->batch)
    return ab_flush(w, st);
  return 0;
}

static int ab_write(ab_writer_t *w, long max_records) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  json_object *msg, *rec;
  const char *type;
  int rc = 0;

  while (rc == 0 && (max_records <= 0 || w->records < max_records) &&
         (n = getline(&line, &cap, stdin)) > 0) {
    msg = json_tokener_parse(line);
    if (msg == NULL) {
      fprintf(stderr, "airbyte_baseline: a line is not JSON\n");
      rc = -1;
      break;
    }
    type = ab_str(msg, "type", "");
    if (strcmp(type, "RECORD") == 0 &&
        json_object_object_get_ex(msg, "record", &rec)) {
      rc = ab_record(w, rec);
    } else if (strcmp(type, "STATE") == 0) {
      rc = ab_flush_all(w);
      if (rc == 0) { /* every record before it is in Dust: echo it */
        fputs(json_object_to_json_string_ext(msg, AB_FLAGS), stdout);
        fputc('\n', stdout);
        fflush(stdout);
        w->states++;
      }
    }
    json_object_put(msg);
  }
  free(line);
  return rc == 0 ? ab_flush_all(w) : rc;
}

static int ab_run_write(const char *config, const char *catalog,
                        long max_records, int batch) {
  json_object *cfg = json_object_from_file(config);
  ab_writer_t w;
  char auth[512];
  double t0 = ab_now(), c0 = ab_rusage_cpu();
  size_t len, i;
  int rc;

  memset(&w, 0, sizeof(w));
  w.batch = batch;
  if (cfg == NULL) {
    fprintf(stderr, "airbyte_baseline: cannot read the config %s\n", config);
    return 1;
  }
  len = strlen(ab_str(cfg, "base_url", "")) + 256;
  w.base = malloc(len);
  snprintf(w.base, len, "%s/api/v1/w/%s/spaces/%s/data_sources/%s/tables",
           ab_str(cfg, "base_url", ""), ab_str(cfg, "workspace_id", ""),
           ab_str(cfg, "space_id", ""), ab_str(cfg, "data_source_id", ""));
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
           ab_str(cfg, "api_key", ""));
  if (ab_catalog(&w, catalog, ab_str(cfg, "table_id_prefix", "airbyte_")) !=
      0) {
    json_object_put(cfg);
    return 1;
  }
  json_object_put(cfg);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  w.curl = curl_easy_init();
  w.headers = curl_slist_append(NULL, auth);
  w.headers = curl_slist_append(w.headers, "Content-Type: application/json");
  w.headers = curl_slist_append(w.headers, "Expect:");
  curl_easy_setopt(w.curl, CURLOPT_HTTPHEADER, w.headers);
  curl_easy_setopt(w.curl, CURLOPT_WRITEFUNCTION, ab_discard);
  curl_easy_setopt(w.curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(w.curl, CURLOPT_TIMEOUT, 60L);
  rc = ab_tables(&w);
  if (rc == 0)
    rc = ab_write(&w, max_records);
  if (rc == 0)
    printf("{\"records\":%ld,\"states\":%ld,\"requests\":%ld,\"rows\":%ld,"
           "\"bytes_sent\":%zu,\"wall_s\":%.6f,\"cpu_s\":%.6f}\n",
           w.records, w.states, w.requests, w.rows, w.bytes_sent,
           ab_now() - t0, ab_rusage_cpu() - c0);
  for (i = 0; i < w.nstreams; i++) {
    for (len = 0; len < w.streams[i].npk; len++)
      free(w.streams[i].pk[len]);
    free(w.streams[i].pk);
    free(w.streams[i].name);
    free(w.streams[i].table_id);
    json_object_put(w.streams[i].rows);
  }
  free(w.streams);
  curl_slist_free_all(w.headers);
  curl_easy_cleanup(w.curl);
  curl_global_cleanup();
  free(w.base);
  return rc == 0 ? 0 : 1;
}

/* ---- json-c's own cost ----------------------------------------------------- */

static int ab_run_jsonc(double min_cpu) {
  size_t cap = 1 << 20, len = 0, nlines = 0, i, out = 0;
  char *text = malloc(cap), **lines;
  long records = 0, passes = 0;
  size_t r;
  double c0, cpu = 0, pass, best = 0;
  json_object *msg, *rec, *data;
  json_tokener *tok = json_tokener_new_ex(1000);

  if (tok == NULL)
    return 1;
  /* what airdust's reader asks of json-c (sources/airbyte/source.c):
   * strict JSON, UTF-8 checked (Dust refuses a batch that is not), a
   * tokener reused; the lax default costs about a tenth less */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  while (text != NULL && (r = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
    len += r;
    if (cap - len < 2)
      text = realloc(text, cap *= 2);
  }
  if (text == NULL)
    return 1;
  text[len] = '\0';
  for (i = 0; i < len; i++)
    nlines += text[i] == '\n';
  lines = malloc((nlines + 1) * sizeof(char *));
  nlines = 0;
  for (i = 0; i < len; i = r + 1) {
    for (r = i; r < len && text[r] != '\n'; r++)
      ;
    text[r] = '\0';
    if (r > i)
      lines[nlines++] = text + i;
  }
  do {
    records = 0;
    c0 = ab_rusage_cpu();
    for (i = 0; i < nlines; i++) {
      json_tokener_reset(tok);
      msg = json_tokener_parse_ex(tok, lines[i], (int)strlen(lines[i]));
      if (msg != NULL && json_object_object_get_ex(msg, "record", &rec) &&
          json_object_object_get_ex(rec, "data", &data)) {
        out += strlen(json_object_to_json_string_ext(data,
                                                     JSON_C_TO_STRING_PLAIN));
        records++;
      }
      json_object_put(msg);
    }
    pass = ab_rusage_cpu() - c0;
    cpu += pass;
    if (passes == 0 || pass < best)
      best = pass;
    passes++;
  } while ((cpu < min_cpu || passes < 3) && passes < 100);
  /* the least pass too: on a shared machine the others carry its noise */
  printf("{\"lines\":%zu,\"records\":%ld,\"passes\":%ld,\"cpu_s\":%.6f,"
         "\"cpu_s_min\":%.6f,\"data_bytes\":%zu}\n",
         nlines, records, passes, cpu / (double)passes, best,
         out / (size_t)passes);
  free(lines);
  free(text);
  json_tokener_free(tok);
  return 0;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", 1, 0, 'c'},    {"catalog", 1, 0, 'C'},
      {"records", 1, 0, 'r'},   {"batch", 1, 0, 'b'},
      {"jsonc-cpu", 0, 0, 'j'}, {"min-cpu", 1, 0, 'm'},
      {0, 0, 0, 0}};
  const char *config = NULL, *catalog = NULL;
  long max_records = 0;
  int ch, batch = 500, jsonc = 0;
  double min_cpu = 1.0;

  while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case 'c': config = optarg; break;
    case 'C': catalog = optarg; break;
    case 'r': max_records = atol(optarg); break;
    case 'b': batch = atoi(optarg); break;
    case 'j': jsonc = 1; break;
    case 'm': min_cpu = atof(optarg); break;
    default: goto usage;
    }
  }
  if (jsonc)
    return ab_run_jsonc(min_cpu);
  if (config != NULL && catalog != NULL && batch > 0)
    return ab_run_write(config, catalog, max_records, batch);
usage:
  fprintf(stderr,
          "usage: %s --config FILE --catalog FILE [--records N] [--batch N] "
          "< messages\n       %s --jsonc-cpu [--min-cpu S] < messages\n",
          argv[0], argv[0]);
  return 2;
}
