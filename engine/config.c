#include "config.h"

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

typedef enum {
  AD_CFG_CONST,     /* a string that must equal def_str; not stored */
  AD_CFG_STRING,    /* char * */
  AD_CFG_OPTSTRING, /* char *, null allowed */
  AD_CFG_URL,       /* char *, http:// or https:// */
  AD_CFG_BOOL,      /* int */
  AD_CFG_POSINT,    /* long > 0 */
  AD_CFG_UINT,      /* long >= 0 */
  AD_CFG_POSNUM,    /* double > 0 */
  AD_CFG_UNUM,      /* double >= 0 */
  AD_CFG_FORMAT,    /* int, ad_format_t */
  AD_CFG_SHARED,    /* int, ad_shared_t */
  AD_CFG_OBJECT     /* a nested section (its keys are "section.key"), or
                       null for its defaults; stores nothing itself */
} ad_cfg_type_t;

enum {
  AD_CFG_REQUIRED = 1, /* must end up a non-empty string */
  AD_CFG_SECRET = 2,   /* never echoed in a message */
  AD_CFG_IDENT = 4     /* goes into URLs or headers: no control characters */
};

typedef struct ad_cfg_field {
  const char *section;
  const char *key;
  ad_cfg_type_t type;
  size_t offset;
  const char *def_str;
  double def_num;
  int flags;
  const char *env; /* fallback environment variable */
} ad_cfg_field_t;

#define AD_OFF(member) offsetof(ad_config_t, member)

/* Every key of the config file: its type, default and rules, in one place
 * (docs/config.md mirrors this table). */
static const ad_cfg_field_t ad_cfg_fields[] = {
    {"source", "type", AD_CFG_CONST, 0, "airtable", 0, 0, NULL},
    {"source", "api_key", AD_CFG_STRING, AD_OFF(source.api_key), "", 0,
     AD_CFG_REQUIRED | AD_CFG_SECRET | AD_CFG_IDENT, "AIRTABLE_API_KEY"},
    {"source", "base_url", AD_CFG_URL, AD_OFF(source.base_url),
     "https://api.airtable.com", 0, AD_CFG_IDENT, NULL},
    {"source", "index_all", AD_CFG_BOOL, AD_OFF(source.index_all), NULL, 1, 0,
     NULL},
    {"source", "base_id", AD_CFG_STRING, AD_OFF(source.base_id), "", 0,
     AD_CFG_IDENT, NULL},
    {"source", "table_name_or_id", AD_CFG_STRING,
     AD_OFF(source.table_name_or_id), "", 0, AD_CFG_IDENT, NULL},
    {"source", "view_id", AD_CFG_OPTSTRING, AD_OFF(source.view_id), NULL, 0,
     AD_CFG_IDENT, NULL},
    {"source", "share_id", AD_CFG_OPTSTRING, AD_OFF(source.share_id), NULL, 0,
     AD_CFG_IDENT, NULL},
    {"source", "treat_all_non_attachment_fields_as_metadata", AD_CFG_BOOL,
     AD_OFF(source.treat_all_non_attachment_fields_as_metadata), NULL, 0, 0,
     NULL},
    {"sink", "type", AD_CFG_CONST, 0, "dust", 0, 0, NULL},
    {"sink", "api_key", AD_CFG_STRING, AD_OFF(sink.api_key), "", 0,
     AD_CFG_REQUIRED | AD_CFG_SECRET | AD_CFG_IDENT, "DUST_API_KEY"},
    {"sink", "base_url", AD_CFG_URL, AD_OFF(sink.base_url), "https://dust.tt",
     0, AD_CFG_IDENT, NULL},
    {"sink", "workspace_id", AD_CFG_STRING, AD_OFF(sink.workspace_id), "", 0,
     AD_CFG_REQUIRED | AD_CFG_IDENT, NULL},
    {"sink", "space_id", AD_CFG_STRING, AD_OFF(sink.space_id), "", 0,
     AD_CFG_REQUIRED | AD_CFG_IDENT, NULL},
    {"sink", "data_source_id", AD_CFG_STRING, AD_OFF(sink.data_source_id), "",
     0, AD_CFG_REQUIRED | AD_CFG_IDENT, NULL},
    {"sink", "data_format", AD_CFG_FORMAT, AD_OFF(sink.data_format), "tables",
     0, 0, NULL},
    {"sink", "table_id_prefix", AD_CFG_STRING, AD_OFF(sink.table_id_prefix),
     "airtable_", 0, AD_CFG_IDENT, NULL},
    {"sink", "batch_size", AD_CFG_POSINT, AD_OFF(sink.batch_size), NULL, 500,
     0, NULL},
    {"sink", "truncate", AD_CFG_BOOL, AD_OFF(sink.truncate), NULL, 0, 0, NULL},
    {"rate_limits", "per_base_rps", AD_CFG_POSNUM,
     AD_OFF(rate_limits.per_base_rps), NULL, 5, 0, NULL},
    {"rate_limits", "per_token_rps", AD_CFG_POSNUM,
     AD_OFF(rate_limits.per_token_rps), NULL, 50, 0, NULL},
    {"rate_limits", "backoff_on_429_s", AD_CFG_UNUM,
     AD_OFF(rate_limits.backoff_on_429_s), NULL, 30, 0, NULL},
    {"rate_limits", "dust_documents_per_minute", AD_CFG_POSNUM,
     AD_OFF(rate_limits.dust_documents_per_minute), NULL, 120, 0, NULL},
    {"rate_limits", "safety_margin_ms", AD_CFG_UINT,
     AD_OFF(rate_limits.safety_margin_ms), NULL, 20, 0, NULL},
    {"rate_limits", "max_safety_margin_ms", AD_CFG_UINT,
     AD_OFF(rate_limits.max_safety_margin_ms), NULL, 250, 0, NULL},
    {"rate_limits", "shared", AD_CFG_OBJECT, 0, NULL, 0, 0, NULL},
    {"rate_limits.shared", "type", AD_CFG_SHARED,
     AD_OFF(rate_limits.shared.type), "file", 0, 0, NULL},
    {"rate_limits.shared", "url", AD_CFG_OPTSTRING,
     AD_OFF(rate_limits.shared.url), NULL, 0, AD_CFG_SECRET | AD_CFG_IDENT,
     NULL},
    {"rate_limits.shared", "key_prefix", AD_CFG_STRING,
     AD_OFF(rate_limits.shared.key_prefix), "airdust", 0, AD_CFG_IDENT, NULL},
    {"rate_limits.shared", "path", AD_CFG_OPTSTRING,
     AD_OFF(rate_limits.shared.path), NULL, 0, 0, NULL},
    {"rate_limits.shared", "connect_timeout_s", AD_CFG_POSINT,
     AD_OFF(rate_limits.shared.connect_timeout_s), NULL, 5, 0, NULL},
    {"rate_limits.shared", "outage_timeout_s", AD_CFG_POSINT,
     AD_OFF(rate_limits.shared.outage_timeout_s), NULL, 60, 0, NULL},
    {"engine", "max_connections", AD_CFG_POSINT,
     AD_OFF(engine.max_connections), NULL, 64, 0, NULL},
    {"engine", "queue_rows", AD_CFG_POSINT, AD_OFF(engine.queue_rows), NULL,
     20000, 0, NULL},
    {"engine", "queue_bytes", AD_CFG_POSINT, AD_OFF(engine.queue_bytes), NULL,
     32 << 20, 0, NULL},
    {"engine", "sink_concurrency", AD_CFG_POSINT,
     AD_OFF(engine.sink_concurrency), NULL, 8, 0, NULL},
    {"engine", "connect_timeout_s", AD_CFG_POSINT,
     AD_OFF(engine.connect_timeout_s), NULL, 10, 0, NULL},
    {"engine", "request_timeout_s", AD_CFG_POSINT,
     AD_OFF(engine.request_timeout_s), NULL, 60, 0, NULL},
    {"engine", "max_retries", AD_CFG_UINT, AD_OFF(engine.max_retries), NULL, 5,
     0, NULL},
    {"engine", "allow_insecure_http", AD_CFG_BOOL,
     AD_OFF(engine.allow_insecure_http), NULL, 0, 0, NULL},
    {"engine", "state_dir", AD_CFG_OPTSTRING, AD_OFF(engine.state_dir), NULL,
     0, 0, NULL},
};

#define AD_CFG_NFIELDS (sizeof(ad_cfg_fields) / sizeof(ad_cfg_fields[0]))
#define AD_CFG_MAX_INT 1000000000L

static const char *const ad_cfg_sections[] = {"source", "sink", "rate_limits",
                                              "engine"};

static const char *const ad_cfg_expected[] = {
    [AD_CFG_CONST] = "",
    [AD_CFG_STRING] = "a string",
    [AD_CFG_OPTSTRING] = "a string or null",
    [AD_CFG_URL] = "an http:// or https:// URL",
    [AD_CFG_BOOL] = "true or false",
    [AD_CFG_POSINT] = "a positive integer",
    [AD_CFG_UINT] = "a non-negative integer",
    [AD_CFG_POSNUM] = "a positive number",
    [AD_CFG_UNUM] = "a non-negative number",
    [AD_CFG_FORMAT] = "\"tables\" or \"documents\"",
    [AD_CFG_SHARED] = "\"file\", \"redis\" or \"none\"",
    [AD_CFG_OBJECT] = "an object or null",
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

/* The value as the user wrote it (shortened), or only its kind for secrets. */
static void ad_cfg_describe(const ad_cfg_field_t *f, json_object *v, char *out,
                            size_t outlen) {
  static const char *const kinds[] = {
      [json_type_null] = "null",     [json_type_boolean] = "a boolean",
      [json_type_double] = "a number", [json_type_int] = "a number",
      [json_type_object] = "an object", [json_type_array] = "an array",
      [json_type_string] = "a string"};
  const char *text;

  if ((f->flags & AD_CFG_SECRET) || json_object_is_type(v, json_type_object) ||
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

/* The names of an enumerated key's values, in the enum's order. */
static const char *const ad_cfg_format_names[] = {"tables", "documents", NULL};
static const char *const ad_cfg_shared_names[] = {"file", "redis", "none",
                                                  NULL};

static int ad_cfg_enum(ad_cfg_type_t type, const char *s, int *out) {
  const char *const *names =
      type == AD_CFG_FORMAT ? ad_cfg_format_names : ad_cfg_shared_names;
  int i;
  for (i = 0; names[i] != NULL; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  return -1;
}

/* Checks v against f's type and stores it; 1 if the type is wrong. */
static int ad_cfg_store(ad_config_t *cfg, const ad_cfg_field_t *f,
                        json_object *v, int *enomem) {
  char *base = (char *)cfg + f->offset;
  json_type t = json_object_get_type(v);
  const char *s;
  int64_t i;
  double d;

  switch (f->type) {
  case AD_CFG_CONST:
    return t != json_type_string || strcmp(json_object_get_string(v),
                                           f->def_str) != 0;
  case AD_CFG_OPTSTRING:
    if (t == json_type_null) {
      *enomem = ad_cfg_set_string((char **)base, NULL);
      return 0;
    }
    /* fall through */
  case AD_CFG_STRING:
  case AD_CFG_URL:
    if (t != json_type_string)
      return 1;
    s = json_object_get_string(v);
    if (f->type == AD_CFG_URL && strncmp(s, "http://", 7) != 0 &&
        strncmp(s, "https://", 8) != 0)
      return 1;
    *enomem = ad_cfg_set_string((char **)base, s);
    return 0;
  case AD_CFG_BOOL:
    if (t != json_type_boolean)
      return 1;
    *(int *)base = json_object_get_boolean(v);
    return 0;
  case AD_CFG_POSINT:
  case AD_CFG_UINT:
    if (t != json_type_int)
      return 1;
    i = json_object_get_int64(v);
    if (i > AD_CFG_MAX_INT || i < (f->type == AD_CFG_POSINT ? 1 : 0))
      return 1;
    *(long *)base = (long)i;
    return 0;
  case AD_CFG_POSNUM:
  case AD_CFG_UNUM:
    if (t != json_type_int && t != json_type_double)
      return 1;
    d = json_object_get_double(v);
    if (!(d >= 0) || (f->type == AD_CFG_POSNUM && d == 0) || d > 1e9)
      return 1;
    *(double *)base = d;
    return 0;
  case AD_CFG_FORMAT:
  case AD_CFG_SHARED:
    return t != json_type_string ||
           ad_cfg_enum(f->type, json_object_get_string(v), (int *)base) != 0;
  case AD_CFG_OBJECT:
    return t != json_type_null && t != json_type_object;
  }
  return 1;
}

static int ad_cfg_defaults(ad_config_t *cfg) {
  size_t i;
  for (i = 0; i < AD_CFG_NFIELDS; i++) {
    const ad_cfg_field_t *f = &ad_cfg_fields[i];
    char *base = (char *)cfg + f->offset;
    switch (f->type) {
    case AD_CFG_CONST:
    case AD_CFG_OBJECT:
      break;
    case AD_CFG_SHARED:
      ad_cfg_enum(f->type, f->def_str, (int *)base);
      break;
    case AD_CFG_STRING:
    case AD_CFG_OPTSTRING:
    case AD_CFG_URL:
      if (ad_cfg_set_string((char **)base, f->def_str) != 0)
        return AD_ENOMEM;
      break;
    case AD_CFG_BOOL:
    case AD_CFG_FORMAT:
      *(int *)base = (int)f->def_num;
      break;
    case AD_CFG_POSINT:
    case AD_CFG_UINT:
      *(long *)base = (long)f->def_num;
      break;
    case AD_CFG_POSNUM:
    case AD_CFG_UNUM:
      *(double *)base = f->def_num;
      break;
    }
  }
  return 0;
}

static const ad_cfg_field_t *ad_cfg_find(const char *section, const char *key) {
  size_t i;
  for (i = 0; i < AD_CFG_NFIELDS; i++)
    if (strcmp(ad_cfg_fields[i].section, section) == 0 &&
        strcmp(ad_cfg_fields[i].key, key) == 0)
      return &ad_cfg_fields[i];
  return NULL;
}

static int ad_cfg_section(ad_config_t *cfg, const char *section,
                          json_object *obj, char *err, size_t errlen) {
  char got[64], nested[64];
  int enomem = 0, rc;

  json_object_object_foreach(obj, key, v) {
    const ad_cfg_field_t *f = ad_cfg_find(section, key);
    if (f == NULL)
      return ad_cfg_fail(err, errlen, "%s.%s: unknown key", section, key);
    if (f->type == AD_CFG_OBJECT && json_object_is_type(v, json_type_object)) {
      snprintf(nested, sizeof(nested), "%s.%s", section, key);
      if ((rc = ad_cfg_section(cfg, nested, v, err, errlen)) != 0)
        return rc;
      continue;
    }
    if (ad_cfg_store(cfg, f, v, &enomem)) {
      ad_cfg_describe(f, v, got, sizeof(got));
      if (f->type == AD_CFG_CONST)
        return ad_cfg_fail(err, errlen, "%s.%s: expected \"%s\", got %s",
                           section, key, f->def_str, got);
      return ad_cfg_fail(err, errlen, "%s.%s: expected %s, got %s", section,
                         key, ad_cfg_expected[f->type], got);
    }
    if (enomem)
      return ad_cfg_fail(err, errlen, "%s.%s: out of memory", section, key);
  }
  return 0;
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

size_t ad_config_plain_remote(const ad_config_t *cfg, const char *out[2]) {
  size_t n = 0;
  if (ad_url_is_plain_remote(cfg->source.base_url))
    out[n++] = "source";
  if (ad_url_is_plain_remote(cfg->sink.base_url))
    out[n++] = "sink";
  return n;
}

/* Plain http only to loopback unless the config says otherwise. */
static int ad_cfg_check_transport(const ad_config_t *cfg, char *err,
                                  size_t errlen) {
  const char *plain[2];
  if (cfg->engine.allow_insecure_http || ad_config_plain_remote(cfg, plain) == 0)
    return 0;
  return ad_cfg_fail(err, errlen,
                     "%s.base_url: plain http:// is allowed only to loopback "
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
  size_t i;
  const char *k;
  int rc;

  for (i = 0; i < AD_CFG_NFIELDS; i++) {
    const ad_cfg_field_t *f = &ad_cfg_fields[i];
    char **slot = (char **)((char *)cfg + f->offset);
    if (f->type != AD_CFG_STRING && f->type != AD_CFG_OPTSTRING &&
        f->type != AD_CFG_URL)
      continue;
    if (f->env != NULL && (*slot == NULL || **slot == '\0') &&
        getenv != NULL && (k = getenv(f->env, env_data)) != NULL && *k)
      if (ad_cfg_set_string(slot, k) != 0)
        return ad_cfg_fail(err, errlen, "out of memory");
    if ((f->flags & AD_CFG_REQUIRED) && (*slot == NULL || **slot == '\0')) {
      if (f->env != NULL)
        return ad_cfg_fail(err, errlen,
                           "%s.%s: missing (set it in the config or in %s)",
                           f->section, f->key, f->env);
      return ad_cfg_fail(err, errlen, "%s.%s: missing (required)", f->section,
                         f->key);
    }
    if ((f->flags & AD_CFG_IDENT) && *slot != NULL && ad_cfg_has_ctl(*slot))
      return ad_cfg_fail(err, errlen,
                         "%s.%s: must not contain control characters",
                         f->section, f->key);
  }
  if ((rc = ad_cfg_check_shared(cfg, err, errlen)) != 0)
    return rc;
  if ((rc = ad_cfg_state_dir(cfg, getenv, env_data)) != 0)
    return ad_cfg_fail(err, errlen, "out of memory");
  /* Dust takes a workspace key (sk-…) or an OAuth access token as the
   * Bearer value, and a token's alphabet is its issuer's business: only
   * what cannot be in the header is refused (control characters above,
   * as for every value that goes into a header or URL). */
  if (strchr(cfg->sink.api_key, ' ') != NULL)
    return ad_cfg_fail(err, errlen,
                       "sink.api_key: must not contain spaces (expected a "
                       "Dust workspace API key \"sk-…\" or an OAuth access "
                       "token)");
  if (strpbrk(cfg->source.api_key, " \t") != NULL)
    return ad_cfg_fail(err, errlen, "source.api_key: must not contain spaces");
  if (ad_cfg_check_transport(cfg, err, errlen) != 0)
    return AD_ECONFIG;
  if (cfg->engine.queue_rows < 100) /* a reader reserves a whole page */
    return ad_cfg_fail(err, errlen,
                       "engine.queue_rows: expected at least 100 (one page "
                       "of Airtable records), got %ld", cfg->engine.queue_rows);
  if (!cfg->source.index_all) {
    if (*cfg->source.base_id == '\0')
      return ad_cfg_fail(err, errlen, "source.base_id: missing (required when "
                                      "source.index_all is false)");
    if (*cfg->source.table_name_or_id == '\0')
      return ad_cfg_fail(err, errlen,
                         "source.table_name_or_id: missing (required when "
                         "source.index_all is false)");
  } else if (*cfg->source.base_id || *cfg->source.table_name_or_id ||
             cfg->source.view_id) {
    return ad_cfg_fail(err, errlen,
                       "source.%s: set, but source.index_all is true (set "
                       "\"index_all\": false to sync one table)",
                       *cfg->source.base_id            ? "base_id"
                       : *cfg->source.table_name_or_id ? "table_name_or_id"
                                                       : "view_id");
  }
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
  size_t i;
  int known;

  json_object_object_foreach(root, key, v) {
    known = 0;
    for (i = 0; i < sizeof(ad_cfg_sections) / sizeof(*ad_cfg_sections); i++)
      known |= strcmp(key, ad_cfg_sections[i]) == 0;
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

int ad_config_parse(ad_config_t *cfg, const char *text, size_t len,
                    ad_getenv_fn getenv, void *env_data, char *err,
                    size_t errlen) {
  json_object *root, *obj;
  size_t i;
  int rc;

  memset(cfg, 0, sizeof(*cfg));
  if (errlen > 0)
    err[0] = '\0';
  if (ad_cfg_defaults(cfg) != 0)
    return ad_cfg_fail(err, errlen, "out of memory");
  root = ad_cfg_parse_json(text, len, err, errlen);
  if (root == NULL)
    return AD_ECONFIG;
  if (!json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    return ad_cfg_fail(err, errlen, "config: expected a JSON object");
  }
  rc = ad_cfg_sections_check(root, err, errlen);
  for (i = 0; rc == 0 && i < sizeof(ad_cfg_sections) / sizeof(*ad_cfg_sections);
       i++)
    if (json_object_object_get_ex(root, ad_cfg_sections[i], &obj))
      rc = ad_cfg_section(cfg, ad_cfg_sections[i], obj, err, errlen);
  json_object_put(root);
  if (rc == 0)
    rc = ad_cfg_check(cfg, getenv, env_data, err, errlen);
  return rc;
}

int ad_config_load(ad_config_t *cfg, const char *path, ad_getenv_fn getenv,
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
  rc = ad_config_parse(cfg, buf.data ? buf.data : "", buf.len, getenv,
                       env_data, err, errlen);
  ad_buf_free(&buf);
  return rc;
}

void ad_config_free(ad_config_t *cfg) {
  size_t i;
  for (i = 0; i < AD_CFG_NFIELDS; i++) {
    const ad_cfg_field_t *f = &ad_cfg_fields[i];
    if (f->type == AD_CFG_STRING || f->type == AD_CFG_OPTSTRING ||
        f->type == AD_CFG_URL) {
      char **slot = (char **)((char *)cfg + f->offset);
      free(*slot);
      *slot = NULL;
    }
  }
}
