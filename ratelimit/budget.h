/* ad_budget: where rate-limit keys keep their GCRA state (gcra.h).
 *
 * The limiter (limiter.h) decides who goes next; a budget decides whether
 * a chain of keys (a base and its token) may grant now, and takes the
 * grant from every key of the chain at once, or from none. Three kinds:
 *
 *   memory  this process only (the state lives in the keys)
 *   file    every airdust process on the machine: a small table in a
 *           file that each maps, each step under an exclusive lock
 *   redis   every process that reaches one Redis (budget_redis.h): one
 *           script checks and takes the chain on Redis's own clock
 *
 * A key with a name is shared under that name; a key without one (tests,
 * embedders' own keys) stays in this process whatever the budget. A name
 * is "group/rest": keys that one decision may touch together share the
 * group (one Redis hash slot), e.g. "at-1f2e…/base-appX" and
 * "at-1f2e…/token-9c8b…". Names never hold a secret: callers hash
 * tokens into them.
 *
 * Penalties: a key blocked here is blocked for every process of the
 * budget (after a 429, the base pauses everywhere). */
#ifndef AD_BUDGET_H
#define AD_BUDGET_H

#include <stdint.h>

#include "gcra.h"

#define AD_BUDGET_MAX_CHAIN 4 /* a key and its ancestors */

typedef struct ad_budget ad_budget_t;
typedef struct ad_budget_key ad_budget_key_t;
typedef struct ad_budget_take ad_budget_take_t;

/* Microseconds on CLOCK_MONOTONIC (uv_hrtime / 1000), or a test's clock.
 * A file budget compares times of several processes: they must share the
 * clock, as every process on one machine does with CLOCK_MONOTONIC. */
typedef uint64_t (*ad_budget_clock_fn)(void *data);

struct ad_budget_key {
  const char *name;   /* NULL: this process only; else borrowed */
  uint64_t period_us; /* between grants; set before each take */
  uint64_t goal;      /* the streak that means "at its limit" (gcra.h) */
  ad_gcra_t local;    /* the state when the budget keeps none for it */
  /* Private to the budget. */
  int64_t slot;       /* file: cached table index, -1 unknown */
  uint64_t hash;      /* file: the name's hash */
};

/* One decision over a chain, from the first key to the last ancestor. */
struct ad_budget_take {
  ad_budget_key_t *keys[AD_BUDGET_MAX_CHAIN];
  int n;
  uint64_t tolerance_us;
  /* Results. */
  uint64_t wait_us;  /* 0: granted; else how long before it may be */
  ad_gcra_grant_t grants[AD_BUDGET_MAX_CHAIN]; /* when granted */
  uint64_t decided_at; /* this process's clock when the answer came */
  /* An asynchronous budget calls this once its answer came (status 0),
   * or with the error that stops every decision (status < 0: the run
   * cannot keep its budget). Never called when take() returned a
   * decision or an error itself. */
  void (*cb)(ad_budget_take_t *t, int status);
  void *data;
};

enum { AD_BUDGET_DECIDED = 0, AD_BUDGET_PENDING = 1 };

typedef struct ad_budget_ops {
  const char *kind; /* "memory", "file", "redis" */
  int async;        /* take() may answer AD_BUDGET_PENDING */
  /* Returns AD_BUDGET_DECIDED (t->wait_us, t->grants set), or
   * AD_BUDGET_PENDING (t->cb follows, unless canceled), or an error:
   * AD_EAGAIN when the budget cannot decide now (try again after
   * t->wait_us, e.g. while a Redis connection comes back), or another
   * code when it never will. */
  int (*take)(ad_budget_t *b, ad_budget_take_t *t);
  /* A pending take is no longer wanted: its callback will not run (what
   * it took, if the answer grants, stays taken). */
  void (*cancel)(ad_budget_t *b, ad_budget_take_t *t);
  /* The granted request of t went on the wire only at now (this
   * process's clock): see ad_gcra_sent. */
  void (*sent)(ad_budget_t *b, const ad_budget_take_t *t, uint64_t now);
  /* No grant on key (nor on chains through it) for delay_us. */
  void (*block)(ad_budget_t *b, ad_budget_key_t *key, uint64_t delay_us);
  /* Frees what the budget holds; async budgets finish their close on the
   * loop and call done (may be NULL) when their memory may go. */
  void (*close)(ad_budget_t *b, void (*done)(ad_budget_t *b));
} ad_budget_ops_t;

struct ad_budget {
  const ad_budget_ops_t *ops;
  ad_budget_clock_fn clock;
  void *clock_data;
  void *data; /* the owner's */
  /* Why the budget stopped deciding, for messages ("" while it works);
   * never holds a secret. */
  char error[256];
  int degraded; /* some named key is kept in this process only (a full
                   file table): the owner may warn */
  void *impl;   /* private to the kind */
};

/* uv_hrtime in microseconds: the clock when none is given. */
uint64_t ad_budget_hrclock(void *data);

/* The memory budget: decisions are made on the keys' own state. clock
 * may be NULL for uv_hrtime. Nothing to close but ad_budget_close. */
void ad_budget_memory_init(ad_budget_t *b, ad_budget_clock_fn clock,
                           void *clock_data);

/* The file budget's name in a state folder. The name carries the file's
 * layout version, so two airdust releases with different layouts on one
 * machine keep two files rather than resetting each other's. */
#define AD_BUDGET_FILE_NAME "budget.v3"

/* The file budget at path (created 0600 if missing, its space allocated;
 * its folder must exist). Returns AD_EIO with a message in b->error
 * naming the path, or AD_ENOMEM. A file left by an earlier boot, or of
 * another layout, is reset: the monotonic clock starts over at each
 * boot. A step whose lock cannot be taken (a file system without locks)
 * decides on this process's own state and sets `degraded`. */
int ad_budget_file_init(ad_budget_t *b, const char *path,
                        ad_budget_clock_fn clock, void *clock_data);

/* Named keys start unknown to the budget; call before a key's first take.
 * goal: see ad_gcra_take. period_us 0 is a programmer error. */
void ad_budget_key_init(ad_budget_key_t *key, const char *name,
                        uint64_t period_us, uint64_t goal);

static inline uint64_t ad_budget_now(const ad_budget_t *b) {
  return b->clock(b->clock_data);
}

static inline int ad_budget_take(ad_budget_t *b, ad_budget_take_t *t) {
  return b->ops->take(b, t);
}

static inline void ad_budget_cancel(ad_budget_t *b, ad_budget_take_t *t) {
  b->ops->cancel(b, t);
}

static inline void ad_budget_sent(ad_budget_t *b, const ad_budget_take_t *t,
                                  uint64_t now) {
  b->ops->sent(b, t, now);
}

static inline void ad_budget_block(ad_budget_t *b, ad_budget_key_t *key,
                                   uint64_t delay_us) {
  b->ops->block(b, key, delay_us);
}

/* Closes any kind; done (may be NULL) runs when b's memory may go, at once
 * for memory and file budgets. */
static inline void ad_budget_close(ad_budget_t *b,
                                   void (*done)(ad_budget_t *b)) {
  b->ops->close(b, done);
}

/* Decides t on the keys' local state (what the memory budget does; other
 * budgets use it for keys without a name). */
void ad_budget_take_local(ad_budget_take_t *t, uint64_t now);
void ad_budget_sent_local(const ad_budget_take_t *t, uint64_t now);

#endif
