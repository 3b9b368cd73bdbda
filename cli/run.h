/* Running one sync (or check) from the command line: signals, progress,
 * logs, --stats-json and the exit code. */
#ifndef AD_CLI_RUN_H
#define AD_CLI_RUN_H

#define AD_CLI_EXIT_USAGE 2
#define AD_CLI_EXIT_INTERRUPTED 130

typedef struct ad_cli_opts {
  const char *config_path; /* or config_text */
  const char *config_text;
  const char *stats_path;  /* --stats-json, NULL: none */
  const char *state_path;  /* sync --state, NULL: the default file */
  int no_state;            /* sync --no-state */
  int allow_mass_delete;   /* sync --allow-mass-delete */
  int progress;            /* -1 auto (stderr is a terminal), 0 off, 1 on */
  int log_json;
  int log_level;
  int check;
  int summary;             /* print the final summary on stdout */
} ad_cli_opts_t;

void ad_cli_opts_default(ad_cli_opts_t *o);

/* Runs to the end and returns the exit code of design.md section 7 (130
 * after SIGINT/SIGTERM). */
int ad_cli_run(const ad_cli_opts_t *o);

#endif
