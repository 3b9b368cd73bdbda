/* `airdust airbyte …`: the Airbyte destination protocol's commands
 * (docs/airbyte.md). */
#ifndef AD_CLI_AIRBYTE_H
#define AD_CLI_AIRBYTE_H

/* argv[0] is "airbyte", argv[1] the protocol command (spec, check,
 * write). Returns the exit code: 0, 1 (the run failed: a TRACE said
 * why), 2 (usage, on stderr). */
int ad_cli_airbyte(int argc, char **argv);

#endif
