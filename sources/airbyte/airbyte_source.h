/* The airbyte source: Airbyte protocol messages, one per line, from
 * stdin or a file, mapped by a configured catalog (docs/airbyte.md).
 *
 * Each stream of the catalog is a table. RECORD lines become records of
 * their stream's table; a STATE line is written back (to stdout or the
 * `output` file) once every record before it is at the destination: the
 * sink acknowledges units by number (ad_sink_acked), and a unit the sink
 * failed holds every later STATE back for good, so Airbyte resends from
 * the last one echoed. A line that is not a message, a record of a stream
 * the catalog lacks, or one that does not fit its schema is counted
 * failed with its line number and stream, and does not hold STATEs back:
 * sending it again would not mend it. */
#ifndef AD_AIRBYTE_SOURCE_H
#define AD_AIRBYTE_SOURCE_H

#include "airdust_plugin.h"

typedef struct ad_ab_source_config {
  char *catalog; /* the configured catalog's file */
  char *input;   /* the messages: "-" for stdin */
  char *output;  /* where STATE echoes go: "-" for stdout */
  int document_ids; /* ids for Dust documents ("stream-pk") */
  long idle_flush_ms;   /* input quiet this long: write what is held */
  long flush_interval_s; /* at the latest, write what is held this often */
} ad_ab_source_config_t;

extern const ad_source_plugin_t ad_airbyte_source_plugin;

#endif
