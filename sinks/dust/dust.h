/* The Dust sink as a plugin of the engine (include/airdust_plugin.h):
 * its config keys (docs/config.md, "sink"), its encoder and the sink. */
#ifndef AD_DUST_H
#define AD_DUST_H

#include "airdust_plugin.h"

extern const ad_sink_plugin_t ad_dust_sink_plugin;

#endif
