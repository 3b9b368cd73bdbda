/* The engine self-check run by `make demo` until the CLI's demo lands:
 * 4 "bases" x 15 requests through the keyed limiter (5/s per base, 50/s
 * per token) and the HTTP client to a loopback server, then the figures
 * and the stats JSON. Exits non-zero if anything did not complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http.h"
#include "limiter.h"
#include "stats.h"
#include "testserver.h"

#define NBASES 4
#define PER_BASE 15

typedef struct base_job {
  ad_limiter_key_t key;
  ad_limiter_req_t lreq;
  struct selfcheck *sc;
  int index;
  int sent;
  int ok;
  uint64_t first_us, last_us;
} base_job_t;

typedef struct selfcheck {
  uv_loop_t loop;
  ad_http_t http;
  ad_limiter_t limiter;
  ad_limiter_key_t token;
  base_job_t bases[NBASES];
  ad_testserver_t server;
  int remaining;
  int failures;
} selfcheck_t;

static void on_grant(ad_limiter_req_t *req, int status, void *data);

static void on_response(ad_http_req_t *req, const ad_http_response_t *res,
                        void *data) {
  base_job_t *job = data;
  selfcheck_t *sc = job->sc;
  (void)req;
  if (res->error == 0 && res->status == 200)
    job->ok++;
  else {
    sc->failures++;
    fprintf(stderr, "base %d: %s %s\n", job->index, ad_strerror(res->error),
            res->error_msg);
  }
  if (--sc->remaining == 0) {
    ad_http_close(&sc->http, NULL);
    ad_limiter_close(&sc->limiter, NULL);
  }
}

static void on_grant(ad_limiter_req_t *req, int status, void *data) {
  base_job_t *job = data;
  selfcheck_t *sc = job->sc;
  ad_http_request_t rq = {0};
  char url[128];
  uint64_t now = uv_hrtime() / 1000;

  if (status != 0)
    return;
  if (job->sent == 0)
    job->first_us = now;
  job->last_us = now;
  snprintf(url, sizeof(url), "%s/echo?id=%d-%d", sc->server.url, job->index,
           job->sent);
  rq.method = "GET";
  rq.url = url;
  if (ad_http_send(&sc->http, &rq, on_response, job, NULL) != 0) {
    sc->failures++;
    sc->remaining--;
  }
  if (++job->sent < PER_BASE)
    ad_limiter_acquire(&job->key, req, on_grant, job);
}

int main(void) {
  selfcheck_t sc;
  ad_stats_t stats;
  uint64_t start;
  char *json;
  int i, rc;

  memset(&sc, 0, sizeof(sc));
  if (ad_testserver_start(&sc.server) != 0) {
    fprintf(stderr, "selfcheck: cannot start the loopback server\n");
    return 1;
  }
  uv_loop_init(&sc.loop);
  ad_http_init(&sc.http, &sc.loop, NULL);
  ad_limiter_init(&sc.limiter, &sc.loop, NULL, NULL);
  ad_limiter_key_init(&sc.limiter, &sc.token, 50, 1020000, NULL);
  sc.remaining = NBASES * PER_BASE;
  printf("airdust engine self-check: %d bases x %d requests, 5/s per base, "
         "50/s per token, server %s\n\n",
         NBASES, PER_BASE, sc.server.url);
  start = uv_hrtime() / 1000;
  for (i = 0; i < NBASES; i++) {
    base_job_t *job = &sc.bases[i];
    job->sc = &sc;
    job->index = i;
    ad_limiter_key_init(&sc.limiter, &job->key, 5, 1020000, &sc.token);
    ad_limiter_acquire(&job->key, &job->lreq, on_grant, job);
  }
  uv_run(&sc.loop, UV_RUN_DEFAULT);

  printf("%-6s %8s %8s %12s\n", "base", "sent", "ok", "span (s)");
  for (i = 0; i < NBASES; i++) {
    base_job_t *job = &sc.bases[i];
    printf("%-6d %8d %8d %12.2f\n", i, job->sent, job->ok,
           (double)(job->last_us - job->first_us) / 1e6);
  }
  /* 15 grants at 5 per window need two full windows after the first burst. */
  printf("\nminimum span the limits allow: %.2f s per base\n\n",
         (PER_BASE / 5 - 1) * 1.02);
  ad_stats_init(&stats);
  stats.elapsed_s = (double)(uv_hrtime() / 1000 - start) / 1e6;
  stats.bases = NBASES;
  stats.requests_airtable = sc.http.requests_done;
  stats.bytes_received = sc.http.bytes_received;
  stats.bytes_sent = sc.http.bytes_sent;
  stats.rate_limit_wait_us = sc.limiter.waited_us;
  json = ad_stats_to_json(&stats, NULL);
  printf("%s\n", json);
  free(json);
  ad_stats_free(&stats);
  for (i = 0; i < NBASES; i++)
    ad_limiter_key_close(&sc.bases[i].key);
  ad_limiter_key_close(&sc.token);
  uv_run(&sc.loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&sc.loop);
  ad_testserver_stop(&sc.server);
  if (sc.failures != 0 || sc.remaining != 0 || rc != 0) {
    fprintf(stderr, "selfcheck: FAILED (%d failures)\n", sc.failures);
    return 1;
  }
  printf("selfcheck: OK\n");
  return 0;
}
