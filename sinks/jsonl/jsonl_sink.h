/* The jsonl sink: each table becomes files of an export folder
 * (formats/jsonl/jsonl.h, docs/jsonl.md), written off the loop with
 * bounded memory; its config keys are in docs/config.md. */
#ifndef AD_JSONL_SINK_H
#define AD_JSONL_SINK_H

#include "airdust_plugin.h"

typedef struct ad_jl_sink_config {
  char *path; /* the export folder; made when missing */
} ad_jl_sink_config_t;

extern const ad_sink_plugin_t ad_jsonl_sink_plugin;

#endif
