/* `airdust demo` (run by airdust-fakes, cli/fakes_main.c): both fakes
 * in-process on 127.0.0.1, a real sync through them, then what landed in
 * Dust. */
#ifndef AD_CLI_DEMO_H
#define AD_CLI_DEMO_H

#include "run.h"

typedef struct ad_cli_demo {
  int documents;               /* documents format instead of tables */
  int bases, tables, records;  /* a generated dataset; 0: the demo bases */
} ad_cli_demo_t;

/* run carries the output options (progress, logs, --stats-json); its
 * config is made here. Returns the exit code. */
int ad_cli_demo(const ad_cli_demo_t *demo, ad_cli_opts_t *run);

#endif
