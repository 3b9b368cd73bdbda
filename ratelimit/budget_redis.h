/* ad_budget_redis: a budget (budget.h) kept in Redis, shared by every
 * process on every machine that reaches the same Redis.
 *
 * One Lua script checks a whole chain of keys (a base and its token) and
 * takes from all of them in one atomic step, on Redis's own clock (TIME),
 * so processes on machines whose clocks disagree still share one
 * schedule. Penalties are keys with a TTL: one process's 429 pauses that
 * base (or token) for every process. hiredis runs on the caller's libuv
 * loop through its libuv adapter; nothing blocks.
 *
 * Keys: a budget key named "group/rest" lives at PREFIX:{group}:rest (its
 * GCRA state, a hash with a TTL) and PREFIX:{group}:rest:pen (a penalty);
 * the {group} hash tag keeps one decision's keys in one cluster slot. A
 * name without a '/' is a group of its own: PREFIX:{name}. A state hash
 * lives a minute past its TAT, so a late report still finds its grant's
 * count. A key is spaced by the widest period any process used on it in
 * the last minute (as ad_gcra_take): hash fields w and wu.
 *
 * Redis: a standalone Redis (or one shard's primary). A Redis Cluster
 * node (INFO says cluster_enabled:1) fails the budget at the start, and
 * a MOVED or ASK reply fails it mid-run: hiredis 0.14 follows neither. A
 * Redis that may evict keys (maxmemory set, maxmemory-policy other than
 * noeviction) is reported through on_status (warn) once: it would forget
 * schedules and penalties under memory pressure.
 *
 * Connection: takes asked before the first connection is up wait for it.
 * If that first connection fails (refused, unresolvable, no answer within
 * connect_timeout_ms, AUTH or SELECT refused), every take fails with
 * AD_EBUDGET and b->error names the URL (without its password) and why.
 * A connection lost later pauses every decision (takes answer AD_EAGAIN
 * or stay pending) and says so through on_status; it reconnects with
 * backoff. A Redis that leaves a command unanswered for
 * connect_timeout_ms counts as lost too. An error reply to a script
 * other than a passing state (LOADING, READONLY, BUSY, OOM…: reconnect)
 * stops the budget as a failed first connection does. When Redis comes
 * back with its memory intact (same run_id) the decisions resume at once;
 * when it restarted, the schedules it forgot are rebuilt safely: no key
 * grants before the reconnect plus three of its periods (the restart came
 * before the reconnect, however long ago this process lost Redis, and a
 * grant's TAT can be a couple of periods ahead after late-send
 * corrections), and the penalties this process knew of are written
 * again (they hold here meanwhile, whatever Redis says). If
 * Redis stays away for outage_timeout_ms, every take fails with
 * AD_EBUDGET: a run never sends outside its budget. */
#ifndef AD_BUDGET_REDIS_H
#define AD_BUDGET_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "budget.h"

/* level: 0 error, 1 warn, 2 info; msg never holds a secret. */
typedef void (*ad_budget_redis_status_cb)(ad_budget_t *b, int level,
                                          const char *msg, void *data);

typedef struct ad_budget_redis_opts {
  const char *url;             /* redis://[[user]:password@]host[:port][/db] */
  const char *key_prefix;      /* NULL: "airdust" */
  uint64_t connect_timeout_ms; /* 0: 5 000 */
  uint64_t outage_timeout_ms;  /* 0: 60 000 */
  ad_budget_redis_status_cb on_status; /* may be NULL */
  void *status_data;
} ad_budget_redis_opts_t;

/* Starts connecting on loop; decisions wait for the connection. Returns
 * AD_ECONFIG (a URL it cannot use, message in b->error), AD_ENOMEM. On
 * success or failure, close with ad_budget_close and keep the loop
 * running until its done callback. */
int ad_budget_redis_init(ad_budget_t *b, uv_loop_t *loop,
                         const ad_budget_redis_opts_t *o);

/* Checks a URL as init would, without connecting: 0, or AD_ECONFIG with
 * a message in err naming what is wrong. */
int ad_budget_redis_check_url(const char *url, char *err, size_t errlen);

/* The URL with any password replaced by "***", into out. */
void ad_budget_redis_safe_url(const char *url, char *out, size_t outlen);

#endif
