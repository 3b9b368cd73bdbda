/* airdust-fakes: the demo and both fake servers, the commands of airdust
 * that need the fakes (and so libmicrohttpd). They live here, in a program
 * built with -DAD_WITH_FAKES=ON and never installed, so that the airdust
 * binary ships without them; `airdust demo|fake-airtable|fake-dust` execs
 * this program with its own argv, and it answers exactly as those commands
 * did inside airdust. */
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "demo.h"
#include "fake_server.h"
#include "run.h"

static const char ad_fakes_usage[] =
    "usage: airdust-fakes <command> [options]\n"
    "\n"
    "The demo and the fake servers of airdust (also run as `airdust demo`,\n"
    "`airdust fake-airtable` and `airdust fake-dust`).\n"
    "\n"
    "commands:\n"
    "  demo           sync demo bases between in-process fakes of both APIs\n"
    "  fake-airtable  run the fake Airtable server\n"
    "  fake-dust      run the fake Dust server\n"
    "\n"
    "  airdust-fakes <command> --help   options of a command\n";

/* A fake's usage text names it "PROG fake-x", PROG being the last part of
 * argv[0]: "airdust" when airdust exec'd us (as before the split), else
 * "airdust-fakes". */
static int ad_fakes_server(int (*fake_main)(int, char **), const char *prog,
                           int argc, char **argv) {
  char name[128];
  snprintf(name, sizeof(name), "%s %s", prog, argv[0]);
  argv[0] = name;
  return fake_main(argc, argv);
}

int main(int argc, char **argv) {
  const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1
                                           : argv[0];
  ad_cli_opts_t o;
  ad_cli_demo_t d;
  int rc;

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    fputs(ad_fakes_usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? AD_CLI_EXIT_USAGE : 0;
  }
  if (strcmp(argv[1], "fake-airtable") == 0)
    return ad_fakes_server(ad_fake_airtable_main, prog, argc - 1, argv + 1);
  if (strcmp(argv[1], "fake-dust") == 0)
    return ad_fakes_server(ad_fake_dust_main, prog, argc - 1, argv + 1);
  if (strcmp(argv[1], "demo") != 0) {
    fprintf(stderr, "%s: unknown command \"%s\" (demo, fake-airtable or "
                    "fake-dust)\n", prog, argv[1]);
    return AD_CLI_EXIT_USAGE;
  }
  if ((rc = ad_cli_parse("demo", argc - 1, argv + 1, &o, &d)) >= 0)
    return rc;
  return ad_cli_demo(&d, &o);
}
