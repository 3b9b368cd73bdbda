/* ad_idmap: record ids to what a recurring sync knows of them — the
 * content hash the destination holds, or the one a write in flight will
 * leave there — in one open-addressed table whose keys live in one
 * buffer, so a table of 100 000 records costs about 60 bytes a record and
 * no allocation per record. Loop thread only. */
#ifndef AD_IDMAP_H
#define AD_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct ad_idmap_entry {
  uint64_t key_hash; /* 0: a free slot */
  uint32_t key_off;  /* the id, NUL-terminated, in the map's keys */
  unsigned char flags; /* the caller's */
  unsigned char dead;  /* deleted: a tombstone until the next growth */
  unsigned char hash[16];
} ad_idmap_entry_t; /* 32 bytes: a slot of a map of a million */

typedef struct ad_idmap {
  ad_idmap_entry_t *slots;
  size_t cap;   /* a power of two, or 0 */
  size_t count; /* live entries */
  size_t used;  /* live entries and tombstones */
  ad_buf_t keys;
} ad_idmap_t;

void ad_idmap_init(ad_idmap_t *m);
void ad_idmap_free(ad_idmap_t *m);

/* The entry of id (len bytes), or NULL. Valid until the next put. */
ad_idmap_entry_t *ad_idmap_get(const ad_idmap_t *m, const char *id,
                               size_t len);

/* The entry of id, made (zeroed, *created = 1) when new; NULL when out of
 * memory, or when the keys would pass 4 GiB. Entries move when the map grows: pointers to them are valid
 * until the next put. */
ad_idmap_entry_t *ad_idmap_put(ad_idmap_t *m, const char *id, size_t len,
                               int *created);

/* Forgets e (from get or put). */
void ad_idmap_del(ad_idmap_t *m, ad_idmap_entry_t *e);

static inline const char *ad_idmap_key(const ad_idmap_t *m,
                                       const ad_idmap_entry_t *e) {
  return m->keys.data + e->key_off;
}

/* Live entries: for (i = 0; i < m->cap; i++) if (ad_idmap_live(&slots[i])) */
static inline int ad_idmap_live(const ad_idmap_entry_t *e) {
  return e->key_hash != 0 && !e->dead;
}

#endif
