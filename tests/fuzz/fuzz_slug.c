/* The slugger on any name: a slug is ^[a-z0-9_]*$ without leading,
 * trailing or doubled '_', at most AD_SLUG_MAX bytes, and a slugset never
 * hands out the same slug twice (nor an empty one). */
#include <string.h>

#include "fuzz.h"
#include "slug.h"

static void check_slug(const char *s, size_t len) {
  size_t i;
  AD_FUZZ_CHECK(strlen(s) == len);
  for (i = 0; i < len; i++) {
    AD_FUZZ_CHECK((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                  s[i] == '_');
    AD_FUZZ_CHECK(s[i] != '_' || (i > 0 && i + 1 < len && s[i + 1] != '_'));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char name[512], slug[AD_SLUG_MAX + 1];
  char *a, *b;
  ad_slugset_t set;
  size_t len = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

  memcpy(name, data, len);
  name[len] = '\0';
  len = ad_slug(name, slug, sizeof(slug));
  AD_FUZZ_CHECK(len <= AD_SLUG_MAX);
  check_slug(slug, len);
  AD_FUZZ_CHECK(ad_slugset_init(&set) == 0);
  a = ad_slugset_add(&set, name, "col_1");
  b = ad_slugset_add(&set, name, "col_1");
  AD_FUZZ_CHECK(a != NULL && b != NULL && *a != '\0' && *b != '\0');
  AD_FUZZ_CHECK(strcmp(a, b) != 0);
  free(a);
  free(b);
  ad_slugset_free(&set);
  return 0;
}
