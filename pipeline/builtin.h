/* The plugins airdust ships, and the lookup list a sync uses: these,
 * then a program's own (ad_sync_options_t). */
#ifndef AD_BUILTIN_H
#define AD_BUILTIN_H

#include <stddef.h>

#include "config.h"

/* The built-in plugins alone. */
const ad_plugins_t *ad_builtin_plugins(void);

/* The built-in plugins, then extra's sources and sinks (NULL-terminated
 * arrays, either may be NULL), into out, whose arrays are malloc'd: free
 * them with ad_plugins_free. A plugin of extra with a built-in's name
 * replaces it in its place. Returns 0 or AD_ENOMEM. */
int ad_plugins_merge(ad_plugins_t *out,
                     const ad_source_plugin_t *const *sources,
                     const ad_sink_plugin_t *const *sinks);
void ad_plugins_free(ad_plugins_t *plugins);

#endif
