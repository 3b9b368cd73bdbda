#include "idset.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void ad_idset_init(ad_idset_t *set) { memset(set, 0, sizeof(*set)); }

void ad_idset_free(ad_idset_t *set) {
  free(set->slots);
  free(set->arena);
  memset(set, 0, sizeof(*set));
}

static uint64_t ad_idset_hash(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  size_t i;
  for (i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t ad_idset_find(const ad_idset_t *set, const char *id,
                            size_t len) {
  size_t mask = set->nslots - 1, i = ad_idset_hash(id, len) & mask;
  const char *s;
  while (set->slots[i] != 0) {
    s = set->arena + set->slots[i] - 1;
    if (strncmp(s, id, len) == 0 && s[len] == '\0')
      return i;
    i = (i + 1) & mask;
  }
  return i;
}

static int ad_idset_grow(ad_idset_t *set) {
  size_t n = set->nslots ? set->nslots * 2 : 1024, i, j;
  uint32_t *old = set->slots, *slots = calloc(n, sizeof(*slots));
  size_t oldn = set->nslots;
  const char *s;

  if (slots == NULL)
    return AD_ENOMEM;
  set->slots = slots;
  set->nslots = n;
  for (i = 0; i < oldn; i++) {
    if (old[i] == 0)
      continue;
    s = set->arena + old[i] - 1;
    j = ad_idset_find(set, s, strlen(s));
    slots[j] = old[i];
  }
  free(old);
  return 0;
}

int ad_idset_has(const ad_idset_t *set, const char *id, size_t len) {
  return set->nslots != 0 && set->slots[ad_idset_find(set, id, len)] != 0;
}

int ad_idset_add(ad_idset_t *set, const char *id, size_t len) {
  size_t i, cap;
  char *grown;

  if ((set->count + 1) * 3 >= set->nslots * 2 && ad_idset_grow(set) != 0)
    return AD_ENOMEM;
  i = ad_idset_find(set, id, len);
  if (set->slots[i] != 0)
    return 0;
  if (set->arena_len + len + 1 > set->arena_cap) {
    cap = set->arena_cap ? set->arena_cap * 2 : 16384;
    while (cap < set->arena_len + len + 1)
      cap *= 2;
    if (cap >= UINT32_MAX || (grown = realloc(set->arena, cap)) == NULL)
      return AD_ENOMEM;
    set->arena = grown;
    set->arena_cap = cap;
  }
  memcpy(set->arena + set->arena_len, id, len);
  set->arena[set->arena_len + len] = '\0';
  set->slots[i] = (uint32_t)set->arena_len + 1;
  set->arena_len += len + 1;
  set->count++;
  return 1;
}
