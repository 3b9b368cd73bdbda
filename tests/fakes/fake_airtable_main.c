/* The fake Airtable as a standalone server, for benchmarks and manual
 * runs: prints its URL, serves until SIGINT or SIGTERM, then prints its
 * counters (those of GET /_fake/counters) as one JSON line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_airtable.h"
#include "fake_server.h"

static void usage(FILE *out, const char *prog) {
  fprintf(out,
          "usage: %s [options]\n"
          "  --port N             listen on 127.0.0.1:N (default: any)\n"
          "  --token T            accepted bearer token\n"
          "  --seed N             dataset seed (default 1)\n"
          "  --bases N --tables N --records N   dataset size (2 x 2 x 250)\n"
          "  --bases-page-size N  bases per /v0/meta/bases page (1000)\n"
          "  --per-base-rps N --per-token-rps N  limits (5, 50; 0 = off)\n"
          "  --penalty-ms N       refusal after a 429 (30000)\n"
          "  --latency-ms N       added to every answer\n"
          "  --latency-jitter-ms N  plus uniform 0..N per answer (0)\n"
          "  --stamp kernel|worker  judge the limits on when the kernel got a\n"
          "                       request (default), or on when one worker of a\n"
          "                       busy gateway got to it (bursts stamped late)\n"
          "  --service-us N --service-jitter-us N   worker: time per request,\n"
          "                       N plus uniform 0..N (3200, 800)\n"
          "  --connect-us N       worker: more for a connection's first request (3200)\n"
          "  --fail-5xx F --drop F --truncate F   fault fractions (0..1)\n"
          "  --offset-ttl-ms N    offsets expire after N ms (0 = never)\n"
          "  --retry-after N      503 answers carry Retry-After: N\n"
          "  --billing-exhausted  every call gets the monthly-quota 429\n"
          "  --demo               serve the demo bases (\"Bug Tracking System\",\n"
          "                       \"Employee Bio Database\") instead\n"
          "  --mutate N           serve the dataset as random mutations drawn from\n"
          "                       seed N left it (a base a week later; said on stderr)\n"
          "  --mutate-kinds LIST  which: delete,edit,add,add-field,rename-field,\n"
          "                       retype-field,drop-table (default: all)\n"
          "  --mutate-share F     share of records, fields, tables changed (0.1)\n",
          prog);
}

/* "delete,edit,…" as AD_FAKE_MUT_ bits; 0 for a name it does not know. */
static unsigned mutation_kinds(const char *list) {
  static const struct {
    const char *name;
    unsigned bit;
  } names[] = {{"delete", AD_FAKE_MUT_DELETE},
               {"edit", AD_FAKE_MUT_EDIT},
               {"add", AD_FAKE_MUT_ADD},
               {"add-field", AD_FAKE_MUT_ADD_FIELD},
               {"rename-field", AD_FAKE_MUT_RENAME_FIELD},
               {"retype-field", AD_FAKE_MUT_RETYPE_FIELD},
               {"drop-table", AD_FAKE_MUT_DROP_TABLE},
               {"all", AD_FAKE_MUT_ALL}};
  unsigned kinds = 0;
  size_t i, len;

  while (*list != '\0') {
    len = strcspn(list, ",");
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
      if (strlen(names[i].name) == len && strncmp(names[i].name, list, len) == 0)
        break;
    if (i == sizeof(names) / sizeof(names[0]))
      return 0;
    kinds |= names[i].bit;
    list += len + (list[len] == ',');
  }
  return kinds;
}

int ad_fake_airtable_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"port", 1, 0, 'p'},          {"token", 1, 0, 'k'},
      {"seed", 1, 0, 's'},          {"bases", 1, 0, 'b'},
      {"tables", 1, 0, 't'},        {"records", 1, 0, 'r'},
      {"bases-page-size", 1, 0, 'P'}, {"per-base-rps", 1, 0, 'B'},
      {"per-token-rps", 1, 0, 'T'}, {"penalty-ms", 1, 0, 'y'},
      {"latency-ms", 1, 0, 'l'},    {"fail-5xx", 1, 0, 'f'},
      {"drop", 1, 0, 'd'},          {"truncate", 1, 0, 'x'},
      {"offset-ttl-ms", 1, 0, 'o'}, {"demo", 0, 0, 'D'},
      {"retry-after", 1, 0, 'R'},   {"billing-exhausted", 0, 0, 'Q'},
      {"stamp", 1, 0, 'S'},         {"service-us", 1, 0, 'u'},
      {"service-jitter-us", 1, 0, 'j'}, {"connect-us", 1, 0, 'c'},
      {"latency-jitter-ms", 1, 0, 'J'},
      {"mutate", 1, 0, 'M'},        {"mutate-kinds", 1, 0, 'K'},
      {"mutate-share", 1, 0, 'F'},
      {"help", 0, 0, 'h'},
      {0, 0, 0, 0}};
  ad_fake_airtable_opts_t o;
  ad_fake_mutation_t changed;
  json_object *counters;
  ad_fake_airtable_t *fa;
  sigset_t stop;
  int ch, mutate = 0;
  uint64_t mutate_seed = 0;
  unsigned kinds = AD_FAKE_MUT_ALL;
  double share = 0.1;

  ad_fake_airtable_opts_default(&o);
  optind = 0; /* the CLI may have scanned its own options */
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'p': o.port = (uint16_t)atoi(optarg); break;
    case 'k': o.token = optarg; break;
    case 's': o.seed = strtoull(optarg, NULL, 10); break;
    case 'b': o.bases = atoi(optarg); break;
    case 't': o.tables_per_base = atoi(optarg); break;
    case 'r': o.records_per_table = atoi(optarg); break;
    case 'P': o.bases_page_size = atoi(optarg); break;
    case 'B': o.per_base_rps = atoi(optarg); break;
    case 'T': o.per_token_rps = atoi(optarg); break;
    case 'y': o.penalty_ms = atoi(optarg); break;
    case 'l': o.latency_ms = atoi(optarg); break;
    case 'f': o.fail_5xx = atof(optarg); break;
    case 'd': o.drop = atof(optarg); break;
    case 'x': o.truncate = atof(optarg); break;
    case 'o': o.offset_ttl_ms = atoi(optarg); break;
    case 'D': o.demo = 1; break;
    case 'R': o.retry_after_s = atoi(optarg); break;
    case 'Q': o.billing_exhausted = 1; break;
    case 'S':
      if (strcmp(optarg, "kernel") == 0) {
        o.stamp_mode = AD_FAKE_STAMP_KERNEL;
      } else if (strcmp(optarg, "worker") == 0) {
        o.stamp_mode = AD_FAKE_STAMP_WORKER;
      } else {
        fprintf(stderr, "%s: --stamp must be kernel or worker, not \"%s\"\n",
                argv[0], optarg);
        return 2;
      }
      break;
    case 'u': o.service_us = atoi(optarg); break;
    case 'j': o.service_jitter_us = atoi(optarg); break;
    case 'c': o.connect_us = atoi(optarg); break;
    case 'J': o.latency_jitter_ms = atoi(optarg); break;
    case 'M':
      mutate = 1;
      mutate_seed = strtoull(optarg, NULL, 10);
      break;
    case 'K':
      if ((kinds = mutation_kinds(optarg)) == 0) {
        fprintf(stderr, "%s: --mutate-kinds: unknown kind in \"%s\"\n",
                argv[0], optarg);
        return 2;
      }
      break;
    case 'F': share = atof(optarg); break;
    case 'h': usage(stdout, argv[0]); return 0;
    default: usage(stderr, argv[0]); return 2;
    }
  }
  ad_fake_server_block_stop_signals(&stop);
  fa = ad_fake_airtable_start(&o);
  if (fa == NULL) {
    fprintf(stderr, "fake-airtable: cannot start\n");
    return 1;
  }
  if (mutate) {
    if (ad_fake_airtable_mutate(fa, mutate_seed, kinds, share, &changed) != 0) {
      fprintf(stderr, "fake-airtable: cannot mutate this dataset (the demo "
                      "stays as it is; share is 0..1)\n");
      ad_fake_airtable_stop(fa);
      return 2;
    }
    fprintf(stderr, "fake-airtable: mutated: %s\n", changed.summary);
  }
  printf("%s\n", ad_fake_airtable_url(fa));
  fflush(stdout);
  ad_fake_server_wait_stop_signal(&stop);
  counters = ad_fake_airtable_counters_json(fa);
  printf("%s\n", json_object_to_json_string_ext(counters, JSON_C_TO_STRING_PLAIN));
  fflush(stdout);
  json_object_put(counters);
  ad_fake_airtable_stop(fa);
  return 0;
}
