/* The Airtable source as a plugin of the engine (include/airdust_plugin.h):
 * its config keys (docs/config.md, "source") and its instance, which
 * owns the server's learned safety margin. */
#ifndef AD_AIRTABLE_H
#define AD_AIRTABLE_H

#include "airdust_plugin.h"

extern const ad_source_plugin_t ad_airtable_source_plugin;

#endif
