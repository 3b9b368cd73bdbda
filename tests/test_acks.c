/* The engine's acknowledgements by unit number (engine/host.c) and the
 * digest map the Airbyte source and the Dust sink keep ids in
 * (engine/keymap.c): pure, no network. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "keymap.h"
#include "page.h"
#include "queue.h"
#include "stats.h"
#include "testutil.h"

/* ---- the watermark ----------------------------------------------------------- */

/* What the source's acked hook heard: the first 64 acknowledged marks,
 * how many calls, and the last marks. */
typedef struct heard {
  uint64_t below[64], last, settled;
  int n;
} heard_t;

static heard_t heard;

static void src_acked(void *ctx, uint64_t acked, uint64_t settled) {
  (void)ctx;
  ck_assert(acked <= settled);
  ck_assert(heard.n == 0 || acked >= heard.last); /* never back */
  ck_assert(heard.n == 0 || settled > heard.settled);
  if (heard.n < 64)
    heard.below[heard.n] = acked;
  heard.n++;
  heard.last = acked;
  heard.settled = settled;
}

static void sink_take(void *ctx) { (void)ctx; }

static const ad_source_plugin_t acks_source = {.name = "acks",
                                               .acked = src_acked};
static const ad_sink_plugin_t acks_sink = {.name = "acks", .take = sink_take};

typedef struct rig {
  ad_host_t host;
  ad_queue_t queue;
  ad_stats_t stats;
  ad_table_t *table;
} rig_t;

static void rig_init(rig_t *r) {
  ad_queue_opts_t qo = {0};
  memset(&heard, 0, sizeof(heard));
  qo.max_rows = 1u << 20;
  ck_assert_int_eq(ad_queue_init(&r->queue, &qo), 0);
  ad_stats_init(&r->stats);
  ad_host_init(&r->host, NULL, NULL, &r->queue, &r->stats, 0, NULL);
  r->host.source.plugin = &acks_source;
  r->host.source.ctx = r;
  r->host.sink.plugin = &acks_sink;
  r->table = ad_table_new("t", "g", NULL, "tbl", "tbl", NULL);
  ck_assert_ptr_nonnull(r->table);
}

/* A page of n units pushed; the first unit's number. */
static uint64_t rig_push(rig_t *r, int n) {
  ad_page_t *page = ad_page_new(r->table);
  char id[16];
  uint64_t first = ad_source_pushed(&r->host.source);
  int i;
  for (i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "r%d", i);
    ck_assert_int_eq(ad_page_begin(page, id, strlen(id)), 0);
    ck_assert_int_eq(ad_page_append(page, "{}", 2), 0);
    ad_page_commit(page);
  }
  ck_assert_int_eq(ad_queue_reserve(&r->queue, (size_t)n, 0), 0);
  ad_source_push(&r->host.source, page, (size_t)n, 0, 0);
  ck_assert_uint_eq(ad_page_seq(page, 0), first);
  return first;
}

static void rig_free(rig_t *r) {
  ad_queue_item_t *it;
  while ((it = ad_queue_pop(&r->queue)) != NULL)
    ad_page_free((ad_page_t *)it);
  ad_table_unref(r->table);
  ad_host_close(&r->host);
  ad_stats_free(&r->stats);
}

/* Units numbered in push order across pages; acknowledgements out of
 * order move the mark only over what is contiguous. */
START_TEST(test_watermark_out_of_order) {
  rig_t r;
  rig_init(&r);
  ck_assert_uint_eq(rig_push(&r, 3), 0);
  ck_assert_uint_eq(rig_push(&r, 2), 3);
  ck_assert_uint_eq(ad_source_pushed(&r.host.source), 5);
  ad_sink_acked(&r.host.sink, 3);
  ad_sink_acked(&r.host.sink, 4);
  ck_assert_int_eq(heard.n, 0); /* 0..2 still out */
  ad_sink_acked(&r.host.sink, 1);
  ck_assert_int_eq(heard.n, 0);
  ad_sink_acked(&r.host.sink, 0);
  ck_assert_int_eq(heard.n, 1);
  ck_assert_uint_eq(heard.below[0], 2);
  ad_sink_acked(&r.host.sink, 2);
  ck_assert_int_eq(heard.n, 2);
  ck_assert_uint_eq(heard.below[1], 5);
  ad_sink_acked(&r.host.sink, 2); /* twice: nothing */
  ck_assert_int_eq(heard.n, 2);
  rig_free(&r);
}
END_TEST

/* A failed unit is never acknowledged: the acknowledged mark stops
 * before it for good, whatever comes after, while the settled mark goes
 * on over it (nothing of it is in flight); draining moves neither past
 * what was reported but for units never reported, which settle. */
START_TEST(test_watermark_stops_at_a_failure) {
  rig_t r;
  rig_init(&r);
  rig_push(&r, 5);
  ad_sink_acked(&r.host.sink, 0);
  ck_assert_uint_eq(heard.last, 1);
  ad_sink_failed(&r.host.sink, r.table, "r1", "refused", 1);
  ad_sink_nacked(&r.host.sink, 1);
  ck_assert_uint_eq(heard.last, 1);
  ck_assert_uint_eq(heard.settled, 2);
  ad_sink_acked(&r.host.sink, 3);
  ad_sink_acked(&r.host.sink, 2);
  ck_assert_uint_eq(heard.last, 1);
  ck_assert_uint_eq(heard.settled, 4);
  ad_sink_drained(&r.host.sink); /* unit 4 never reported: settled */
  ck_assert_uint_eq(heard.last, 1);
  ck_assert_uint_eq(heard.settled, 5);
  rig_free(&r);
}
END_TEST

/* The ring grows past its first size with units out; marks keep their
 * place. */
START_TEST(test_watermark_ring_grows) {
  rig_t r;
  uint64_t i;
  rig_init(&r);
  for (i = 0; i < 50; i++)
    rig_push(&r, 100); /* 5 000 units out, more than the first 1 024 */
  for (i = 1; i < 5000; i++)
    ad_sink_acked(&r.host.sink, i);
  ck_assert_int_eq(heard.n, 0);
  rig_push(&r, 3000); /* grows again with 4 999 marks set */
  ad_sink_acked(&r.host.sink, 0);
  ck_assert_int_eq(heard.n, 1);
  ck_assert_uint_eq(heard.below[0], 5000);
  for (i = 5000; i < 8000; i++)
    ad_sink_acked(&r.host.sink, i);
  ck_assert_uint_eq(heard.last, 8000);
  ck_assert_uint_eq(heard.settled, 8000);
  rig_free(&r);
}
END_TEST

/* A sink that never numbers its acknowledgements: everything counts as
 * acknowledged when it drains with nothing failed. */
START_TEST(test_watermark_unnumbered_sink) {
  rig_t r;
  rig_init(&r);
  rig_push(&r, 7);
  ad_sink_written(&r.host.sink, r.table, 7);
  ad_sink_drained(&r.host.sink);
  ck_assert_int_eq(heard.n, 1);
  ck_assert_uint_eq(heard.below[0], 7);
  rig_free(&r);
}
END_TEST

/* ---- the keymap ---------------------------------------------------------------- */

/* Against a plain array, through growth and deletions in every order
 * (linear probing's deletion must leave every other key findable). */
START_TEST(test_keymap_matches_reference) {
  enum { N = 4000 };
  ad_keymap_t m;
  static uint64_t keys[N];
  static int live[N];
  uint64_t v;
  unsigned seed = 7;
  int i, round;

  ad_keymap_init(&m);
  for (i = 0; i < N; i++) {
    /* few high bits vary: many keys share a home slot */
    keys[i] = ((uint64_t)(i % 97) << 40) | (uint64_t)(i / 97 + 1);
    ck_assert_int_eq(ad_keymap_put(&m, keys[i], (uint64_t)i), 0);
    live[i] = 1;
  }
  ck_assert_uint_eq(m.n, N);
  for (round = 0; round < 3; round++) {
    for (i = 0; i < N; i++) {
      seed = seed * 1103515245u + 12345u;
      if ((seed >> 16) % 3 == 0 && live[i]) {
        ad_keymap_drop(&m, keys[i], (uint64_t)i + 1); /* wrong value: kept */
        ad_keymap_drop(&m, keys[i], (uint64_t)i);
        live[i] = 0;
      } else if (!live[i] && (seed >> 16) % 5 == 0) {
        ck_assert_int_eq(ad_keymap_put(&m, keys[i], (uint64_t)i), 0);
        live[i] = 1;
      }
    }
    for (i = 0; i < N; i++) {
      ck_assert_int_eq(ad_keymap_get(&m, keys[i], &v), live[i]);
      if (live[i])
        ck_assert_uint_eq(v, (uint64_t)i);
    }
  }
  ad_keymap_clear(&m);
  ck_assert_int_eq(ad_keymap_get(&m, keys[0], &v), 0);
  ad_keymap_free(&m);
}
END_TEST

START_TEST(test_keymap_key) {
  ad_keymap_t m;
  char id[8];
  uint64_t space, v;
  int i;
  /* the space tells streams apart; never the empty key */
  ck_assert_uint_ne(ad_keymap_key(0, "id", 2), ad_keymap_key(1, "id", 2));
  ck_assert_uint_eq(ad_keymap_key(3, "id", 2), ad_keymap_key(3, "id", 2));
  ck_assert_uint_ne(ad_keymap_key(0, "", 0), 0);
  /* short ids of a few streams never meet (a seed mixed into a short
   * input linearly made "104" of stream 0 and "101" of stream 3 one key) */
  ad_keymap_init(&m);
  for (space = 0; space < 8; space++)
    for (i = 0; i < 1000; i++) {
      snprintf(id, sizeof(id), "%d", i);
      ck_assert_msg(!ad_keymap_get(&m, ad_keymap_key(space, id, strlen(id)),
                                   &v),
                    "stream %d id %s meets stream %d id %d", (int)space, id,
                    (int)(v >> 32), (int)(v & 0xffffffffu));
      ck_assert_int_eq(ad_keymap_put(&m, ad_keymap_key(space, id, strlen(id)),
                                     space << 32 | (uint64_t)i), 0);
    }
  ad_keymap_free(&m);
}
END_TEST

static Suite *acks_suite(void) {
  Suite *s = suite_create("acks");
  TCase *tc = tcase_create("acks");
  tcase_add_test(tc, test_watermark_out_of_order);
  tcase_add_test(tc, test_watermark_stops_at_a_failure);
  tcase_add_test(tc, test_watermark_ring_grows);
  tcase_add_test(tc, test_watermark_unnumbered_sink);
  tcase_add_test(tc, test_keymap_matches_reference);
  tcase_add_test(tc, test_keymap_key);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(acks_suite()); }
