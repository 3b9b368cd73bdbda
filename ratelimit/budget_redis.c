/* The Redis budget (budget_redis.h): GCRA state in Redis hashes, decided
 * by Lua scripts on Redis's own clock, through hiredis on the caller's
 * libuv loop.
 *
 * hiredis 0.14's asynchronous API has a few sharp edges this file works
 * around (async.c of v0.14.1):
 *
 *  - redisAsyncConnect may fail at once (connect(2) itself failed): ac->err
 *    is then set, the socket is closed and the context must be freed
 *    without attaching it (the adapter's uv_poll_init would fail, and its
 *    hooks, already set, would then run on no data).
 *  - The connect is only noticed on the first socket event, and hiredis
 *    watches the socket only once a command is queued: the handshake
 *    (AUTH, SELECT, SCRIPT LOAD, INFO) is queued right after attaching.
 *  - A failed connect calls the connect callback with REDIS_ERR and frees
 *    the context just after it returns, without the disconnect callback;
 *    at that moment the reason is in ac->c.errstr (ac->errstr is copied
 *    only later). Freeing the context from the connect or disconnect
 *    callback would free it twice: neither ever does.
 *  - Freeing or losing a context calls every pending reply callback with
 *    a NULL reply (before the disconnect callback, which runs only for a
 *    context that had connected). redisAsyncFree from a reply callback is
 *    deferred until it returns.
 *  - There is no connect or command timeout: uv timers provide both.
 *  - A refused connect usually shows as POLLERR on the socket, which libuv
 *    reports to the poll callback as status UV_EBADF (stopping the
 *    handle), and the libuv adapter ignores any status: the connect would
 *    hang until the timeout. The adapter's event hooks are replaced after
 *    redisLibuvAttach by ones whose poll callback lets hiredis look at
 *    the socket then (it reads SO_ERROR and reports "Connection refused").
 *  - The libuv adapter closes its uv_poll_t with uv_close and frees it in
 *    its own close callback, which nobody can wait for: its cleanup hook
 *    is replaced by one that does the same with a close callback that
 *    counts the handle, so done() runs only after every handle closed.
 *
 * The rules that follow: br->ac is the live context or NULL; a context
 * this file drops is first unlinked (br->ac = NULL), so every callback
 * for another context is stale and only releases what it holds. br
 * itself lives until its last handle (timers, poll handles, getaddrinfo
 * requests) is closed. */
#include "budget_redis.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "error.h"
#include "list.h"

#define AD_BR_DEFAULT_PORT 6379
#define AD_BR_CONNECT_TIMEOUT_MS 5000
#define AD_BR_OUTAGE_TIMEOUT_MS 60000
#define AD_BR_RETRY_MIN_MS 250
#define AD_BR_RETRY_MAX_MS 2000
#define AD_BR_MAX_DEFERRED 4096 /* sent() reports kept while Redis is away */
#define AD_BR_MAX_ARGS 32
/* After Redis restarted, no key grants before the reconnect plus this
 * many of its periods: a grant's TAT can be a couple of periods ahead
 * after late-send corrections. */
#define AD_BR_HOLD_PERIODS 3

/* ---- the scripts ---------------------------------------------------------
 * Numbers are microseconds on Redis's clock (TIME); every value stays
 * below 2^53, so Lua's doubles hold them exactly, and they are stored
 * with %.0f (tostring would round them to 14 digits). Scripts return
 * integers only. A state hash holds t (the TAT), n (grants taken), s (the
 * streak), b (the latest penalty's end, for the grants' `ready`), and w
 * and wu: the widest period a take used on the key and until when it
 * counts (a minute after the take that set it: WIDE in the take script).
 * The penalty itself is a key whose TTL is its remaining time. A state
 * hash lives a minute past its TAT or its penalty (KEEP, in ms, in each
 * script): a late report (sent) for a grant whose request took long to
 * leave still finds n, and counts the grants taken after it. */

/* KEYS: the chain's state hashes, then their penalty keys.
 * ARGV: n, tolerance, each key's period, then each key's streak goal.
 * Returns {wait, now} when some key makes it wait, else
 * {0, now, then per key: seq, binding, sched, ready}.
 *
 * Each key is spaced by the widest period any take used on it within
 * WIDE (as ad_gcra_take): a take whose period is narrower than
 * an unexpired w uses w; any other sets w to its own and restarts wu. */
static const char ad_br_take_lua[] =
    "local KEEP, WIDE = 60000, 60000000\n"
    "local n = tonumber(ARGV[1])\n"
    "local tol = tonumber(ARGV[2])\n"
    "local tm = redis.call('TIME')\n"
    "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    "local tat, cnt, blk, stk, wid, wun = {}, {}, {}, {}, {}, {}\n"
    "local wait = 0\n"
    "for i = 1, n do\n"
    "  local h = redis.call('HMGET', KEYS[i], 't', 'n', 'b', 's', 'w', 'wu')\n"
    "  tat[i] = tonumber(h[1]) or 0\n"
    "  cnt[i] = tonumber(h[2]) or 0\n"
    "  blk[i] = tonumber(h[3]) or 0\n"
    "  stk[i] = tonumber(h[4]) or 0\n"
    "  wid[i] = tonumber(h[5]) or 0\n"
    "  wun[i] = tonumber(h[6]) or 0\n"
    "  if tat[i] > now + tol then\n"
    "    wait = math.max(wait, tat[i] - tol - now)\n"
    "  end\n"
    "  local pttl = redis.call('PTTL', KEYS[n + i])\n"
    "  if pttl > 0 then\n"
    "    blk[i] = math.max(blk[i], now + pttl * 1000)\n"
    "    wait = math.max(wait, blk[i] - now)\n"
    "  end\n"
    "end\n"
    "if wait > 0 then\n"
    "  return {wait, now}\n"
    "end\n"
    "local out = {0, now}\n"
    "for i = 1, n do\n"
    "  local per = tonumber(ARGV[2 + i])\n"
    "  if wun[i] > now and wid[i] > per then\n"
    "    per = wid[i]\n"
    "  else\n"
    "    wid[i] = per\n"
    "    wun[i] = now + WIDE\n"
    "  end\n"
    "  local sched = math.max(tat[i], now - tol)\n"
    "  local ready = math.min(math.max(tat[i] - tol, blk[i], 0), now)\n"
    "  local binding = 0\n"
    "  if tat[i] + math.floor(per / 2) > now then\n"
    "    stk[i] = stk[i] + 1\n"
    "  else\n"
    "    stk[i] = 0\n"
    "  end\n"
    "  if stk[i] >= tonumber(ARGV[2 + n + i]) then binding = 1 end\n"
    "  cnt[i] = cnt[i] + 1\n"
    "  redis.call('HSET', KEYS[i], 't', string.format('%.0f', sched + per),\n"
    "             'n', string.format('%.0f', cnt[i]),\n"
    "             's', string.format('%.0f', stk[i]),\n"
    "             'w', string.format('%.0f', wid[i]),\n"
    "             'wu', string.format('%.0f', wun[i]))\n"
    "  local keep = math.floor((sched + per - now) / 1000) + KEEP\n"
    "  if redis.call('PTTL', KEYS[i]) < keep then\n"
    "    redis.call('PEXPIRE', KEYS[i], string.format('%.0f', keep))\n"
    "  end\n"
    "  out[#out + 1] = cnt[i]\n"
    "  out[#out + 1] = binding\n"
    "  out[#out + 1] = sched\n"
    "  out[#out + 1] = ready\n"
    "end\n"
    "return out\n";

/* A request left late (ad_gcra_sent). KEYS: the state hashes.
 * ARGV: n, how long ago it left (us), then per key: period, seq, and 1
 * when it left after that key's slot. A key still widened (w, wu) moves
 * by its wide period: the grants after it keep that apart from it. */
static const char ad_br_sent_lua[] =
    "local KEEP = 60000\n"
    "local n = tonumber(ARGV[1])\n"
    "local tm = redis.call('TIME')\n"
    "local real = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    "local now = real - tonumber(ARGV[2])\n"
    "for i = 1, n do\n"
    "  if ARGV[3 * i + 2] == '1' then\n"
    "    local per = tonumber(ARGV[3 * i])\n"
    "    local seq = tonumber(ARGV[3 * i + 1])\n"
    "    local h = redis.call('HMGET', KEYS[i], 't', 'n', 'w', 'wu')\n"
    "    local tat = tonumber(h[1]) or 0\n"
    "    local cnt = tonumber(h[2])\n"
    "    local wid = tonumber(h[3]) or 0\n"
    "    if (tonumber(h[4]) or 0) > real and wid > per then per = wid end\n"
    "    local after = 0\n"
    "    if cnt then after = math.max(cnt - seq, 0) end\n"
    "    local due = now + (after + 1) * per\n"
    "    if due > tat then\n"
    "      redis.call('HSET', KEYS[i], 't', string.format('%.0f', due))\n"
    "      local keep = math.max(math.floor((due - real) / 1000), 0) + KEEP\n"
    "      if redis.call('PTTL', KEYS[i]) < keep then\n"
    "        redis.call('PEXPIRE', KEYS[i], string.format('%.0f', keep))\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* A penalty. KEYS: the state hash, the penalty key. ARGV: delay (us, > 0).
 * A longer penalty already running stays. */
static const char ad_br_block_lua[] =
    "local KEEP = 60000\n"
    "local tm = redis.call('TIME')\n"
    "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    "local d = tonumber(ARGV[1])\n"
    "local ms = math.ceil(d / 1000)\n"
    "if redis.call('PTTL', KEYS[2]) < ms then\n"
    "  redis.call('SET', KEYS[2], '1', 'PX', string.format('%.0f', ms))\n"
    "end\n"
    "local b = tonumber(redis.call('HGET', KEYS[1], 'b')) or 0\n"
    "if now + d > b then\n"
    "  redis.call('HSET', KEYS[1], 'b', string.format('%.0f', now + d))\n"
    "end\n"
    "local keep = ms + KEEP\n"
    "if redis.call('PTTL', KEYS[1]) < keep then\n"
    "  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', keep))\n"
    "end\n"
    "return 1\n";

enum { AD_BR_TAKE, AD_BR_SENT, AD_BR_BLOCK, AD_BR_NSCRIPTS };

static const char *const ad_br_scripts[AD_BR_NSCRIPTS] = {
    ad_br_take_lua, ad_br_sent_lua, ad_br_block_lua};

/* ---- state ----------------------------------------------------------------
 */

/* What a command waits for; the hiredis callback's privdata. */
enum {
  AD_BR_OP_TAKE,
  AD_BR_OP_SENT,
  AD_BR_OP_BLOCK,
  AD_BR_OP_AUTH,
  AD_BR_OP_SELECT,
  AD_BR_OP_LOAD,
  AD_BR_OP_INFO
};

typedef struct ad_br ad_br_t;

typedef struct ad_br_op {
  ad_list_t node; /* take: br->pending; sent: br->deferred while waiting */
  ad_br_t *br;
  int kind;
  int script;          /* AD_BR_TAKE…: the script it runs or loads */
  int inflight;        /* hiredis holds it: its callback will run */
  int evaled;          /* NOSCRIPT came back once: sent with EVAL since */
  ad_budget_take_t *t; /* take: NULL once nobody wants the answer */
  /* sent and block: what the script needs */
  int n;
  char *keys[2 * AD_BUDGET_MAX_CHAIN];
  uint64_t period[AD_BUDGET_MAX_CHAIN];
  uint64_t seq[AD_BUDGET_MAX_CHAIN];
  int late[AD_BUDGET_MAX_CHAIN];
  uint64_t at; /* take: when it was asked; sent: when the request left
                  (our clock); block: the delay */
} ad_br_op_t;

/* A penalty this process knows of, on its own clock. */
typedef struct ad_br_pen {
  char *name;
  uint64_t until;
} ad_br_pen_t;

typedef struct ad_br_url {
  char *host; /* as getaddrinfo wants it: no brackets, zone appended */
  int port;
  long db;
  char *user;        /* NULL: none */
  char *password;    /* NULL: none */
  char display[192]; /* redis://[user:***@]host:port/db */
} ad_br_url_t;

struct ad_br {
  ad_budget_t *b;
  uv_loop_t *loop;
  ad_br_url_t url;
  char *prefix;
  uint64_t connect_timeout_ms;
  uint64_t outage_timeout_ms;
  ad_budget_redis_status_cb on_status;
  void *status_data;

  redisAsyncContext *ac;    /* the live connection, NULL while there is none */
  uv_getaddrinfo_t *gai;    /* the resolution under way, NULL if none */
  uv_timer_t connect_timer; /* one attempt: resolve, connect, handshake */
  uv_timer_t reply_timer;   /* commands waiting with no answer */
  uv_timer_t retry_timer;   /* the next attempt after a loss */
  uv_timer_t outage_timer;  /* how long a loss may last */
  int handles;              /* open handles and requests br must outlive */
  unsigned inflight;        /* commands sent on ac and not answered */
  int up;                   /* handshake done on ac: decisions go to Redis */
  int ever_up;              /* a connection was up once */
  int down;                 /* lost after having been up, not back yet */
  int failed;               /* stopped deciding for good (b->error says why) */
  int closing;
  const char *broken; /* why reply_timer was started at 0 */
  uint64_t backoff_ms;
  uint64_t lost_at;   /* our clock when the current outage began */
  int hold;           /* Redis restarted: no key grants before hold_from */
  uint64_t hold_from; /*   plus AD_BR_HOLD_PERIODS of its periods */
  int warned_evict;   /* the eviction warning was given */
  char run_id[48];    /* of the Redis we talk to; "" unknown */
  char sha[AD_BR_NSCRIPTS][48];
  char reason[160];   /* why the connection went, last seen */
  ad_list_t pending;  /* take ops: queued or in flight */
  ad_list_t deferred; /* sent ops waiting for a connection */
  size_t ndeferred;
  ad_br_pen_t *pens;
  size_t npens, cappens;
  void (*done)(ad_budget_t *b);
};

/* ---- URLs -----------------------------------------------------------------
 */

/* snprintf, for messages that may be cut short. */
static void ad_br_fmt(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ad_br_fmt(char *out, size_t outlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, outlen, fmt, ap);
  va_end(ap);
}

static void ad_br_url_free(ad_br_url_t *u) {
  free(u->host);
  free(u->user);
  if (u->password != NULL) {
    volatile char *p = u->password;
    while (*p)
      *p++ = 0;
    free(u->password);
  }
  memset(u, 0, sizeof(*u));
}

void ad_budget_redis_safe_url(const char *url, char *out, size_t outlen) {
  CURLU *h;
  char *pw = NULL, *user = NULL, *s = NULL;
  int hide_pw, hide_user;

  if (outlen == 0)
    return;
  out[0] = '\0';
  if (url == NULL)
    return;
  h = curl_url();
  if (h != NULL && curl_url_set(h, CURLUPART_URL, url,
                                CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
    hide_pw = curl_url_get(h, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK &&
              pw[0] != '\0';
    /* A user with no password may well be a password put there. */
    hide_user = !hide_pw && pw == NULL &&
                curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK &&
                user[0] != '\0';
    if (!hide_pw && !hide_user) {
      ad_br_fmt(out, outlen, "%s", url);
    } else if (curl_url_set(h, hide_pw ? CURLUPART_PASSWORD : CURLUPART_USER,
                            "***", 0) == CURLUE_OK &&
               curl_url_get(h, CURLUPART_URL, &s, 0) == CURLUE_OK) {
      ad_br_fmt(out, outlen, "%s", s);
    } else {
      ad_br_fmt(out, outlen, "redis://***");
    }
  } else {
    /* Unparsable: hide whatever stands between the scheme and the last
     * '@', where a password would be. */
    const char *scheme = strstr(url, "://"), *at = strrchr(url, '@');
    size_t keep = scheme != NULL ? (size_t)(scheme + 3 - url) : 0;
    if (at != NULL && (size_t)(at - url) >= keep)
      ad_br_fmt(out, outlen, "%.*s***%s", (int)keep, url, at);
    else
      ad_br_fmt(out, outlen, "%s", url);
  }
  curl_free(pw);
  curl_free(user);
  curl_free(s);
  curl_url_cleanup(h);
}

/* Parses url into u (a display without secrets included); 0, AD_ENOMEM,
 * or AD_ECONFIG with a message in err. */
static int ad_br_parse(const char *url, ad_br_url_t *u, char *err,
                       size_t errlen) {
  CURLU *h = NULL;
  CURLUcode uc;
  char safe[192];
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  char *user = NULL, *rawuser = NULL, *pw = NULL, *query = NULL;
  char *frag = NULL, *zone = NULL;
  const char *p, *rest;
  char *end;
  long v;
  size_t hl;
  int rc = AD_ECONFIG;

  memset(u, 0, sizeof(*u));
  if (url == NULL || url[0] == '\0') {
    ad_br_fmt(err, errlen, "no Redis URL given (redis://host[:port][/db])");
    return AD_ECONFIG;
  }
  ad_budget_redis_safe_url(url, safe, sizeof(safe));
  if ((h = curl_url()) == NULL) {
    ad_br_fmt(err, errlen, "out of memory");
    return AD_ENOMEM;
  }
  uc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
  if (uc == CURLUE_OUT_OF_MEMORY) {
    rc = AD_ENOMEM;
    ad_br_fmt(err, errlen, "out of memory");
    goto out;
  }
  if (uc != CURLUE_OK) {
    ad_br_fmt(err, errlen,
              "cannot parse the Redis URL %s: %s "
              "(expected redis://[[user]:password@]host[:port][/db])",
              safe, curl_url_strerror(uc));
    goto out;
  }
  if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    ad_br_fmt(err, errlen, "cannot use the Redis URL %s: no scheme", safe);
    goto out;
  }
  if (strcmp(scheme, "rediss") == 0) {
    ad_br_fmt(err, errlen,
              "cannot use the Redis URL %s: TLS is not supported by this "
              "build (hiredis 0.14)",
              safe);
    goto out;
  }
  if (strcmp(scheme, "redis") != 0) {
    ad_br_fmt(err, errlen,
              "cannot use the Redis URL %s: unsupported scheme \"%s\" "
              "(expected redis://)",
              safe, scheme);
    goto out;
  }
  /* curl reads redis:///0 as host "0": an empty authority is no host. */
  p = strstr(url, "://");
  rest = p != NULL ? p + 3 : url;
  if (curl_url_get(h, CURLUPART_HOST, &host, CURLU_URLDECODE) != CURLUE_OK ||
      host[0] == '\0' || (host[0] == '[' && host[1] == ']') || rest[0] == '/' ||
      rest[0] == '\0') {
    ad_br_fmt(err, errlen, "cannot use the Redis URL %s: it names no host",
              safe);
    goto out;
  }
  if (curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
      curl_url_get(h, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
    ad_br_fmt(err, errlen,
              "cannot use the Redis URL %s: options after '?' or '#' are not "
              "supported",
              safe);
    goto out;
  }
  u->port = AD_BR_DEFAULT_PORT;
  if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
    v = strtol(port, &end, 10);
    if (*end != '\0' || v <= 0 || v > 65535) {
      ad_br_fmt(err, errlen, "cannot use the Redis URL %s: bad port \"%s\"",
                safe, port);
      goto out;
    }
    u->port = (int)v;
  }
  u->db = 0;
  if (curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
      strcmp(path, "/") != 0 && path[0] != '\0') {
    const char *d = path[0] == '/' ? path + 1 : path;
    size_t i, len = strlen(d);
    int ok = len > 0 && len <= 9;
    for (i = 0; ok && i < len; i++)
      ok = d[i] >= '0' && d[i] <= '9';
    if (!ok) {
      ad_br_fmt(err, errlen,
                "cannot use the Redis URL %s: the database \"%s\" is not a "
                "number",
                safe, d);
      goto out;
    }
    u->db = strtol(d, NULL, 10);
  }
  if (curl_url_get(h, CURLUPART_PASSWORD, &pw, CURLU_URLDECODE) == CURLUE_OK &&
      pw[0] != '\0')
    u->password = strdup(pw);
  if (curl_url_get(h, CURLUPART_USER, &user, CURLU_URLDECODE) == CURLUE_OK &&
      user[0] != '\0') {
    if (u->password == NULL) {
      ad_br_fmt(err, errlen,
                "cannot use the Redis URL %s: a user but no password (write "
                "redis://user:password@host or redis://:password@host)",
                safe);
      goto out;
    }
    u->user = strdup(user);
    curl_url_get(h, CURLUPART_USER, &rawuser, 0);
  }
  /* getaddrinfo wants an IPv6 address without brackets, its zone after
   * a '%'. */
  hl = strlen(host);
  if (host[0] == '[' && hl >= 2) {
    char *bare = strndup(host + 1, hl - 2);
    if (bare != NULL &&
        curl_url_get(h, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
      size_t n = strlen(bare) + strlen(zone) + 2;
      u->host = malloc(n);
      if (u->host != NULL)
        ad_br_fmt(u->host, n, "%s%%%s", bare, zone);
      free(bare);
    } else {
      u->host = bare;
    }
  } else {
    u->host = strdup(host);
  }
  if (u->host == NULL || (pw != NULL && pw[0] != '\0' && u->password == NULL) ||
      (user != NULL && user[0] != '\0' && u->user == NULL)) {
    rc = AD_ENOMEM;
    ad_br_fmt(err, errlen, "out of memory");
    goto out;
  }
  ad_br_fmt(u->display, sizeof(u->display), "redis://%s%s%s:%d/%ld",
            rawuser != NULL ? rawuser : "", u->password != NULL ? ":***@" : "",
            host, u->port, u->db);
  rc = 0;
out:
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(user);
  curl_free(rawuser);
  if (pw != NULL) {
    memset(pw, 0, strlen(pw));
    curl_free(pw);
  }
  curl_free(query);
  curl_free(frag);
  curl_free(zone);
  curl_url_cleanup(h);
  if (rc != 0)
    ad_br_url_free(u);
  return rc;
}

int ad_budget_redis_check_url(const char *url, char *err, size_t errlen) {
  ad_br_url_t u;
  char scratch[8];
  int rc;

  if (err == NULL || errlen == 0) {
    err = scratch;
    errlen = sizeof(scratch);
  }
  err[0] = '\0';
  rc = ad_br_parse(url, &u, err, errlen);
  if (rc == 0)
    ad_br_url_free(&u);
  return rc;
}

/* ---- helpers --------------------------------------------------------------
 */

/* Replaces every copy of the password in msg (passwords shorter than 4
 * bytes would blank ordinary words; nothing here prints them anyway). */
static void ad_br_scrub(const ad_br_t *br, char *msg) {
  const char *pw = br->url.password;
  size_t pl, ml;
  char *at;

  if (pw == NULL || (pl = strlen(pw)) < 4)
    return;
  while ((at = strstr(msg, pw)) != NULL) {
    ml = strlen(at + pl);
    memcpy(at, "***", 3);
    memmove(at + 3, at + pl, ml + 1);
  }
}

static void ad_br_status(ad_br_t *br, int level, char *msg) {
  ad_br_scrub(br, msg);
  if (br->on_status != NULL && !br->closing)
    br->on_status(br->b, level, msg, br->status_data);
}

static uint64_t ad_br_now(const ad_br_t *br) { return ad_budget_now(br->b); }

/* The Redis key of a budget key: PREFIX:{group}:rest, or PREFIX:{name}
 * for a name without a group; pen adds ":pen". */
static char *ad_br_key(const ad_br_t *br, const char *name, int pen) {
  const char *slash = strchr(name, '/');
  size_t n = strlen(br->prefix) + strlen(name) + 16;
  char *s = malloc(n);

  if (s == NULL)
    return NULL;
  if (slash != NULL)
    ad_br_fmt(s, n, "%s:{%.*s}:%s%s", br->prefix, (int)(slash - name), name,
              slash + 1, pen ? ":pen" : "");
  else
    ad_br_fmt(s, n, "%s:{%s}%s", br->prefix, name, pen ? ":pen" : "");
  return s;
}

static void ad_br_op_free(ad_br_op_t *op) {
  int i;
  for (i = 0; i < 2 * AD_BUDGET_MAX_CHAIN; i++)
    free(op->keys[i]);
  free(op);
}

static ad_br_op_t *ad_br_op_new(ad_br_t *br, int kind) {
  ad_br_op_t *op = calloc(1, sizeof(*op));
  if (op == NULL)
    return NULL;
  op->br = br;
  op->kind = kind;
  ad_list_init(&op->node);
  return op;
}

/* A command's words; numbers are formatted into num. */
typedef struct ad_br_cmd {
  int argc;
  const char *argv[AD_BR_MAX_ARGS];
  size_t len[AD_BR_MAX_ARGS];
  char *own[AD_BR_MAX_ARGS];
  int nown;
  char num[AD_BR_MAX_ARGS][24];
  int nnum;
  int oom;
} ad_br_cmd_t;

static void ad_br_cmd_add(ad_br_cmd_t *c, const char *s) {
  assert(c->argc < AD_BR_MAX_ARGS);
  if (s == NULL) {
    c->oom = 1;
    s = "";
  }
  c->argv[c->argc] = s;
  c->len[c->argc++] = strlen(s);
}

static void ad_br_cmd_own(ad_br_cmd_t *c, char *s) {
  if (s != NULL)
    c->own[c->nown++] = s;
  ad_br_cmd_add(c, s);
}

static void ad_br_cmd_num(ad_br_cmd_t *c, uint64_t v) {
  char *s = c->num[c->nnum++];
  ad_br_fmt(s, sizeof(c->num[0]), "%" PRIu64, v);
  ad_br_cmd_add(c, s);
}

static void ad_br_cmd_free(ad_br_cmd_t *c) {
  int i;
  for (i = 0; i < c->nown; i++)
    free(c->own[i]);
}

static void ad_br_on_reply(redisAsyncContext *ac, void *r, void *priv);
static void ad_br_on_reply_timeout(uv_timer_t *timer);

/* A command is on its way: the reply timer watches for an answer (unless
 * it is already set to drop a broken connection). */
static void ad_br_sending(ad_br_t *br) {
  if (br->inflight++ == 0 && br->broken == NULL)
    uv_timer_start(&br->reply_timer, ad_br_on_reply_timeout,
                   br->connect_timeout_ms, 0);
}

/* An answer came on the live connection. */
static void ad_br_answered(ad_br_t *br) {
  if (br->inflight > 0)
    br->inflight--;
  if (br->broken != NULL)
    return;
  if (br->inflight > 0)
    uv_timer_start(&br->reply_timer, ad_br_on_reply_timeout,
                   br->connect_timeout_ms, 0);
  else
    uv_timer_stop(&br->reply_timer);
}

/* The connection refused a command it should take: let the loop drop it
 * (never from inside the caller, who may be deep in a callback). */
static void ad_br_broken(ad_br_t *br, const char *why) {
  if (br->closing || br->failed)
    return;
  br->broken = why;
  uv_timer_start(&br->reply_timer, ad_br_on_reply_timeout, 0, 0);
}

static int ad_br_run(ad_br_t *br, ad_br_op_t *op, ad_br_cmd_t *c) {
  int rc = -1;
  if (!c->oom && br->ac != NULL &&
      redisAsyncCommandArgv(br->ac, ad_br_on_reply, op, c->argc, c->argv,
                            c->len) == REDIS_OK) {
    op->inflight = 1;
    ad_br_sending(br);
    rc = 0;
  }
  ad_br_cmd_free(c);
  return rc;
}

/* Sends op's script (EVALSHA, or EVAL after a NOSCRIPT); 0 or -1 when the
 * connection would not take it. */
static int ad_br_send(ad_br_t *br, ad_br_op_t *op) {
  ad_br_cmd_t c;
  ad_budget_take_t *t = op->t;
  int i, n;

  memset(&c, 0, sizeof(c));
  ad_br_cmd_add(&c, op->evaled ? "EVAL" : "EVALSHA");
  ad_br_cmd_add(&c,
                op->evaled ? ad_br_scripts[op->script] : br->sha[op->script]);
  switch (op->kind) {
  case AD_BR_OP_TAKE:
    op->at = ad_br_now(br); /* the script runs no earlier than this */
    n = t->n;
    ad_br_cmd_num(&c, (uint64_t)(2 * n));
    for (i = 0; i < n; i++)
      ad_br_cmd_own(&c, ad_br_key(br, t->keys[i]->name, 0));
    for (i = 0; i < n; i++)
      ad_br_cmd_own(&c, ad_br_key(br, t->keys[i]->name, 1));
    ad_br_cmd_num(&c, (uint64_t)n);
    ad_br_cmd_num(&c, t->tolerance_us);
    for (i = 0; i < n; i++)
      ad_br_cmd_num(&c, t->keys[i]->period_us);
    for (i = 0; i < n; i++)
      ad_br_cmd_num(&c, t->keys[i]->goal);
    break;
  case AD_BR_OP_SENT: {
    uint64_t now = ad_br_now(br);
    ad_br_cmd_num(&c, (uint64_t)op->n);
    for (i = 0; i < op->n; i++)
      ad_br_cmd_add(&c, op->keys[i]);
    ad_br_cmd_num(&c, (uint64_t)op->n);
    ad_br_cmd_num(&c, now > op->at ? now - op->at : 0);
    for (i = 0; i < op->n; i++) {
      ad_br_cmd_num(&c, op->period[i]);
      ad_br_cmd_num(&c, op->seq[i]);
      ad_br_cmd_add(&c, op->late[i] ? "1" : "0");
    }
    break;
  }
  case AD_BR_OP_BLOCK:
    ad_br_cmd_add(&c, "2");
    ad_br_cmd_add(&c, op->keys[0]);
    ad_br_cmd_add(&c, op->keys[1]);
    ad_br_cmd_num(&c, op->at);
    break;
  default:
    assert(0);
  }
  return ad_br_run(br, op, &c);
}

/* How long the chain must wait whatever Redis says: the penalties this
 * process knows of, and the hold after Redis restarted. */
static uint64_t ad_br_local_wait(const ad_br_t *br, const ad_budget_take_t *t,
                                 uint64_t now) {
  uint64_t w = 0, end;
  size_t j;
  int i;

  for (i = 0; i < t->n; i++) {
    if (br->hold) {
      end = br->hold_from + AD_BR_HOLD_PERIODS * t->keys[i]->period_us;
      if (end > now && end - now > w)
        w = end - now;
    }
    for (j = 0; j < br->npens; j++)
      if (strcmp(br->pens[j].name, t->keys[i]->name) == 0 &&
          br->pens[j].until > now && br->pens[j].until - now > w)
        w = br->pens[j].until - now;
  }
  return w;
}

/* ---- penalties and late reports ------------------------------------------ */

static void ad_br_send_block(ad_br_t *br, const char *name, uint64_t delay) {
  ad_br_op_t *op = ad_br_op_new(br, AD_BR_OP_BLOCK);
  if (op == NULL)
    return; /* the local penalty still holds here */
  op->script = AD_BR_BLOCK;
  op->keys[0] = ad_br_key(br, name, 0);
  op->keys[1] = ad_br_key(br, name, 1);
  op->at = delay;
  if (op->keys[0] == NULL || op->keys[1] == NULL) {
    ad_br_op_free(op); /* the local penalty still holds here */
    return;
  }
  if (ad_br_send(br, op) != 0) {
    /* Others would not see it: reconnect, which writes it again. */
    ad_br_op_free(op);
    ad_br_broken(br, "Redis refused a command");
  }
}

/* Remembers a penalty until `until` (our clock); expired ones go. */
static void ad_br_remember(ad_br_t *br, const char *name, uint64_t until,
                           uint64_t now) {
  size_t j = 0;
  ad_br_pen_t *grown;

  while (j < br->npens) {
    if (strcmp(br->pens[j].name, name) == 0) {
      if (until > br->pens[j].until)
        br->pens[j].until = until;
      return;
    }
    if (br->pens[j].until <= now) {
      free(br->pens[j].name);
      br->pens[j] = br->pens[--br->npens];
      continue;
    }
    j++;
  }
  if (br->npens == br->cappens) {
    size_t cap = br->cappens ? 2 * br->cappens : 8;
    grown = realloc(br->pens, cap * sizeof(*grown));
    if (grown == NULL)
      return;
    br->pens = grown;
    br->cappens = cap;
  }
  if ((br->pens[br->npens].name = strdup(name)) == NULL)
    return;
  br->pens[br->npens++].until = until;
}

/* Writes every penalty still running into Redis (it may not have them:
 * it restarted, or they came while it was away). */
static void ad_br_write_penalties(ad_br_t *br, uint64_t now) {
  size_t j = 0;
  while (j < br->npens && br->up) {
    if (br->pens[j].until <= now) {
      free(br->pens[j].name);
      br->pens[j] = br->pens[--br->npens];
      continue;
    }
    ad_br_send_block(br, br->pens[j].name, br->pens[j].until - now);
    j++;
  }
}

static void ad_br_defer(ad_br_t *br, ad_br_op_t *op) {
  ad_list_t *old;
  if (br->closing || br->failed) {
    ad_br_op_free(op);
    return;
  }
  if (br->ndeferred >= AD_BR_MAX_DEFERRED &&
      (old = ad_list_head(&br->deferred)) != NULL) {
    ad_list_remove(old);
    br->ndeferred--;
    ad_br_op_free(ad_container_of(old, ad_br_op_t, node));
  }
  ad_list_insert_tail(&br->deferred, &op->node);
  br->ndeferred++;
}

static void ad_br_flush_deferred(ad_br_t *br) {
  ad_list_t *n;
  ad_br_op_t *op;
  while (br->up && (n = ad_list_head(&br->deferred)) != NULL) {
    op = ad_container_of(n, ad_br_op_t, node);
    ad_list_remove(n);
    br->ndeferred--;
    if (ad_br_send(br, op) != 0) {
      ad_br_defer(br, op);
      ad_br_broken(br, "Redis refused a command");
      return;
    }
  }
}

static void ad_br_free_deferred(ad_br_t *br) {
  ad_list_t *n;
  while ((n = ad_list_head(&br->deferred)) != NULL) {
    ad_list_remove(n);
    ad_br_op_free(ad_container_of(n, ad_br_op_t, node));
  }
  br->ndeferred = 0;
}

/* ---- connection ------------------------------------------------------------
 */

/* Forgets the live connection; frees it unless hiredis is about to (from
 * its connect or disconnect callback). Stale callbacks follow. */
static void ad_br_drop(ad_br_t *br, int free_ac) {
  redisAsyncContext *ac = br->ac;

  br->ac = NULL;
  br->up = 0;
  br->inflight = 0;
  br->broken = NULL;
  uv_timer_stop(&br->reply_timer);
  uv_timer_stop(&br->connect_timer);
  if (br->gai != NULL) {
    uv_cancel((uv_req_t *)br->gai); /* its callback still runs */
    br->gai = NULL;
  }
  if (ac != NULL && free_ac)
    redisAsyncFree(ac);
}

/* The run cannot keep its budget: every pending take fails, and so will
 * every later one. */
static void ad_br_fail_all(ad_br_t *br, const char *why) {
  char msg[256];
  ad_list_t *n;
  ad_br_op_t *op;
  ad_budget_take_t *t;

  if (br->failed || br->closing)
    return;
  br->failed = 1;
  ad_br_fmt(msg, sizeof(msg), "%s", why);
  ad_br_scrub(br, msg);
  ad_br_fmt(br->b->error, sizeof(br->b->error), "%s", msg);
  ad_br_drop(br, 1);
  uv_timer_stop(&br->retry_timer);
  uv_timer_stop(&br->outage_timer);
  ad_br_free_deferred(br);
  ad_br_status(br, 0, msg);
  while (!br->closing && (n = ad_list_head(&br->pending)) != NULL) {
    op = ad_container_of(n, ad_br_op_t, node);
    t = op->t;
    ad_list_remove(n);
    if (op->inflight)
      op->t = NULL; /* its callback frees it */
    else
      ad_br_op_free(op);
    t->cb(t, AD_EBUDGET);
  }
}

static void ad_br_attempt(ad_br_t *br);

static void ad_br_on_retry(uv_timer_t *timer) {
  ad_br_t *br = timer->data;
  ad_br_attempt(br);
}

static void ad_br_on_outage(uv_timer_t *timer) {
  ad_br_t *br = timer->data;
  char msg[256];
  ad_br_fmt(msg, sizeof(msg), "lost Redis at %s for %g s: %s", br->url.display,
            (double)br->outage_timeout_ms / 1000.0, br->reason);
  ad_br_fail_all(br, msg);
}

/* The connection (or an attempt at one) is gone, for reason. Before the
 * first connection that is the end; after it, decisions pause and the
 * budget reconnects with backoff. */
static void ad_br_lost(ad_br_t *br, const char *reason) {
  char msg[256];
  uint64_t delay;

  if (br->closing || br->failed)
    return;
  ad_br_fmt(br->reason, sizeof(br->reason), "%s", reason);
  ad_br_scrub(br, br->reason);
  br->up = 0;
  uv_timer_stop(&br->connect_timer);
  if (!br->ever_up) {
    ad_br_fmt(msg, sizeof(msg), "cannot connect to Redis at %s: %s",
              br->url.display, br->reason);
    ad_br_fail_all(br, msg);
    return;
  }
  if (!br->down) {
    br->down = 1;
    br->lost_at = ad_br_now(br);
    if (br->outage_timeout_ms > 0)
      uv_timer_start(&br->outage_timer, ad_br_on_outage, br->outage_timeout_ms,
                     0);
    ad_br_fmt(msg, sizeof(msg),
              "lost Redis at %s (%s); rate-limited requests paused",
              br->url.display, br->reason);
    ad_br_status(br, 1, msg);
    if (br->closing || br->failed)
      return;
  }
  delay = br->backoff_ms;
  br->backoff_ms =
      delay * 2 > AD_BR_RETRY_MAX_MS ? AD_BR_RETRY_MAX_MS : delay * 2;
  uv_timer_start(&br->retry_timer, ad_br_on_retry, delay, 0);
}

static void ad_br_attempt_failed(ad_br_t *br, const char *reason) {
  ad_br_drop(br, 1);
  ad_br_lost(br, reason);
}

static void ad_br_on_connect_timeout(uv_timer_t *timer) {
  ad_br_t *br = timer->data;
  char why[96];
  ad_br_fmt(why, sizeof(why), "no answer within %" PRIu64 " ms",
            br->connect_timeout_ms);
  ad_br_attempt_failed(br, why);
}

static void ad_br_on_reply_timeout(uv_timer_t *timer) {
  ad_br_t *br = timer->data;
  char why[96];
  if (br->broken != NULL)
    ad_br_fmt(why, sizeof(why), "%s", br->broken);
  else
    ad_br_fmt(why, sizeof(why), "no answer within %" PRIu64 " ms",
              br->connect_timeout_ms);
  br->broken = NULL;
  ad_br_attempt_failed(br, why);
}

/* Sends every queued take, or answers it here when a local penalty or
 * the restart hold makes it wait anyway. */
static void ad_br_flush_pending(ad_br_t *br) {
  ad_list_t *n;
  ad_br_op_t *op;
  ad_budget_take_t *t;
  uint64_t now, w;

  while (br->up && !br->closing) {
    op = NULL;
    for (n = br->pending.next; n != &br->pending; n = n->next)
      if (!ad_container_of(n, ad_br_op_t, node)->inflight) {
        op = ad_container_of(n, ad_br_op_t, node);
        break;
      }
    if (op == NULL)
      return;
    t = op->t;
    now = ad_br_now(br);
    if ((w = ad_br_local_wait(br, t, now)) > 0) {
      ad_list_remove(&op->node);
      ad_br_op_free(op);
      t->decided_at = now;
      t->wait_us = w;
      t->cb(t, 0);
      continue;
    }
    if (ad_br_send(br, op) != 0) {
      ad_br_broken(br, "Redis refused a command");
      return;
    }
  }
}

/* The handshake is done: decisions go to Redis again. */
static void ad_br_connected(ad_br_t *br, const char *run_id) {
  char msg[256];
  uint64_t now = ad_br_now(br);
  int restarted = 0;

  if (br->closing || br->failed)
    return;
  uv_timer_stop(&br->connect_timer);
  br->up = 1;
  if (br->ever_up) {
    /* An unknown run_id may be a restart: hold as if it were. The hold
     * counts from now, after the restart: Redis forgot the grants made
     * until it, however long ago this process lost it. */
    restarted = run_id[0] == '\0' || strcmp(run_id, br->run_id) != 0;
    if (restarted && br->down) {
      br->hold = 1;
      br->hold_from = now;
    }
  }
  ad_br_fmt(br->run_id, sizeof(br->run_id), "%s", run_id);
  br->ever_up = 1;
  if (br->down) {
    br->down = 0;
    uv_timer_stop(&br->outage_timer);
    ad_br_fmt(msg, sizeof(msg), "Redis at %s is back after %.1f s%s",
              br->url.display, (double)(now - br->lost_at) / 1e6,
              restarted ? " (it restarted: each key waits three of its "
                          "periods from now)"
                        : "");
    ad_br_status(br, 2, msg);
    if (br->closing || br->failed || !br->up)
      return;
  }
  ad_br_write_penalties(br, now);
  ad_br_flush_deferred(br);
  ad_br_flush_pending(br);
}

/* Errors that say this connection cannot serve now (a Redis loading its
 * data, a replica, a busy script…): reconnect. Others stop the budget. */
static int ad_br_transient(const char *err) {
  static const char *const codes[] = {
      "LOADING",  "READONLY",    "MASTERDOWN", "NOAUTH",     "BUSY",
      "TRYAGAIN", "CLUSTERDOWN", "OOM",        "NOREPLICAS", "MISCONF"};
  size_t i, l;
  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    l = strlen(codes[i]);
    if (strncmp(err, codes[i], l) == 0 && (err[l] == ' ' || err[l] == '\0'))
      return 1;
  }
  return 0;
}

/* The message for a Redis Cluster node; why says how it showed. */
static void ad_br_cluster_msg(const ad_br_t *br, const char *why, char *out,
                              size_t outlen) {
  ad_br_fmt(out, outlen,
            "Redis at %s is a cluster (%s); airdust needs a standalone "
            "Redis (or one shard's primary) for its budgets",
            br->url.display, why);
}

static void ad_br_reply_error(ad_br_t *br, const char *err) {
  char msg[256];
  /* hiredis 0.14 does not follow a cluster's redirections: a key of
   * another slot (MOVED) or one migrating (ASK) is never decided. */
  if (strncmp(err, "MOVED ", 6) == 0 || strncmp(err, "ASK ", 4) == 0) {
    ad_br_cluster_msg(br,
                      err[0] == 'M' ? "it answered MOVED" : "it answered ASK",
                      msg, sizeof(msg));
    ad_br_fail_all(br, msg);
    return;
  }
  if (ad_br_transient(err)) {
    ad_br_attempt_failed(br, err);
    return;
  }
  ad_br_fmt(msg, sizeof(msg), "Redis at %s refused the budget script: %s",
            br->url.display, err);
  ad_br_fail_all(br, msg);
}

static int ad_br_int(const redisReply *r, size_t i, uint64_t *out) {
  if (i >= r->elements || r->element[i]->type != REDIS_REPLY_INTEGER ||
      r->element[i]->integer < 0)
    return -1;
  *out = (uint64_t)r->element[i]->integer;
  return 0;
}

/* A time on Redis's clock (rnow there is now here) on ours. */
static uint64_t ad_br_local(uint64_t redis_time, uint64_t rnow, uint64_t now) {
  if (redis_time >= rnow)
    return now + (redis_time - rnow);
  return rnow - redis_time < now ? now - (rnow - redis_time) : 0;
}

static void ad_br_take_reply(ad_br_t *br, ad_br_op_t *op, redisReply *reply) {
  ad_budget_take_t *t = op->t;
  uint64_t wait, rnow, now, asked, v[4], w;
  char msg[256];
  int i, k;

  if (t == NULL) { /* canceled, or the budget failed or closed */
    ad_br_op_free(op);
    return;
  }
  if (reply == NULL)
    return; /* the connection went: stays queued, sent again once back */
  if (reply->type == REDIS_REPLY_ERROR) {
    if (!op->evaled && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
      op->evaled = 1; /* Redis forgot the script (SCRIPT FLUSH, restart) */
      if (ad_br_send(br, op) != 0)
        ad_br_broken(br, "Redis refused a command");
      return;
    }
    ad_br_reply_error(br, reply->str);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || ad_br_int(reply, 0, &wait) != 0 ||
      ad_br_int(reply, 1, &rnow) != 0 ||
      (wait == 0 && reply->elements != (size_t)(2 + 4 * t->n))) {
    ad_br_fmt(msg, sizeof(msg),
              "Redis at %s answered the budget script with something "
              "unexpected",
              br->url.display);
    ad_br_fail_all(br, msg);
    return;
  }
  asked = op->at;
  ad_list_remove(&op->node);
  ad_br_op_free(op);
  br->backoff_ms = AD_BR_RETRY_MIN_MS;
  now = ad_br_now(br);
  t->decided_at = now;
  t->wait_us = wait;
  for (i = 0; wait == 0 && i < t->n; i++) {
    for (k = 0; k < 4; k++)
      if (ad_br_int(reply, (size_t)(2 + 4 * i + k), &v[k]) != 0)
        v[k] = 0; /* the script only answers integers here */
    t->grants[i].seq = v[0];
    t->grants[i].binding = v[1] != 0;
    /* Redis's times on our clock. The script ran between the ask and the
     * answer; a slot placed at the ask is the earliest it can be, so a
     * request that sits in our socket or our loop before it leaves is
     * counted late (ad_budget_sent) rather than sent closer than a
     * period to another process's next one. */
    t->grants[i].sched = ad_br_local(v[2], rnow, asked);
    t->grants[i].ready = ad_br_local(v[3], rnow, now);
  }
  /* A penalty that came while Redis decided still holds (the slot it
   * took is lost). */
  if ((w = ad_br_local_wait(br, t, now)) > t->wait_us)
    t->wait_us = w;
  t->cb(t, 0);
}

static void ad_br_script_reply(ad_br_t *br, ad_br_op_t *op, redisReply *reply) {
  char err[160];
  if (reply == NULL) {
    /* A late report goes again once back; a penalty is written again
     * from the local list. */
    if (op->kind == AD_BR_OP_SENT)
      ad_br_defer(br, op);
    else
      ad_br_op_free(op);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    if (!op->evaled && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
      op->evaled = 1;
      if (ad_br_send(br, op) == 0)
        return;
      ad_br_broken(br, "Redis refused a command");
      ad_br_script_reply(br, op, NULL);
      return;
    }
    ad_br_fmt(err, sizeof(err), "%s", reply->str);
    ad_br_op_free(op);
    ad_br_reply_error(br, err);
    return;
  }
  br->backoff_ms = AD_BR_RETRY_MIN_MS;
  ad_br_op_free(op);
}

/* The value of field `name` in an INFO reply ("name:value" on a line of
 * its own), into out; 0, or -1 when it has none. */
static int ad_br_info_field(const redisReply *reply, const char *name,
                            char *out, size_t outlen) {
  const char *p, *line;
  size_t nl = strlen(name), n = 0;

  out[0] = '\0';
  if ((reply->type != REDIS_REPLY_STRING &&
       reply->type != REDIS_REPLY_STATUS) ||
      reply->str == NULL)
    return -1;
  for (line = reply->str; *line != '\0'; line = p + 1) {
    if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
      line += nl + 1;
      while (line[n] != '\0' && line[n] != '\r' && line[n] != '\n' &&
             n + 1 < outlen)
        n++;
      memcpy(out, line, n);
      out[n] = '\0';
      return 0;
    }
    if ((p = strchr(line, '\n')) == NULL)
      break;
  }
  return -1;
}

/* What INFO says of this Redis: the end when it is a cluster node, a
 * warning when it may evict our keys; its run_id. Returns -1 when the
 * budget stopped (failed or closed meanwhile). */
static int ad_br_check_info(ad_br_t *br, const redisReply *reply, char *run_id,
                            size_t run_id_len) {
  char v[64], policy[64], msg[512];

  if (ad_br_info_field(reply, "cluster_enabled", v, sizeof(v)) == 0 &&
      strcmp(v, "1") == 0) {
    ad_br_cluster_msg(br, "INFO says cluster_enabled:1", msg, sizeof(msg));
    ad_br_fail_all(br, msg);
    return -1;
  }
  /* Keys evicted under memory pressure are schedules and penalties
   * forgotten: grants too close together, a 429's pause lifted. */
  if (!br->warned_evict &&
      ad_br_info_field(reply, "maxmemory", v, sizeof(v)) == 0 &&
      strtoull(v, NULL, 10) != 0 &&
      ad_br_info_field(reply, "maxmemory_policy", policy, sizeof(policy)) ==
          0 &&
      strcmp(policy, "noeviction") != 0) {
    br->warned_evict = 1;
    ad_br_fmt(msg, sizeof(msg),
              "Redis at %s may evict keys under memory pressure "
              "(maxmemory-policy %s): budgets and penalties would be "
              "forgotten; set maxmemory-policy noeviction or give it room",
              br->url.display, policy);
    ad_br_status(br, 1, msg);
    if (br->closing || br->failed)
      return -1;
  }
  ad_br_info_field(reply, "run_id", run_id, run_id_len);
  return 0;
}

static void ad_br_handshake_reply(ad_br_t *br, ad_br_op_t *op,
                                  redisReply *reply) {
  static const char *const what[] = {
      "", "", "", "AUTH", "SELECT", "SCRIPT LOAD", "INFO"};
  int kind = op->kind, script = op->script;
  char why[224], run_id[48];

  ad_br_op_free(op);
  /* A NULL reply on the live connection: the connect or disconnect
   * callback that follows says why. */
  if (reply == NULL || br->closing || br->failed)
    return;
  if (reply->type == REDIS_REPLY_ERROR) {
    if (kind == AD_BR_OP_INFO) { /* INFO renamed away: no run_id */
      ad_br_connected(br, "");
      return;
    }
    if (kind == AD_BR_OP_AUTH)
      ad_br_fmt(why, sizeof(why), "authentication failed: %s", reply->str);
    else
      ad_br_fmt(why, sizeof(why), "%s failed: %s", what[kind], reply->str);
    ad_br_attempt_failed(br, why);
    return;
  }
  switch (kind) {
  case AD_BR_OP_LOAD:
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
      ad_br_attempt_failed(br, "SCRIPT LOAD answered no SHA1");
      return;
    }
    memcpy(br->sha[script], reply->str, 40);
    br->sha[script][40] = '\0';
    break;
  case AD_BR_OP_INFO:
    if (ad_br_check_info(br, reply, run_id, sizeof(run_id)) == 0)
      ad_br_connected(br, run_id);
    break;
  default:
    break;
  }
}

static void ad_br_on_reply(redisAsyncContext *ac, void *r, void *priv) {
  ad_br_op_t *op = priv;
  ad_br_t *br = op->br;
  redisReply *reply = r;

  op->inflight = 0;
  if (ac != br->ac || reply == NULL)
    reply = NULL; /* stale: that connection is gone */
  else
    ad_br_answered(br);
  switch (op->kind) {
  case AD_BR_OP_TAKE:
    ad_br_take_reply(br, op, reply);
    break;
  case AD_BR_OP_SENT:
  case AD_BR_OP_BLOCK:
    ad_br_script_reply(br, op, reply);
    break;
  default:
    ad_br_handshake_reply(br, op, reply);
    break;
  }
}

/* hiredis 0.14 calls this (REDIS_ERR) when connect(2) failed, and frees
 * the context as soon as it returns. */
static void ad_br_on_connect(const redisAsyncContext *ac, int status) {
  ad_br_t *br = ac->data;
  char why[160];

  if (status == REDIS_OK || ac != br->ac)
    return;
  ad_br_fmt(why, sizeof(why), "%s",
            ac->c.errstr[0] != '\0' ? ac->c.errstr : "connect failed");
  ad_br_drop(br, 0);
  ad_br_lost(br, why);
}

/* The connection went after it was up (or we freed it: then it is no
 * longer br->ac). hiredis frees the context when this returns. */
static void ad_br_on_disconnect(const redisAsyncContext *ac, int status) {
  ad_br_t *br = ac->data;
  char why[160];

  if (ac != br->ac)
    return;
  ad_br_fmt(why, sizeof(why), "%s",
            status != REDIS_OK && ac->c.errstr[0] != '\0'
                ? ac->c.errstr
                : "connection closed");
  ad_br_drop(br, 0);
  ad_br_lost(br, why);
}

static void ad_br_unref(ad_br_t *br);

static void ad_br_poll_closed(uv_handle_t *handle) {
  ad_br_t *br = handle->data;
  free(ad_container_of((uv_poll_t *)handle, redisLibuvEvents, handle));
  ad_br_unref(br);
}

/* The adapter's event hooks, with two fixes. libuv reports an error on
 * the socket (POLLERR: a refused connect) as status UV_EBADF and stops
 * the handle, which the adapter ignores: the connect would hang until
 * the timeout. Here hiredis looks at the socket then, and reports. */
static void ad_br_poll_cb(uv_poll_t *handle, int status, int events) {
  redisLibuvEvents *p = handle->data;

  if (p->context != NULL && status < 0) {
    if (p->context->c.flags & REDIS_CONNECTED)
      redisAsyncHandleRead(p->context);
    else
      redisAsyncHandleWrite(p->context); /* reads SO_ERROR */
    return;
  }
  if (p->context != NULL && (events & UV_READABLE))
    redisAsyncHandleRead(p->context);
  if (p->context != NULL && (events & UV_WRITABLE))
    redisAsyncHandleWrite(p->context);
}

static void ad_br_ev_update(redisLibuvEvents *p) {
  if (p->events != 0)
    uv_poll_start(&p->handle, p->events, ad_br_poll_cb);
  else
    uv_poll_stop(&p->handle);
}

static void ad_br_ev_add_read(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events |= UV_READABLE;
  ad_br_ev_update(p);
}

static void ad_br_ev_del_read(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events &= ~UV_READABLE;
  ad_br_ev_update(p);
}

static void ad_br_ev_add_write(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events |= UV_WRITABLE;
  ad_br_ev_update(p);
}

static void ad_br_ev_del_write(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events &= ~UV_WRITABLE;
  ad_br_ev_update(p);
}

/* The second fix: the adapter closes its handle with a close callback
 * nobody can wait for; this one counts it, so done() waits for it. */
static void ad_br_ev_cleanup(void *privdata) {
  redisLibuvEvents *p = privdata;
  ad_br_t *br = p->context->data;
  p->context = NULL;
  p->handle.data = br;
  uv_close((uv_handle_t *)&p->handle, ad_br_poll_closed);
}

static int ad_br_handshake_cmd(ad_br_t *br, int kind, int script, int argc,
                               const char **argv) {
  ad_br_cmd_t c;
  ad_br_op_t *op = ad_br_op_new(br, kind);
  int i;

  memset(&c, 0, sizeof(c));
  if (op == NULL)
    return -1;
  op->script = script;
  for (i = 0; i < argc; i++)
    ad_br_cmd_add(&c, argv[i]);
  if (ad_br_run(br, op, &c) != 0) {
    ad_br_op_free(op);
    return -1;
  }
  return 0;
}

static void ad_br_handshake(ad_br_t *br) {
  const char *argv[3];
  int rc = 0, i;

  if (br->url.password != NULL) {
    argv[0] = "AUTH";
    if (br->url.user != NULL) {
      argv[1] = br->url.user;
      argv[2] = br->url.password;
      rc |= ad_br_handshake_cmd(br, AD_BR_OP_AUTH, 0, 3, argv);
    } else {
      argv[1] = br->url.password;
      rc |= ad_br_handshake_cmd(br, AD_BR_OP_AUTH, 0, 2, argv);
    }
  }
  if (br->url.db != 0) {
    char db[24];
    ad_br_fmt(db, sizeof(db), "%ld", br->url.db);
    argv[0] = "SELECT";
    argv[1] = db;
    rc |= ad_br_handshake_cmd(br, AD_BR_OP_SELECT, 0, 2, argv);
  }
  for (i = 0; i < AD_BR_NSCRIPTS; i++) {
    argv[0] = "SCRIPT";
    argv[1] = "LOAD";
    argv[2] = ad_br_scripts[i];
    rc |= ad_br_handshake_cmd(br, AD_BR_OP_LOAD, i, 3, argv);
  }
  /* The default sections hold server (run_id), memory (maxmemory and its
   * policy) and cluster (cluster_enabled); Redis before 7 takes a single
   * section name at most. */
  argv[0] = "INFO";
  rc |= ad_br_handshake_cmd(br, AD_BR_OP_INFO, 0, 1, argv);
  if (rc != 0)
    ad_br_attempt_failed(br, "cannot queue the handshake");
}

static void ad_br_resolved(uv_getaddrinfo_t *req, int status,
                           struct addrinfo *res) {
  ad_br_t *br = req->data;
  struct addrinfo *a, *pick = NULL;
  redisAsyncContext *ac;
  char ip[64], why[224];

  if (req != br->gai) /* canceled, or its attempt gave up */
    goto done;
  br->gai = NULL;
  if (status != 0) {
    ad_br_fmt(why, sizeof(why), "cannot resolve %s: %s", br->url.host,
              uv_strerror(status));
    ad_br_attempt_failed(br, why);
    goto done;
  }
  /* IPv4 first, as hiredis itself does. */
  for (a = res; a != NULL && pick == NULL; a = a->ai_next)
    if (a->ai_family == AF_INET)
      pick = a;
  for (a = res; a != NULL && pick == NULL; a = a->ai_next)
    if (a->ai_family == AF_INET6)
      pick = a;
  ip[0] = '\0';
  if (pick != NULL && pick->ai_family == AF_INET)
    uv_ip4_name((const struct sockaddr_in *)pick->ai_addr, ip, sizeof(ip));
  else if (pick != NULL)
    uv_ip6_name((const struct sockaddr_in6 *)pick->ai_addr, ip, sizeof(ip));
  if (ip[0] == '\0') {
    ad_br_fmt(why, sizeof(why), "%s has no address", br->url.host);
    ad_br_attempt_failed(br, why);
    goto done;
  }
  ac = redisAsyncConnect(ip, br->url.port);
  if (ac == NULL) {
    ad_br_attempt_failed(br, "out of memory");
    goto done;
  }
  if (ac->err) { /* e.g. refused at once: hiredis closed the socket */
    ad_br_fmt(why, sizeof(why), "%s", ac->errstr);
    redisAsyncFree(ac);
    ad_br_attempt_failed(br, why);
    goto done;
  }
  ac->data = br;
  if (redisLibuvAttach(ac, br->loop) != REDIS_OK) {
    /* The adapter sets its hooks before it can fail: its cleanup would
     * then run on no data. */
    memset(&ac->ev, 0, sizeof(ac->ev));
    redisAsyncFree(ac);
    ad_br_attempt_failed(br, "cannot watch the Redis socket");
    goto done;
  }
  ac->ev.addRead = ad_br_ev_add_read;
  ac->ev.delRead = ad_br_ev_del_read;
  ac->ev.addWrite = ad_br_ev_add_write;
  ac->ev.delWrite = ad_br_ev_del_write;
  ac->ev.cleanup = ad_br_ev_cleanup;
  br->handles++;
  redisAsyncSetConnectCallback(ac, ad_br_on_connect);
  redisAsyncSetDisconnectCallback(ac, ad_br_on_disconnect);
  br->ac = ac;
  br->inflight = 0;
  ad_br_handshake(br);
done:
  uv_freeaddrinfo(res);
  free(req);
  ad_br_unref(br); /* last: br may go with it */
}

/* One connection attempt: resolve, connect, handshake, all within
 * connect_timeout_ms. */
static void ad_br_attempt(ad_br_t *br) {
  struct addrinfo hints;
  uv_getaddrinfo_t *req;
  char why[224];
  int rc;

  if (br->closing || br->failed)
    return;
  if ((req = malloc(sizeof(*req))) == NULL) {
    ad_br_lost(br, "out of memory");
    return;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  req->data = br;
  uv_timer_start(&br->connect_timer, ad_br_on_connect_timeout,
                 br->connect_timeout_ms, 0);
  rc =
      uv_getaddrinfo(br->loop, req, ad_br_resolved, br->url.host, NULL, &hints);
  if (rc != 0) {
    free(req);
    ad_br_fmt(why, sizeof(why), "cannot resolve %s: %s", br->url.host,
              uv_strerror(rc));
    ad_br_lost(br, why);
    return;
  }
  br->gai = req;
  br->handles++;
}

/* ---- the budget operations -------------------------------------------- */

static uint64_t ad_br_retry_wait_us(const ad_br_t *br) {
  uint64_t ms;
  if (uv_is_active((const uv_handle_t *)&br->retry_timer))
    ms = uv_timer_get_due_in(&br->retry_timer);
  else
    ms = br->backoff_ms; /* an attempt is under way; if it fails */
  return (ms > 0 ? ms : 1) * 1000;
}

static int ad_br_take(ad_budget_t *b, ad_budget_take_t *t) {
  ad_br_t *br = b->impl;
  ad_br_op_t *op;
  uint64_t now = ad_budget_now(b), w;
  int named, i;

  assert(t->n >= 1 && t->n <= AD_BUDGET_MAX_CHAIN);
  named = t->keys[0]->name != NULL;
  for (i = 1; i < t->n; i++) /* a chain is all named or all unnamed */
    assert((t->keys[i]->name != NULL) == named);
  t->decided_at = now;
  t->wait_us = 0;
  if (!named) {
    ad_budget_take_local(t, now);
    return AD_BUDGET_DECIDED;
  }
  if (br == NULL || br->failed || br->closing)
    return AD_EBUDGET;
  if ((w = ad_br_local_wait(br, t, now)) > 0) {
    t->wait_us = w;
    return AD_BUDGET_DECIDED;
  }
  if (br->ever_up && !br->up) {
    t->wait_us = ad_br_retry_wait_us(br);
    return AD_EAGAIN;
  }
  if ((op = ad_br_op_new(br, AD_BR_OP_TAKE)) == NULL)
    return AD_ENOMEM;
  op->script = AD_BR_TAKE;
  op->t = t;
  ad_list_insert_tail(&br->pending, &op->node);
  if (br->up && ad_br_send(br, op) != 0)
    ad_br_broken(br, "Redis refused a command");
  return AD_BUDGET_PENDING;
}

static void ad_br_cancel(ad_budget_t *b, ad_budget_take_t *t) {
  ad_br_t *br = b->impl;
  ad_list_t *n;
  ad_br_op_t *op;

  if (br == NULL)
    return;
  for (n = br->pending.next; n != &br->pending; n = n->next) {
    op = ad_container_of(n, ad_br_op_t, node);
    if (op->t != t)
      continue;
    ad_list_remove(n);
    if (op->inflight)
      op->t = NULL; /* the answer, when it comes, is dropped */
    else
      ad_br_op_free(op);
    return;
  }
}

static void ad_br_sent(ad_budget_t *b, const ad_budget_take_t *t,
                       uint64_t now) {
  ad_br_t *br = b->impl;
  ad_br_op_t *op;
  int i, late = 0;

  if (t->n < 1)
    return;
  if (t->keys[0]->name == NULL) {
    ad_budget_sent_local(t, now);
    return;
  }
  /* Within the tolerance of its slot it kept it (ad_gcra_sent); past
   * it, the schedule moves as if it had left a tolerance earlier. */
  for (i = 0; i < t->n; i++)
    late |= now > t->grants[i].sched + t->tolerance_us;
  if (!late || br == NULL || br->failed || br->closing)
    return;
  if ((op = ad_br_op_new(br, AD_BR_OP_SENT)) == NULL)
    return;
  op->script = AD_BR_SENT;
  op->n = t->n;
  op->at = now - t->tolerance_us;
  for (i = 0; i < t->n; i++) {
    op->keys[i] = ad_br_key(br, t->keys[i]->name, 0);
    op->period[i] = t->keys[i]->period_us;
    op->seq[i] = t->grants[i].seq;
    op->late[i] = now > t->grants[i].sched + t->tolerance_us;
    if (op->keys[i] == NULL) {
      ad_br_op_free(op);
      return;
    }
  }
  if (!br->up)
    ad_br_defer(br, op);
  else if (ad_br_send(br, op) != 0) {
    ad_br_defer(br, op);
    ad_br_broken(br, "Redis refused a command");
  }
}

static void ad_br_block(ad_budget_t *b, ad_budget_key_t *key,
                        uint64_t delay_us) {
  ad_br_t *br = b->impl;
  uint64_t now = ad_budget_now(b);

  if (key->name == NULL) {
    ad_gcra_block(&key->local, now, delay_us);
    return;
  }
  if (br == NULL || br->failed || br->closing || delay_us == 0)
    return;
  ad_br_remember(br, key->name, now + delay_us, now);
  if (br->up)
    ad_br_send_block(br, key->name, delay_us);
  /* else written once the connection is (back) up */
}

static void ad_br_finish(ad_br_t *br) {
  ad_budget_t *b = br->b;
  void (*done)(ad_budget_t *) = br->done;
  size_t j;

  for (j = 0; j < br->npens; j++)
    free(br->pens[j].name);
  free(br->pens);
  free(br->prefix);
  ad_br_url_free(&br->url);
  free(br);
  b->impl = NULL;
  if (done != NULL)
    done(b);
}

static void ad_br_unref(ad_br_t *br) {
  assert(br->handles > 0);
  if (--br->handles == 0 && br->closing)
    ad_br_finish(br);
}

static void ad_br_timer_closed(uv_handle_t *handle) {
  ad_br_unref(handle->data);
}

static void ad_br_close(ad_budget_t *b, void (*done)(ad_budget_t *b)) {
  ad_br_t *br = b->impl;
  ad_list_t *n;
  ad_br_op_t *op;

  if (br == NULL) { /* init failed */
    if (done != NULL)
      done(b);
    return;
  }
  if (br->closing)
    return;
  br->closing = 1;
  br->done = done;
  while ((n = ad_list_head(&br->pending)) != NULL) {
    op = ad_container_of(n, ad_br_op_t, node);
    ad_list_remove(n);
    if (op->inflight)
      op->t = NULL;
    else
      ad_br_op_free(op);
  }
  ad_br_free_deferred(br);
  ad_br_drop(br, 1);
  uv_close((uv_handle_t *)&br->connect_timer, ad_br_timer_closed);
  uv_close((uv_handle_t *)&br->reply_timer, ad_br_timer_closed);
  uv_close((uv_handle_t *)&br->retry_timer, ad_br_timer_closed);
  uv_close((uv_handle_t *)&br->outage_timer, ad_br_timer_closed);
}

static const ad_budget_ops_t ad_budget_redis_ops = {
    "redis", 1, ad_br_take, ad_br_cancel, ad_br_sent, ad_br_block, ad_br_close};

int ad_budget_redis_init(ad_budget_t *b, uv_loop_t *loop,
                         const ad_budget_redis_opts_t *o) {
  ad_br_t *br;
  int rc;

  memset(b, 0, sizeof(*b));
  b->ops = &ad_budget_redis_ops;
  b->clock = ad_budget_hrclock;
  if ((br = calloc(1, sizeof(*br))) == NULL) {
    ad_br_fmt(b->error, sizeof(b->error), "out of memory");
    return AD_ENOMEM;
  }
  rc = ad_br_parse(o->url, &br->url, b->error, sizeof(b->error));
  if (rc == 0 &&
      (br->prefix =
           strdup(o->key_prefix != NULL ? o->key_prefix : "airdust")) == NULL) {
    ad_br_url_free(&br->url);
    ad_br_fmt(b->error, sizeof(b->error), "out of memory");
    rc = AD_ENOMEM;
  }
  if (rc != 0) {
    free(br);
    return rc;
  }
  br->b = b;
  br->loop = loop;
  br->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                                     : AD_BR_CONNECT_TIMEOUT_MS;
  br->outage_timeout_ms =
      o->outage_timeout_ms > 0 ? o->outage_timeout_ms : AD_BR_OUTAGE_TIMEOUT_MS;
  br->on_status = o->on_status;
  br->status_data = o->status_data;
  br->backoff_ms = AD_BR_RETRY_MIN_MS;
  ad_list_init(&br->pending);
  ad_list_init(&br->deferred);
  uv_timer_init(loop, &br->connect_timer);
  uv_timer_init(loop, &br->reply_timer);
  uv_timer_init(loop, &br->retry_timer);
  uv_timer_init(loop, &br->outage_timer);
  br->connect_timer.data = br->reply_timer.data = br;
  br->retry_timer.data = br->outage_timer.data = br;
  br->handles = 4;
  b->impl = br;
  ad_br_attempt(br);
  return 0;
}
