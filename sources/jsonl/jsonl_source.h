/* The jsonl source: reads an export folder back (formats/jsonl/jsonl.h,
 * docs/jsonl.md), table by table, a page of lines at a time, off the
 * loop; its config keys are in docs/config.md. */
#ifndef AD_JSONL_SOURCE_H
#define AD_JSONL_SOURCE_H

#include "airdust_plugin.h"

typedef struct ad_jl_source_config {
  char *path; /* the export folder */
} ad_jl_source_config_t;

extern const ad_source_plugin_t ad_jsonl_source_plugin;

#endif
