/* The options of sync, check and demo (design.md section 5). */
#include "command.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ad_cli_cmd {
  const char *name;
  const char *help;
} ad_cli_cmd_t;

static const char ad_cli_output_help[] =
    "  --stats-json FILE     write the run's stats (JSON) to FILE\n"
    "  --progress MODE       auto (default: when stderr is a terminal), on, "
    "off\n"
    "  --log-format FORMAT   text (default) or json (one object per line)\n"
    "  --log-level LEVEL     error, warn, info (default) or debug\n";

static const ad_cli_cmd_t ad_cli_cmds[] = {
    {"sync", "usage: airdust sync --config FILE [options]\n"
             "\n"
             "Syncs what FILE names (docs/config.md) from its source into "
             "its sink. A first\nSIGINT or SIGTERM stops reading and "
             "writes what was read (10 s at most); a\nsecond stops at "
             "once.\n"
             "\n"
             "Run again, it mirrors: only new and changed records are "
             "sent, and what is gone\nat the source is deleted from Dust "
             "(docs/mirror.md). An interrupted run is\nresumed by the "
             "next one.\n"
             "\n"
             "  --config FILE         the JSON config (required)\n"
             "  --state FILE          the sync's memory (SQLite; made if "
             "missing); default: one\n"
             "                        per source and destination in "
             "engine.state_dir\n"
             "                        ($XDG_STATE_HOME/airdust or "
             "~/.local/state/airdust)\n"
             "  --no-state            no memory: write every record, "
             "delete nothing\n"
             "  --allow-mass-delete   delete even when more than "
             "engine.max_delete_share (0.5)\n"
             "                        of a table's records, or of the "
             "tables, is gone\n"},
    {"check", "usage: airdust check --config FILE [options]\n"
              "\n"
              "Validates the config, both API keys and the scope (bases "
              "visible, the table,\n"
              "the Dust data source) without writing anything.\n"
              "\n"
              "  --config FILE         the JSON config (required)\n"},
    {"demo", "usage: airdust demo [options]\n"
             "\n"
             "Starts a fake Airtable and a fake Dust on 127.0.0.1, syncs "
             "every base through\n"
             "the real HTTP stack, and prints what landed in Dust.\n"
             "\n"
             "  --format FORMAT       tables (default) or documents\n"
             "  --bases N --tables N --records N\n"
             "                        a generated dataset of that size "
             "instead of the demo\n"
             "                        bases (\"Bug Tracking System\", "
             "\"Employee Bio Database\")\n"},
};

int ad_cli_usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "airdust: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'airdust --help'.\n");
  return AD_CLI_EXIT_USAGE;
}

static const ad_cli_cmd_t *ad_cli_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof(ad_cli_cmds) / sizeof(ad_cli_cmds[0]); i++)
    if (strcmp(ad_cli_cmds[i].name, name) == 0)
      return &ad_cli_cmds[i];
  return NULL;
}

static int ad_cli_level(const char *name) {
  static const char *const levels[] = {"error", "warn", "info", "debug"};
  int i;
  for (i = 0; i < 4; i++)
    if (strcmp(levels[i], name) == 0)
      return i;
  return -1;
}

/* A positive count for the demo's dataset options. */
static int ad_cli_count(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000)
    return -1;
  *out = (int)v;
  return 0;
}

enum { O_CONFIG = 1, O_STATE, O_NO_STATE, O_MASS_DELETE, O_STATS, O_PROGRESS, O_LOGFMT, O_LOGLVL, O_FORMAT,
       O_BASES, O_TABLES, O_RECORDS, O_HELP };

/* One option of cmd; returns 0 or an exit code. */
static int ad_cli_option(const ad_cli_cmd_t *cmd, int ch, const char *arg,
                         ad_cli_opts_t *o, ad_cli_demo_t *d) {
  int demo = strcmp(cmd->name, "demo") == 0;
  switch (ch) {
  case O_CONFIG:
    if (demo)
      return ad_cli_usage_error("demo takes no --config");
    o->config_path = arg;
    return 0;
  case O_STATE:
  case O_NO_STATE:
  case O_MASS_DELETE:
    if (strcmp(cmd->name, "sync") != 0)
      return ad_cli_usage_error("--state, --no-state and --allow-mass-delete "
                                "are sync options");
    if (ch == O_MASS_DELETE)
      o->allow_mass_delete = 1;
    else if ((ch == O_STATE && o->no_state) ||
             (ch == O_NO_STATE && o->state_path != NULL))
      return ad_cli_usage_error("--state and --no-state go one at a time");
    else if (ch == O_STATE)
      o->state_path = arg;
    else
      o->no_state = 1;
    return 0;
  case O_STATS:
    o->stats_path = arg;
    return 0;
  case O_PROGRESS:
    o->progress = strcmp(arg, "on") == 0    ? 1
                  : strcmp(arg, "off") == 0 ? 0
                  : strcmp(arg, "auto") == 0 ? -1
                                             : -2;
    return o->progress == -2
               ? ad_cli_usage_error("--progress: expected auto, on or off, "
                                    "got \"%s\"", arg)
               : 0;
  case O_LOGFMT:
    if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0)
      return ad_cli_usage_error("--log-format: expected text or json, got "
                                "\"%s\"", arg);
    o->log_json = strcmp(arg, "json") == 0;
    return 0;
  case O_LOGLVL:
    if ((o->log_level = ad_cli_level(arg)) < 0)
      return ad_cli_usage_error("--log-level: expected error, warn, info or "
                                "debug, got \"%s\"", arg);
    return 0;
  case O_FORMAT:
    if (!demo || (strcmp(arg, "tables") != 0 && strcmp(arg, "documents") != 0))
      return demo ? ad_cli_usage_error("--format: expected tables or "
                                       "documents, got \"%s\"", arg)
                  : ad_cli_usage_error("--format is a demo option");
    d->documents = strcmp(arg, "documents") == 0;
    return 0;
  case O_BASES:
  case O_TABLES:
  case O_RECORDS:
    if (!demo)
      return ad_cli_usage_error("--bases, --tables and --records are demo "
                                "options");
    if (ad_cli_count(arg, ch == O_BASES    ? &d->bases
                          : ch == O_TABLES ? &d->tables
                                           : &d->records) != 0)
      return ad_cli_usage_error("expected a count from 1 to 1000000, got "
                                "\"%s\"", arg);
    return 0;
  default:
    return AD_CLI_EXIT_USAGE;
  }
}

int ad_cli_parse(const char *name, int argc, char **argv, ad_cli_opts_t *o,
                 ad_cli_demo_t *d) {
  static const struct option longopts[] = {
      {"config", 1, 0, O_CONFIG},     {"stats-json", 1, 0, O_STATS},
      {"state", 1, 0, O_STATE},       {"no-state", 0, 0, O_NO_STATE},
      {"allow-mass-delete", 0, 0, O_MASS_DELETE},
      {"progress", 1, 0, O_PROGRESS}, {"log-format", 1, 0, O_LOGFMT},
      {"log-level", 1, 0, O_LOGLVL},  {"format", 1, 0, O_FORMAT},
      {"bases", 1, 0, O_BASES},       {"tables", 1, 0, O_TABLES},
      {"records", 1, 0, O_RECORDS},   {"help", 0, 0, O_HELP},
      {0, 0, 0, 0}};
  const ad_cli_cmd_t *cmd = ad_cli_find(name);
  int ch, rc;

  if (cmd == NULL)
    return ad_cli_usage_error("unknown command \"%s\"", name);
  ad_cli_opts_default(o);
  memset(d, 0, sizeof(*d));
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    if (ch == O_HELP) {
      printf("%s%s", cmd->help, ad_cli_output_help);
      return 0;
    }
    if (ch == '?' || ch == ':')
      return ch == ':' ? ad_cli_usage_error("%s: missing its value",
                                            argv[optind - 1])
                       : ad_cli_usage_error("%s: unknown option",
                                            argv[optind - 1]);
    if ((rc = ad_cli_option(cmd, ch, optarg, o, d)) != 0)
      return rc;
  }
  if (optind < argc)
    return ad_cli_usage_error("unexpected argument \"%s\"", argv[optind]);
  if (strcmp(cmd->name, "demo") == 0) {
    if ((d->bases || d->tables || d->records) &&
        !(d->bases && d->tables && d->records))
      return ad_cli_usage_error("--bases, --tables and --records go "
                                "together");
    return -1;
  }
  if (o->config_path == NULL)
    return ad_cli_usage_error("%s needs --config FILE", cmd->name);
  o->check = strcmp(cmd->name, "check") == 0;
  return -1;
}
