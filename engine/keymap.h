/* ad_keymap: 64-bit keys to 64-bit values, open addressing, for record
 * ids by digest. The Airbyte source keeps, per parse job, the page each id
 * went into and, on the loop, the unit number of each id on its way to
 * the sink; the Dust sink keeps the ids a replaced table was written
 * with. Keys are digests (XXH3): two ids sharing one cost a page a wait
 * for nothing, or spare a record a deletion (never the reverse). Not
 * thread-safe; one owner at a time. */
#ifndef AD_KEYMAP_H
#define AD_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ad_keymap {
  uint64_t *keys; /* 0: empty */
  uint64_t *values;
  size_t cap, n;  /* cap a power of two, or 0 */
} ad_keymap_t;

void ad_keymap_init(ad_keymap_t *m);
void ad_keymap_free(ad_keymap_t *m);
void ad_keymap_clear(ad_keymap_t *m);

/* The digest of id (len bytes) in space (a stream's index): never 0. */
uint64_t ad_keymap_key(uint64_t space, const char *id, size_t len);

/* 1 with *value when key is in, else 0. */
int ad_keymap_get(const ad_keymap_t *m, uint64_t key, uint64_t *value);

/* Sets key to value. 0 or AD_ENOMEM (the map is then unchanged). */
int ad_keymap_put(ad_keymap_t *m, uint64_t key, uint64_t value);

/* Removes key when it maps to value (a later write of the key keeps it). */
void ad_keymap_drop(ad_keymap_t *m, uint64_t key, uint64_t value);

#endif
