#include "workq.h"

#include <assert.h>
#include <string.h>

#include "error.h"

static void ad_workq_start(ad_workq_t *q);

void ad_workq_init(ad_workq_t *q, uv_loop_t *loop, int max) {
  assert(max >= 1);
  memset(q, 0, sizeof(*q));
  q->loop = loop;
  q->max = max;
  ad_list_init(&q->waiting);
}

static void ad_workq_run(uv_work_t *work) {
  ad_workq_job_t *job = work->data;
  job->run(job);
}

static void ad_workq_after(uv_work_t *work, int status) {
  ad_workq_job_t *job = work->data;
  ad_workq_t *q = job->q;
  (void)status; /* never canceled: ad_workq_cancel takes only waiters */
  job->running = 0;
  q->running--;
  ad_workq_start(q);
  job->done(job);
}

static void ad_workq_start(ad_workq_t *q) {
  ad_list_t *n;
  ad_workq_job_t *job;

  while (q->running < q->max && (n = ad_list_head(&q->waiting)) != NULL) {
    ad_list_remove(n);
    job = ad_container_of(n, ad_workq_job_t, node);
    job->waiting = 0;
    job->running = 1;
    job->seq = ++q->started;
    job->work.data = job;
    q->running++;
    if (uv_queue_work(q->loop, &job->work, ad_workq_run, ad_workq_after) !=
        0) { /* not with a live loop: here and now */
      ad_workq_run(&job->work);
      ad_workq_after(&job->work, 0);
    }
  }
}

void ad_workq_push(ad_workq_t *q, ad_workq_job_t *job, ad_workq_fn run,
                   ad_workq_fn done) {
  assert(!job->waiting && !job->running);
  job->q = q;
  job->run = run;
  job->done = done;
  job->waiting = 1;
  ad_list_insert_tail(&q->waiting, &job->node);
  ad_workq_start(q);
}

int ad_workq_cancel(ad_workq_job_t *job) {
  if (job->running)
    return AD_EAGAIN;
  if (job->waiting) {
    ad_list_remove(&job->node);
    job->waiting = 0;
  }
  return 0;
}
