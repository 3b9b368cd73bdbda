#include "testserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"

typedef struct ad_ts_upload {
  ad_buf_t body;
} ad_ts_upload_t;

static void ad_ts_on_connection(void *cls, struct MHD_Connection *conn,
                                void **socket_context,
                                enum MHD_ConnectionNotificationCode code) {
  ad_testserver_t *s = cls;
  (void)conn;
  (void)socket_context;
  pthread_mutex_lock(&s->mu);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    s->accepted++;
    if (++s->open_conns > s->peak_conns)
      s->peak_conns = s->open_conns;
  } else {
    s->open_conns--;
  }
  pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result ad_ts_reply(struct MHD_Connection *conn,
                                   unsigned int status, const char *body,
                                   size_t len, const char *retry_after) {
  struct MHD_Response *res;
  enum MHD_Result ret;

  res = MHD_create_response_from_buffer(len, (void *)body,
                                        MHD_RESPMEM_MUST_COPY);
  if (res == NULL)
    return MHD_NO;
  if (retry_after != NULL)
    MHD_add_response_header(res, "Retry-After", retry_after);
  ret = MHD_queue_response(conn, status, res);
  MHD_destroy_response(res);
  return ret;
}

static const char *ad_ts_arg(struct MHD_Connection *conn, const char *name) {
  return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result ad_ts_get(struct MHD_Connection *conn,
                                 const char *url) {
  char tmp[256];
  const char *v;

  if (strcmp(url, "/echo") == 0) {
    v = ad_ts_arg(conn, "id");
    snprintf(tmp, sizeof(tmp), "id=%s", v ? v : "");
    return ad_ts_reply(conn, 200, tmp, strlen(tmp), NULL);
  }
  if (strcmp(url, "/slow") == 0) {
    v = ad_ts_arg(conn, "ms");
    usleep((useconds_t)(v ? atoi(v) : 100) * 1000);
    return ad_ts_reply(conn, 200, "slow", 4, NULL);
  }
  if (strcmp(url, "/status") == 0) {
    v = ad_ts_arg(conn, "code");
    snprintf(tmp, sizeof(tmp), "{\"error\":{\"type\":\"TEST\"}}");
    return ad_ts_reply(conn, v ? (unsigned)atoi(v) : 500, tmp, strlen(tmp),
                       ad_ts_arg(conn, "retry_after"));
  }
  if (strcmp(url, "/drop") == 0)
    return MHD_NO;
  if (strcmp(url, "/big") == 0) {
    size_t n;
    char *big;
    enum MHD_Result r;
    v = ad_ts_arg(conn, "bytes");
    n = v ? (size_t)atol(v) : 0;
    big = malloc(n + 1);
    if (big == NULL)
      return MHD_NO;
    memset(big, 'x', n);
    r = ad_ts_reply(conn, 200, big, n, NULL);
    free(big);
    return r;
  }
  if (strcmp(url, "/header") == 0) {
    v = ad_ts_arg(conn, "name");
    v = v ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, v) : NULL;
    return ad_ts_reply(conn, v ? 200 : 404, v ? v : "", v ? strlen(v) : 0,
                       NULL);
  }
  return ad_ts_reply(conn, 404, "not found", 9, NULL);
}

static enum MHD_Result ad_ts_handler(void *cls, struct MHD_Connection *conn,
                                     const char *url, const char *method,
                                     const char *version,
                                     const char *upload_data,
                                     size_t *upload_data_size, void **ctx) {
  ad_testserver_t *s = cls;
  ad_ts_upload_t *up = *ctx;
  enum MHD_Result r;

  (void)version;
  /* Answer on the second call only: libmicrohttpd 0.9.75 closes the
   * connection (no keep-alive) when a response is queued in the first. */
  if (up == NULL) {
    up = calloc(1, sizeof(*up));
    if (up == NULL)
      return MHD_NO;
    ad_buf_init(&up->body, 0);
    *ctx = up;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    ad_buf_append(&up->body, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  pthread_mutex_lock(&s->mu);
  s->requests++;
  pthread_mutex_unlock(&s->mu);
  if (strcmp(method, "POST") != 0)
    return ad_ts_get(conn, url);
  r = ad_ts_reply(conn, 200, up->body.data ? up->body.data : "",
                  up->body.len, NULL);
  return r;
}

static void ad_ts_completed(void *cls, struct MHD_Connection *conn,
                            void **ctx, enum MHD_RequestTerminationCode code) {
  ad_ts_upload_t *up = *ctx;
  (void)cls;
  (void)conn;
  (void)code;
  if (up != NULL) {
    ad_buf_free(&up->body);
    free(up);
    *ctx = NULL;
  }
}

int ad_testserver_start(ad_testserver_t *s) {
  const union MHD_DaemonInfo *info;
  struct MHD_Daemon *d;

  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->mu, NULL);
  d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
      0, NULL, NULL, ad_ts_handler, s, MHD_OPTION_NOTIFY_CONNECTION,
      ad_ts_on_connection, s, MHD_OPTION_NOTIFY_COMPLETED, ad_ts_completed, s,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
  if (d == NULL)
    return -1;
  info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  s->daemon = d;
  s->port = info->port;
  snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)s->port);
  return 0;
}

void ad_testserver_stop(ad_testserver_t *s) {
  if (s->daemon != NULL)
    MHD_stop_daemon(s->daemon);
  s->daemon = NULL;
  pthread_mutex_destroy(&s->mu);
}

void ad_testserver_counts(ad_testserver_t *s, long *peak, long *accepted,
                          long *requests) {
  pthread_mutex_lock(&s->mu);
  if (peak)
    *peak = s->peak_conns;
  if (accepted)
    *accepted = s->accepted;
  if (requests)
    *requests = s->requests;
  pthread_mutex_unlock(&s->mu);
}
