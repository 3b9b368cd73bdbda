#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"

static const char *const ad_log_names[] = {"error", "warn", "info", "debug"};

void ad_log_init(ad_log_t *log, FILE *out, int level, int format) {
  memset(log, 0, sizeof(*log));
  log->out = out;
  log->level = level;
  log->format = format;
  ad_redact_init(&log->redact);
}

void ad_log_close(ad_log_t *log) { ad_redact_free(&log->redact); }

int ad_log_add_secret(ad_log_t *log, const char *secret) {
  return ad_redact_add(&log->redact, secret);
}

int ad_log_level_parse(const char *name) {
  int i;
  for (i = 0; i < 4; i++)
    if (strcmp(name, ad_log_names[i]) == 0)
      return i;
  return -1;
}

const char *ad_log_level_name(int level) {
  return level >= 0 && level < 4 ? ad_log_names[level] : "unknown";
}

/* RFC 3339 UTC with milliseconds. */
static void ad_log_timestamp(char *out, size_t len) {
  struct timeval tv;
  struct tm tm;
  gettimeofday(&tv, NULL);
  gmtime_r(&tv.tv_sec, &tm);
  snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(tv.tv_usec / 1000));
}

static int ad_log_format_json(ad_buf_t *line, const char *ts, int level,
                              const char *component, const char *msg) {
  json_object *obj = json_object_new_object();
  int err;
  if (obj == NULL)
    return -1;
  json_object_object_add(obj, "ts", json_object_new_string(ts));
  json_object_object_add(obj, "level",
                         json_object_new_string(ad_log_level_name(level)));
  json_object_object_add(obj, "component", json_object_new_string(component));
  json_object_object_add(obj, "msg", json_object_new_string(msg));
  err = ad_buf_puts(line, json_object_to_json_string_ext(
                              obj, JSON_C_TO_STRING_PLAIN |
                                       JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(obj);
  return err;
}

void ad_log_write(ad_log_t *log, int level, const char *component,
                  const char *fmt, ...) {
  ad_buf_t msg, line;
  char ts[32];
  va_list ap;
  int n;

  if (log == NULL || level > log->level)
    return;
  ad_buf_init(&msg, 0);
  ad_buf_init(&line, 0);
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || ad_buf_reserve(&msg, (size_t)n) != 0)
    goto done;
  va_start(ap, fmt);
  vsnprintf(msg.data, (size_t)n + 1, fmt, ap);
  va_end(ap);
  msg.len = (size_t)n;
  /* Redact the message before it is escaped, so secrets cannot hide
   * behind JSON escapes. */
  if (ad_redact_apply(&log->redact, &msg) != 0 || msg.data == NULL)
    goto done;
  ad_log_timestamp(ts, sizeof(ts));
  if (log->format == AD_LOG_JSON) {
    if (ad_log_format_json(&line, ts, level, component, msg.data) != 0)
      goto done;
  } else if (ad_buf_printf(&line, "%s %-5s [%s] %s", ts,
                           ad_log_level_name(level), component,
                           msg.data) != 0) {
    goto done;
  }
  if (log->before_write != NULL)
    log->before_write(log->before_data);
  if (log->fn != NULL)
    log->fn(level, line.data, log->fn_data);
  else if (log->out != NULL) {
    fprintf(log->out, "%s\n", line.data);
    fflush(log->out);
  }
done:
  ad_buf_free(&msg);
  ad_buf_free(&line);
}
