#include "slug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

size_t ad_slug(const char *name, char *out, size_t outlen) {
  size_t n = 0;
  int pending_sep = 0;
  unsigned char c;

  for (; *name && n < AD_SLUG_MAX && n + 1 < outlen; name++) {
    c = (unsigned char)*name;
    if (c >= 'A' && c <= 'Z')
      c = (unsigned char)(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (pending_sep && n > 0 && n + 2 < outlen && n + 1 < AD_SLUG_MAX)
        out[n++] = '_';
      pending_sep = 0;
      out[n++] = (char)c;
    } else {
      pending_sep = 1;
    }
  }
  out[n] = '\0';
  return n;
}

int ad_slugset_init(ad_slugset_t *set) {
  set->used = json_object_new_object();
  return set->used == NULL ? -1 : 0;
}

void ad_slugset_free(ad_slugset_t *set) {
  json_object_put(set->used);
  set->used = NULL;
}

char *ad_slugset_add(ad_slugset_t *set, const char *name,
                     const char *fallback) {
  char base[AD_SLUG_MAX + 1], cand[AD_SLUG_MAX + 16];
  int i;

  if (ad_slug(name, base, sizeof(base)) == 0)
    ad_slug(fallback, base, sizeof(base));
  snprintf(cand, sizeof(cand), "%s", base);
  for (i = 2; json_object_object_get_ex(set->used, cand, NULL); i++)
    snprintf(cand, sizeof(cand), "%s_%d", base, i);
  if (json_object_object_add(set->used, cand, NULL) != 0)
    return NULL;
  return strdup(cand);
}
