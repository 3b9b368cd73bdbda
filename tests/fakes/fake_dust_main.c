/* The fake Dust as a standalone server, for benchmarks and manual runs:
 * prints its URL, serves until SIGINT or SIGTERM, then prints its counters
 * (those of GET /_fake/counters) as one JSON line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_dust.h"
#include "fake_server.h"

static void usage(FILE *out, const char *prog) {
  fprintf(out,
          "usage: %s [options]\n"
          "  --port N               listen on 127.0.0.1:N (default: any)\n"
          "  --key K                accepted API key (sk-fake0123456789)\n"
          "  --workspace W --space S --data-source D   ids (wFake, vltFake, "
          "dsFake)\n"
          "  --documents-per-minute N   per workspace (120; 0 = off)\n"
          "  --max-body N           tables and rows body limit (1048576)\n"
          "  --latency-ms N         added to every answer\n"
          "  --fail-5xx F --drop F  fault fractions (0..1)\n"
          "  --non-json F           fraction answered 200 with an HTML page\n"
          "  --rows-500 F           fraction of rows writes answered 500\n"
          "  --slow F --slow-ms N   fraction answered N ms later still\n"
          "  --apply-late F         fraction of writes applied --slow-ms late,\n"
          "                         after later ones (queued work, out of order)\n"
          "  --max-rps N            429 above N requests/s (0 = off)\n"
          "  --discard-values       keep row ids and column types, not values\n"
          "  --seed N\n",
          prog);
}

int ad_fake_dust_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"port", 1, 0, 'p'},        {"key", 1, 0, 'k'},
      {"workspace", 1, 0, 'w'},   {"space", 1, 0, 's'},
      {"data-source", 1, 0, 'd'}, {"documents-per-minute", 1, 0, 'm'},
      {"max-body", 1, 0, 'b'},    {"latency-ms", 1, 0, 'l'},
      {"fail-5xx", 1, 0, 'f'},    {"drop", 1, 0, 'x'},
      {"max-rps", 1, 0, 'r'},     {"seed", 1, 0, 'S'},
      {"discard-values", 0, 0, 'V'}, {"help", 0, 0, 'h'},
      {"non-json", 1, 0, 'J'},    {"rows-500", 1, 0, 'E'},
      {"slow", 1, 0, 'L'},        {"slow-ms", 1, 0, 'M'},
      {"apply-late", 1, 0, 'A'},
      {0, 0, 0, 0}};
  ad_fake_dust_opts_t o;
  json_object *counters;
  ad_fake_dust_t *fd;
  sigset_t stop;
  int ch;

  ad_fake_dust_opts_default(&o);
  optind = 0; /* the CLI may have scanned its own options */
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'p': o.port = (uint16_t)atoi(optarg); break;
    case 'k': o.api_key = optarg; break;
    case 'w': o.workspace_id = optarg; break;
    case 's': o.space_id = optarg; break;
    case 'd': o.data_source_id = optarg; break;
    case 'm': o.documents_per_minute = atoi(optarg); break;
    case 'b': o.max_body = strtoull(optarg, NULL, 10); break;
    case 'l': o.latency_ms = atoi(optarg); break;
    case 'f': o.fail_5xx = atof(optarg); break;
    case 'x': o.drop = atof(optarg); break;
    case 'r': o.max_rps = atoi(optarg); break;
    case 'S': o.seed = strtoull(optarg, NULL, 10); break;
    case 'V': o.discard_values = 1; break;
    case 'J': o.non_json = atof(optarg); break;
    case 'E': o.rows_500 = atof(optarg); break;
    case 'L': o.slow = atof(optarg); break;
    case 'M': o.slow_ms = atoi(optarg); break;
    case 'A': o.apply_late = atof(optarg); break;
    case 'h': usage(stdout, argv[0]); return 0;
    default: usage(stderr, argv[0]); return 2;
    }
  }
  ad_fake_server_block_stop_signals(&stop);
  fd = ad_fake_dust_start(&o);
  if (fd == NULL) {
    fprintf(stderr, "fake-dust: cannot start\n");
    return 1;
  }
  printf("%s\n", ad_fake_dust_url(fd));
  fflush(stdout);
  ad_fake_server_wait_stop_signal(&stop);
  counters = ad_fake_dust_counters_json(fd);
  printf("%s\n", json_object_to_json_string_ext(counters, JSON_C_TO_STRING_PLAIN));
  fflush(stdout);
  json_object_put(counters);
  ad_fake_dust_stop(fd);
  return 0;
}
