#include "builtin.h"

#include <stdlib.h>
#include <string.h>

#include "airtable.h"
#include "dust.h"
#include "error.h"
#include "jsonl_sink.h"
#include "jsonl_source.h"
#include "airbyte_source.h"

/* The first of each side is the default of a section without "type". */
static const ad_source_plugin_t *const ad_builtin_sources[] = {
    &ad_airtable_source_plugin,
    &ad_jsonl_source_plugin,
    &ad_airbyte_source_plugin,
};
static const ad_sink_plugin_t *const ad_builtin_sinks[] = {
    &ad_dust_sink_plugin,
    &ad_jsonl_sink_plugin,
};

static const ad_plugins_t ad_builtin = {
    ad_builtin_sources, sizeof(ad_builtin_sources) / sizeof(void *),
    ad_builtin_sinks, sizeof(ad_builtin_sinks) / sizeof(void *)};

const ad_plugins_t *ad_builtin_plugins(void) { return &ad_builtin; }

/* A plugin's name: both plugin structs begin with it. */
static const char *ad_name(const void *plugin) {
  return *(const char *const *)plugin;
}

/* builtin's n plugins, then extra's (NULL-terminated, may be NULL): one
 * of the same name as a built-in takes its place, so the defaults stay
 * first and a config without "type" keeps meaning Airtable to Dust.
 * NULL on ENOMEM. */
static const void **ad_merge(const void *const *builtin, size_t n,
                             const void *const *extra, size_t *count) {
  size_t i, j, nextra = 0;
  const void **list;

  while (extra != NULL && extra[nextra] != NULL)
    nextra++;
  if ((list = calloc(n + nextra + 1, sizeof(*list))) == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    list[i] = builtin[i];
  for (*count = n, i = 0; i < nextra; i++) {
    for (j = 0; j < *count && strcmp(ad_name(list[j]), ad_name(extra[i])); j++)
      ;
    list[j] = extra[i];
    if (j == *count)
      (*count)++;
  }
  return list;
}

int ad_plugins_merge(ad_plugins_t *out,
                     const ad_source_plugin_t *const *sources,
                     const ad_sink_plugin_t *const *sinks) {
  memset(out, 0, sizeof(*out));
  out->sources = (const ad_source_plugin_t *const *)ad_merge(
      (const void *const *)ad_builtin_sources, ad_builtin.nsources,
      (const void *const *)sources, &out->nsources);
  out->sinks = (const ad_sink_plugin_t *const *)ad_merge(
      (const void *const *)ad_builtin_sinks, ad_builtin.nsinks,
      (const void *const *)sinks, &out->nsinks);
  if (out->sources == NULL || out->sinks == NULL) {
    ad_plugins_free(out);
    return AD_ENOMEM;
  }
  return 0;
}

void ad_plugins_free(ad_plugins_t *plugins) {
  free((void *)plugins->sources);
  free((void *)plugins->sinks);
  memset(plugins, 0, sizeof(*plugins));
}
