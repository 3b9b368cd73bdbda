/* ad_config: the JSON config file (docs/config.md, design.md section 6).
 *
 * The engine's sections (rate_limits, engine) are parsed by its own key
 * table; `source` and `sink` by the key table of the plugin their "type"
 * names (include/airdust_plugin.h), into a struct of the plugin's.
 * Parsing is a pure function of the text, the plugins and an environment
 * lookup: it applies defaults, checks every type and rule, and on failure
 * writes one message that names the key path and what was expected, e.g.
 *   sink.batch_size: expected a positive integer, got "x"
 * Secrets never appear in messages. */
#ifndef AD_CONFIG_H
#define AD_CONFIG_H

#include <stddef.h>

#include "airdust_plugin.h"

struct json_object;

/* Where rate-limit budgets are shared (rate_limits.shared.type). */
typedef enum {
  AD_SHARED_FILE = 0, /* every process on this machine (the default) */
  AD_SHARED_REDIS = 1, /* every process that reaches one Redis */
  AD_SHARED_NONE = 2  /* this process only */
} ad_shared_t;

/* The plugins a config may name, looked up by name in this order. */
typedef struct ad_plugins {
  const ad_source_plugin_t *const *sources;
  size_t nsources;
  const ad_sink_plugin_t *const *sinks;
  size_t nsinks;
} ad_plugins_t;

/* A source or sink section: the plugin its type names, and its keys'
 * values in the plugin's struct (owned: config_size bytes). */
typedef struct ad_config_plugin {
  const char *type; /* the plugin's name; static */
  const ad_config_key_t *keys;
  void *conf;
} ad_config_plugin_t;

typedef struct ad_config {
  ad_config_plugin_t source, sink;
  const ad_source_plugin_t *source_plugin;
  const ad_sink_plugin_t *sink_plugin;
  struct {
    double per_base_rps;
    double per_token_rps;
    double backoff_on_429_s;
    double dust_documents_per_minute;
    long safety_margin_ms;
    long max_safety_margin_ms;
    struct {
      int type;         /* ad_shared_t */
      char *url;        /* redis: redis://[[user]:password@]host[:port][/db] */
      char *key_prefix; /* redis */
      char *path;       /* file: NULL = budget in engine.state_dir */
      long connect_timeout_s;
      long outage_timeout_s;
    } shared;
  } rate_limits;
  struct {
    long max_connections;
    long queue_rows;
    long queue_bytes;
    long sink_concurrency;
    long connect_timeout_s;
    long request_timeout_s;
    long max_retries;
    int allow_insecure_http; /* plain http:// to hosts other than loopback */
    /* What airdust remembers between runs (shared budgets, learned
     * margins): the config's value, else $XDG_STATE_HOME/airdust, else
     * $HOME/.local/state/airdust; NULL when none of them is set. */
    char *state_dir;
    /* The mass-delete guard of a recurring sync (pipeline/mirror.h). */
    double max_delete_share;
  } engine;
} ad_config_t;

/* Looks up an environment variable; NULL when unset. */
typedef const char *(*ad_getenv_fn)(const char *name, void *data);

/* Parses len bytes of JSON into cfg (which the caller frees with
 * ad_config_free, on success or failure), with the plugins the sections
 * may name. getenv may be NULL: no fallback. Returns 0, or AD_ECONFIG
 * with a message in err (always NUL-terminated). */
int ad_config_parse(ad_config_t *cfg, const char *text, size_t len,
                    const ad_plugins_t *plugins, ad_getenv_fn getenv,
                    void *env_data, char *err, size_t errlen);

/* Reads a file then parses it; a read failure names the path. */
int ad_config_load(ad_config_t *cfg, const char *path,
                   const ad_plugins_t *plugins, ad_getenv_fn getenv,
                   void *env_data, char *err, size_t errlen);

void ad_config_free(ad_config_t *cfg);

/* Calls fn with every secret value the config holds (API keys, a Redis
 * URL with a password), so logs can redact them. Stops at and returns
 * the first non-zero fn returns. */
int ad_config_secrets(const ad_config_t *cfg,
                      int (*fn)(const char *secret, void *data), void *data);

/* 1 when url is plain http:// to a host that is not loopback (127.0.0.0/8,
 * [::1], localhost): the API key would cross the network unencrypted. */
int ad_url_is_plain_remote(const char *url);

/* The plugin sections' URL keys that are plain http to a remote host:
 * their paths ("source.base_url") in out, and how many (at most 4). */
size_t ad_config_plain_remote(const ad_config_t *cfg, char out[4][96]);

/* Parses one JSON object of keys into base: defaults first, then the
 * object's values, then environment fallbacks and required keys. section
 * names it in messages ("sink"). obj may be NULL (defaults only). Pure
 * but for getenv; plugins' tests use it. */
int ad_config_keys_parse(const ad_config_key_t *keys, void *base,
                         const char *section, struct json_object *obj,
                         ad_getenv_fn getenv, void *env_data, char *err,
                         size_t errlen);

/* Frees the strings keys stored in base. */
void ad_config_keys_free(const ad_config_key_t *keys, void *base);

#endif
