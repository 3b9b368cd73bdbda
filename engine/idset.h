/* ad_idset: a set of short strings (record ids), for de-duplication.
 *
 * Open addressing over offsets into one byte arena: about 1.5 x (id length
 * + 5) bytes per id, and no allocation per id. */
#ifndef AD_IDSET_H
#define AD_IDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ad_idset {
  size_t count;
  /* Private. */
  uint32_t *slots; /* arena offset + 1; 0 = empty */
  size_t nslots;   /* a power of two */
  char *arena;     /* NUL-terminated ids back to back */
  size_t arena_len, arena_cap;
} ad_idset_t;

void ad_idset_init(ad_idset_t *set);
void ad_idset_free(ad_idset_t *set);

/* Adds id (copied). Returns 1 if it was added, 0 if it was already there,
 * AD_ENOMEM. */
int ad_idset_add(ad_idset_t *set, const char *id, size_t len);

int ad_idset_has(const ad_idset_t *set, const char *id, size_t len);

#endif
