/* The engine's record model and helpers: pages, deferred timers. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "page.h"
#include "table.h"
#include "testutil.h"
#include "timers.h"

START_TEST(test_page_units) {
  ad_table_t *t = ad_table_new("airtable", "appB", NULL, "tblT", "Tasks", NULL);
  ad_page_t *p;

  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->description, "");
  ck_assert_ptr_null(t->group_name);
  p = ad_page_new(t);
  ad_table_unref(t); /* the page keeps the table alive */
  ck_assert_int_eq(ad_page_begin(p, "rec1", 4), 0);
  ck_assert_int_eq(ad_buf_puts(&p->data, "{\"a\":1}"), 0);
  ad_page_commit(p);
  ck_assert_int_eq(ad_page_begin(p, "rec2", 4), 0);
  ck_assert_int_eq(ad_buf_puts(&p->data, "{\"broken"), 0);
  ad_page_abort(p);
  ck_assert_int_eq(ad_page_begin(p, "rec3", 4), 0);
  ck_assert_int_eq(ad_buf_puts(&p->data, "{\"b\":2}"), 0);
  ad_page_commit(p);
  ck_assert_uint_eq(p->nunits, 2);
  ck_assert_uint_eq(p->item.rows, 2);
  ck_assert_uint_eq(p->item.bytes, p->data.len);
  ck_assert_str_eq(ad_page_unit_id(p, 1), "rec3");
  ck_assert_int_eq(strncmp(ad_page_unit(p, 1), "{\"b\":2}", p->units[1].len), 0);
  ck_assert_uint_eq(p->units[1].len, 7);
  ck_assert_str_eq(p->table->table_name, "Tasks");
  ad_page_free(p);
}
END_TEST

typedef struct fired {
  int order[4];
  int n;
  ad_timers_entry_t e[4];
} fired_t;

static void on_fire(ad_timers_entry_t *e, void *data) {
  fired_t *f = data;
  f->order[f->n++] = (int)(e - f->e);
}

START_TEST(test_timers_order_and_cancel) {
  uv_loop_t loop;
  ad_timers_t timers;
  fired_t f;
  int i;

  memset(&f, 0, sizeof(f));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(ad_timers_init(&timers, &loop), 0);
  for (i = 0; i < 4; i++)
    ad_timers_entry_init(&f.e[i]);
  ck_assert_int_eq(ad_timers_after(&timers, &f.e[0], 30, on_fire, &f), 0);
  ck_assert_int_eq(ad_timers_after(&timers, &f.e[1], 10, on_fire, &f), 0);
  ck_assert_int_eq(ad_timers_after(&timers, &f.e[2], 10, on_fire, &f), 0);
  ck_assert_int_eq(ad_timers_after(&timers, &f.e[3], 20, on_fire, &f), 0);
  ad_timers_cancel(&f.e[3]);
  ck_assert_int_eq(ad_timers_pending(&f.e[3]), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(f.n, 3);
  ck_assert_int_eq(f.order[0], 1);
  ck_assert_int_eq(f.order[1], 2);
  ck_assert_int_eq(f.order[2], 0);
  /* Close drops what is pending without running it. */
  ck_assert_int_eq(ad_timers_after(&timers, &f.e[3], 5, on_fire, &f), 0);
  ad_timers_close(&timers, NULL);
  ck_assert_int_eq(ad_timers_after(&timers, &f.e[0], 5, on_fire, &f),
                   AD_ECLOSING);
  ck_assert_int_eq(ad_test_loop_close(&loop), 0);
  ck_assert_int_eq(f.n, 3);
}
END_TEST

static Suite *model_suite(void) {
  Suite *s = suite_create("model");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_page_units);
  tcase_add_test(tc, test_timers_order_and_cancel);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(model_suite()); }
