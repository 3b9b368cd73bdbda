/* ad_log: leveled logging to stderr (or a callback), as text or one JSON
 * object per line. Every line passes through the redactor first, so API
 * keys and Authorization values never reach the output. */
#ifndef AD_LOG_H
#define AD_LOG_H

#include <stdio.h>

#include "redact.h"

typedef enum {
  AD_LOG_ERROR = 0,
  AD_LOG_WARN = 1,
  AD_LOG_INFO = 2,
  AD_LOG_DEBUG = 3
} ad_log_level_t;

typedef enum { AD_LOG_TEXT = 0, AD_LOG_JSON = 1 } ad_log_format_t;

/* Receives each finished line (no trailing newline), already redacted. */
typedef void (*ad_log_fn)(int level, const char *line, void *data);

typedef struct ad_log {
  int level;  /* lines above this level are dropped */
  int format; /* ad_log_format_t */
  FILE *out;  /* used when fn is NULL */
  ad_log_fn fn;
  void *fn_data;
  ad_redact_t redact;
  /* Set by the embedding program to clear a live progress line first. */
  void (*before_write)(void *data);
  void *before_data;
} ad_log_t;

void ad_log_init(ad_log_t *log, FILE *out, int level, int format);
void ad_log_close(ad_log_t *log);

/* Registers a secret to redact (copied). */
int ad_log_add_secret(ad_log_t *log, const char *secret);

/* component names the module ("http", "airtable", ...). */
void ad_log_write(ad_log_t *log, int level, const char *component,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "error", "warn", "info", "debug"; -1 for anything else. */
int ad_log_level_parse(const char *name);
const char *ad_log_level_name(int level);

#define ad_log_error(log, comp, ...) ad_log_write(log, AD_LOG_ERROR, comp, __VA_ARGS__)
#define ad_log_warn(log, comp, ...) ad_log_write(log, AD_LOG_WARN, comp, __VA_ARGS__)
#define ad_log_info(log, comp, ...) ad_log_write(log, AD_LOG_INFO, comp, __VA_ARGS__)
#define ad_log_debug(log, comp, ...) ad_log_write(log, AD_LOG_DEBUG, comp, __VA_ARGS__)

#endif
