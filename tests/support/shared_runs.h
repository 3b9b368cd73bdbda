/* Several `airdust sync` processes against one pair of fakes in this
 * process: configs, spawning, waiting, killing, and the checks every
 * shared-limits test ends with. Each test gets a folder under /tmp with
 * the configs, each process's stats and log, and the state folder all
 * the processes share (the budget file, learned margins). */
#ifndef AD_SHARED_RUNS_H
#define AD_SHARED_RUNS_H

#include <sys/types.h>

#include <json-c/json.h>

#include "fake_airtable.h"
#include "fake_dust.h"

#define AD_RUNS_MAX 4
#define AD_RUNS_DUST_KEY "sk-fake0123456789"

typedef struct ad_runs {
  ad_fake_airtable_t *at;
  ad_fake_airtable_opts_t ao;
  ad_fake_dust_t *dust;
  ad_fake_dust_opts_t dop;
  char dir[64];
  const char *format;       /* "tables" */
  const char *source_extra; /* source members; default index_all */
  const char *rate_extra;   /* appended to rate_limits */
  const char *shared;       /* rate_limits.shared as JSON; NULL: default */
  pid_t pid[AD_RUNS_MAX];
  json_object *stats[AD_RUNS_MAX];
} ad_runs_t;

/* Fakes at their defaults (real limits; penalty 30 s), tables format. */
void ad_runs_setup(ad_runs_t *r, const char *name);
void ad_runs_teardown(ad_runs_t *r);
void ad_runs_start_fakes(ad_runs_t *r);

/* Writes process i's config from the fields above. */
void ad_runs_config(ad_runs_t *r, int i, const char *engine_extra);

/* `airdust check` with process i's config; its exit code. */
int ad_runs_check(ad_runs_t *r, int i);

void ad_runs_spawn(ad_runs_t *r, int i);

/* Waits (up to 150 s) for process i; its exit code, and its stats read.
 * Fails the test if it died by a signal or its log holds a key. */
int ad_runs_wait(ad_runs_t *r, int i);

/* SIGKILLs process i; 0 when it was still running. */
int ad_runs_kill(ad_runs_t *r, int i);

/* Process i read `records` and wrote them all, with no failure and no
 * 429 of its own. */
void ad_runs_assert_delivered(ad_runs_t *r, int i, long records);

long ad_runs_stat(ad_runs_t *r, int i, const char *key);

/* The fakes' view of every process together: no 429 sent, no second
 * with more than 5 requests of a base or 50 of the token, no document
 * refused. */
void ad_runs_assert_limits_held(ad_runs_t *r);

/* ms from the fake Airtable's first arrival to its last. */
long ad_runs_token_busy_ms(ad_runs_t *r);

#endif
