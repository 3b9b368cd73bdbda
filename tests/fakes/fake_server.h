/* What the fake servers share: how they run libmicrohttpd and read the
 * raw request path. */
#ifndef AD_FAKE_SERVER_H
#define AD_FAKE_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

typedef struct ad_fake_server_cbs {
  MHD_AccessHandlerCallback handler;
  void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *c);
  MHD_RequestCompletedCallback completed;
  MHD_NotifyConnectionCallback connection; /* may be NULL */
} ad_fake_server_cbs_t;

/* Starts a thread-per-connection daemon on port (0: any) with the MHD
 * callbacks cbs (all given cls), and writes "http://127.0.0.1:PORT" into
 * url. NULL on failure. */
struct MHD_Daemon *ad_fake_server_start(uint16_t port,
                                        const ad_fake_server_cbs_t *cbs,
                                        void *cls, char *url, size_t urllen);

/* Milliseconds on CLOCK_MONOTONIC (the clock uv_hrtime reads). */
uint64_t ad_fake_now_ms(void);

/* When the request on conn reached this machine: the kernel's receive time
 * of the connection's latest bytes (TCP_INFO), not the moment a fake's
 * thread got to run. The limits count arrivals, as the real servers do,
 * and on a loaded 2-core machine the fakes' threads run tens of ms late;
 * a real server's CPU is not shared with its client. Falls back to now.
 * lag_ms (may be NULL) gets how long ago that was. Call it as soon as the
 * request line is read, before anything else arrives on conn. */
uint64_t ad_fake_arrival_ms(struct MHD_Connection *conn, uint64_t *lag_ms);

/* One virtual worker that serves requests one at a time, as a busy API
 * gateway does: a request is stamped when the worker gets to it, not when
 * it arrived, so a burst is stamped late and spread out. Virtual: the
 * fake's threads do no such work, they only compute when it would be
 * done. Not thread-safe: the fakes hold their lock. */
typedef struct ad_fake_worker {
  uint64_t free_us; /* when the worker is done with what it took so far */
} ad_fake_worker_t;

/* The worker takes a request that arrived at arrival_ms (as given by
 * ad_fake_arrival_ms) and works service_us on it: returns its stamp,
 * max(arrival, when the worker is free), in ms (rounded down, like
 * ad_fake_now_ms, so never before the arrival). *done_ms gets when the
 * worker is done with it, rounded up. Requests are served in the order of
 * the calls. */
uint64_t ad_fake_worker_take(ad_fake_worker_t *w, uint64_t arrival_ms,
                             uint64_t service_us, uint64_t *done_ms);

/* Returns once latency_ms have passed since arrival_ms. A handler calls it
 * after queuing its answer (MHD sends it once the handler returns), so the
 * work of answering is part of the latency, as on a real server, rather
 * than added to it. */
void ad_fake_hold(uint64_t arrival_ms, int latency_ms);

/* Splits a raw request URI ("/a/b%2Fc?x") into at most max un-escaped path
 * segments of < 256 bytes. Returns their number, or -1 when the path has
 * more, or a segment is too long. (The raw URI is needed because MHD
 * un-escapes paths, and %2F would split a segment.) */
int ad_fake_split_path(const char *raw, char seg[][256], int max);

/* The standalone programs: block SIGINT and SIGTERM before the daemon
 * starts (its threads inherit the mask), then wait for one of them. */
void ad_fake_server_block_stop_signals(sigset_t *set);
void ad_fake_server_wait_stop_signal(const sigset_t *set);

/* The fakes as programs (the standalone binaries and `airdust
 * fake-airtable|fake-dust`): parse argv (argv[0] names the program in the
 * usage text), print the URL, serve until SIGINT or SIGTERM, print the
 * counters. Return the exit status. */
int ad_fake_airtable_main(int argc, char **argv);
int ad_fake_dust_main(int argc, char **argv);

#endif
