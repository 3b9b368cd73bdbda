/* A libmicrohttpd server on 127.0.0.1 for the engine's HTTP tests, running
 * in its own threads (one per connection, so slow routes block nothing).
 *
 * Routes: GET /echo?id=X -> "id=X"; POST /body -> the request body;
 * GET /slow?ms=N -> "slow" after N ms; GET /status?code=C[&retry_after=S];
 * GET /drop -> connection closed with no response; GET /big?bytes=N;
 * GET /header?name=H -> the value of request header H. */
#ifndef AD_TESTSERVER_H
#define AD_TESTSERVER_H

#include <pthread.h>
#include <stdint.h>

typedef struct ad_testserver {
  void *daemon;
  uint16_t port;
  char url[64]; /* "http://127.0.0.1:PORT" */
  pthread_mutex_t mu;
  long open_conns;
  long peak_conns;
  long accepted;
  long requests;
} ad_testserver_t;

int ad_testserver_start(ad_testserver_t *server);
void ad_testserver_stop(ad_testserver_t *server);

/* Snapshot of the counters under the server's lock. */
void ad_testserver_counts(ad_testserver_t *server, long *peak_conns,
                          long *accepted, long *requests);

#endif
