#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#define AD_STATE_VERSION 1

static int ad_state_empty(ad_state_t *st, json_object *destination) {
  st->root = json_object_new_object();
  st->tables = json_object_new_object();
  if (st->root == NULL || st->tables == NULL) {
    json_object_put(st->tables);
    return AD_ENOMEM;
  }
  json_object_object_add(st->root, "version",
                         json_object_new_int(AD_STATE_VERSION));
  json_object_object_add(st->root, "destination",
                         json_object_get(destination));
  json_object_object_add(st->root, "tables", st->tables);
  return 0;
}

/* Each entry of "tables" must be {"records": n, …}. */
static int ad_state_check_tables(json_object *tables, char *err,
                                 size_t errlen) {
  json_object *records;
  json_object_object_foreach(tables, key, entry) {
    if (strchr(key, '/') == NULL || !json_object_is_type(entry, json_type_object) ||
        !json_object_object_get_ex(entry, "records", &records) ||
        !json_object_is_type(records, json_type_int)) {
      snprintf(err, errlen,
               "tables.\"%.80s\": expected \"base/table\": {\"records\": n}",
               key);
      return AD_ECONFIG;
    }
  }
  return 0;
}

int ad_state_parse(ad_state_t *st, const char *text, size_t len,
                   json_object *destination, char *err, size_t errlen) {
  json_tokener *tok;
  json_object *root, *v, *tables;
  int rc = AD_ECONFIG;

  memset(st, 0, sizeof(*st));
  err[0] = '\0';
  if (len == 0)
    return ad_state_empty(st, destination);
  if ((tok = json_tokener_new()) == NULL)
    return AD_ENOMEM;
  root = json_tokener_parse_ex(tok, text, (int)len);
  if (root == NULL || json_tokener_get_parse_end(tok) != len)
    snprintf(err, errlen, "not JSON (%s)",
             root == NULL ? json_tokener_error_desc(json_tokener_get_error(tok))
                          : "text after the object");
  else if (!json_object_is_type(root, json_type_object) ||
           !json_object_object_get_ex(root, "version", &v) ||
           json_object_get_int(v) != AD_STATE_VERSION)
    snprintf(err, errlen, "not an airdust state file (version %d expected)",
             AD_STATE_VERSION);
  else if (!json_object_object_get_ex(root, "destination", &v) ||
           !json_object_equal(v, destination))
    snprintf(err, errlen,
             "written for another destination: %s (this run writes to %s); "
             "use another state file, or remove this one to start over",
             v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
               : "none",
             json_object_to_json_string_ext(destination,
                                            JSON_C_TO_STRING_PLAIN));
  else if (!json_object_object_get_ex(root, "tables", &tables) ||
           !json_object_is_type(tables, json_type_object))
    snprintf(err, errlen, "tables: expected an object");
  else
    rc = ad_state_check_tables(tables, err, errlen);
  json_tokener_free(tok);
  if (rc != 0) {
    json_object_put(root);
    return rc;
  }
  st->root = root;
  st->tables = tables;
  return 0;
}

/* The whole file, malloc'd into *out; a missing file reads as empty. */
static int ad_state_read(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL, *grown;
  size_t n = 0, cap = 0, got;

  *out = NULL;
  *len = 0;
  if (f == NULL)
    return errno == ENOENT ? 0 : AD_EIO;
  do {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      if ((grown = realloc(buf, cap)) == NULL) {
        free(buf);
        fclose(f);
        return AD_ENOMEM;
      }
      buf = grown;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  if (ferror(f)) {
    free(buf);
    fclose(f);
    return AD_EIO;
  }
  fclose(f);
  *out = buf;
  *len = n;
  return 0;
}

int ad_state_open(ad_state_t *st, const char *path, json_object *destination,
                  char *err, size_t errlen) {
  json_object *dest = json_object_get(destination);
  char *text, why[768];
  size_t len;
  int rc;

  memset(st, 0, sizeof(*st));
  if (dest == NULL)
    return AD_ENOMEM;
  rc = ad_state_read(path, &text, &len);
  if (rc != 0) {
    snprintf(err, errlen, "state file %s: %s", path,
             rc == AD_EIO ? strerror(errno) : ad_strerror(rc));
    json_object_put(dest);
    return rc;
  }
  rc = ad_state_parse(st, text, len, dest, why, sizeof(why));
  free(text);
  json_object_put(dest);
  if (rc == 0 && (st->path = strdup(path)) == NULL) {
    ad_state_close(st);
    rc = AD_ENOMEM;
  }
  if (rc != 0)
    snprintf(err, errlen, "state file %s: %s", path,
             why[0] ? why : ad_strerror(rc));
  return rc;
}

int ad_state_finished(const ad_state_t *st, const char *base_id,
                      const char *table_id) {
  char key[512];
  snprintf(key, sizeof(key), "%s/%s", base_id, table_id);
  return json_object_object_get_ex(st->tables, key, NULL);
}

size_t ad_state_count(const ad_state_t *st) {
  return (size_t)json_object_object_length(st->tables);
}

/* text to fd, whole. */
static int ad_state_write_all(int fd, const char *text, size_t len) {
  ssize_t n;
  while (len > 0) {
    n = write(fd, text, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    text += n;
    len -= (size_t)n;
  }
  return 0;
}

/* FILE.tmp, flushed, renamed over FILE: a kill leaves either file whole. */
static int ad_state_save(const ad_state_t *st, char *err, size_t errlen) {
  const char *text =
      json_object_to_json_string_ext(st->root, JSON_C_TO_STRING_PRETTY);
  size_t len = strlen(text), plen = strlen(st->path);
  char *tmp = malloc(plen + 5);
  int fd, ok;

  if (tmp == NULL)
    return AD_ENOMEM;
  memcpy(tmp, st->path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ok = fd >= 0 && ad_state_write_all(fd, text, len) == 0 &&
       ad_state_write_all(fd, "\n", 1) == 0 && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0)
    ok = 0;
  if (ok && rename(tmp, st->path) != 0)
    ok = 0;
  if (!ok) {
    snprintf(err, errlen, "state file %s: %s", st->path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? 0 : AD_EIO;
}

static void ad_state_now(char out[32]) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ad_state_finish(ad_state_t *st, const char *base_id, const char *table_id,
                    uint64_t records, char *err, size_t errlen) {
  json_object *entry = json_object_new_object();
  char key[512], when[32];

  if (entry == NULL)
    return AD_ENOMEM;
  ad_state_now(when);
  json_object_object_add(entry, "records",
                         json_object_new_int64((int64_t)records));
  json_object_object_add(entry, "finished_at", json_object_new_string(when));
  snprintf(key, sizeof(key), "%s/%s", base_id, table_id);
  if (json_object_object_add(st->tables, key, entry) != 0) {
    json_object_put(entry);
    return AD_ENOMEM;
  }
  return st->path != NULL ? ad_state_save(st, err, errlen) : 0;
}

void ad_state_close(ad_state_t *st) {
  json_object_put(st->root);
  free(st->path);
  memset(st, 0, sizeof(*st));
}
