#include "keymap.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "error.h"

void ad_keymap_init(ad_keymap_t *m) { memset(m, 0, sizeof(*m)); }

void ad_keymap_free(ad_keymap_t *m) {
  free(m->keys);
  free(m->values);
  memset(m, 0, sizeof(*m));
}

void ad_keymap_clear(ad_keymap_t *m) {
  if (m->cap > 0)
    memset(m->keys, 0, m->cap * sizeof(*m->keys));
  m->n = 0;
}

/* The id's digest, then that digest seeded with the space: XXH3 mixes a
 * seed into a short input linearly, so seeding the id itself made "104"
 * of one stream and "101" of another the same key (a page then waited on
 * another stream's write); over a 64-bit digest, two keys meet only by
 * chance. */
uint64_t ad_keymap_key(uint64_t space, const char *id, size_t len) {
  uint64_t h = XXH3_64bits(id, len), k;
  k = XXH3_64bits_withSeed(&h, sizeof(h), space);
  return k != 0 ? k : 1;
}

/* The slot of key, or the empty slot where it would go. */
static size_t ad_keymap_slot(const ad_keymap_t *m, uint64_t key) {
  size_t mask = m->cap - 1, i = (size_t)(key ^ (key >> 29)) & mask;
  while (m->keys[i] != 0 && m->keys[i] != key)
    i = (i + 1) & mask;
  return i;
}

int ad_keymap_get(const ad_keymap_t *m, uint64_t key, uint64_t *value) {
  size_t i;
  if (m->n == 0)
    return 0;
  i = ad_keymap_slot(m, key);
  if (m->keys[i] == 0)
    return 0;
  *value = m->values[i];
  return 1;
}

static int ad_keymap_grow(ad_keymap_t *m) {
  ad_keymap_t bigger;
  size_t i, j;

  bigger.cap = m->cap ? m->cap * 2 : 64;
  bigger.n = m->n;
  bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
  bigger.values = malloc(bigger.cap * sizeof(*bigger.values));
  if (bigger.keys == NULL || bigger.values == NULL) {
    free(bigger.keys);
    free(bigger.values);
    return AD_ENOMEM;
  }
  for (i = 0; i < m->cap; i++) {
    if (m->keys[i] == 0)
      continue;
    j = ad_keymap_slot(&bigger, m->keys[i]);
    bigger.keys[j] = m->keys[i];
    bigger.values[j] = m->values[i];
  }
  free(m->keys);
  free(m->values);
  *m = bigger;
  return 0;
}

int ad_keymap_put(ad_keymap_t *m, uint64_t key, uint64_t value) {
  size_t i;
  if ((m->n + 1) * 2 > m->cap && ad_keymap_grow(m) != 0)
    return AD_ENOMEM;
  i = ad_keymap_slot(m, key);
  if (m->keys[i] == 0)
    m->n++;
  m->keys[i] = key;
  m->values[i] = value;
  return 0;
}

/* Linear probing's deletion: later keys of the run move back into the
 * hole, so no search stops short of them. */
void ad_keymap_drop(ad_keymap_t *m, uint64_t key, uint64_t value) {
  size_t mask, i, j, home;
  if (m->n == 0)
    return;
  mask = m->cap - 1;
  i = ad_keymap_slot(m, key);
  if (m->keys[i] == 0 || m->values[i] != value)
    return;
  m->keys[i] = 0;
  m->n--;
  for (j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
    home = (size_t)(m->keys[j] ^ (m->keys[j] >> 29)) & mask;
    /* Move j back to i unless its home lies cyclically in (i, j]. */
    if ((j > i && (home <= i || home > j)) ||
        (j < i && (home <= i && home > j))) {
      m->keys[i] = m->keys[j];
      m->values[i] = m->values[j];
      m->keys[j] = 0;
      i = j;
    }
  }
}
