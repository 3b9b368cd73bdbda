/* ad_timers: callbacks deferred by a delay, all on one uv_timer_t.
 *
 * Retries wait here for their backoff: entries are embedded in the
 * caller's structs, so deferring never allocates and a retry cannot fail
 * for lack of memory. Entries run in due order; equal due times run in
 * the order they were added. */
#ifndef AD_TIMERS_H
#define AD_TIMERS_H

#include <stdint.h>

#include <uv.h>

#include "list.h"

typedef struct ad_timers ad_timers_t;
typedef struct ad_timers_entry ad_timers_entry_t;

typedef void (*ad_timers_cb)(ad_timers_entry_t *entry, void *data);
typedef void (*ad_timers_close_cb)(ad_timers_t *timers);

struct ad_timers_entry { /* caller-allocated; init with ad_timers_entry_init */
  ad_list_t node;
  uint64_t due_ms;
  ad_timers_cb cb;
  void *data;
};

struct ad_timers {
  void *data;
  /* Private. */
  uv_timer_t timer;
  ad_list_t entries; /* sorted by due_ms */
  int closing;
  ad_timers_close_cb close_cb;
};

int ad_timers_init(ad_timers_t *timers, uv_loop_t *loop);

/* Drops every pending entry without running it, then closes the timer;
 * close_cb (may be NULL) runs once the memory may be freed. */
void ad_timers_close(ad_timers_t *timers, ad_timers_close_cb close_cb);

void ad_timers_entry_init(ad_timers_entry_t *entry);

/* Runs cb(entry, data) after delay_ms. An entry already pending is moved.
 * Returns AD_ECLOSING (cb is then never called). */
int ad_timers_after(ad_timers_t *timers, ad_timers_entry_t *entry,
                   uint64_t delay_ms, ad_timers_cb cb, void *data);

/* Removes a pending entry without running it; no-op otherwise. */
void ad_timers_cancel(ad_timers_entry_t *entry);

int ad_timers_pending(const ad_timers_entry_t *entry);

#endif
