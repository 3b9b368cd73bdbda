/* The commands that run a sync (sync, check, demo): their help and options.
 * Both programs parse with this, airdust for sync and check, airdust-fakes
 * for demo, so that `airdust demo` (which execs airdust-fakes) takes the
 * same options and reports the same usage errors as any other command. */
#ifndef AD_CLI_COMMAND_H
#define AD_CLI_COMMAND_H

#include "demo.h"
#include "run.h"

/* Prints "airdust: <message>" and where to look; returns the usage exit
 * code (2). */
int ad_cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Parses the options of command name ("sync", "check" or "demo"; argv[0]
 * is the command) into o and, for demo, d. Returns -1 when the command is
 * to run, else the exit code to leave with: 0 after --help, 2 after a
 * usage error (already printed). */
int ad_cli_parse(const char *name, int argc, char **argv, ad_cli_opts_t *o,
                 ad_cli_demo_t *d);

#endif
