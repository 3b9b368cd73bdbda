/* Slugs for Dust names and column keys: ^[a-z0-9_]+$, deterministic.
 *
 * ASCII letters are lower-cased, digits kept, every other byte (spaces,
 * punctuation, UTF-8 sequences) becomes '_', runs of '_' collapse and
 * leading/trailing '_' are trimmed. A slugset hands out unique slugs in the
 * order asked: "Name", "name ", "NAME!" give name, name_2, name_3. */
#ifndef AD_SLUG_H
#define AD_SLUG_H

#include <stddef.h>

#define AD_SLUG_MAX 64 /* bytes kept from a name, before any _N suffix */

/* Writes the slug of name into out (NUL-terminated, at most AD_SLUG_MAX
 * bytes plus NUL; outlen must be > AD_SLUG_MAX). Returns its length, 0 when
 * nothing is left of the name. */
size_t ad_slug(const char *name, char *out, size_t outlen);

typedef struct ad_slugset {
  void *used; /* json-c object used as a hash set */
} ad_slugset_t;

int ad_slugset_init(ad_slugset_t *set);
void ad_slugset_free(ad_slugset_t *set);

/* A slug of name unique in set (fallback is used when name slugs to
 * nothing, e.g. "col_3"). Returns a malloc'd string, NULL on ENOMEM. */
char *ad_slugset_add(ad_slugset_t *set, const char *name,
                     const char *fallback);

#endif
