#include "fake_server.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

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
