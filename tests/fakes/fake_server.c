#include "fake_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct MHD_Daemon *ad_fake_server_start(uint16_t port,
                                        const ad_fake_server_cbs_t *cbs,
                                        void *cls, char *url, size_t urllen) {
  const union MHD_DaemonInfo *info;
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, port,
      NULL, NULL, cbs->handler, cls, MHD_OPTION_URI_LOG_CALLBACK, cbs->uri_log,
      cls, MHD_OPTION_NOTIFY_COMPLETED, cbs->completed, cls,
      MHD_OPTION_NOTIFY_CONNECTION, cbs->connection, cls,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000, MHD_OPTION_END);
  if (d == NULL)
    return NULL;
  info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(url, urllen, "http://127.0.0.1:%u", (unsigned)info->port);
  return d;
}

uint64_t ad_fake_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* TCP_INFO counts in kernel ticks (4 ms at HZ=250, Debian's): the lag it
 * gives is up to a tick off either way. One tick less never puts an
 * arrival before the real one, so a client is never blamed for a request
 * it sent in time (e.g. the first after a penalty); at worst an arrival
 * reads 2 ticks late, inside the 10 ms a client keeps as margin. */
#define AD_FAKE_TICK_MS 4

uint64_t ad_fake_arrival_ms(struct MHD_Connection *conn, uint64_t *lag_ms) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  uint64_t now = ad_fake_now_ms(), lag = 0;
  struct tcp_info ti;
  socklen_t len = sizeof(ti);

  memset(&ti, 0, sizeof(ti));
  if (ci != NULL &&
      getsockopt(ci->connect_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
      len >= offsetof(struct tcp_info, tcpi_last_data_recv) +
                 sizeof(ti.tcpi_last_data_recv) &&
      ti.tcpi_last_data_recv <= now && ti.tcpi_last_data_recv > AD_FAKE_TICK_MS)
    lag = ti.tcpi_last_data_recv - AD_FAKE_TICK_MS;
  if (lag_ms != NULL)
    *lag_ms = lag;
  return now - lag;
}

uint64_t ad_fake_worker_take(ad_fake_worker_t *w, uint64_t arrival_ms,
                             uint64_t service_us, uint64_t *done_ms) {
  /* In microseconds: services are a few ms, and rounding each one to
   * whole ms would stretch or shrink a burst's spread by up to 30 %. */
  uint64_t start = arrival_ms * 1000 > w->free_us ? arrival_ms * 1000
                                                  : w->free_us;
  w->free_us = start + service_us;
  *done_ms = (w->free_us + 999) / 1000;
  return start / 1000;
}

void ad_fake_hold(uint64_t arrival_ms, int latency_ms) {
  uint64_t due = arrival_ms + (uint64_t)(latency_ms > 0 ? latency_ms : 0);
  uint64_t now;
  while ((now = ad_fake_now_ms()) < due)
    usleep((useconds_t)(due - now) * 1000);
}

int ad_fake_split_path(const char *raw, char seg[][256], int max) {
  const char *p = raw, *q;
  char *dec;
  int n = 0, len;

  while (*p == '/' && n < max) {
    p++;
    q = p + strcspn(p, "/?");
    dec = curl_easy_unescape(NULL, p, (int)(q - p), &len);
    if (dec == NULL || len >= 256) {
      curl_free(dec);
      return -1;
    }
    memcpy(seg[n], dec, (size_t)len + 1);
    curl_free(dec);
    n++;
    p = q;
  }
  return *p == '\0' || *p == '?' ? n : -1;
}

void ad_fake_server_block_stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, set, NULL);
}

void ad_fake_server_wait_stop_signal(const sigset_t *set) {
  int sig;
  while (sigwait(set, &sig) != 0)
    ;
}
