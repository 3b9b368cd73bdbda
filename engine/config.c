#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"

#define AD_OFF(member) offsetof(ad_config_t, member)

/* The engine's own sections (docs/config.md mirrors these tables); the
 * source's and the sink's keys are their plugins'. */
static const ad_config_key_t ad_cfg_shared_keys[] = {
    {"type", AD_KEY_ENUM, AD_OFF(rate_limits.shared.type), "\"file\"",
     "file|redis|none", 0, NULL,
     "where rate-limit budgets are shared: every airdust process on this "
     "machine, every one that reaches a Redis, or none", NULL},
    {"url", AD_KEY_OPTSTRING, AD_OFF(rate_limits.shared.url), NULL, NULL,
     AD_KEY_SECRET | AD_KEY_IDENT, NULL, "redis://[[user]:password@]host"
     "[:port][/db]", NULL},
    {"key_prefix", AD_KEY_STRING, AD_OFF(rate_limits.shared.key_prefix),
     "\"airdust\"", NULL, AD_KEY_IDENT, NULL, "the Redis keys' prefix",
     NULL},
    {"path", AD_KEY_OPTSTRING, AD_OFF(rate_limits.shared.path), NULL, NULL,
     0, NULL, "the budget file; default: in engine.state_dir", NULL},
    {"connect_timeout_s", AD_KEY_POSINT,
     AD_OFF(rate_limits.shared.connect_timeout_s), "5", NULL, 0, NULL,
     "Redis connect timeout", NULL},
    {"outage_timeout_s", AD_KEY_POSINT,
     AD_OFF(rate_limits.shared.outage_timeout_s), "60", NULL, 0, NULL,
     "how long a lost Redis is waited for", NULL},
    {NULL}};

static const ad_config_key_t ad_cfg_rate_keys[] = {
    {"per_base_rps", AD_KEY_POSNUM, AD_OFF(rate_limits.per_base_rps), "5",
     NULL, 0, NULL, "Airtable requests per second per base", NULL},
    {"per_token_rps", AD_KEY_POSNUM, AD_OFF(rate_limits.per_token_rps), "50",
     NULL, 0, NULL, "Airtable requests per second per token", NULL},
    {"backoff_on_429_s", AD_KEY_UNUM, AD_OFF(rate_limits.backoff_on_429_s),
     "30", NULL, 0, NULL, "Airtable's penalty after a 429", NULL},
    {"dust_documents_per_minute", AD_KEY_POSNUM,
     AD_OFF(rate_limits.dust_documents_per_minute), "120", NULL, 0, NULL,
     "Dust document upserts per minute per workspace", NULL},
    {"safety_margin_ms", AD_KEY_UINT, AD_OFF(rate_limits.safety_margin_ms),
     "20", NULL, 0, NULL, "each one-second window widened by this", NULL},
    {"max_safety_margin_ms", AD_KEY_UINT,
     AD_OFF(rate_limits.max_safety_margin_ms), "250", NULL, 0, NULL,
     "how far 429s may widen it", NULL},
    {"shared", AD_KEY_SECTION, 0, NULL, NULL, 0, NULL,
     "budgets shared with other processes", ad_cfg_shared_keys},
    {NULL}};

static const ad_config_key_t ad_cfg_engine_keys[] = {
    {"max_connections", AD_KEY_POSINT, AD_OFF(engine.max_connections), "64",
     NULL, 0, NULL, "connections per API", NULL},
    {"queue_rows", AD_KEY_POSINT, AD_OFF(engine.queue_rows), "20000", NULL,
     0, NULL, "records the queue holds at most", NULL},
    {"queue_bytes", AD_KEY_POSINT, AD_OFF(engine.queue_bytes), "33554432",
     NULL, 0, NULL, "bytes the queue holds at most", NULL},
    {"sink_concurrency", AD_KEY_POSINT, AD_OFF(engine.sink_concurrency), "8",
     NULL, 0, NULL, "writes in flight at once", NULL},
    {"connect_timeout_s", AD_KEY_POSINT, AD_OFF(engine.connect_timeout_s),
     "10", NULL, 0, NULL, NULL, NULL},
    {"request_timeout_s", AD_KEY_POSINT, AD_OFF(engine.request_timeout_s),
     "60", NULL, 0, NULL, NULL, NULL},
    {"max_retries", AD_KEY_UINT, AD_OFF(engine.max_retries), "5", NULL, 0,
     NULL, NULL, NULL},
    {"allow_insecure_http", AD_KEY_BOOL, AD_OFF(engine.allow_insecure_http),
     "false", NULL, 0, NULL, "plain http:// to hosts that are not loopback",
     NULL},
    {"state_dir", AD_KEY_OPTSTRING, AD_OFF(engine.state_dir), NULL, NULL, 0,
     NULL, "what airdust remembers between runs", NULL},
    {"max_delete_share", AD_KEY_POSNUM, AD_OFF(engine.max_delete_share),
     "0.5", NULL, 0, NULL,
     "a run deletes at most this share of a table's records (ten or "
     "more), or of the tables, unless --allow-mass-delete (1: no guard)",
     NULL},
    {NULL}};

#define AD_CFG_MAX_INT 1000000000L

static const char *const ad_cfg_expected[] = {
    [AD_KEY_STRING] = "a string",
    [AD_KEY_OPTSTRING] = "a string or null",
    [AD_KEY_URL] = "an http:// or https:// URL",
    [AD_KEY_PATH] = "a path",
    [AD_KEY_BOOL] = "true or false",
    [AD_KEY_POSINT] = "a positive integer",
    [AD_KEY_UINT] = "a non-negative integer",
    [AD_KEY_POSNUM] = "a positive number",
    [AD_KEY_UNUM] = "a non-negative number",
    [AD_KEY_ENUM] = "", /* its choices */
    [AD_KEY_SECTION] = "an object or null",
};

static int ad_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ad_cfg_fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (errlen > 0) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return AD_ECONFIG;
}

static int ad_cfg_is_string(ad_key_type_t t) {
  return t == AD_KEY_STRING || t == AD_KEY_OPTSTRING || t == AD_KEY_URL ||
         t == AD_KEY_PATH;
}

/* The value as the user wrote it (shortened), or only its kind for secrets. */
static void ad_cfg_describe(const ad_config_key_t *k, json_object *v,
                            char *out, size_t outlen) {
  static const char *const kinds[] = {
      [json_type_null] = "null",     [json_type_boolean] = "a boolean",
      [json_type_double] = "a number", [json_type_int] = "a number",
      [json_type_object] = "an object", [json_type_array] = "an array",
      [json_type_string] = "a string"};
  const char *text;

  if ((k->flags & AD_KEY_SECRET) || json_object_is_type(v, json_type_object) ||
      json_object_is_type(v, json_type_array)) {
    snprintf(out, outlen, "%s", kinds[json_object_get_type(v)]);
    return;
  }
  text = json_object_to_json_string_ext(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (strlen(text) > 40)
    snprintf(out, outlen, "%.37s...", text);
  else
    snprintf(out, outlen, "%s", text);
}

/* What an enum key takes, as a message says it: "a" or "b" or "c". */
static void ad_cfg_choices(const char *choices, char *out, size_t len) {
  size_t n = 0, w;
  const char *p = choices, *bar;
  out[0] = '\0';
  while (p != NULL && n + 1 < len) {
    bar = strchr(p, '|');
    w = bar ? (size_t)(bar - p) : strlen(p);
    n += (size_t)snprintf(out + n, len - n, "%s\"%.*s\"",
                          p == choices ? ""
                          : bar == NULL ? " or "
                                        : ", ",
                          (int)w, p);
    p = bar ? bar + 1 : NULL;
  }
}

/* The index of s among choices ("a|b|c"), or -1. */
static int ad_cfg_enum(const char *choices, const char *s) {
  size_t len = strlen(s), w;
  const char *p = choices, *bar;
  int i;
  for (i = 0; p != NULL; i++) {
    bar = strchr(p, '|');
    w = bar ? (size_t)(bar - p) : strlen(p);
    if (w == len && strncmp(p, s, len) == 0)
      return i;
    p = bar ? bar + 1 : NULL;
  }
  return -1;
}

static int ad_cfg_has_ctl(const char *s) {
  for (; *s; s++)
    if (iscntrl((unsigned char)*s))
      return 1;
  return 0;
}

static int ad_cfg_set_string(char **slot, const char *value) {
  char *copy = NULL;
  if (value != NULL && (copy = strdup(value)) == NULL)
    return AD_ENOMEM;
  free(*slot);
  *slot = copy;
  return 0;
}

/* Checks v against k's type and stores it; 1 if the type is wrong. */
static int ad_cfg_store(void *base, const ad_config_key_t *k, json_object *v,
                        int *enomem) {
  char *slot = (char *)base + k->offset;
  json_type t = json_object_get_type(v);
  const char *s;
  int64_t i;
  double d;
  int e;

  switch (k->type) {
  case AD_KEY_OPTSTRING:
    if (t == json_type_null) {
      *enomem = ad_cfg_set_string((char **)slot, NULL);
      return 0;
    }
    /* fall through */
  case AD_KEY_STRING:
  case AD_KEY_URL:
  case AD_KEY_PATH:
    if (t != json_type_string)
      return 1;
    s = json_object_get_string(v);
    if (k->type == AD_KEY_URL && strncmp(s, "http://", 7) != 0 &&
        strncmp(s, "https://", 8) != 0)
      return 1;
    if (k->type == AD_KEY_PATH && *s == '\0')
      return 1;
    *enomem = ad_cfg_set_string((char **)slot, s);
    return 0;
  case AD_KEY_BOOL:
    if (t != json_type_boolean)
      return 1;
    *(int *)slot = json_object_get_boolean(v);
    return 0;
  case AD_KEY_POSINT:
  case AD_KEY_UINT:
    if (t != json_type_int)
      return 1;
    i = json_object_get_int64(v);
    if (i > AD_CFG_MAX_INT || i < (k->type == AD_KEY_POSINT ? 1 : 0))
      return 1;
    *(long *)slot = (long)i;
    return 0;
  case AD_KEY_POSNUM:
  case AD_KEY_UNUM:
    if (t != json_type_int && t != json_type_double)
      return 1;
    d = json_object_get_double(v);
    if (!(d >= 0) || (k->type == AD_KEY_POSNUM && d == 0) || d > 1e9)
      return 1;
    *(double *)slot = d;
    return 0;
  case AD_KEY_ENUM:
    if (t != json_type_string ||
        (e = ad_cfg_enum(k->choices, json_object_get_string(v))) < 0)
      return 1;
    *(int *)slot = e;
    return 0;
  case AD_KEY_SECTION:
    return t != json_type_null && t != json_type_object;
  }
  return 1;
}

static int ad_cfg_keys_defaults(const ad_config_key_t *keys, void *base) {
  const ad_config_key_t *k;
  json_object *v;
  int enomem = 0, bad;

  for (k = keys; k->name != NULL; k++) {
    if (k->type == AD_KEY_SECTION) {
      if (ad_cfg_keys_defaults(k->keys, base) != 0)
        return AD_ENOMEM;
      continue;
    }
    if (k->def == NULL) {
      if (k->type == AD_KEY_STRING &&
          ad_cfg_set_string((char **)((char *)base + k->offset), "") != 0)
        return AD_ENOMEM;
      continue;
    }
    v = json_tokener_parse(k->def);
    bad = v == NULL || ad_cfg_store(base, k, v, &enomem);
    json_object_put(v);
    assert(!bad && "a key's default must be a value it takes");
    (void)bad;
    if (enomem)
      return AD_ENOMEM;
  }
  return 0;
}

static const ad_config_key_t *ad_cfg_find(const ad_config_key_t *keys,
                                          const char *name) {
  for (; keys->name != NULL; keys++)
    if (strcmp(keys->name, name) == 0)
      return keys;
  return NULL;
}

static int ad_cfg_keys_values(const ad_config_key_t *keys, void *base,
                              const char *section, json_object *obj,
                              char *err, size_t errlen) {
  const ad_config_key_t *k;
  char got[64], nested[128], expected[160];
  int enomem = 0, rc;

  json_object_object_foreach(obj, key, v) {
    if (strcmp(key, "type") == 0 && (strcmp(section, "source") == 0 ||
                                     strcmp(section, "sink") == 0))
      continue; /* the plugin's name, read before */
    if ((k = ad_cfg_find(keys, key)) == NULL)
      return ad_cfg_fail(err, errlen, "%s.%s: unknown key", section, key);
    if (k->type == AD_KEY_SECTION && json_object_is_type(v, json_type_object)) {
      snprintf(nested, sizeof(nested), "%s.%s", section, key);
      if ((rc = ad_cfg_keys_values(k->keys, base, nested, v, err, errlen)))
        return rc;
      continue;
    }
    if (ad_cfg_store(base, k, v, &enomem)) {
      ad_cfg_describe(k, v, got, sizeof(got));
      if (k->type == AD_KEY_ENUM)
        ad_cfg_choices(k->choices, expected, sizeof(expected));
      else
        snprintf(expected, sizeof(expected), "%s", ad_cfg_expected[k->type]);
      return ad_cfg_fail(err, errlen, "%s.%s: expected %s, got %s", section,
                         key, expected, got);
    }
    if (enomem)
      return ad_cfg_fail(err, errlen, "%s.%s: out of memory", section, key);
  }
  return 0;
}

/* Environment fallbacks, required keys and header-safe values. */
static int ad_cfg_keys_check(const ad_config_key_t *keys, void *base,
                             const char *section, ad_getenv_fn getenv,
                             void *env_data, char *err, size_t errlen) {
  const ad_config_key_t *k;
  char nested[128];
  const char *e;
  char **slot;
  int rc;

  for (k = keys; k->name != NULL; k++) {
    if (k->type == AD_KEY_SECTION) {
      snprintf(nested, sizeof(nested), "%s.%s", section, k->name);
      if ((rc = ad_cfg_keys_check(k->keys, base, nested, getenv, env_data,
                                  err, errlen)) != 0)
        return rc;
      continue;
    }
    if (!ad_cfg_is_string(k->type))
      continue;
    slot = (char **)((char *)base + k->offset);
    if (k->env != NULL && (*slot == NULL || **slot == '\0') &&
        getenv != NULL && (e = getenv(k->env, env_data)) != NULL && *e) {
      if (k->type == AD_KEY_URL && strncmp(e, "http://", 7) != 0 &&
          strncmp(e, "https://", 8) != 0)
        return ad_cfg_fail(err, errlen, "%s.%s: expected an http:// or "
                                        "https:// URL in %s",
                           section, k->name, k->env);
      if (ad_cfg_set_string(slot, e) != 0)
        return ad_cfg_fail(err, errlen, "out of memory");
    }
    if ((k->flags & AD_KEY_REQUIRED) && (*slot == NULL || **slot == '\0')) {
      if (k->env != NULL)
        return ad_cfg_fail(err, errlen,
                           "%s.%s: missing (set it in the config or in %s)",
                           section, k->name, k->env);
      return ad_cfg_fail(err, errlen, "%s.%s: missing (required)", section,
                         k->name);
    }
    if ((k->flags & AD_KEY_IDENT) && *slot != NULL && ad_cfg_has_ctl(*slot))
      return ad_cfg_fail(err, errlen,
                         "%s.%s: must not contain control characters",
                         section, k->name);
  }
  return 0;
}

int ad_config_keys_parse(const ad_config_key_t *keys, void *base,
                         const char *section, json_object *obj,
                         ad_getenv_fn getenv, void *env_data, char *err,
                         size_t errlen) {
  int rc;
  if (ad_cfg_keys_defaults(keys, base) != 0)
    return ad_cfg_fail(err, errlen, "out of memory");
  if (obj != NULL &&
      (rc = ad_cfg_keys_values(keys, base, section, obj, err, errlen)) != 0)
    return rc;
  return ad_cfg_keys_check(keys, base, section, getenv, env_data, err,
                           errlen);
}

void ad_config_keys_free(const ad_config_key_t *keys, void *base) {
  const ad_config_key_t *k;
  char **slot;
  if (base == NULL)
    return;
  for (k = keys; k->name != NULL; k++) {
    if (k->type == AD_KEY_SECTION) {
      ad_config_keys_free(k->keys, base);
    } else if (ad_cfg_is_string(k->type)) {
      slot = (char **)((char *)base + k->offset);
      free(*slot);
      *slot = NULL;
    }
  }
}

/* Rules over the whole config, once every key has its final value. */
int ad_url_is_plain_remote(const char *url) {
  const char *host = url + 7, *end, *at;
  size_t len;

  if (strncasecmp(url, "http://", 7) != 0)
    return 0;
  end = host + strcspn(host, "/?#");
  at = memchr(host, '@', (size_t)(end - host)); /* user:password@ */
  if (at != NULL)
    host = at + 1;
  if (*host == '[') /* [v6]:port */
    return !(strncmp(host, "[::1]", 5) == 0 &&
             (host + 5 == end || host[5] == ':'));
  len = strcspn(host, ":/?#");
  if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
    return 0;
  if (strncmp(host, "127.", 4) != 0)
    return 1;
  for (host += 4, len -= 4; len > 0; host++, len--)
    if (!isdigit((unsigned char)*host) && *host != '.')
      return 1;
  return 0;
}

/* Each URL key of a plugin section that is plain http to a remote host. */
static void ad_cfg_plain_in(const ad_config_plugin_t *sec, const char *name,
                            char out[4][96], size_t *n) {
  const ad_config_key_t *k;
  const char *url;
  if (sec->keys == NULL || sec->conf == NULL)
    return;
  for (k = sec->keys; k->name != NULL && *n < 4; k++) {
    if (k->type != AD_KEY_URL)
      continue;
    url = *(char **)((char *)sec->conf + k->offset);
    if (url != NULL && ad_url_is_plain_remote(url))
      snprintf(out[(*n)++], 96, "%s.%s", name, k->name);
  }
}

size_t ad_config_plain_remote(const ad_config_t *cfg, char out[4][96]) {
  size_t n = 0;
  ad_cfg_plain_in(&cfg->source, "source", out, &n);
  ad_cfg_plain_in(&cfg->sink, "sink", out, &n);
  return n;
}

/* Plain http only to loopback unless the config says otherwise. */
static int ad_cfg_check_transport(const ad_config_t *cfg, char *err,
                                  size_t errlen) {
  char plain[4][96];
  if (cfg->engine.allow_insecure_http || ad_config_plain_remote(cfg, plain) == 0)
    return 0;
  return ad_cfg_fail(err, errlen,
                     "%s: plain http:// is allowed only to loopback "
                     "(127.0.0.1, [::1], localhost), since the API key would "
                     "travel unencrypted; use https:// or set "
                     "engine.allow_insecure_http to true",
                     plain[0]);
}

static int ad_cfg_check_shared(const ad_config_t *cfg, char *err,
                               size_t errlen) {
  const char *url = cfg->rate_limits.shared.url;
  int redis = cfg->rate_limits.shared.type == AD_SHARED_REDIS;

  if (redis && (url == NULL || *url == '\0'))
    return ad_cfg_fail(err, errlen, "rate_limits.shared.url: missing "
                                    "(required when type is \"redis\")");
  if (!redis && url != NULL)
    return ad_cfg_fail(err, errlen, "rate_limits.shared.url: set, but type "
                                    "is not \"redis\"");
  if (cfg->rate_limits.shared.type != AD_SHARED_FILE &&
      cfg->rate_limits.shared.path != NULL)
    return ad_cfg_fail(err, errlen, "rate_limits.shared.path: set, but type "
                                    "is not \"file\"");
  if (cfg->rate_limits.max_safety_margin_ms <
      cfg->rate_limits.safety_margin_ms)
    return ad_cfg_fail(err, errlen,
                       "rate_limits.max_safety_margin_ms: %ld is below "
                       "rate_limits.safety_margin_ms (%ld)",
                       cfg->rate_limits.max_safety_margin_ms,
                       cfg->rate_limits.safety_margin_ms);
  return 0;
}

/* engine.state_dir, when the config leaves it out: the XDG base
 * directory spec's state home, as design.md section 5 says. Relative
 * values of the variables are ignored, as the spec asks. */
static int ad_cfg_state_dir(ad_config_t *cfg, ad_getenv_fn getenv,
                            void *env_data) {
  const char *xdg, *home;
  char buf[4096];

  if (cfg->engine.state_dir != NULL || getenv == NULL)
    return 0;
  xdg = getenv("XDG_STATE_HOME", env_data);
  home = getenv("HOME", env_data);
  if (xdg != NULL && xdg[0] == '/')
    snprintf(buf, sizeof(buf), "%s/airdust", xdg);
  else if (home != NULL && home[0] == '/')
    snprintf(buf, sizeof(buf), "%s/.local/state/airdust", home);
  else
    return 0;
  return ad_cfg_set_string(&cfg->engine.state_dir, buf);
}

static int ad_cfg_check(ad_config_t *cfg, ad_getenv_fn getenv, void *env_data,
                        char *err, size_t errlen) {
  int rc;

  if ((rc = ad_cfg_check_shared(cfg, err, errlen)) != 0)
    return rc;
  if ((rc = ad_cfg_state_dir(cfg, getenv, env_data)) != 0)
    return ad_cfg_fail(err, errlen, "out of memory");
  if (ad_cfg_check_transport(cfg, err, errlen) != 0)
    return AD_ECONFIG;
  if (cfg->engine.max_delete_share > 1)
    return ad_cfg_fail(err, errlen,
                       "engine.max_delete_share: expected a share from 0 "
                       "to 1 (1: no guard), got %g",
                       cfg->engine.max_delete_share);
  if (cfg->engine.queue_rows < 100) /* a reader reserves a whole page */
    return ad_cfg_fail(err, errlen,
                       "engine.queue_rows: expected at least 100 (a page "
                       "of records), got %ld", cfg->engine.queue_rows);
  return 0;
}

/* json-c reports a byte offset; people want a line and a column. */
static void ad_cfg_position(const char *text, size_t off, int *line,
                            int *col) {
  size_t i;
  *line = 1;
  *col = 1;
  for (i = 0; i < off; i++) {
    if (text[i] == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

static json_object *ad_cfg_parse_json(const char *text, size_t len, char *err,
                                      size_t errlen) {
  json_tokener *tok = json_tokener_new();
  json_object *root;
  enum json_tokener_error jerr;
  size_t end;
  int line, col;

  if (tok == NULL)
    return NULL;
  /* Strict mode also refuses any text after the document. */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  root = json_tokener_parse_ex(tok, text, (int)len);
  jerr = json_tokener_get_error(tok);
  end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (root == NULL || jerr != json_tokener_success) {
    const char *why = jerr == json_tokener_continue
                          ? "unexpected end of input"
                          : json_tokener_error_desc(jerr);
    ad_cfg_position(text, end, &line, &col);
    ad_cfg_fail(err, errlen, "config: invalid JSON at line %d, column %d: %s",
                line, col, why);
    json_object_put(root);
    return NULL;
  }
  return root;
}

static int ad_cfg_sections_check(json_object *root, char *err, size_t errlen) {
  static const char *const sections[] = {"source", "sink", "rate_limits",
                                         "engine"};
  size_t i;
  int known;

  json_object_object_foreach(root, key, v) {
    known = 0;
    for (i = 0; i < sizeof(sections) / sizeof(*sections); i++)
      known |= strcmp(key, sections[i]) == 0;
    if (!known)
      return ad_cfg_fail(err, errlen,
                         "%s: unknown key (expected source, sink, "
                         "rate_limits or engine)",
                         key);
    if (!json_object_is_type(v, json_type_object))
      return ad_cfg_fail(err, errlen, "%s: expected an object", key);
  }
  if (!json_object_object_get_ex(root, "source", NULL))
    return ad_cfg_fail(err, errlen, "source: missing (required)");
  if (!json_object_object_get_ex(root, "sink", NULL))
    return ad_cfg_fail(err, errlen, "sink: missing (required)");
  return 0;
}

/* What a section needs to know of a plugin of its side. */
typedef struct ad_cfg_choice {
  const char *name;
  const ad_config_key_t *keys;
  size_t size;
} ad_cfg_choice_t;

/* A source or sink section: its type picks the plugin (the first of the
 * choices, the built-in default, when it has none), whose keys fill a
 * struct of the plugin's. */
static int ad_cfg_plugin(ad_config_plugin_t *sec, const char *section,
                         json_object *obj, const ad_cfg_choice_t *c,
                         size_t n, size_t *which, ad_getenv_fn getenv,
                         void *env_data, char *err, size_t errlen) {
  json_object *t;
  const char *type;
  char list[256];
  size_t i, w = 0;

  if (n == 0)
    return ad_cfg_fail(err, errlen, "%s: no %s plugin is available",
                       section, section);
  type = c[0].name;
  if (json_object_object_get_ex(obj, "type", &t)) {
    if (!json_object_is_type(t, json_type_string))
      return ad_cfg_fail(err, errlen, "%s.type: expected a string", section);
    type = json_object_get_string(t);
  }
  for (i = 0; i < n && strcmp(c[i].name, type) != 0; i++)
    ;
  if (i == n) {
    list[0] = '\0';
    for (i = 0; i < n && w + 1 < sizeof(list); i++)
      w += (size_t)snprintf(list + w, sizeof(list) - w, "%s\"%s\"",
                            i == 0 ? "" : i + 1 == n ? " or " : ", ",
                            c[i].name);
    return ad_cfg_fail(err, errlen, "%s.type: expected %s, got \"%.40s\"",
                       section, list, type);
  }
  *which = i;
  sec->type = c[i].name;
  sec->keys = c[i].keys;
  if ((sec->conf = calloc(1, c[i].size > 0 ? c[i].size : 1)) == NULL)
    return ad_cfg_fail(err, errlen, "out of memory");
  return ad_config_keys_parse(c[i].keys, sec->conf, section, obj, getenv,
                              env_data, err, errlen);
}

static int ad_cfg_plugins(ad_config_t *cfg, json_object *root,
                          const ad_plugins_t *pl, ad_getenv_fn getenv,
                          void *env_data, char *err, size_t errlen) {
  size_t n = pl->nsources > pl->nsinks ? pl->nsources : pl->nsinks, i;
  ad_cfg_choice_t *c = calloc(n > 0 ? n : 1, sizeof(*c));
  size_t which = 0;
  json_object *obj = NULL;
  char why[512];
  int rc;

  if (c == NULL)
    return ad_cfg_fail(err, errlen, "out of memory");
  for (i = 0; i < pl->nsources; i++)
    c[i] = (ad_cfg_choice_t){pl->sources[i]->name, pl->sources[i]->keys,
                             pl->sources[i]->config_size};
  json_object_object_get_ex(root, "source", &obj);
  rc = ad_cfg_plugin(&cfg->source, "source", obj, c, pl->nsources, &which,
                     getenv, env_data, err, errlen);
  if (rc == 0) {
    cfg->source_plugin = pl->sources[which];
    for (i = 0; i < pl->nsinks; i++)
      c[i] = (ad_cfg_choice_t){pl->sinks[i]->name, pl->sinks[i]->keys,
                               pl->sinks[i]->config_size};
    json_object_object_get_ex(root, "sink", &obj);
    rc = ad_cfg_plugin(&cfg->sink, "sink", obj, c, pl->nsinks, &which,
                       getenv, env_data, err, errlen);
  }
  free(c);
  if (rc != 0)
    return rc;
  cfg->sink_plugin = pl->sinks[which];
  why[0] = '\0';
  if (cfg->source_plugin->validate != NULL &&
      cfg->source_plugin->validate(cfg->source.conf, why, sizeof(why)) != 0)
    return ad_cfg_fail(err, errlen, "source.%s", why);
  if (cfg->sink_plugin->validate != NULL &&
      cfg->sink_plugin->validate(cfg->sink.conf, why, sizeof(why)) != 0)
    return ad_cfg_fail(err, errlen, "sink.%s", why);
  return 0;
}

int ad_config_parse(ad_config_t *cfg, const char *text, size_t len,
                    const ad_plugins_t *plugins, ad_getenv_fn getenv,
                    void *env_data, char *err, size_t errlen) {
  json_object *root, *obj;
  int rc;

  memset(cfg, 0, sizeof(*cfg));
  assert(plugins != NULL);
  if (errlen > 0)
    err[0] = '\0';
  root = ad_cfg_parse_json(text, len, err, errlen);
  if (root == NULL)
    return AD_ECONFIG;
  if (!json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    return ad_cfg_fail(err, errlen, "config: expected a JSON object");
  }
  rc = ad_cfg_sections_check(root, err, errlen);
  if (rc == 0)
    rc = ad_cfg_plugins(cfg, root, plugins, getenv, env_data, err, errlen);
  if (rc == 0) {
    obj = NULL;
    json_object_object_get_ex(root, "rate_limits", &obj);
    rc = ad_config_keys_parse(ad_cfg_rate_keys, cfg, "rate_limits", obj,
                              getenv, env_data, err, errlen);
  }
  if (rc == 0) {
    obj = NULL;
    json_object_object_get_ex(root, "engine", &obj);
    rc = ad_config_keys_parse(ad_cfg_engine_keys, cfg, "engine", obj, getenv,
                              env_data, err, errlen);
  }
  json_object_put(root);
  if (rc == 0)
    rc = ad_cfg_check(cfg, getenv, env_data, err, errlen);
  return rc;
}

int ad_config_load(ad_config_t *cfg, const char *path,
                   const ad_plugins_t *plugins, ad_getenv_fn getenv,
                   void *env_data, char *err, size_t errlen) {
  ad_buf_t buf;
  char chunk[65536];
  size_t n;
  FILE *fp;
  int rc;

  memset(cfg, 0, sizeof(*cfg));
  fp = fopen(path, "rb");
  if (fp == NULL)
    return ad_cfg_fail(err, errlen, "config: cannot open %s: %s", path,
                       strerror(errno));
  ad_buf_init(&buf, 16u << 20);
  rc = 0;
  while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
    rc = ad_buf_append(&buf, chunk, n);
  if (rc == 0 && ferror(fp))
    rc = AD_EIO;
  fclose(fp);
  if (rc != 0) {
    ad_buf_free(&buf);
    return ad_cfg_fail(err, errlen, "config: cannot read %s: %s", path,
                       ad_strerror(rc));
  }
  rc = ad_config_parse(cfg, buf.data ? buf.data : "", buf.len, plugins,
                       getenv, env_data, err, errlen);
  ad_buf_free(&buf);
  return rc;
}

/* The secret of a value: a URL's password (redis://user:pw@host: the
 * host and port stay readable in logs), else all of it. 0 when none. */
static int ad_cfg_secret_of(const char *v, int (*fn)(const char *, void *),
                            void *data) {
  const char *host = strstr(v, "://"), *at, *colon;
  char pw[512];
  size_t n;
  if (host == NULL)
    return fn(v, data);
  host += 3;
  at = memchr(host, '@', strcspn(host, "/?#"));
  if (at == NULL)
    return 0; /* no credentials in it */
  colon = memchr(host, ':', (size_t)(at - host));
  if (colon == NULL)
    colon = host - 1; /* redis://password@host */
  n = (size_t)(at - colon - 1);
  if (n == 0)
    return 0;
  if (n >= sizeof(pw))
    n = sizeof(pw) - 1;
  memcpy(pw, colon + 1, n);
  pw[n] = '\0';
  return fn(pw, data);
}

static int ad_cfg_secrets_in(const ad_config_key_t *keys, const void *base,
                             int (*fn)(const char *, void *), void *data) {
  const ad_config_key_t *k;
  const char *v;
  int rc;
  if (keys == NULL || base == NULL)
    return 0;
  for (k = keys; k->name != NULL; k++) {
    if (k->type == AD_KEY_SECTION) {
      if ((rc = ad_cfg_secrets_in(k->keys, base, fn, data)) != 0)
        return rc;
      continue;
    }
    if (!(k->flags & AD_KEY_SECRET) || !ad_cfg_is_string(k->type))
      continue;
    v = *(char *const *)((const char *)base + k->offset);
    if (v != NULL && *v != '\0' && (rc = ad_cfg_secret_of(v, fn, data)) != 0)
      return rc;
  }
  return 0;
}

int ad_config_secrets(const ad_config_t *cfg,
                      int (*fn)(const char *secret, void *data), void *data) {
  int rc;
  if ((rc = ad_cfg_secrets_in(cfg->source.keys, cfg->source.conf, fn, data)))
    return rc;
  if ((rc = ad_cfg_secrets_in(cfg->sink.keys, cfg->sink.conf, fn, data)))
    return rc;
  return ad_cfg_secrets_in(ad_cfg_rate_keys, cfg, fn, data);
}

void ad_config_free(ad_config_t *cfg) {
  if (cfg->source.conf != NULL) {
    ad_config_keys_free(cfg->source.keys, cfg->source.conf);
    free(cfg->source.conf);
  }
  if (cfg->sink.conf != NULL) {
    ad_config_keys_free(cfg->sink.keys, cfg->sink.conf);
    free(cfg->sink.conf);
  }
  ad_config_keys_free(ad_cfg_rate_keys, cfg);
  ad_config_keys_free(ad_cfg_engine_keys, cfg);
  memset(&cfg->source, 0, sizeof(cfg->source));
  memset(&cfg->sink, 0, sizeof(cfg->sink));
}
