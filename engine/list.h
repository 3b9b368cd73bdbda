/* ad_list: an intrusive circular doubly-linked list, as libuv's queue.
 * Nodes live inside the owner's struct; nothing is allocated. */
#ifndef AD_LIST_H
#define AD_LIST_H

#include <stddef.h>

typedef struct ad_list {
  struct ad_list *next;
  struct ad_list *prev;
} ad_list_t;

#define ad_container_of(ptr, type, member)                                  \
  ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void ad_list_init(ad_list_t *head) {
  head->next = head;
  head->prev = head;
}

static inline int ad_list_empty(const ad_list_t *head) {
  return head->next == head;
}

/* A node that was removed (or initialised and never added) is unlinked. */
static inline int ad_list_linked(const ad_list_t *node) {
  return node->next != node;
}

static inline void ad_list_insert_tail(ad_list_t *head, ad_list_t *node) {
  node->next = head;
  node->prev = head->prev;
  head->prev->next = node;
  head->prev = node;
}

static inline void ad_list_insert_head(ad_list_t *head, ad_list_t *node) {
  node->prev = head;
  node->next = head->next;
  head->next->prev = node;
  head->next = node;
}

static inline void ad_list_remove(ad_list_t *node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  ad_list_init(node);
}

static inline ad_list_t *ad_list_head(const ad_list_t *head) {
  return ad_list_empty(head) ? NULL : head->next;
}

#endif
