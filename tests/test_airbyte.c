/* `airdust airbyte spec | check | write` end to end: the real binary, its
 * stdin a captured message stream, the fake Dust in this process; what
 * lands in Dust and every line of stdout are checked. */
#include <check.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fake_dust.h"
#include "testutil.h"

extern char **environ;

#define DUST_KEY "sk-fake0123456789"

typedef struct ab_run {
  ad_fake_dust_t *dust;
  char dir[64];
  char config[128], catalog[128], input[128], out_path[128], err_path[128];
  char *out, *err;
  int code;
  /* stdout, read back: */
  json_object *states; /* the echoed STATE messages, in order */
  json_object *traces; /* TRACE messages */
  json_object *logs;   /* LOG messages */
} ab_run_t;

static ab_run_t r;

static void ab_setup(void) {
  ad_fake_dust_opts_t o;
  memset(&r, 0, sizeof(r));
  snprintf(r.dir, sizeof(r.dir), "/tmp/ad_test_airbyte_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(r.dir));
  snprintf(r.config, sizeof(r.config), "%s/config.json", r.dir);
  snprintf(r.catalog, sizeof(r.catalog), "%s/catalog.json", r.dir);
  snprintf(r.input, sizeof(r.input), "%s/in.jsonl", r.dir);
  snprintf(r.out_path, sizeof(r.out_path), "%s/out", r.dir);
  snprintf(r.err_path, sizeof(r.err_path), "%s/err", r.dir);
  ad_fake_dust_opts_default(&o);
  o.documents_per_minute = 0; /* the limit has its own tests */
  r.dust = ad_fake_dust_start(&o);
  ck_assert_ptr_nonnull(r.dust);
}

static void ab_teardown(void) {
  char cmd[160];
  ad_fake_dust_stop(r.dust);
  free(r.out);
  free(r.err);
  json_object_put(r.states);
  json_object_put(r.traces);
  json_object_put(r.logs);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", r.dir);
  ck_assert_int_eq(system(cmd), 0);
}

static void ab_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* The destination config, with extra keys (JSON members, may be ""). */
static void ab_config(const char *format, const char *extra) {
  char text[1024];
  snprintf(text, sizeof(text),
           "{\"api_key\":\"" DUST_KEY "\",\"workspace_id\":\"wFake\","
           "\"space_id\":\"vltFake\",\"data_source_id\":\"dsFake\","
           "\"base_url\":\"%s\",\"data_format\":\"%s\","
           "\"allow_insecure_http\":true%s%s}",
           ad_fake_dust_url(r.dust), format, *extra ? "," : "", extra);
  ab_write(r.config, text);
}

/* Every stdout line is an Airbyte message; STATE, TRACE and LOG are
 * sorted out. */
static void ab_read_out(void) {
  char *copy = strdup(r.out), *line, *save = NULL;
  json_object *m, *type;
  json_object_put(r.states);
  json_object_put(r.traces);
  json_object_put(r.logs);
  r.states = json_object_new_array();
  r.traces = json_object_new_array();
  r.logs = json_object_new_array();
  ck_assert_ptr_nonnull(copy);
  for (line = strtok_r(copy, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    m = json_tokener_parse(line);
    ck_assert_msg(m != NULL && json_object_object_get_ex(m, "type", &type),
                  "stdout holds a line that is not a message: %s", line);
    if (strcmp(json_object_get_string(type), "STATE") == 0)
      json_object_array_add(r.states, m);
    else if (strcmp(json_object_get_string(type), "TRACE") == 0)
      json_object_array_add(r.traces, m);
    else if (strcmp(json_object_get_string(type), "LOG") == 0)
      json_object_array_add(r.logs, m);
    else if (strcmp(json_object_get_string(type), "SPEC") == 0 ||
             strcmp(json_object_get_string(type), "CONNECTION_STATUS") == 0)
      json_object_put(m);
    else
      ck_abort_msg("unexpected message on stdout: %s", line);
  }
  free(copy);
}

/* airdust airbyte <args>, stdin from r.input when given. */
static int ab_run_args(const char *const *args, int signal_after_ms) {
  char *argv[12];
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int i, status = 0, waited = 0;

  argv[0] = (char *)AD_CLI_PATH;
  argv[1] = (char *)"airbyte";
  for (i = 0; args[i] != NULL && i < 9; i++)
    argv[i + 2] = (char *)args[i];
  argv[i + 2] = NULL;
  posix_spawn_file_actions_init(&fa);
  if (access(r.input, R_OK) == 0)
    posix_spawn_file_actions_addopen(&fa, 0, r.input, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, r.out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, r.err_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_eq(posix_spawn(&pid, AD_CLI_PATH, &fa, NULL, argv, environ),
                   0);
  posix_spawn_file_actions_destroy(&fa);
  if (signal_after_ms > 0) {
    usleep((useconds_t)signal_after_ms * 1000);
    kill(pid, SIGTERM);
  }
  while (waitpid(pid, &status, WNOHANG) == 0 && waited < 120000) {
    usleep(10000);
    waited += 10;
  }
  ck_assert_msg(waited < 120000, "airdust did not exit");
  free(r.out);
  free(r.err);
  r.out = ad_test_read_file(r.out_path);
  r.err = ad_test_read_file(r.err_path);
  ck_assert_ptr_null(strstr(r.out, DUST_KEY));
  ck_assert_ptr_null(strstr(r.err, DUST_KEY));
  ck_assert_msg(WIFEXITED(status), "airdust died: %s", r.err);
  r.code = WEXITSTATUS(status);
  ab_read_out();
  return r.code;
}

static int ab_write_run(void) {
  const char *args[] = {"write", "--config", r.config, "--catalog",
                        r.catalog, NULL};
  return ab_run_args(args, 0);
}

/* ---- message builders ------------------------------------------------------- */

typedef struct ab_text {
  char *s;
  size_t len, cap;
} ab_text_t;

static void ab_put(ab_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ab_put(ab_text_t *t, const char *fmt, ...) {
  va_list ap;
  int n;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0,
                  fmt, ap);
    va_end(ap);
    if (t->s != NULL && (size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    t->cap = (t->cap + (size_t)n + 1) * 2;
    t->s = realloc(t->s, t->cap);
    ck_assert_ptr_nonnull(t->s);
  }
}

static void ab_record(ab_text_t *t, const char *stream, const char *ns,
                      const char *data) {
  ab_put(t,
         "{\"type\":\"RECORD\",\"record\":{\"stream\":\"%s\",%s%s%s"
         "\"emitted_at\":1700000000000,\"data\":%s}}\n",
         stream, ns ? "\"namespace\":\"" : "", ns ? ns : "", ns ? "\"," : "",
         data);
}

static void ab_stream_state(ab_text_t *t, const char *stream, int cursor) {
  ab_put(t,
         "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":{"
         "\"stream_descriptor\":{\"name\":\"%s\"},\"stream_state\":"
         "{\"cursor\":%d}}}}\n",
         stream, cursor);
}

static void ab_save(ab_text_t *t) {
  ab_write(r.input, t->s ? t->s : "");
  free(t->s);
  memset(t, 0, sizeof(*t));
}

/* A catalog entry for a stream of id (integer pk), name, n and when. */
static void ab_catalog_stream(ab_text_t *t, const char *name, const char *mode,
                              const char *more) {
  ab_put(t,
         "%s{\"stream\":{\"name\":\"%s\",\"json_schema\":{\"type\":\"object\","
         "\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":"
         "\"string\"},\"n\":{\"type\":[\"null\",\"number\"]},\"when\":"
         "{\"type\":\"string\",\"format\":\"date-time\"},\"meta\":{\"type\":"
         "\"object\"}}},\"supported_sync_modes\":[\"full_refresh\","
         "\"incremental\"]},\"sync_mode\":\"incremental\","
         "\"destination_sync_mode\":\"%s\",\"primary_key\":[[\"id\"]]%s}",
         t->len > 0 ? "," : "{\"streams\":[", name, mode, more);
}

static void ab_catalog_end(ab_text_t *t) {
  ab_put(t, "]}");
  ab_write(r.catalog, t->s);
  free(t->s);
  memset(t, 0, sizeof(*t));
}

/* ---- what Dust holds ---------------------------------------------------------- */

/* The dump's table of id, or NULL (a reference into dump). */
static json_object *ab_table(json_object *dump, const char *id) {
  json_object *tables, *t, *tid;
  size_t i;
  ck_assert(json_object_object_get_ex(dump, "tables", &tables));
  for (i = 0; i < json_object_array_length(tables); i++) {
    t = json_object_array_get_idx(tables, i);
    if (json_object_object_get_ex(t, "table_id", &tid) &&
        strcmp(json_object_get_string(tid), id) == 0)
      return t;
  }
  return NULL;
}

static json_object *ab_rows(json_object *dump, const char *id) {
  json_object *t = ab_table(dump, id), *rows;
  ck_assert_msg(t != NULL, "no Dust table %s", id);
  ck_assert(json_object_object_get_ex(t, "rows", &rows));
  return rows;
}

static json_object *ab_documents(json_object *dump) {
  json_object *docs;
  ck_assert(json_object_object_get_ex(dump, "documents", &docs));
  return docs;
}

static const char *ab_state_cursor(size_t i) {
  json_object *m = json_object_array_get_idx(r.states, i), *v;
  static char buf[64];
  ck_assert_ptr_nonnull(m);
  if (json_object_object_get_ex(m, "state", &v) &&
      json_object_object_get_ex(v, "stream", &v) &&
      json_object_object_get_ex(v, "stream_state", &v) &&
      json_object_object_get_ex(v, "cursor", &v)) {
    snprintf(buf, sizeof(buf), "%s", json_object_get_string(v));
    return buf;
  }
  return "";
}

static double ab_state_count(size_t i) {
  json_object *m = json_object_array_get_idx(r.states, i), *v;
  ck_assert(json_object_object_get_ex(m, "state", &v));
  ck_assert(json_object_object_get_ex(v, "destinationStats", &v));
  ck_assert(json_object_object_get_ex(v, "recordCount", &v));
  return json_object_get_double(v);
}

/* Whether some LOG or TRACE line holds all of the words. */
static int ab_said(const char *a, const char *b) {
  const char *s = r.out;
  const char *line;
  for (line = s; line != NULL && *line; line = strchr(line, '\n')) {
    const char *end;
    char buf[4096];
    size_t n;
    if (*line == '\n')
      line++;
    end = strchr(line, '\n');
    n = end ? (size_t)(end - line) : strlen(line);
    if (n >= sizeof(buf))
      n = sizeof(buf) - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (strstr(buf, a) && (b == NULL || strstr(buf, b)))
      return 1;
    if (end == NULL)
      break;
  }
  return 0;
}

/* ---- the protocol's commands ------------------------------------------------- */

/* spec: one SPEC message holding the Python destination's keys. */
START_TEST(spec_lists_the_python_keys) {
  const char *args[] = {"spec", NULL};
  json_object *m, *props, *v;
  static const char *const keys[] = {"api_key", "workspace_id", "space_id",
                                     "data_source_id", "base_url",
                                     "data_format", "table_id_prefix"};
  size_t i;
  unlink(r.input);
  ck_assert_int_eq(ab_run_args(args, 0), 0);
  m = json_tokener_parse(r.out);
  ck_assert_ptr_nonnull(m);
  ck_assert(json_object_object_get_ex(m, "type", &v));
  ck_assert_str_eq(json_object_get_string(v), "SPEC");
  ck_assert(json_object_object_get_ex(m, "spec", &v));
  ck_assert(json_object_object_get_ex(v, "connectionSpecification", &v));
  ck_assert(json_object_object_get_ex(v, "properties", &props));
  for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
    ck_assert_msg(json_object_object_get_ex(props, keys[i], &v), "%s",
                  keys[i]);
  ck_assert(json_object_object_get_ex(props, "api_key", &v));
  ck_assert(json_object_object_get_ex(v, "airbyte_secret", &v));
  ck_assert(json_object_get_boolean(v));
  ck_assert(json_object_object_get_ex(props, "data_format", &v));
  ck_assert(json_object_object_get_ex(v, "default", &v));
  ck_assert_str_eq(json_object_get_string(v), "documents");
  json_object_put(m);
}
END_TEST

START_TEST(check_says_succeeded_or_why_not) {
  const char *args[] = {"check", "--config", r.config, NULL};
  ab_config("tables", "");
  ck_assert_int_eq(ab_run_args(args, 0), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"CONNECTION_STATUS\""));
  ck_assert_ptr_nonnull(strstr(r.out, "\"SUCCEEDED\""));
  /* a wrong key: FAILED, saying so, and the key never shown */
  ab_write(r.config, "{\"api_key\":\"sk-wrong999\",\"workspace_id\":\"wFake\","
                     "\"space_id\":\"vltFake\",\"data_source_id\":\"dsFake\","
                     "\"allow_insecure_http\":true,\"base_url\":\"");
  {
    FILE *f = fopen(r.config, "a");
    fprintf(f, "%s\"}", ad_fake_dust_url(r.dust));
    fclose(f);
  }
  ck_assert_int_eq(ab_run_args(args, 0), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"FAILED\""));
  ck_assert_ptr_null(strstr(r.out, "sk-wrong999"));
  /* a key missing or wrong: named as the Airbyte config names it */
  ab_write(r.config, "{\"api_key\":\"" DUST_KEY "\",\"space_id\":\"s\","
                     "\"data_source_id\":\"d\"}");
  ck_assert_int_eq(ab_run_args(args, 0), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"workspace_id: missing"));
  ab_write(r.config, "{\"api_key\":\"" DUST_KEY "\",\"workspace_id\":\"w\","
                     "\"space_id\":\"s\",\"data_source_id\":\"d\","
                     "\"concurrency\":0}");
  ck_assert_int_eq(ab_run_args(args, 0), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"concurrency: expected"));
  /* not JSON: FAILED naming the file */
  ab_write(r.config, "{nope");
  ck_assert_int_eq(ab_run_args(args, 0), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"FAILED\""));
  ck_assert_ptr_nonnull(strstr(r.out, "config.json"));
}
END_TEST

/* ---- write ---------------------------------------------------------------------- */

/* Three streams (a namespace, a hostile name), states of every form
 * interleaved: every record lands typed, every STATE comes back in input
 * order with the records counted since the one before. */
START_TEST(write_tables_all_states) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *rows, *row, *v;
  char data[512];
  int i;

  ab_catalog_stream(&cat, "users", "append_dedup", "");
  ab_catalog_stream(&cat, "Hostile \\\"name\\\"/../\\u00e9t\\u00e9", "append",
                    "");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  for (i = 1; i <= 1200; i++) {
    snprintf(data, sizeof(data),
             "{\"id\":%d,\"name\":\"user %d\",\"n\":%d.5,\"when\":"
             "\"2024-01-02T03:04:05Z\",\"meta\":{\"a\":[1,2]},\"extra\":1}",
             i, i, i);
    ab_record(&in, "users", NULL, data);
    if (i % 3 == 0) {
      snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"h%d\"}", i, i);
      ab_record(&in, "Hostile \\\"name\\\"/../\\u00e9t\\u00e9", NULL, data);
    }
    if (i % 400 == 0)
      ab_stream_state(&in, "users", i);
    if (i == 600)
      ab_put(&in, "{\"type\":\"STATE\",\"state\":{\"type\":\"GLOBAL\","
                  "\"global\":{\"shared_state\":{\"lsn\":600}}}}\n");
    if (i == 1000)
      ab_put(&in, "{\"type\":\"STATE\",\"data\":{\"legacy\":1000},"
                  "\"state\":{\"data\":{\"legacy\":1000}}}\n");
    if (i == 700) /* what a destination passes over */
      ab_put(&in, "{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":"
                  "\"hi\"}}\n");
  }
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  ck_assert_int_eq(json_object_array_length(r.traces), 0);
  ck_assert_int_eq(json_object_array_length(r.states), 5);
  ck_assert_str_eq(ab_state_cursor(0), "400");
  ck_assert(ab_state_count(0) == 400.0);
  ck_assert_str_eq(ab_state_cursor(1), "");       /* GLOBAL at 600 */
  ck_assert(ab_state_count(1) == 800.0);          /* 600 + 200 hostile */
  /* a GLOBAL or LEGACY state starts every count again */
  ck_assert_str_eq(ab_state_cursor(2), "800");
  ck_assert(ab_state_count(2) == 200.0);          /* users since 600 */
  ck_assert_str_eq(ab_state_cursor(3), "");       /* LEGACY at 1000 */
  ck_assert(ab_state_count(3) == 533.0);          /* 400 + 133 hostile */
  ck_assert_str_eq(ab_state_cursor(4), "1200");
  ck_assert(ab_state_count(4) == 200.0);

  dump = ad_fake_dust_dump(r.dust);
  rows = ab_rows(dump, "airbyte_users");
  ck_assert_int_eq(json_object_object_length(rows), 1200);
  ck_assert(json_object_object_get_ex(rows, "7", &row));
  ck_assert(json_object_object_get_ex(row, "n", &v));
  ck_assert(json_object_is_type(v, json_type_double));
  ck_assert(json_object_object_get_ex(row, "when", &v));
  ck_assert(json_object_is_type(v, json_type_object)); /* a datetime */
  ck_assert(json_object_object_get_ex(row, "meta", &v));
  ck_assert_str_eq(json_object_get_string(v), "{\"a\":[1,2]}");
  ck_assert(!json_object_object_get_ex(row, "extra", &v));
  /* the hostile stream's table: a slug of its name */
  rows = ab_rows(dump, "airbyte_hostile_name_t");
  ck_assert_int_eq(json_object_object_length(rows), 400);
  json_object_put(dump);
}
END_TEST

/* Documents: id <stream>-<pk>, the stream's tags, a title from `name`. */
START_TEST(write_documents) {
  ab_text_t in = {0};
  json_object *dump, *docs, *doc, *v;
  char data[256];
  int i;

  ab_write(r.catalog,
           "{\"streams\":[{\"stream\":{\"name\":\"people\",\"namespace\":"
           "\"crm\",\"json_schema\":{\"type\":\"object\",\"properties\":{"
           "\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"}}}},"
           "\"destination_sync_mode\":\"append_dedup\",\"primary_key\":"
           "[[\"id\"]]}]}");
  ab_config("documents", "");
  for (i = 1; i <= 30; i++) {
    snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"Person %d\"}", i, i);
    ab_record(&in, "people", "crm", data);
  }
  ab_put(&in, "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\","
              "\"stream\":{\"stream_descriptor\":{\"name\":\"people\","
              "\"namespace\":\"crm\"},\"stream_state\":{\"c\":30}}}}\n");
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  ck_assert_int_eq(json_object_array_length(r.states), 1);
  dump = ad_fake_dust_dump(r.dust);
  docs = ab_documents(dump);
  ck_assert_int_eq(json_object_object_length(docs), 30);
  ck_assert(json_object_object_get_ex(docs, "people-7", &doc));
  ck_assert(json_object_object_get_ex(doc, "title", &v));
  ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "Person 7"));
  ck_assert(json_object_object_get_ex(doc, "tags", &v));
  ck_assert_ptr_nonnull(strstr(json_object_get_string(v),
                               "airbyte:stream:people"));
  ck_assert_ptr_nonnull(strstr(json_object_get_string(v),
                               "airbyte:namespace:crm"));
  json_object_put(dump);
}
END_TEST

/* Bad input is counted and named (line, stream) and holds no STATE
 * back: sending it again would not mend it. */
START_TEST(write_bad_input_named) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump;

  ab_catalog_stream(&cat, "users", "append", "");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  ab_record(&in, "users", NULL, "{\"id\":1,\"name\":\"a\"}");       /* 1 */
  ab_put(&in, "this is not JSON\n");                                /* 2 */
  ab_record(&in, "ghosts", NULL, "{\"id\":2}");                     /* 3 */
  ab_record(&in, "users", NULL, "{\"id\":\"x3\",\"name\":\"b\"}");  /* 4 */
  ab_record(&in, "users", NULL, "{\"name\":\"no id\"}");            /* 5 */
  ab_put(&in, "{\"type\":\"RECORD\"}\n");                           /* 6 */
  ab_put(&in, "\n");                                                /* 7 */
  ab_record(&in, "users", NULL, "{\"id\":8,\"name\":\"c\"}");       /* 8 */
  ab_stream_state(&in, "users", 8);                                 /* 9 */
  ab_put(&in, "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\","
              "\"data\":{\"id\":10}}}");            /* 10, no newline */
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  ck_assert_int_eq(json_object_array_length(r.states), 1);
  ck_assert_msg(ab_said("input line 2:", "not JSON"), "%s", r.out);
  ck_assert(ab_said("input line 3:", "ghosts"));
  ck_assert(ab_said("input line 4, stream \\\"users\\\"", "id"));
  ck_assert(ab_said("input line 5, stream \\\"users\\\"", "id"));
  ck_assert(ab_said("input line 6:", "RECORD"));
  ck_assert(ab_said("5 of 8 records", NULL) || ab_said("could not be read",
                                                        NULL));
  dump = ad_fake_dust_dump(r.dust);
  ck_assert_int_eq(json_object_object_length(ab_rows(dump, "airbyte_users")),
                   3); /* 1, 8 and 10 */
  json_object_put(dump);
}
END_TEST

/* Dust refuses one stream's table: its records fail, every STATE after
 * the first of them is held back, the ones before are echoed, and a
 * TRACE error says the next attempt sends them again. */
START_TEST(write_dust_failure_holds_states) {
  ab_text_t cat = {0}, in = {0};
  char data[128];
  int i;

  ab_catalog_stream(&cat, "good", "append_dedup", "");
  ab_catalog_stream(&cat, "bad", "append_dedup", "");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  ad_fake_dust_reject_table(r.dust, "airbyte_bad");
  for (i = 1; i <= 50; i++) {
    snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"g\"}", i);
    ab_record(&in, "good", NULL, data);
  }
  ab_stream_state(&in, "good", 50);
  ab_record(&in, "bad", NULL, "{\"id\":1,\"name\":\"b\"}");
  ab_stream_state(&in, "bad", 1);
  for (i = 51; i <= 60; i++) {
    snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"g\"}", i);
    ab_record(&in, "good", NULL, data);
  }
  ab_stream_state(&in, "good", 60);
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 1);
  ck_assert_int_eq(json_object_array_length(r.states), 1);
  ck_assert_str_eq(ab_state_cursor(0), "50");
  ck_assert_int_eq(json_object_array_length(r.traces), 1);
  ck_assert_ptr_nonnull(strstr(r.out, "transient_error"));
}
END_TEST

/* One key written again and again, in pages that fly at once: the last
 * write wins in Dust, however the answers come back. */
START_TEST(write_dedup_last_wins) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *rows, *row, *v;
  char data[128], key[16];
  int i, k;

  ad_fake_dust_opts_t o;
  /* a third of the writes take effect 40 ms late, after later ones */
  ad_fake_dust_stop(r.dust);
  ad_fake_dust_opts_default(&o);
  o.latency_ms = 2;
  o.apply_late = 0.3;
  o.slow_ms = 40;
  r.dust = ad_fake_dust_start(&o);
  ck_assert_ptr_nonnull(r.dust);
  ab_catalog_stream(&cat, "s", "append_dedup", "");
  ab_catalog_end(&cat);
  ab_config("tables", "\"batch_size\":7");
  for (i = 1; i <= 3000; i++) {
    snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"v%d\"}", i % 13, i);
    ab_record(&in, "s", NULL, data);
    if (i % 250 == 0)
      ab_stream_state(&in, "s", i);
  }
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  ck_assert_int_eq(json_object_array_length(r.states), 12);
  dump = ad_fake_dust_dump(r.dust);
  rows = ab_rows(dump, "airbyte_s");
  ck_assert_int_eq(json_object_object_length(rows), 13);
  for (k = 0; k < 13; k++) {
    int last = 3000 - ((3000 - k) % 13 + 13) % 13;
    snprintf(key, sizeof(key), "%d", k);
    ck_assert(json_object_object_get_ex(rows, key, &row));
    ck_assert(json_object_object_get_ex(row, "name", &v));
    snprintf(data, sizeof(data), "v%d", last);
    ck_assert_str_eq(json_object_get_string(v), data);
  }
  json_object_put(dump);
}
END_TEST

/* An unknown sync mode: a config_error TRACE, nothing written. */
START_TEST(write_unknown_mode) {
  ab_text_t cat = {0}, in = {0};
  ab_catalog_stream(&cat, "s", "upsert_sideways", "");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  ab_record(&in, "s", NULL, "{\"id\":1}");
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 1);
  ck_assert_int_eq(json_object_array_length(r.traces), 1);
  ck_assert_ptr_nonnull(strstr(r.out, "config_error"));
  ck_assert_ptr_nonnull(strstr(r.out, "upsert_sideways"));
}
END_TEST

/* Overwrite, tables: stale rows go once the stream is written whole, the
 * rows of an earlier attempt of this generation stay, another writer's
 * table is untouched. */
START_TEST(write_overwrite_tables) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *rows, *value;
  char data[128];
  int i;

  ab_catalog_stream(&cat, "s", "overwrite",
                    ",\"generation_id\":7,\"minimum_generation_id\":7");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  /* what earlier syncs left: generation 6 (stale), 7 (an earlier
   * attempt of this one) */
  ad_fake_dust_add_table(r.dust, "airbyte_s", "s");
  for (i = 100; i < 110; i++) {
    snprintf(data, sizeof(data), "%d", i);
    value = json_tokener_parse(i < 105 ? "{\"name\":\"old\","
                                         "\"airbyte_generation_id\":6}"
                                       : "{\"name\":\"kept\","
                                         "\"airbyte_generation_id\":7}");
    ck_assert_int_eq(ad_fake_dust_put_row(r.dust, "airbyte_s", data, value),
                     0);
    json_object_put(value);
  }
  ad_fake_dust_add_table(r.dust, "someone_else", "someone_else");
  for (i = 1; i <= 20; i++) {
    snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"new\"}", i);
    ab_record(&in, "s", NULL, data);
  }
  ab_stream_state(&in, "s", 20);
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  dump = ad_fake_dust_dump(r.dust);
  rows = ab_rows(dump, "airbyte_s");
  ck_assert_int_eq(json_object_object_length(rows), 25); /* 20 new, 5 kept */
  ck_assert(!json_object_object_get_ex(rows, "100", &value));
  ck_assert(json_object_object_get_ex(rows, "105", &value));
  ck_assert_ptr_nonnull(ab_table(dump, "someone_else"));
  json_object_put(dump);
  ck_assert(ab_said("5 records", "deleted"));
}
END_TEST

/* Overwrite, documents: the stream's old documents go, another stream's
 * and another writer's stay. */
START_TEST(write_overwrite_documents) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *docs, *doc;

  ab_catalog_stream(&cat, "s", "overwrite", "");
  ab_catalog_stream(&cat, "t", "append", "");
  ab_catalog_end(&cat);
  ab_config("documents", "");
  ad_fake_dust_put_document(r.dust, "s-99", "old", "airbyte:stream:s",
                            "airbyte:namespace:", NULL);
  ad_fake_dust_put_document(r.dust, "t-99", "other stream", "airbyte:stream:t",
                            "airbyte:namespace:", NULL);
  ad_fake_dust_put_document(r.dust, "mine", "another writer", "x:y", NULL);
  ab_record(&in, "s", NULL, "{\"id\":1,\"name\":\"new\"}");
  ab_record(&in, "t", NULL, "{\"id\":1,\"name\":\"new\"}");
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  dump = ad_fake_dust_dump(r.dust);
  docs = ab_documents(dump);
  ck_assert(json_object_object_get_ex(docs, "s-1", &doc));
  ck_assert(!json_object_object_get_ex(docs, "s-99", &doc));
  ck_assert(json_object_object_get_ex(docs, "t-99", &doc));
  ck_assert(json_object_object_get_ex(docs, "mine", &doc));
  json_object_put(dump);
}
END_TEST

/* SIGTERM mid-run: the STATEs echoed are a prefix of the input's, and
 * every record before the last one echoed is in Dust. */
START_TEST(write_sigterm_keeps_promise) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *rows;
  char data[128];
  size_t echoed;
  int i;

  /* 400 batches, 2 at a time, 200 ms each: far more than the 10 s a stop
   * gives what was read, so the stop cuts the writing short */
  ad_fake_dust_set_latency(r.dust, 200);
  ab_catalog_stream(&cat, "s", "append_dedup", "");
  ab_catalog_end(&cat);
  ab_config("tables", "\"batch_size\":50,\"concurrency\":2");
  for (i = 1; i <= 20000; i++) {
    snprintf(data, sizeof(data), "{\"id\":%d,\"name\":\"n\"}", i);
    ab_record(&in, "s", NULL, data);
    if (i % 100 == 0)
      ab_stream_state(&in, "s", i);
  }
  ab_save(&in);
  {
    const char *args[] = {"write", "--config", r.config, "--catalog",
                          r.catalog, NULL};
    ck_assert_int_eq(ab_run_args(args, 1500), 1);
  }
  echoed = json_object_array_length(r.states);
  ck_assert_msg(echoed > 0 && echoed < 200, "%zu states echoed", echoed);
  for (i = 0; i < (int)echoed; i++) {
    snprintf(data, sizeof(data), "%d", (i + 1) * 100);
    ck_assert_str_eq(ab_state_cursor((size_t)i), data);
  }
  dump = ad_fake_dust_dump(r.dust);
  rows = ab_rows(dump, "airbyte_s");
  for (i = 1; i <= (int)echoed * 100; i++) {
    snprintf(data, sizeof(data), "%d", i);
    ck_assert_msg(json_object_object_get_ex(rows, data, NULL),
                  "record %d before an echoed STATE is not in Dust", i);
  }
  json_object_put(dump);
  ck_assert_ptr_nonnull(strstr(r.out, "TRACE"));
}
END_TEST

/* A record Dust refuses for good (a lone row over the body limit): the
 * STATEs after it are held, and a later write of its id does not wait
 * for it forever (it ended, failed). */
START_TEST(write_refused_record_then_its_id_again) {
  ab_text_t cat = {0}, in = {0};
  ad_fake_dust_opts_t o;
  char *big = malloc(6001), data[6100];
  json_object *dump;

  ad_fake_dust_stop(r.dust);
  ad_fake_dust_opts_default(&o);
  o.max_body = 4000;
  r.dust = ad_fake_dust_start(&o);
  ck_assert_ptr_nonnull(r.dust);
  memset(big, 'x', 6000);
  big[6000] = '\0';
  ab_catalog_stream(&cat, "s", "append_dedup", "");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  ab_record(&in, "s", NULL, "{\"id\":2,\"name\":\"small\"}");
  ab_stream_state(&in, "s", 1);
  snprintf(data, sizeof(data), "{\"id\":1,\"name\":\"%s\"}", big);
  ab_record(&in, "s", NULL, data);
  ab_stream_state(&in, "s", 2);
  ab_record(&in, "s", NULL, "{\"id\":1,\"name\":\"small again\"}");
  ab_stream_state(&in, "s", 3);
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 1);
  ck_assert_int_eq(json_object_array_length(r.states), 1);
  ck_assert_str_eq(ab_state_cursor(0), "1");
  ck_assert_ptr_nonnull(strstr(r.out, "transient_error"));
  dump = ad_fake_dust_dump(r.dust);
  ck_assert_int_eq(json_object_object_length(ab_rows(dump, "airbyte_s")), 2);
  json_object_put(dump);
  free(big);
}
END_TEST

/* An overwrite whose input may not hold all of the stream keeps the old
 * records: one of its records could not be read; the source said the
 * stream is INCOMPLETE; a line named no stream. COMPLETE replaces. */
static void ab_overwrite_case(const char *extra_lines, int replaced) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *rows, *value;

  ab_catalog_stream(&cat, "s", "overwrite", "");
  ab_catalog_end(&cat);
  ab_config("tables", "");
  if (ab_table(dump = ad_fake_dust_dump(r.dust), "airbyte_s") == NULL)
    ad_fake_dust_add_table(r.dust, "airbyte_s", "s");
  json_object_put(dump);
  value = json_tokener_parse("{\"name\":\"old\"}");
  ck_assert_int_eq(ad_fake_dust_put_row(r.dust, "airbyte_s", "99", value), 0);
  json_object_put(value);
  ab_record(&in, "s", NULL, "{\"id\":1,\"name\":\"new\"}");
  ab_put(&in, "%s", extra_lines);
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 0);
  dump = ad_fake_dust_dump(r.dust);
  rows = ab_rows(dump, "airbyte_s");
  ck_assert_msg(json_object_object_get_ex(rows, "99", NULL) == !replaced,
                "%s: %s", extra_lines, r.out);
  ck_assert(json_object_object_get_ex(rows, "1", NULL));
  json_object_put(dump);
  if (!replaced)
    ck_assert(ab_said("is not replaced", NULL));
}

#define AB_STATUS(status)                                                   \
  "{\"type\":\"TRACE\",\"trace\":{\"type\":\"STREAM_STATUS\","              \
  "\"emitted_at\":1,\"stream_status\":{\"stream_descriptor\":{\"name\":"    \
  "\"s\"},\"status\":\"" status "\"}}}\n"

START_TEST(write_overwrite_only_when_whole) {
  ab_overwrite_case("", 1); /* no status at all: EOF is the end */
  ab_overwrite_case(AB_STATUS("STARTED") AB_STATUS("COMPLETE"), 1);
  ab_overwrite_case(AB_STATUS("STARTED") AB_STATUS("INCOMPLETE"), 0);
  ab_overwrite_case(AB_STATUS("STARTED"), 0); /* statuses, no COMPLETE */
  ab_overwrite_case("{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\","
                    "\"data\":{\"id\":\"x2\"}}}\n", 0);
  ab_overwrite_case("not JSON\n", 0);
}
END_TEST

/* Dust cannot list what it holds of an overwrite stream: nothing is
 * deleted, the stream is reported not written whole (a system_error
 * TRACE), and its STATE, all its records being in Dust, is echoed. */
START_TEST(write_overwrite_listing_fails) {
  ab_text_t cat = {0}, in = {0};
  json_object *dump, *rows, *value;

  ab_catalog_stream(&cat, "s", "overwrite", "");
  ab_catalog_end(&cat);
  ab_config("tables", "\"max_retries\":1");
  ad_fake_dust_add_table(r.dust, "airbyte_s", "s");
  value = json_tokener_parse("{\"name\":\"old\"}");
  ck_assert_int_eq(ad_fake_dust_put_row(r.dust, "airbyte_s", "99", value), 0);
  json_object_put(value);
  ad_fake_dust_fail_listings(r.dust, 1);
  ab_record(&in, "s", NULL, "{\"id\":1,\"name\":\"new\"}");
  ab_stream_state(&in, "s", 1);
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 1);
  ck_assert_int_eq(json_object_array_length(r.states), 1);
  ck_assert_int_eq(json_object_array_length(r.traces), 1);
  ck_assert_ptr_nonnull(strstr(r.out, "system_error"));
  ck_assert(ab_said("replacing it", "still there"));
  dump = ad_fake_dust_dump(r.dust);
  rows = ab_rows(dump, "airbyte_s");
  ck_assert(json_object_object_get_ex(rows, "99", NULL));
  ck_assert(json_object_object_get_ex(rows, "1", NULL));
  json_object_put(dump);
}
END_TEST

/* A refused key: a config_error TRACE naming what was refused. */
START_TEST(write_refused_key) {
  ab_text_t cat = {0}, in = {0};
  ab_catalog_stream(&cat, "s", "append", "");
  ab_catalog_end(&cat);
  ab_write(r.config, "{\"api_key\":\"sk-wrong999\",\"workspace_id\":\"wFake\","
                     "\"space_id\":\"vltFake\",\"data_source_id\":\"dsFake\","
                     "\"data_format\":\"tables\",\"allow_insecure_http\":true,"
                     "\"base_url\":\"");
  {
    FILE *f = fopen(r.config, "a");
    fprintf(f, "%s\"}", ad_fake_dust_url(r.dust));
    fclose(f);
  }
  ab_record(&in, "s", NULL, "{\"id\":1}");
  ab_stream_state(&in, "s", 1);
  ab_save(&in);
  ck_assert_int_eq(ab_write_run(), 1);
  ck_assert_int_eq(json_object_array_length(r.states), 0);
  ck_assert_int_eq(json_object_array_length(r.traces), 1);
  ck_assert_ptr_nonnull(strstr(r.out, "config_error"));
  ck_assert_ptr_null(strstr(r.out, "sk-wrong999"));
}
END_TEST

static Suite *airbyte_suite(void) {
  Suite *s = suite_create("airbyte");
  TCase *tc = tcase_create("protocol");
  tcase_add_checked_fixture(tc, ab_setup, ab_teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, spec_lists_the_python_keys);
  tcase_add_test(tc, check_says_succeeded_or_why_not);
  tcase_add_test(tc, write_tables_all_states);
  tcase_add_test(tc, write_documents);
  tcase_add_test(tc, write_bad_input_named);
  tcase_add_test(tc, write_dust_failure_holds_states);
  tcase_add_test(tc, write_dedup_last_wins);
  tcase_add_test(tc, write_unknown_mode);
  tcase_add_test(tc, write_overwrite_tables);
  tcase_add_test(tc, write_overwrite_documents);
  tcase_add_test(tc, write_sigterm_keeps_promise);
  tcase_add_test(tc, write_refused_record_then_its_id_again);
  tcase_add_test(tc, write_overwrite_only_when_whole);
  tcase_add_test(tc, write_refused_key);
  tcase_add_test(tc, write_overwrite_listing_fails);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(airbyte_suite()); }
