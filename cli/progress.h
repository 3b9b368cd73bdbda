/* The CLI's live progress line and its final summary. */
#ifndef AD_CLI_PROGRESS_H
#define AD_CLI_PROGRESS_H

#include <stdio.h>

#include "airdust.h"

typedef struct ad_cli_progress {
  FILE *out;
  int enabled; /* draw the live line */
  int drawn;   /* a line is on screen now */
  double last_s, rate;
  uint64_t last_written;
} ad_cli_progress_t;

void ad_cli_progress_init(ad_cli_progress_t *p, FILE *out, int enabled);

/* Redraws the line (the caller calls it at most 10 times a second). */
void ad_cli_progress_draw(ad_cli_progress_t *p, const ad_sync_progress_t *s);

/* Erases the line, so other output starts on a clean row. */
void ad_cli_progress_clear(ad_cli_progress_t *p);

/* The final summary: totals, then one row per base, then the failures
 * (the first few), from the stats document. */
void ad_cli_summary(FILE *out, const ad_sync_progress_t *s,
                    const char *stats_json);

#endif
