/* ad_config: the JSON config file (docs/config.md, design.md section 6).
 *
 * Parsing is a pure function of the text and an environment lookup: it
 * applies defaults, checks every type and rule, and on failure writes one
 * message that names the key path and what was expected, e.g.
 *   sink.batch_size: expected a positive integer, got "x"
 * Secrets never appear in messages. */
#ifndef AD_CONFIG_H
#define AD_CONFIG_H

#include <stddef.h>

typedef enum { AD_FORMAT_TABLES = 0, AD_FORMAT_DOCUMENTS = 1 } ad_format_t;

/* Where rate-limit budgets are shared (rate_limits.shared.type). */
typedef enum {
  AD_SHARED_FILE = 0, /* every process on this machine (the default) */
  AD_SHARED_REDIS = 1, /* every process that reaches one Redis */
  AD_SHARED_NONE = 2  /* this process only */
} ad_shared_t;

typedef struct ad_config {
  struct {
    char *api_key;
    char *base_url;
    int index_all;
    char *base_id;
    char *table_name_or_id;
    char *view_id;  /* NULL when unset */
    char *share_id; /* NULL when unset */
    int treat_all_non_attachment_fields_as_metadata;
  } source;
  struct {
    char *api_key;
    char *base_url;
    char *workspace_id;
    char *space_id;
    char *data_source_id;
    int data_format; /* ad_format_t */
    char *table_id_prefix;
    long batch_size;
    int truncate;
  } sink;
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
  } engine;
} ad_config_t;

/* Looks up an environment variable; NULL when unset. */
typedef const char *(*ad_getenv_fn)(const char *name, void *data);

/* Parses len bytes of JSON into cfg (which the caller frees with
 * ad_config_free, on success or failure). getenv may be NULL: no fallback.
 * Returns 0, or AD_ECONFIG with a message in err (always NUL-terminated). */
int ad_config_parse(ad_config_t *cfg, const char *text, size_t len,
                    ad_getenv_fn getenv, void *env_data, char *err,
                    size_t errlen);

/* Reads a file then parses it; a read failure names the path. */
int ad_config_load(ad_config_t *cfg, const char *path, ad_getenv_fn getenv,
                   void *env_data, char *err, size_t errlen);

void ad_config_free(ad_config_t *cfg);

/* 1 when url is plain http:// to a host that is not loopback (127.0.0.0/8,
 * [::1], localhost): the API key would cross the network unencrypted. */
int ad_url_is_plain_remote(const char *url);

/* Which of the config's base URLs ("source", "sink") are plain http to a
 * remote host: their section names in out, and how many. */
size_t ad_config_plain_remote(const ad_config_t *cfg, const char *out[2]);

#endif
