/* ad_workq: jobs for libuv's thread pool, a few at a time, in order.
 *
 * Sources parse and encode pages off the loop; handing every page to the
 * pool at once would let one source take every pool thread (libuv's pool
 * is shared with DNS and file work) and keep finished pages waiting
 * behind new ones. A queue runs at most `max` jobs at once and starts
 * the next one, first in first out, as each finishes: before the
 * finished job's done runs, so the pool stays busy while the loop pushes
 * what came back. Loop thread only, but for each job's run. */
#ifndef AD_WORKQ_H
#define AD_WORKQ_H

#include <stdint.h>

#include <uv.h>

#include "list.h"

typedef struct ad_workq ad_workq_t;
typedef struct ad_workq_job ad_workq_job_t;
typedef void (*ad_workq_fn)(ad_workq_job_t *job);

struct ad_workq_job {
  /* Readable: */
  int waiting, running; /* queued and not started; on the pool */
  uint64_t seq;         /* 1 for the queue's first job started, 2, … */
  /* Private. */
  uv_work_t work;
  ad_list_t node;
  ad_workq_t *q;
  ad_workq_fn run, done;
};

struct ad_workq {
  int running, max; /* readable */
  /* Private. */
  uv_loop_t *loop;
  ad_list_t waiting;
  uint64_t started;
};

/* max >= 1: jobs on the pool at once. */
void ad_workq_init(ad_workq_t *q, uv_loop_t *loop, int max);

/* Queues job (caller-owned, alive until done has run): run on a pool
 * thread, then done on the loop. A job that is waiting or running must
 * not be pushed again. */
void ad_workq_push(ad_workq_t *q, ad_workq_job_t *job, ad_workq_fn run,
                   ad_workq_fn done);

/* Withdraws a job that has not started (neither run nor done will be
 * called); returns 0, or AD_EAGAIN when it is already running. */
int ad_workq_cancel(ad_workq_job_t *job);

#endif
