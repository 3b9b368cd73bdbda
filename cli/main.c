/* airdust: the command line (design.md section 5). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "airbyte.h"
#include "airdust.h"
#include "command.h"
#include "run.h"

/* The demo and the fakes live in a program of their own, built only with
 * -DAD_WITH_FAKES=ON and never installed, so that this binary (what
 * `cmake --install` ships) links neither the fakes nor libmicrohttpd. The
 * CMake target of that name must stay in step. */
#define AD_CLI_FAKES_PROGRAM "airdust-fakes"

static const char ad_cli_usage[] =
    "usage: airdust <command> [options]\n"
    "\n"
    "Moves Airtable bases into a Dust data source, or either end to and\n"
    "from a folder of jsonl files (source.type / sink.type: airtable,\n"
    "jsonl or airbyte, dust or jsonl).\n"
    "\n"
    "commands:\n"
    "  sync           sync what the config names (every base, or one table)\n"
    "  check          validate the config and prove both ends; write "
    "nothing\n"
    "  airbyte        the Airbyte destination protocol: spec, check, write\n"
    "                 (Airbyte messages on stdin into Dust; docs/airbyte.md)\n"
    "  demo           sync demo bases between in-process fakes of both APIs\n"
    "  fake-airtable  run the fake Airtable server\n"
    "  fake-dust      run the fake Dust server\n"
    "  (these three run airdust-fakes, built with -DAD_WITH_FAKES=ON)\n"
    "\n"
    "  airdust <command> --help   options of a command\n"
    "  airdust --version\n"
    "\n"
    "Exit codes: 0 everything delivered, 1 fatal error, 2 usage error,\n"
    "3 partial (some tables or records failed), 130 interrupted.\n"
    "Docs: docs/getting-started.md, docs/config.md, docs/jsonl.md,\n"
    "docs/airbyte.md.\n";

/* True for the commands airdust-fakes runs. */
static int ad_cli_is_fake_cmd(const char *name) {
  return strcmp(name, "demo") == 0 || strcmp(name, "fake-airtable") == 0 ||
         strcmp(name, "fake-dust") == 0;
}

/* `airdust demo|fake-airtable|fake-dust …` becomes airdust-fakes with the
 * same argv, found next to this executable (the build tree puts both in
 * one folder; PATH is not searched, so a stray copy elsewhere is never
 * run). execv rather than a child: the fakes get the signals (bench stops
 * them with SIGTERM by pid) and the exit code is their own. argv[0] stays
 * ours, so their usage texts still read "airdust fake-dust". Returns only
 * on failure. */
static int ad_cli_exec_fakes(char **argv) {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  char *slash;

  if (n > 0) {
    path[n] = '\0';
    slash = strrchr(path, '/');
    if (slash != NULL &&
        (size_t)(slash + 1 - path) + sizeof(AD_CLI_FAKES_PROGRAM) <=
            sizeof(path)) {
      memcpy(slash + 1, AD_CLI_FAKES_PROGRAM, sizeof(AD_CLI_FAKES_PROGRAM));
      execv(path, argv);
      if (errno != ENOENT) {
        fprintf(stderr, "airdust %s: cannot run %s: %s\n", argv[1], path,
                strerror(errno));
        return 1;
      }
    }
  }
  fprintf(stderr,
          "airdust %s: this build has no fakes (configure with "
          "-DAD_WITH_FAKES=ON, or run `make demo`)\n",
          argv[1]);
  return AD_CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  ad_cli_opts_t o;
  ad_cli_demo_t d;
  int rc;

  if (argc < 2)
    return ad_cli_usage_error("a command is needed");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(ad_cli_usage, stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("airdust %s\n", ad_version());
    return 0;
  }
  if (ad_cli_is_fake_cmd(argv[1]))
    return ad_cli_exec_fakes(argv);
  if (strcmp(argv[1], "airbyte") == 0)
    return ad_cli_airbyte(argc - 1, argv + 1);
  if ((rc = ad_cli_parse(argv[1], argc - 1, argv + 1, &o, &d)) >= 0)
    return rc;
  return ad_cli_run(&o);
}
