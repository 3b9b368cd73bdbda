#include "record.h"

#include <stdlib.h>
#include <string.h>

/* In the order of ad_kind_t. */
static const char *const ad_kind_names[] = {
    "null", "text", "int", "float", "bool", "datetime", "list", "json"};

#define AD_KIND_COUNT (sizeof(ad_kind_names) / sizeof(ad_kind_names[0]))

const char *ad_kind_name(ad_kind_t kind) {
  return (unsigned)kind < AD_KIND_COUNT ? ad_kind_names[kind] : NULL;
}

int ad_kind_parse(const char *name, size_t len) {
  size_t i;
  for (i = 0; i < AD_KIND_COUNT; i++)
    if (strlen(ad_kind_names[i]) == len &&
        memcmp(ad_kind_names[i], name, len) == 0)
      return (int)i;
  return -1;
}

double ad_value_float(const ad_value_t *v) {
  char buf[64];
  size_t n = v->n < sizeof(buf) - 1 ? v->n : sizeof(buf) - 1;
  memcpy(buf, v->u.s, n);
  buf[n] = '\0';
  return strtod(buf, NULL);
}
