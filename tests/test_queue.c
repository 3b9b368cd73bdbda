#include <check.h>
#include <stdlib.h>

#include "error.h"
#include "queue.h"
#include "testutil.h"

typedef struct marks {
  int high;
  int low;
} marks_t;

static void on_high(ad_queue_t *q, void *data) {
  (void)q;
  ((marks_t *)data)->high++;
}

static void on_low(ad_queue_t *q, void *data) {
  (void)q;
  ((marks_t *)data)->low++;
}

static void init_queue(ad_queue_t *q, marks_t *m, size_t rows, size_t bytes) {
  ad_queue_opts_t o = {0};
  o.max_rows = rows;
  o.max_bytes = bytes;
  o.low_ratio = 0.5;
  o.on_high = on_high;
  o.on_low = on_low;
  o.data = m;
  ck_assert_int_eq(ad_queue_init(q, &o), 0);
}

START_TEST(test_invalid_opts) {
  ad_queue_t q;
  ad_queue_opts_t o = {0};
  ck_assert_int_eq(ad_queue_init(&q, &o), AD_EINVAL);
  o.max_rows = 10;
  o.low_ratio = 1.0;
  ck_assert_int_eq(ad_queue_init(&q, &o), AD_EINVAL);
}
END_TEST

START_TEST(test_fifo_and_watermarks) {
  ad_queue_t q;
  marks_t m = {0, 0};
  ad_queue_item_t items[10];
  int i;

  init_queue(&q, &m, 1000, 0);
  /* Ten pages of 100 rows fill it exactly: the tenth reservation is the
   * high watermark, an eleventh is refused. */
  for (i = 0; i < 10; i++) {
    ck_assert_int_eq(ad_queue_reserve(&q, 100, 0), 0);
    ck_assert_int_eq(m.high, i == 9 ? 1 : 0);
  }
  ck_assert_int_eq(ad_queue_reserve(&q, 100, 0), AD_EAGAIN);
  ck_assert(!ad_queue_has_room(&q, 1));
  for (i = 0; i < 10; i++) {
    items[i].rows = i == 9 ? 40 : 100; /* the last page was short */
    items[i].bytes = 1000;
    ad_queue_push(&q, &items[i], 100, 0);
  }
  ck_assert_uint_eq(q.rows, 940);
  ck_assert_uint_eq(q.reserved_rows, 0);
  ck_assert_uint_eq(q.peak_rows, 1000);
  ck_assert_int_eq(m.high, 1);
  /* Popping below 50 % fires on_low once. */
  for (i = 0; i < 5; i++) {
    ck_assert_ptr_eq(ad_queue_pop(&q), &items[i]);
    ck_assert_int_eq(m.low, i == 4 ? 1 : 0);
  }
  ck_assert_uint_eq(q.rows, 440);
  for (i = 5; i < 10; i++)
    ck_assert_ptr_eq(ad_queue_pop(&q), &items[i]);
  ck_assert_ptr_null(ad_queue_pop(&q));
  ck_assert_int_eq(m.high, 1);
  ck_assert_int_eq(m.low, 1);
  ck_assert_uint_eq(q.items, 0);
}
END_TEST

/* A refusal below the bound (not room for a whole page) must still lead
 * to on_low, or the refused producer would wait forever. */
START_TEST(test_refusal_below_bound_resumes) {
  ad_queue_t q;
  marks_t m = {0, 0};

  init_queue(&q, &m, 250, 0);
  ck_assert_int_eq(ad_queue_reserve(&q, 200, 0), 0);
  ck_assert_int_eq(m.high, 0);
  ck_assert_int_eq(ad_queue_reserve(&q, 100, 0), AD_EAGAIN);
  ck_assert_int_eq(m.high, 1);
  ck_assert_int_eq(m.low, 0);
  ad_queue_release(&q, 200, 0);
  ck_assert_int_eq(m.low, 1);
  ck_assert_int_eq(ad_queue_reserve(&q, 251, 0), AD_EAGAIN);
}
END_TEST

START_TEST(test_release_and_byte_bound) {
  ad_queue_t q;
  marks_t m = {0, 0};
  ad_queue_item_t a;

  init_queue(&q, &m, 1000, 5000);
  ck_assert_int_eq(ad_queue_reserve(&q, 100, 0), 0);
  a.rows = 100;
  a.bytes = 6000; /* bytes are known only on arrival */
  ad_queue_push(&q, &a, 100, 0);
  ck_assert_int_eq(m.high, 1); /* over the byte bound */
  ck_assert_int_eq(ad_queue_reserve(&q, 1, 0), AD_EAGAIN);
  ck_assert_ptr_eq(ad_queue_pop(&q), &a);
  ck_assert_int_eq(m.low, 1);
  ck_assert_uint_eq(q.peak_bytes, 6000);
  ck_assert_int_eq(ad_queue_reserve(&q, 1000, 0), 0);
  ck_assert_int_eq(m.high, 2);
  ad_queue_release(&q, 1000, 0); /* the fetch failed */
  ck_assert_uint_eq(q.reserved_rows, 0);
  ck_assert_int_eq(m.low, 2);
}
END_TEST

static Suite *queue_suite(void) {
  Suite *s = suite_create("queue");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_invalid_opts);
  tcase_add_test(tc, test_fifo_and_watermarks);
  tcase_add_test(tc, test_release_and_byte_bound);
  tcase_add_test(tc, test_refusal_below_bound_resumes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(queue_suite()); }
