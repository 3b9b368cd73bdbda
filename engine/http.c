/* The glue between curl's multi socket API and libuv.
 *
 * curl tells us which sockets to watch (socket callback) and when to wake it
 * (timer callback); libuv tells curl when a socket is ready. Completed
 * transfers are read from curl_multi_info_read after every socket_action
 * (a socket's, at once; a timer's or a kick's, right after the loop's next
 * poll), never from inside a curl callback, so user callbacks may send,
 * cancel or close freely. */
#include "http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "error.h"

struct ad_http_req {
  ad_list_t node; /* in http->pending or http->active */
  ad_http_t *http;
  CURL *easy;
  struct curl_slist *headers;
  ad_http_cb cb;
  void *data;
  ad_buf_t body;
  long retry_after_s;
  int too_big;
  int active; /* handed to curl, as opposed to waiting in our FIFO */
  void (*on_wire)(void *data);
  void *wire_data;
  ad_list_t wire_node; /* in http->wired, from curl's pre-request callback */
  char errbuf[CURL_ERROR_SIZE];
};

/* A socket's poll lives as long as the socket when we opened it (owned):
 * between two transfers on a kept-alive connection it stays as it was,
 * because each uv_poll_start/stop costs epoll_ctl calls (a stop removes
 * the fd), several per request otherwise. Other sockets curl watches
 * (its resolver's) are closed without telling us, so theirs is closed on
 * CURL_POLL_REMOVE. */
typedef struct ad_http_sock {
  uv_poll_t poll;
  ad_list_t node; /* in http->sockets */
  curl_socket_t fd;
  ad_http_t *http;
  int events; /* what the poll watches now, 0 when stopped */
  int owned;  /* opened by ad_http_on_open: closed by ad_http_on_close */
  int idle;   /* no transfer uses it: curl said CURL_POLL_REMOVE */
} ad_http_sock_t;

/* How curl's transport failures map onto our error codes. */
static const struct {
  CURLcode code;
  int err;
} ad_http_errmap[] = {
    {CURLE_OPERATION_TIMEDOUT, AD_ETIMEDOUT},
    {CURLE_COULDNT_CONNECT, AD_ECONNREFUSED},
    {CURLE_COULDNT_RESOLVE_HOST, AD_EDNS},
    {CURLE_COULDNT_RESOLVE_PROXY, AD_EDNS},
    {CURLE_GOT_NOTHING, AD_ECONNRESET},
    {CURLE_RECV_ERROR, AD_ECONNRESET},
    {CURLE_SEND_ERROR, AD_ECONNRESET},
    {CURLE_PARTIAL_FILE, AD_ECONNRESET},
    {CURLE_HTTP2, AD_ECONNRESET},
    {CURLE_HTTP2_STREAM, AD_ECONNRESET},
    {CURLE_FILESIZE_EXCEEDED, AD_ETOOBIG},
    {CURLE_SSL_CONNECT_ERROR, AD_ETLS},
    {CURLE_PEER_FAILED_VERIFICATION, AD_ETLS},
    {CURLE_SSL_CERTPROBLEM, AD_ETLS},
    {CURLE_SSL_CACERT_BADFILE, AD_ETLS},
    {CURLE_OUT_OF_MEMORY, AD_ENOMEM},
    {CURLE_ABORTED_BY_CALLBACK, AD_ECANCELED},
};

static int ad_http_map_error(CURLcode code) {
  size_t i;
  for (i = 0; i < sizeof(ad_http_errmap) / sizeof(ad_http_errmap[0]); i++)
    if (ad_http_errmap[i].code == code)
      return ad_http_errmap[i].err;
  return AD_ETRANSPORT;
}

char *ad_http_bearer(const char *key) {
  static const char prefix[] = "Authorization: Bearer ";
  size_t len = strlen(key);
  char *h = malloc(sizeof(prefix) + len);
  if (h == NULL)
    return NULL;
  memcpy(h, prefix, sizeof(prefix) - 1);
  memcpy(h + sizeof(prefix) - 1, key, len + 1);
  return h;
}

void ad_http_bearer_free(char *header) {
  if (header == NULL)
    return;
  memset(header, 0, strlen(header));
  free(header);
}

int ad_http_error_transient(int error) {
  return error == AD_ETIMEDOUT || error == AD_ECONNREFUSED ||
         error == AD_ECONNRESET || error == AD_ETRANSPORT || error == AD_EDNS;
}

void ad_http_opts_default(ad_http_opts_t *opts) {
  memset(opts, 0, sizeof(*opts));
  opts->max_connections = 64;
  opts->connect_timeout_ms = 10000;
  opts->timeout_ms = 60000;
  opts->max_response_bytes = 64u << 20;
}

static void ad_http_drain(ad_http_t *http);
static void ad_http_wired(ad_http_t *http);
static int ad_http_admit(ad_http_t *http);
static void ad_http_teardown(ad_http_t *http);

static void ad_http_release_handle(ad_http_t *http) {
  if (--http->open_handles == 0 && http->close_cb != NULL)
    http->close_cb(http);
}

static void ad_http_sock_closed(uv_handle_t *handle) {
  ad_http_sock_t *sock = handle->data;
  ad_http_t *http = sock->http;
  free(sock);
  ad_http_release_handle(http);
}

static ad_http_sock_t *ad_http_sock_find(ad_http_t *http, curl_socket_t fd) {
  return fd >= 0 && (size_t)fd < http->nby_fd ? http->by_fd[fd] : NULL;
}

static void ad_http_sock_close(ad_http_sock_t *sock) {
  ad_http_t *http = sock->http;

  if (ad_http_sock_find(http, sock->fd) == sock)
    http->by_fd[sock->fd] = NULL;
  ad_list_remove(&sock->node);
  uv_close((uv_handle_t *)&sock->poll, ad_http_sock_closed);
}

static ad_http_sock_t *ad_http_sock_new(ad_http_t *http, curl_socket_t fd) {
  ad_http_sock_t *sock, **grown;
  size_t n;

  if ((size_t)fd >= http->nby_fd) {
    n = http->nby_fd ? http->nby_fd : 64;
    while (n <= (size_t)fd)
      n *= 2;
    grown = realloc(http->by_fd, n * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    memset(grown + http->nby_fd, 0, (n - http->nby_fd) * sizeof(*grown));
    http->by_fd = grown;
    http->nby_fd = n;
  }
  sock = calloc(1, sizeof(*sock));
  if (sock == NULL)
    return NULL;
  if (uv_poll_init_socket(http->loop, &sock->poll, fd) != 0) {
    free(sock);
    return NULL;
  }
  sock->fd = fd;
  sock->http = http;
  sock->poll.data = sock;
  ad_list_insert_tail(&http->sockets, &sock->node);
  http->open_handles++;
  http->by_fd[fd] = sock;
  return sock;
}

static void ad_http_on_poll(uv_poll_t *poll, int status, int events);

/* Watches events (0: none), touching the poll only when they change. */
static int ad_http_sock_watch(ad_http_sock_t *sock, int events) {
  int rc;

  if (events == sock->events)
    return 0;
  sock->http->poll_updates++;
  rc = events == 0 ? uv_poll_stop(&sock->poll)
                   : uv_poll_start(&sock->poll, events, ad_http_on_poll);
  sock->events = rc == 0 ? events : 0;
  return rc;
}

static void ad_http_on_poll(uv_poll_t *poll, int status, int events) {
  ad_http_sock_t *sock = poll->data;
  ad_http_t *http = sock->http;
  int flags = 0, running;

  if (sock->idle) { /* the server closed a kept-alive connection, or spoke
                       out of turn: curl sees that when it next uses it */
    ad_http_sock_watch(sock, 0);
    return;
  }
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  curl_multi_socket_action(http->multi, sock->fd, flags, &running);
  ad_http_wired(http);
  ad_http_drain(http);
}

static int ad_http_on_socket(CURL *easy, curl_socket_t fd, int what,
                             void *userp, void *socketp) {
  ad_http_t *http = userp;
  ad_http_sock_t *sock = socketp != NULL ? socketp : ad_http_sock_find(http, fd);
  int events = 0;

  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (sock == NULL)
      return 0;
    curl_multi_assign(http->multi, fd, NULL);
    if (!sock->owned) {
      ad_http_sock_close(sock);
      return 0;
    }
    sock->idle = 1; /* watching for writable would only wake us at once */
    return ad_http_sock_watch(sock, sock->events & UV_READABLE) == 0 ? 0 : -1;
  }
  if (sock == NULL && (sock = ad_http_sock_new(http, fd)) == NULL)
    return -1;
  if (socketp == NULL)
    curl_multi_assign(http->multi, fd, sock);
  sock->idle = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
    events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
    events |= UV_WRITABLE;
  return ad_http_sock_watch(sock, events) == 0 ? 0 : -1;
}

/* curl's socket(): the poll is made now and lives until ad_http_on_close. */
static curl_socket_t ad_http_on_open(void *clientp, curlsocktype purpose,
                                     struct curl_sockaddr *addr) {
  ad_http_t *http = clientp;
  ad_http_sock_t *sock;
  curl_socket_t fd;

  (void)purpose;
  fd = socket(addr->family, addr->socktype, addr->protocol);
  if (fd == CURL_SOCKET_BAD)
    return fd;
  if ((sock = ad_http_sock_new(http, fd)) == NULL) {
    close(fd);
    return CURL_SOCKET_BAD;
  }
  sock->owned = 1;
  sock->idle = 1;
  http->connections_opened++;
  return fd;
}

/* The poll goes first: uv_close drops the fd from epoll at once, before
 * its number can be handed to a new socket. */
static int ad_http_on_close(void *clientp, curl_socket_t fd) {
  ad_http_sock_t *sock = ad_http_sock_find(clientp, fd);

  if (sock != NULL)
    ad_http_sock_close(sock);
  return close(fd);
}

/* What curl finished outside libuv's poll phase (inside ad_http_send's
 * kick, or on curl's timer) is handed over from a check callback, which
 * runs right after the poll, and the idle handle makes that poll return
 * at once. Not from a timer: libuv 1.44 runs due timers at the top of an
 * iteration and then polls with a blocking timeout, so a uv_run(UV_RUN_ONCE)
 * whose timer had delivered the answer went on to sleep in epoll_wait until
 * some unrelated event (libuv issue 3686; 1.45 runs timers after the poll,
 * PR 4026). That is why answers seemed to arrive only when a test's 20 s
 * deadline fired. */
static void ad_http_on_no_block(uv_idle_t *idle) { (void)idle; }

static void ad_http_on_handover(uv_check_t *check) {
  ad_http_t *http = check->data;
  uv_idle_stop(&http->no_block);
  uv_check_stop(&http->handover);
  ad_http_drain(http);
}

static void ad_http_handover_soon(ad_http_t *http) {
  uv_idle_start(&http->no_block, ad_http_on_no_block);
  uv_check_start(&http->handover, ad_http_on_handover);
}

static void ad_http_on_timer(uv_timer_t *timer) {
  ad_http_t *http = timer->data;
  int running;
  curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  ad_http_wired(http);
  ad_http_handover_soon(http);
}

static int ad_http_on_timeout(CURLM *multi, long timeout_ms, void *userp) {
  ad_http_t *http = userp;
  (void)multi;
  if (timeout_ms < 0)
    uv_timer_stop(&http->timer);
  else /* 0 would re-enter curl from its own callback on libuv < 1.48 */
    uv_timer_start(&http->timer, ad_http_on_timer,
                   timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
  return 0;
}

int ad_http_init(ad_http_t *http, uv_loop_t *loop,
                 const ad_http_opts_t *opts) {
  CURLM *multi;

  memset(http, 0, sizeof(*http));
  if (opts != NULL)
    http->opts = *opts;
  else
    ad_http_opts_default(&http->opts);
  if (http->opts.max_connections <= 0 || http->opts.max_per_host < 0 ||
      http->opts.max_inflight < 0)
    return AD_EINVAL;
  if (http->opts.max_inflight == 0)
    http->opts.max_inflight = http->opts.max_connections;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return AD_ENOMEM;
  multi = curl_multi_init();
  if (multi == NULL) {
    curl_global_cleanup();
    return AD_ENOMEM;
  }
  http->loop = loop;
  http->multi = multi;
  ad_list_init(&http->pending);
  ad_list_init(&http->active);
  ad_list_init(&http->sockets);
  ad_list_init(&http->wired);
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, ad_http_on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, http);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, ad_http_on_timeout);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, http);
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    http->opts.max_connections);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, http->opts.max_connections);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    http->opts.max_per_host);
  curl_multi_setopt(multi, CURLMOPT_PIPELINING,
                    http->opts.disable_http2 ? CURLPIPE_NOTHING
                                             : CURLPIPE_MULTIPLEX);
  uv_timer_init(loop, &http->timer);
  http->timer.data = http;
  uv_check_init(loop, &http->handover);
  http->handover.data = http;
  uv_idle_init(loop, &http->no_block);
  http->no_block.data = http;
  http->open_handles = 3;
  return 0;
}

/* Runs on_wire for the requests curl has written since the last call.
 * A request is stamped once its bytes went to the kernel, never before:
 * had the process been paused between the stamp and the write (a busy
 * machine, a VM's stolen time), the server would see the next window's
 * requests closer than the limiter meant. Called at the next request's
 * pre-request callback (curl has written this one by then) and after
 * every curl_multi_socket_action. */
static void ad_http_wired(ad_http_t *http) {
  ad_list_t *n;
  ad_http_req_t *req;

  while ((n = ad_list_head(&http->wired)) != NULL) {
    req = ad_container_of(n, ad_http_req_t, wire_node);
    ad_list_remove(n);
    req->on_wire(req->wire_data);
  }
}

static int ad_http_on_prereq(void *userp, char *remote_ip, char *local_ip,
                             int remote_port, int local_port) {
  ad_http_req_t *req = userp;
  (void)remote_ip, (void)local_ip, (void)remote_port, (void)local_port;
  ad_http_wired(req->http);
  ad_list_insert_tail(&req->http->wired, &req->wire_node);
  return CURL_PREREQFUNC_OK;
}

static size_t ad_http_on_body(char *ptr, size_t size, size_t n, void *userp) {
  ad_http_req_t *req = userp;
  if (ad_buf_append(&req->body, ptr, size * n) != 0) {
    req->too_big = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  return size * n;
}

/* Retry-After is either delta-seconds or an HTTP-date. */
static long ad_http_parse_retry_after(const char *v, size_t len) {
  char tmp[64];
  char *end;
  long secs;
  time_t when;

  while (len > 0 && isspace((unsigned char)v[len - 1]))
    len--;
  while (len > 0 && isspace((unsigned char)*v))
    v++, len--;
  if (len == 0 || len >= sizeof(tmp))
    return -1;
  memcpy(tmp, v, len);
  tmp[len] = '\0';
  secs = strtol(tmp, &end, 10);
  if (end != tmp && *end == '\0')
    return secs < 0 ? 0 : secs;
  when = curl_getdate(tmp, NULL);
  if (when == -1)
    return -1;
  secs = (long)(when - time(NULL));
  return secs < 0 ? 0 : secs;
}

static size_t ad_http_on_header(char *ptr, size_t size, size_t n,
                                void *userp) {
  static const char name[] = "retry-after:";
  ad_http_req_t *req = userp;
  size_t len = size * n;

  if (len > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0)
    req->retry_after_s = ad_http_parse_retry_after(
        ptr + sizeof(name) - 1, len - (sizeof(name) - 1));
  return len;
}

char *ad_http_take_body(ad_http_req_t *req, size_t *len) {
  return ad_buf_steal(&req->body, len);
}

static void ad_http_req_free(ad_http_req_t *req) {
  ad_list_remove(&req->wire_node); /* written, never told: it is over */
  if (req->easy != NULL)
    curl_easy_cleanup(req->easy);
  curl_slist_free_all(req->headers);
  ad_buf_free(&req->body);
  free(req);
}

static int ad_http_add_header(ad_http_req_t *req, const char *line) {
  struct curl_slist *next = curl_slist_append(req->headers, line);
  if (next == NULL)
    return AD_ENOMEM;
  req->headers = next;
  return 0;
}

static int ad_http_req_setup(ad_http_req_t *req, const ad_http_request_t *rq) {
  const ad_http_opts_t *o = &req->http->opts;
  const char *const *h;
  CURL *e;

  for (h = rq->headers; h != NULL && *h != NULL; h++) {
    if (strpbrk(*h, "\r\n") != NULL) /* never let a value split a header */
      return AD_EINVAL;
    if (ad_http_add_header(req, *h) != 0)
      return AD_ENOMEM;
  }
  /* No "Expect: 100-continue" round trip before bodies. */
  if (ad_http_add_header(req, "Expect:") != 0)
    return AD_ENOMEM;
  e = req->easy = curl_easy_init();
  if (e == NULL)
    return AD_ENOMEM;
  curl_easy_setopt(e, CURLOPT_PRIVATE, req);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, ad_http_on_open);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, req->http);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, ad_http_on_close);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, req->http);
  if (rq->on_wire != NULL) {
    req->on_wire = rq->on_wire;
    req->wire_data = rq->wire_data;
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, ad_http_on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, req);
  }
  /* Certificates are always verified: nothing in the config turns this off
   * (curl's defaults, set so that no build or environment can differ).
   * Redirects are not followed, so the bearer key never goes elsewhere. */
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  if (curl_easy_setopt(e, CURLOPT_URL, rq->url) != CURLE_OK)
    return AD_EINVAL;
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
  if (rq->body != NULL) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
  } else if (strcmp(rq->method, "GET") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ad_http_on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, ad_http_on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   rq->connect_timeout_ms ? rq->connect_timeout_ms
                                          : o->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   rq->timeout_ms ? rq->timeout_ms : o->timeout_ms);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                   (curl_off_t)o->max_response_bytes);
  if (o->disable_http2)
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  else if (strncasecmp(rq->url, "https:", 6) == 0)
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L); /* prefer one h2 connection */
  return 0;
}

int ad_http_send(ad_http_t *http, const ad_http_request_t *rq, ad_http_cb cb,
                 void *data, ad_http_req_t **out) {
  ad_http_req_t *req;
  int err;

  if (http->closing)
    return AD_ECLOSING;
  if (rq == NULL || rq->url == NULL || rq->method == NULL || cb == NULL)
    return AD_EINVAL;
  req = calloc(1, sizeof(*req));
  if (req == NULL)
    return AD_ENOMEM;
  req->http = http;
  req->cb = cb;
  req->data = data;
  req->retry_after_s = -1;
  ad_list_init(&req->node);
  ad_list_init(&req->wire_node);
  ad_buf_init(&req->body, http->opts.max_response_bytes);
  err = ad_http_req_setup(req, rq);
  if (err != 0) {
    ad_http_req_free(req);
    return err;
  }
  ad_list_insert_tail(&http->pending, &req->node);
  if (out != NULL)
    *out = req;
  /* Inside a drain, the requests that finished with this one are handed
   * over first: one of them may be a 429 that pauses this very request's
   * host, and once curl has read it, the connection it came on is free to
   * carry this request at once. The drain admits it right after. */
  if (http->depth == 0)
    ad_http_admit(http);
  return 0;
}

/* Ends a request that has no transfer result (never started or canceled);
 * the request must already be out of curl and our lists. */
static void ad_http_fail(ad_http_req_t *req, int err, const char *msg) {
  ad_http_response_t res;

  memset(&res, 0, sizeof(res));
  res.error = err;
  res.error_msg = msg;
  res.body = "";
  res.retry_after_s = -1;
  req->cb(req, &res, req->data);
  ad_http_req_free(req);
}

/* Lets curl start what was just added, now rather than on the next loop
 * iteration: a caller that was granted a rate-limit slot expects its
 * request on the wire at once, and an iteration busy parsing responses
 * would otherwise hold it back long enough to bunch it with the next
 * window's (a strict server then counts too many in one second). Never
 * called from inside a libcurl callback. This may already complete the
 * request (a kept-alive connection whose answer is in before curl looks
 * for it, or a URL curl refuses): that is handed over by a drain in
 * progress, or after this iteration's poll (ad_http_handover_soon), never
 * from inside ad_http_send, whose caller may not be ready for a callback.
 * curl's own timer is left as curl set it. */
static void ad_http_kick(ad_http_t *http) {
  int running;
  curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  ad_http_wired(http);
  if (http->depth == 0)
    ad_http_handover_soon(http);
}

/* Moves requests from our FIFO into curl while there is room, and starts
 * them. Returns how many it moved. */
static int ad_http_admit(ad_http_t *http) {
  ad_list_t *node;
  ad_http_req_t *req;
  int added = 0;

  while (http->inflight < http->opts.max_inflight &&
         (node = ad_list_head(&http->pending)) != NULL) {
    req = ad_container_of(node, ad_http_req_t, node);
    ad_list_remove(node);
    if (curl_multi_add_handle(http->multi, req->easy) != CURLM_OK) {
      ad_http_fail(req, AD_ENOMEM, "curl refused the request");
      continue;
    }
    req->active = 1;
    ad_list_insert_tail(&http->active, &req->node);
    if (++http->inflight > http->peak_inflight)
      http->peak_inflight = http->inflight;
    added++;
  }
  if (added > 0)
    ad_http_kick(http);
  return added;
}

static void ad_http_finish(ad_http_req_t *req, CURLcode code) {
  ad_http_t *http = req->http;
  ad_http_response_t res;
  curl_off_t up = 0, down = 0;
  long hdr = 0, req_size = 0;

  memset(&res, 0, sizeof(res));
  curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &res.status);
  curl_easy_getinfo(req->easy, CURLINFO_SIZE_UPLOAD_T, &up);
  curl_easy_getinfo(req->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
  curl_easy_getinfo(req->easy, CURLINFO_HEADER_SIZE, &hdr);
  curl_easy_getinfo(req->easy, CURLINFO_REQUEST_SIZE, &req_size);
  res.bytes_sent = (uint64_t)(up + req_size);
  res.bytes_received = (uint64_t)(down + hdr);
  res.retry_after_s = req->retry_after_s;
  res.body = req->body.data != NULL ? req->body.data : "";
  res.body_len = req->body.len;
  res.error_msg = "";
  if (code != CURLE_OK) {
    res.error = req->too_big ? AD_ETOOBIG : ad_http_map_error(code);
    res.error_msg = req->errbuf[0] ? req->errbuf : curl_easy_strerror(code);
  }
  http->requests_done++;
  http->bytes_sent += res.bytes_sent;
  http->bytes_received += res.bytes_received;
  req->cb(req, &res, req->data);
  ad_http_req_free(req);
}

/* Takes a request out of curl and our lists, before its callback runs. */
static void ad_http_detach(ad_http_req_t *req) {
  ad_http_t *http = req->http;

  ad_list_remove(&req->node);
  if (req->active) {
    curl_multi_remove_handle(http->multi, req->easy);
    req->active = 0;
    http->inflight--;
  }
}

/* Hands every finished transfer to its callback, then admits what waits;
 * starting those may finish more (a refused connect), hence the loop. */
static void ad_http_drain(ad_http_t *http) {
  CURLMsg *msg;
  int left, added;

  http->depth++;
  do {
    while (!http->closing &&
           (msg = curl_multi_info_read(http->multi, &left)) != NULL) {
      ad_http_req_t *req;
      CURLcode code;
      if (msg->msg != CURLMSG_DONE)
        continue;
      code = msg->data.result; /* msg dies with the handle's removal */
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
      ad_http_detach(req);
      ad_http_finish(req, code);
    }
    added = http->closing ? 0 : ad_http_admit(http);
  } while (added > 0);
  http->depth--;
  if (http->closing && http->depth == 0 && http->multi != NULL)
    ad_http_teardown(http);
}

static void ad_http_cancel_one(ad_http_req_t *req) {
  ad_http_detach(req);
  ad_http_fail(req, AD_ECANCELED, "request canceled");
}

void ad_http_cancel(ad_http_req_t *req) {
  ad_http_t *http = req->http;
  ad_http_cancel_one(req);
  if (!http->closing)
    ad_http_admit(http);
}

static void ad_http_handle_closed(uv_handle_t *handle) {
  ad_http_release_handle(handle->data);
}

/* Stop watching before curl closes its sockets, then let curl shut down
 * without calling back into us (curl issues 14860, 15201). */
static void ad_http_teardown(ad_http_t *http) {
  ad_list_t *n;

  for (n = http->sockets.next; n != &http->sockets; n = n->next)
    uv_poll_stop(&ad_container_of(n, ad_http_sock_t, node)->poll);
  curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, NULL);
  curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, NULL);
  curl_multi_cleanup(http->multi);
  http->multi = NULL;
  curl_global_cleanup();
  while ((n = ad_list_head(&http->sockets)) != NULL)
    ad_http_sock_close(ad_container_of(n, ad_http_sock_t, node));
  free(http->by_fd);
  http->by_fd = NULL;
  http->nby_fd = 0;
  uv_timer_stop(&http->timer);
  uv_close((uv_handle_t *)&http->timer, ad_http_handle_closed);
  uv_close((uv_handle_t *)&http->handover, ad_http_handle_closed);
  uv_close((uv_handle_t *)&http->no_block, ad_http_handle_closed);
}

void ad_http_close(ad_http_t *http, ad_http_close_cb close_cb) {
  ad_list_t *n;

  if (http->closing)
    return;
  http->closing = 1;
  http->close_cb = close_cb;
  while ((n = ad_list_head(&http->pending)) != NULL)
    ad_http_cancel_one(ad_container_of(n, ad_http_req_t, node));
  while ((n = ad_list_head(&http->active)) != NULL)
    ad_http_cancel_one(ad_container_of(n, ad_http_req_t, node));
  if (http->depth == 0)
    ad_http_teardown(http);
}
