#include "timers.h"

#include "error.h"

static void ad_timers_arm(ad_timers_t *timers);

static void ad_timers_fire(uv_timer_t *timer) {
  ad_timers_t *timers = timer->data;
  uint64_t now = uv_now(timer->loop);
  ad_list_t *node;
  ad_timers_entry_t *e;

  /* One at a time: a callback may add or cancel other entries. */
  while ((node = ad_list_head(&timers->entries)) != NULL) {
    e = ad_container_of(node, ad_timers_entry_t, node);
    if (e->due_ms > now)
      break;
    ad_list_remove(node);
    e->cb(e, e->data);
  }
  if (!timers->closing)
    ad_timers_arm(timers);
}

static void ad_timers_arm(ad_timers_t *timers) {
  ad_list_t *node = ad_list_head(&timers->entries);
  uint64_t now = uv_now(timers->timer.loop), due;

  if (node == NULL) {
    uv_timer_stop(&timers->timer);
    return;
  }
  due = ad_container_of(node, ad_timers_entry_t, node)->due_ms;
  uv_timer_start(&timers->timer, ad_timers_fire, due > now ? due - now : 0, 0);
}

int ad_timers_init(ad_timers_t *timers, uv_loop_t *loop) {
  int rc;
  timers->closing = 0;
  timers->close_cb = NULL;
  ad_list_init(&timers->entries);
  rc = uv_timer_init(loop, &timers->timer);
  if (rc != 0)
    return AD_EINVAL;
  timers->timer.data = timers;
  return 0;
}

static void ad_timers_closed(uv_handle_t *handle) {
  ad_timers_t *timers = handle->data;
  if (timers->close_cb != NULL)
    timers->close_cb(timers);
}

void ad_timers_close(ad_timers_t *timers, ad_timers_close_cb close_cb) {
  ad_list_t *node;
  timers->closing = 1;
  timers->close_cb = close_cb;
  while ((node = ad_list_head(&timers->entries)) != NULL)
    ad_list_remove(node);
  uv_close((uv_handle_t *)&timers->timer, ad_timers_closed);
}

void ad_timers_entry_init(ad_timers_entry_t *entry) {
  ad_list_init(&entry->node);
  entry->due_ms = 0;
  entry->cb = NULL;
  entry->data = NULL;
}

int ad_timers_after(ad_timers_t *timers, ad_timers_entry_t *entry,
                   uint64_t delay_ms, ad_timers_cb cb, void *data) {
  ad_list_t *pos;

  if (timers->closing)
    return AD_ECLOSING;
  ad_timers_cancel(entry);
  entry->due_ms = uv_now(timers->timer.loop) + delay_ms;
  entry->cb = cb;
  entry->data = data;
  /* Walk back from the tail: most delays are similar, so this is short. */
  for (pos = timers->entries.prev; pos != &timers->entries; pos = pos->prev)
    if (ad_container_of(pos, ad_timers_entry_t, node)->due_ms <= entry->due_ms)
      break;
  ad_list_insert_head(pos, &entry->node);
  if (timers->entries.next == &entry->node)
    ad_timers_arm(timers);
  return 0;
}

void ad_timers_cancel(ad_timers_entry_t *entry) {
  if (ad_list_linked(&entry->node))
    ad_list_remove(&entry->node);
}

int ad_timers_pending(const ad_timers_entry_t *entry) {
  return ad_list_linked(&entry->node);
}
