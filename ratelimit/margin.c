#include "margin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "digest.h"
#include "error.h"

#define AD_MARGIN_STEP_US 10000 /* a widening adds at least this */

static int ad_margin_lock(const ad_margin_t *m) {
  char lock[4096];
  int fd;
  snprintf(lock, sizeof(lock), "%s.lock", m->path);
  fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  while (flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  return fd;
}

static void ad_margin_unlock(int fd) {
  if (fd >= 0)
    close(fd); /* releases the lock */
}

/* The whole file, or a fresh object. */
static json_object *ad_margin_read(const ad_margin_t *m) {
  json_object *root = json_object_from_file(m->path);
  json_object *servers;
  if (root == NULL || !json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    root = json_object_new_object();
    if (root == NULL)
      return NULL;
  }
  if (!json_object_object_get_ex(root, "servers", &servers) ||
      !json_object_is_type(servers, json_type_object)) {
    servers = json_object_new_object();
    if (servers == NULL) {
      json_object_put(root);
      return NULL;
    }
    json_object_object_add(root, "servers", servers);
  }
  json_object_object_add(root, "version", json_object_new_int(1));
  return root;
}

static uint64_t ad_margin_get(json_object *root, const char *server) {
  json_object *servers, *entry, *ms;
  if (json_object_object_get_ex(root, "servers", &servers) &&
      json_object_object_get_ex(servers, server, &entry) &&
      json_object_object_get_ex(entry, "margin_ms", &ms) &&
      (json_object_is_type(ms, json_type_int) ||
       json_object_is_type(ms, json_type_double))) {
    double v = json_object_get_double(ms);
    if (v > 0 && v < 3600000)
      return (uint64_t)(v * 1000);
  }
  return 0;
}

static void ad_margin_put(const ad_margin_t *m, json_object *root,
                          uint64_t margin_us) {
  json_object *servers, *entry = json_object_new_object();
  char tmp[4096];

  if (entry == NULL)
    return;
  json_object_object_get_ex(root, "servers", &servers);
  json_object_object_add(entry, "margin_ms",
                         json_object_new_double((double)margin_us / 1000.0));
  json_object_object_add(entry, "updated",
                         json_object_new_int64((int64_t)time(NULL)));
  json_object_object_add(servers, m->server, entry);
  snprintf(tmp, sizeof(tmp), "%s.tmp", m->path);
  if (json_object_to_file_ext(tmp, root, JSON_C_TO_STRING_PRETTY) == 0)
    rename(tmp, m->path);
  else
    unlink(tmp);
}

int ad_margin_init(ad_margin_t *m, const char *path, const char *server_url,
                   uint64_t floor_us, uint64_t ceiling_us) {
  const char *parts[] = {"margin", server_url, NULL};
  json_object *root;
  int fd;

  memset(m, 0, sizeof(*m));
  m->floor_us = floor_us;
  m->ceiling_us = ceiling_us > floor_us ? ceiling_us : floor_us;
  m->current_us = floor_us;
  ad_digest_hex(parts, m->server, 16);
  if (path == NULL)
    return 0;
  if ((m->path = strdup(path)) == NULL)
    return AD_ENOMEM;
  if ((fd = ad_margin_lock(m)) < 0)
    return 0;
  root = ad_margin_read(m);
  ad_margin_unlock(fd);
  if (root == NULL)
    return 0;
  m->remembered_us = ad_margin_get(root, m->server);
  json_object_put(root);
  if (m->remembered_us > m->current_us)
    m->current_us = m->remembered_us;
  if (m->current_us > m->ceiling_us)
    m->current_us = m->ceiling_us;
  return 0;
}

/* Under the lock, writes the run's margin for this server. Widening
 * keeps the larger of the run's and the file's (another run may have
 * learned more meanwhile); walking back only replaces the value this run
 * started from, never one another run wrote since. */
static void ad_margin_store(ad_margin_t *m, int widen) {
  json_object *root;
  uint64_t theirs;
  int fd;

  if (m->path == NULL || (fd = ad_margin_lock(m)) < 0)
    return;
  root = ad_margin_read(m);
  if (root != NULL) {
    theirs = ad_margin_get(root, m->server);
    if (widen && theirs > m->current_us && theirs <= m->ceiling_us)
      m->current_us = theirs;
    if (widen || theirs == m->remembered_us)
      ad_margin_put(m, root, m->current_us);
    json_object_put(root);
  }
  ad_margin_unlock(fd);
}

uint64_t ad_margin_widen(ad_margin_t *m) {
  uint64_t next = m->current_us * 2;
  if (next < m->current_us + AD_MARGIN_STEP_US)
    next = m->current_us + AD_MARGIN_STEP_US;
  if (next > m->ceiling_us)
    next = m->ceiling_us;
  m->current_us = next;
  m->widened++;
  ad_margin_store(m, 1);
  return m->current_us;
}

void ad_margin_finish(ad_margin_t *m, int bound) {
  if (m->widened || !bound || m->remembered_us <= m->floor_us)
    return;
  m->current_us = m->remembered_us - (m->remembered_us - m->floor_us) / 4;
  if (m->current_us - m->floor_us < 1000) /* within a ms: back home */
    m->current_us = m->floor_us;
  ad_margin_store(m, 0);
}

void ad_margin_free(ad_margin_t *m) {
  free(m->path);
  m->path = NULL;
}
