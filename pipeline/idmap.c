#include "idmap.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

void ad_idmap_init(ad_idmap_t *m) {
  memset(m, 0, sizeof(*m));
  ad_buf_init(&m->keys, 0);
}

void ad_idmap_free(ad_idmap_t *m) {
  free(m->slots);
  ad_buf_free(&m->keys);
  memset(m, 0, sizeof(*m));
}

/* Never 0, which marks a free slot. */
static uint64_t ad_idmap_hash(const char *id, size_t len) {
  uint64_t h = XXH3_64bits(id, len);
  return h != 0 ? h : 1;
}

static ad_idmap_entry_t *ad_idmap_find(const ad_idmap_t *m, uint64_t h,
                                       const char *id, size_t len) {
  size_t mask = m->cap - 1, i;
  ad_idmap_entry_t *e;
  const char *key;

  if (m->cap == 0)
    return NULL;
  for (i = h & mask;; i = (i + 1) & mask) {
    e = &m->slots[i];
    if (e->key_hash == 0)
      return NULL;
    if (e->key_hash != h || e->dead)
      continue;
    key = m->keys.data + e->key_off;
    if (strncmp(key, id, len) == 0 && key[len] == '\0')
      return e;
  }
}

ad_idmap_entry_t *ad_idmap_get(const ad_idmap_t *m, const char *id,
                               size_t len) {
  return ad_idmap_find(m, ad_idmap_hash(id, len), id, len);
}

/* A table twice as big as the live entries need (at least 64 slots), the
 * tombstones and their keys left behind. */
static int ad_idmap_grow(ad_idmap_t *m) {
  size_t cap = 64, i, j, len;
  ad_idmap_entry_t *slots, *e;
  ad_buf_t keys;

  while (cap < (m->count + 1) * 2)
    cap *= 2;
  if ((slots = calloc(cap, sizeof(*slots))) == NULL)
    return -1;
  ad_buf_init(&keys, 0);
  for (i = 0; i < m->cap; i++) {
    e = &m->slots[i];
    if (!ad_idmap_live(e))
      continue;
    for (j = e->key_hash & (cap - 1); slots[j].key_hash != 0;
         j = (j + 1) & (cap - 1))
      ;
    slots[j] = *e;
    len = strlen(m->keys.data + e->key_off) + 1;
    slots[j].key_off = (uint32_t)keys.len;
    if (ad_buf_append(&keys, m->keys.data + e->key_off, len) != 0) {
      free(slots);
      ad_buf_free(&keys);
      return -1;
    }
  }
  free(m->slots);
  ad_buf_free(&m->keys);
  m->slots = slots;
  m->keys = keys;
  m->cap = cap;
  m->used = m->count;
  return 0;
}

ad_idmap_entry_t *ad_idmap_put(ad_idmap_t *m, const char *id, size_t len,
                               int *created) {
  uint64_t h = ad_idmap_hash(id, len);
  ad_idmap_entry_t *e = ad_idmap_find(m, h, id, len);
  size_t i, off;

  *created = 0;
  if (e != NULL)
    return e;
  /* at most 3/4 full, tombstones included */
  if ((m->used + 1) * 4 > m->cap * 3 && ad_idmap_grow(m) != 0)
    return NULL;
  off = m->keys.len;
  if (off + len + 1 > UINT32_MAX || ad_buf_append(&m->keys, id, len) != 0 ||
      ad_buf_append(&m->keys, "", 1) != 0) {
    m->keys.len = off;
    return NULL;
  }
  for (i = h & (m->cap - 1); m->slots[i].key_hash != 0;
       i = (i + 1) & (m->cap - 1))
    ;
  e = &m->slots[i];
  memset(e, 0, sizeof(*e));
  e->key_hash = h;
  e->key_off = (uint32_t)off;
  m->count++;
  m->used++;
  *created = 1;
  return e;
}

void ad_idmap_del(ad_idmap_t *m, ad_idmap_entry_t *e) {
  if (!ad_idmap_live(e))
    return;
  e->dead = 1;
  m->count--;
}
