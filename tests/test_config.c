#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "buf.h"
#include "config.h"
#include "sink.h"
#include "source.h"
#include "error.h"
#include "testutil.h"

#define SRC_OK "\"source\":{\"api_key\":\"patSECRET123\"}"
#define SINK_OK                                                             \
  "\"sink\":{\"api_key\":\"sk-SECRET456\",\"workspace_id\":\"w1\","         \
  "\"space_id\":\"s1\",\"data_source_id\":\"d1\"}"

/* The plugins' sections, as their structs. */
#define AT(c) ((const ad_at_config_t *)(c).source.conf)
#define DS(c) ((const ad_dust_config_t *)(c).sink.conf)

static const char *fake_env(const char *name, void *data) {
  const char *const *pairs = data;
  for (; pairs != NULL && *pairs != NULL; pairs += 2)
    if (strcmp(pairs[0], name) == 0)
      return pairs[1];
  return NULL;
}

static int parse(ad_config_t *cfg, const char *json, const char **env,
                 char *err) {
  return ad_config_parse(cfg, json, strlen(json), ad_builtin_plugins(),
                         fake_env, (void *)env, err, 256);
}

START_TEST(test_minimal_gets_defaults) {
  ad_config_t c;
  char err[256];

  ck_assert_int_eq(parse(&c, "{" SRC_OK "," SINK_OK "}", NULL, err), 0);
  ck_assert_str_eq(err, "");
  ck_assert_str_eq(AT(c)->api_key, "patSECRET123");
  ck_assert_str_eq(AT(c)->base_url, "https://api.airtable.com");
  ck_assert_int_eq(AT(c)->index_all, 1);
  ck_assert_ptr_null(AT(c)->view_id);
  ck_assert_str_eq(DS(c)->base_url, "https://dust.tt");
  ck_assert_int_eq(DS(c)->data_format, AD_FORMAT_TABLES);
  ck_assert_str_eq(DS(c)->table_id_prefix, "airtable_");
  ck_assert_int_eq(DS(c)->batch_size, 500);
  ck_assert_int_eq(DS(c)->truncate, 0);
  ck_assert_double_eq(c.rate_limits.per_base_rps, 5);
  ck_assert_double_eq(c.rate_limits.per_token_rps, 50);
  ck_assert_double_eq(c.rate_limits.backoff_on_429_s, 30);
  ck_assert_double_eq(c.rate_limits.dust_documents_per_minute, 120);
  ck_assert_int_eq(c.engine.max_connections, 64);
  ck_assert_int_eq(c.engine.queue_rows, 20000);
  ck_assert_int_eq(c.engine.sink_concurrency, 8);
  ck_assert_int_eq(c.rate_limits.safety_margin_ms, 20);
  ck_assert_int_eq(c.rate_limits.max_safety_margin_ms, 250);
  ck_assert_int_eq(c.rate_limits.shared.type, AD_SHARED_FILE);
  ck_assert_ptr_null(c.rate_limits.shared.url);
  ck_assert_ptr_null(c.rate_limits.shared.path);
  ck_assert_str_eq(c.rate_limits.shared.key_prefix, "airdust");
  ck_assert_int_eq(c.rate_limits.shared.outage_timeout_s, 60);
  ck_assert_ptr_null(c.engine.state_dir); /* no HOME in this environment */
  ad_config_free(&c);
}
END_TEST

/* The state folder: the config's, else XDG_STATE_HOME's, else HOME's;
 * relative variables are ignored, as the XDG spec says. */
START_TEST(test_state_dir) {
  static const char *xdg[] = {"XDG_STATE_HOME", "/x/state", "HOME", "/home/u",
                              NULL};
  static const char *home[] = {"XDG_STATE_HOME", "rel", "HOME", "/home/u",
                               NULL};
  ad_config_t c;
  char err[256];

  ck_assert_int_eq(parse(&c, "{" SRC_OK "," SINK_OK "}", xdg, err), 0);
  ck_assert_str_eq(c.engine.state_dir, "/x/state/airdust");
  ad_config_free(&c);
  ck_assert_int_eq(parse(&c, "{" SRC_OK "," SINK_OK "}", home, err), 0);
  ck_assert_str_eq(c.engine.state_dir, "/home/u/.local/state/airdust");
  ad_config_free(&c);
  ck_assert_int_eq(parse(&c,
                         "{" SRC_OK "," SINK_OK
                         ",\"engine\":{\"state_dir\":\"/srv/ad\"}}",
                         xdg, err),
                   0);
  ck_assert_str_eq(c.engine.state_dir, "/srv/ad");
  ad_config_free(&c);
}
END_TEST

/* rate_limits.shared: null (the default), or an object of its own keys. */
START_TEST(test_shared_budget) {
  ad_config_t c;
  char err[256];

  ck_assert_int_eq(parse(&c,
                         "{" SRC_OK "," SINK_OK
                         ",\"rate_limits\":{\"shared\":{\"type\":"
                         "\"redis\",\"url\":\"redis://:pw@h:6380/2\","
                         "\"key_prefix\":\"team\",\"outage_timeout_s\":"
                         "10}}}",
                         NULL, err),
                   0);
  ck_assert_int_eq(c.rate_limits.shared.type, AD_SHARED_REDIS);
  ck_assert_str_eq(c.rate_limits.shared.url, "redis://:pw@h:6380/2");
  ck_assert_str_eq(c.rate_limits.shared.key_prefix, "team");
  ck_assert_int_eq(c.rate_limits.shared.outage_timeout_s, 10);
  ad_config_free(&c);
  ck_assert_int_eq(parse(&c,
                         "{" SRC_OK "," SINK_OK
                         ",\"rate_limits\":{\"shared\":null}}",
                         NULL, err),
                   0);
  ck_assert_int_eq(c.rate_limits.shared.type, AD_SHARED_FILE);
  ad_config_free(&c);
  ck_assert_int_eq(parse(&c,
                         "{" SRC_OK "," SINK_OK
                         ",\"rate_limits\":{\"shared\":{\"type\":"
                         "\"file\",\"path\":\"/run/ad/budget\"}}}",
                         NULL, err),
                   0);
  ck_assert_str_eq(c.rate_limits.shared.path, "/run/ad/budget");
  ad_config_free(&c);
}
END_TEST

START_TEST(test_full_config) {
  const char *json =
      "{\"source\":{\"type\":\"airtable\",\"api_key\":\"patX\","
      "\"base_url\":\"http://127.0.0.1:8080\",\"index_all\":false,"
      "\"base_id\":\"appA\",\"table_name_or_id\":\"My Table\","
      "\"view_id\":\"viwV\",\"share_id\":null,"
      "\"treat_all_non_attachment_fields_as_metadata\":true},"
      "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-abc\","
      "\"base_url\":\"https://eu.dust.tt\",\"workspace_id\":\"w\","
      "\"space_id\":\"s\",\"data_source_id\":\"d\","
      "\"data_format\":\"documents\",\"table_id_prefix\":\"x_\","
      "\"batch_size\":100,\"truncate\":true},"
      "\"rate_limits\":{\"per_base_rps\":4.5,\"per_token_rps\":40,"
      "\"backoff_on_429_s\":0,\"dust_documents_per_minute\":60,"
      "\"safety_margin_ms\":0},"
      "\"engine\":{\"max_connections\":16,\"queue_rows\":100,"
      "\"queue_bytes\":1048576,\"sink_concurrency\":2,"
      "\"connect_timeout_s\":3,\"request_timeout_s\":30,\"max_retries\":0}}";
  ad_config_t c;
  char err[256];

  ck_assert_int_eq(parse(&c, json, NULL, err), 0);
  ck_assert_int_eq(AT(c)->index_all, 0);
  ck_assert_str_eq(AT(c)->table_name_or_id, "My Table");
  ck_assert_str_eq(AT(c)->view_id, "viwV");
  ck_assert_ptr_null(AT(c)->share_id);
  ck_assert_int_eq(AT(c)->treat_all_non_attachment_fields_as_metadata, 1);
  ck_assert_int_eq(DS(c)->data_format, AD_FORMAT_DOCUMENTS);
  ck_assert_int_eq(DS(c)->truncate, 1);
  ck_assert_double_eq(c.rate_limits.per_base_rps, 4.5);
  ck_assert_double_eq(c.rate_limits.backoff_on_429_s, 0);
  ck_assert_int_eq(c.engine.queue_bytes, 1048576);
  ck_assert_int_eq(c.engine.max_retries, 0);
  ad_config_free(&c);
}
END_TEST

START_TEST(test_env_fallback) {
  const char *env[] = {"AIRTABLE_API_KEY", "patENV", "DUST_API_KEY",
                       "sk-ENV", NULL};
  const char *json = "{\"source\":{},\"sink\":{\"workspace_id\":\"w\","
                     "\"space_id\":\"s\",\"data_source_id\":\"d\"}}";
  ad_config_t c;
  char err[256];

  ck_assert_int_eq(parse(&c, json, env, err), 0);
  ck_assert_str_eq(AT(c)->api_key, "patENV");
  ck_assert_str_eq(DS(c)->api_key, "sk-ENV");
  ad_config_free(&c);
  /* A key in the file wins over the environment. */
  ck_assert_int_eq(parse(&c, "{" SRC_OK "," SINK_OK "}", env, err), 0);
  ck_assert_str_eq(AT(c)->api_key, "patSECRET123");
  ad_config_free(&c);
}
END_TEST

typedef struct bad_case {
  const char *json;
  const char *message;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"{\n  \"source\": {,\n}", "config: invalid JSON at line 2, column 14: "
                               "quoted object property name expected"},
    {"{\"source\":{}", "config: invalid JSON at line 1, column 13: unexpected "
                       "end of input"},
    {"{" SRC_OK "," SINK_OK "}\n x", "config: invalid JSON at line 2, column "
                                     "2: unexpected character"},
    {"[1,2]", "config: expected a JSON object"},
    {"{" SRC_OK "," SINK_OK ",\"extra\":{}}",
     "extra: unknown key (expected source, sink, rate_limits or engine)"},
    {"{" SINK_OK "}", "source: missing (required)"},
    {"{" SRC_OK "}", "sink: missing (required)"},
    {"{\"source\":3," SINK_OK "}", "source: expected an object"},
    {"{\"source\":{\"api_key\":\"p\",\"colour\":1}," SINK_OK "}",
     "source.colour: unknown key"},
    {"{\"source\":{\"type\":\"notion\"}," SINK_OK "}",
     "source.type: expected \"airtable\", \"jsonl\" or \"airbyte\", got "
     "\"notion\""},
    {"{" SRC_OK ",\"sink\":{\"batch_size\":\"x\"}}",
     "sink.batch_size: expected a positive integer, got \"x\""},
    {"{" SRC_OK ",\"sink\":{\"batch_size\":0}}",
     "sink.batch_size: expected a positive integer, got 0"},
    {"{" SRC_OK ",\"sink\":{\"batch_size\":1.5}}",
     "sink.batch_size: expected a positive integer, got 1.5"},
    {"{" SRC_OK ",\"sink\":{\"data_format\":\"csv\"}}",
     "sink.data_format: expected \"tables\" or \"documents\", got \"csv\""},
    {"{" SRC_OK ",\"sink\":{\"truncate\":\"yes\"}}",
     "sink.truncate: expected true or false, got \"yes\""},
    {"{\"source\":{\"base_url\":\"ftp://x\"}," SINK_OK "}",
     "source.base_url: expected an http:// or https:// URL, got \"ftp://x\""},
    {"{" SRC_OK "," SINK_OK ",\"rate_limits\":{\"per_base_rps\":-1}}",
     "rate_limits.per_base_rps: expected a positive number, got -1"},
    {"{" SRC_OK "," SINK_OK ",\"rate_limits\":{\"shared\":5}}",
     "rate_limits.shared: expected an object or null, got 5"},
    {"{" SRC_OK "," SINK_OK ",\"rate_limits\":{\"shared\":{\"kind\":1}}}",
     "rate_limits.shared.kind: unknown key"},
    {"{" SRC_OK "," SINK_OK
     ",\"rate_limits\":{\"shared\":{\"type\":\"etcd\"}}}",
     "rate_limits.shared.type: expected \"file\", \"redis\" or \"none\", "
     "got \"etcd\""},
    {"{" SRC_OK "," SINK_OK
     ",\"rate_limits\":{\"shared\":{\"type\":\"redis\"}}}",
     "rate_limits.shared.url: missing (required when type is \"redis\")"},
    {"{" SRC_OK "," SINK_OK
     ",\"rate_limits\":{\"shared\":{\"url\":\"redis://:pw@h\"}}}",
     "rate_limits.shared.url: set, but type is not \"redis\""},
    {"{" SRC_OK "," SINK_OK
     ",\"rate_limits\":{\"shared\":{\"type\":\"redis\",\"url\":7}}}",
     "rate_limits.shared.url: expected a string or null, got a number"},
    {"{" SRC_OK "," SINK_OK
     ",\"rate_limits\":{\"shared\":{\"type\":\"none\",\"path\":\"/x\"}}}",
     "rate_limits.shared.path: set, but type is not \"file\""},
    {"{" SRC_OK "," SINK_OK ",\"rate_limits\":{\"safety_margin_ms\":300}}",
     "rate_limits.max_safety_margin_ms: 250 is below "
     "rate_limits.safety_margin_ms (300)"},
    {"{" SRC_OK "," SINK_OK ",\"engine\":{\"queue_rows\":[1]}}",
     "engine.queue_rows: expected a positive integer, got an array"},
    {"{" SRC_OK "," SINK_OK ",\"engine\":{\"queue_rows\":99}}",
     "engine.queue_rows: expected at least 100 (a page of records), got "
     "99"},
    {"{\"source\":{\"api_key\":42}," SINK_OK "}",
     "source.api_key: expected a string, got a number"},
    {"{\"source\":{}," SINK_OK "}",
     "source.api_key: missing (set it in the config or in AIRTABLE_API_KEY)"},
    {"{" SRC_OK ",\"sink\":{\"workspace_id\":\"w\",\"space_id\":\"s\","
     "\"data_source_id\":\"d\"}}",
     "sink.api_key: missing (set it in the config or in DUST_API_KEY)"},
    {"{" SRC_OK ",\"sink\":{\"api_key\":\"sk-x\",\"space_id\":\"s\","
     "\"data_source_id\":\"d\"}}",
     "sink.workspace_id: missing (required)"},
    {"{" SRC_OK ",\"sink\":{\"api_key\":\"sk-SECRET 789\","
     "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\"}}",
     "sink.api_key: must not contain spaces (expected a Dust workspace API "
     "key \"sk-…\" or an OAuth access token)"},
    {"{" SRC_OK ",\"sink\":{\"api_key\":\"eyJSECRET\\r\\nX-Evil: 1\","
     "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\"}}",
     "sink.api_key: must not contain control characters"},
    {"{" SRC_OK ",\"sink\":{\"api_key\":\"sk-SECRET\\t789\","
     "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\"}}",
     "sink.api_key: must not contain control characters"},
    {"{\"source\":{\"api_key\":\"p\",\"index_all\":false}," SINK_OK "}",
     "source.base_id: missing (required when source.index_all is false)"},
    {"{\"source\":{\"api_key\":\"p\",\"index_all\":false,\"base_id\":\"a\"},"
     SINK_OK "}",
     "source.table_name_or_id: missing (required when source.index_all is "
     "false)"},
    {"{\"source\":{\"api_key\":\"p\",\"base_id\":\"appX\"}," SINK_OK "}",
     "source.base_id: set, but source.index_all is true (set \"index_all\": "
     "false to sync one table)"},
    {"{\"source\":{\"api_key\":\"p\",\"index_all\":false,\"base_id\":\"a\\r\\n"
     "X-Evil: 1\",\"table_name_or_id\":\"t\"}," SINK_OK "}",
     "source.base_id: must not contain control characters"},
    {"{\"source\":{\"api_key\":\"pat 123\"}," SINK_OK "}",
     "source.api_key: must not contain spaces"},
    {"{\"source\":{\"api_key\":\"p\",\"base_url\":\"http://api.example.com\"},"
     SINK_OK "}",
     "source.base_url: plain http:// is allowed only to loopback (127.0.0.1, "
     "[::1], localhost), since the API key would travel unencrypted; use "
     "https:// or set engine.allow_insecure_http to true"},
    {"{" SRC_OK ",\"sink\":{\"api_key\":\"sk-x\",\"workspace_id\":\"w\","
     "\"space_id\":\"s\",\"data_source_id\":\"d\","
     "\"base_url\":\"http://127.0.0.1.nip.io:8080\"}}",
     "sink.base_url: plain http:// is allowed only to loopback (127.0.0.1, "
     "[::1], localhost), since the API key would travel unencrypted; use "
     "https:// or set engine.allow_insecure_http to true"},
};

/* Which URLs are plain http to a host that is not loopback. */
START_TEST(test_plain_remote_urls) {
  static const struct {
    const char *url;
    int remote;
  } cases[] = {
      {"https://api.airtable.com", 0},     {"http://127.0.0.1:8080/x", 0},
      {"http://127.1.2.3", 0},             {"HTTP://localhost:9/", 0},
      {"http://[::1]:9", 0},               {"http://user:pw@127.0.0.1/", 0},
      {"http://api.airtable.com", 1},      {"http://10.0.0.1", 1},
      {"http://127.0.0.1.nip.io", 1},      {"http://localhost.evil.com", 1},
      {"http://[::2]:9", 1},               {"http://127.0.0.1@evil.com/", 1},
      {"http://evil.com/127.0.0.1", 1},    {"http://[::1]x", 1},
  };
  size_t i;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    ck_assert_msg(ad_url_is_plain_remote(cases[i].url) == cases[i].remote,
                  "%s", cases[i].url);
}
END_TEST

/* engine.allow_insecure_http lets a remote plain http URL through. */
START_TEST(test_allow_insecure_http) {
  ad_config_t c;
  char err[256];
  ck_assert_int_eq(parse(&c, "{\"source\":{\"api_key\":\"p\",\"base_url\":"
                             "\"http://10.0.0.7:8080\"}," SINK_OK ","
                             "\"engine\":{\"allow_insecure_http\":true}}",
                         NULL, err),
                   0);
  ck_assert_int_eq(c.engine.allow_insecure_http, 1);
  ck_assert_str_eq(AT(c)->base_url, "http://10.0.0.7:8080");
  ad_config_free(&c);
}
END_TEST

/* Dust takes a workspace key or an OAuth access token as the Bearer
 * value: anything that can be a header value is the server's to judge. */
START_TEST(test_dust_key_or_token) {
  static const char *const keys[] = {
      "sk-SECRET456",
      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.SECRET-sig_n~+/=",
      "pat-SECRET789",
  };
  char json[512], err[256];
  ad_config_t c;
  size_t i;

  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    snprintf(json, sizeof(json),
             "{" SRC_OK ",\"sink\":{\"api_key\":\"%s\",\"workspace_id\":"
             "\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\"}}",
             keys[i]);
    ck_assert_msg(parse(&c, json, NULL, err) == 0, "%zu: %s", i, err);
    ck_assert_str_eq(DS(c)->api_key, keys[i]);
    ad_config_free(&c);
  }
}
END_TEST

START_TEST(test_bad_config) {
  const bad_case_t *bc = &bad_cases[_i];
  ad_config_t c;
  char err[256];

  ck_assert_int_eq(parse(&c, bc->json, NULL, err), AD_ECONFIG);
  ck_assert_str_eq(err, bc->message);
  /* No message ever echoes a key. */
  ck_assert_ptr_null(strstr(err, "SECRET"));
  ad_config_free(&c);
}
END_TEST

START_TEST(test_load_file) {
  char path[32] = "/tmp/ad_config_";
  const char *json = "{" SRC_OK "," SINK_OK "}";
  ad_config_t c;
  char err[256];
  int fd;

  memset(path + strlen(path), 'X', 6); /* the template mkstemp() requires */
  fd = mkstemp(path);

  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
  close(fd);
  ck_assert_int_eq(ad_config_load(&c, path, ad_builtin_plugins(), NULL, NULL, err, sizeof(err)), 0);
  ck_assert_str_eq(DS(c)->workspace_id, "w1");
  ad_config_free(&c);
  unlink(path);
  ck_assert_int_eq(ad_config_load(&c, path, ad_builtin_plugins(), NULL, NULL, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_msg(strstr(err, path) != NULL && strstr(err, "cannot open"),
                "%s", err);
  ad_config_free(&c);
}
END_TEST

static int collect_secret(const char *secret, void *data) {
  ad_buf_t *b = data;
  return ad_buf_puts(b, secret) || ad_buf_puts(b, "|");
}

/* What logs must redact: both keys whole, and of a Redis URL only its
 * password (its host and port say where airdust looked). */
START_TEST(test_secrets_listed) {
  ad_config_t c;
  ad_buf_t b;
  char err[256];
  ck_assert_int_eq(
      parse(&c,
            "{" SRC_OK "," SINK_OK ",\"rate_limits\":{\"shared\":{\"type\":"
            "\"redis\",\"url\":\"redis://u:pw%41@10.0.0.2:6379/0\"}},"
            "\"engine\":{\"allow_insecure_http\":true}}",
            NULL, err),
      0);
  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_config_secrets(&c, collect_secret, &b), 0);
  ck_assert_str_eq(b.data, "patSECRET123|sk-SECRET456|pw%41|");
  ad_buf_free(&b);
  ad_config_free(&c);
  ck_assert_int_eq(
      parse(&c,
            "{" SRC_OK "," SINK_OK ",\"rate_limits\":{\"shared\":{\"type\":"
            "\"redis\",\"url\":\"redis://10.0.0.2:6379\"}}}",
            NULL, err),
      0);
  ad_buf_init(&b, 0);
  ck_assert_int_eq(ad_config_secrets(&c, collect_secret, &b), 0);
  ck_assert_str_eq(b.data, "patSECRET123|sk-SECRET456|");
  ad_buf_free(&b);
  ad_config_free(&c);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_minimal_gets_defaults);
  tcase_add_test(tc, test_secrets_listed);
  tcase_add_test(tc, test_full_config);
  tcase_add_test(tc, test_state_dir);
  tcase_add_test(tc, test_shared_budget);
  tcase_add_test(tc, test_env_fallback);
  tcase_add_test(tc, test_plain_remote_urls);
  tcase_add_test(tc, test_allow_insecure_http);
  tcase_add_test(tc, test_dust_key_or_token);
  tcase_add_loop_test(tc, test_bad_config, 0,
                      sizeof(bad_cases) / sizeof(bad_cases[0]));
  tcase_add_test(tc, test_load_file);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(config_suite()); }
