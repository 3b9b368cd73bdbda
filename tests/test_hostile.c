/* Hostile and odd input, end to end against both fakes (docs/testing.md,
 * "Hostile and odd input"): a table wider than Dust allows, a 10 MB cell,
 * zero bases, bases without tables. Each run keeps the accounting
 * invariant (the harness asserts read = written + failed) and says what
 * failed and why. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sync_harness.h"
#include "testutil.h"

static ad_th_t h;

static void setup(void) {
  ad_th_setup(&h);
  h.ao.bases = 1;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = 30;
}

static void teardown(void) { ad_th_teardown(&h); }

static const char *first_failure(void) {
  json_object *f = json_object_array_get_idx(
      json_object_object_get(h.stats, "failures"), 0);
  return json_object_get_string(json_object_object_get(f, "error"));
}

/* 600 fields: more than a Dust table's 512 columns. In tables format the
 * table fails alone, up front, saying why; the other one lands. In
 * documents format there is no column limit: everything lands. */
START_TEST(test_wide_table) {
  json_object *dump;

  h.ao.wide_fields = 600;
  h.format = _i == 0 ? "tables" : "documents";
  ad_th_run(&h);
  if (_i == 1) {
    ad_th_assert_all_landed(&h);
    return;
  }
  ck_assert_uint_eq(h.st.tables_failed, 1);
  ck_assert_uint_eq(h.st.records_read, 30); /* the wide one is not read */
  ck_assert_uint_eq(h.st.rows_written, 30);
  ck_assert_ptr_nonnull(strstr(first_failure(), "has 600 fields; a Dust "
                                                "table holds at most 512"));
  dump = ad_fake_dust_dump(h.dust);
  ck_assert_ptr_null(ad_th_stored_table(&h, dump, 0, 0));
  ck_assert_int_eq(ad_th_stored_rows(&h, dump, 0, 1), 30);
  json_object_put(dump);
}
END_TEST

/* A 10 MB cell: the page is read whole, the record cannot fit in one
 * Dust request (1 MB rows body, 8 MB document), so it alone fails, named
 * with Dust's 413; the other 59 land. */
START_TEST(test_huge_cell) {
  json_object *f;

  h.ao.huge_cell_bytes = 10u << 20;
  h.format = _i == 0 ? "tables" : "documents";
  ad_th_run(&h);
  ck_assert_uint_eq(h.st.records_read, 60);
  ck_assert_uint_eq(h.st.records_failed, 1);
  ck_assert_uint_eq(h.st.rows_written + h.st.documents_written, 59);
  f = json_object_array_get_idx(json_object_object_get(h.stats, "failures"),
                                0);
  ck_assert_ptr_nonnull(json_object_object_get(f, "record"));
  ck_assert_ptr_nonnull(strstr(first_failure(), "413"));
}
END_TEST

/* A token that sees no base, or bases without tables: nothing to do is
 * not an error. */
START_TEST(test_nothing_to_sync) {
  h.ao.bases = _i == 0 ? 0 : 2;
  h.ao.tables_per_base = 0;
  ad_th_run(&h);
  ck_assert_int_eq(ad_stats_ok(&h.st), 1);
  ck_assert_uint_eq(h.st.bases, _i == 0 ? 0 : 2);
  ck_assert_uint_eq(h.st.tables, 0);
  ck_assert_uint_eq(h.st.records_read, 0);
}
END_TEST

static Suite *hostile_suite(void) {
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("end_to_end");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_wide_table, 0, 2);
  tcase_add_loop_test(tc, test_huge_cell, 0, 2);
  tcase_add_loop_test(tc, test_nothing_to_sync, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(hostile_suite()); }
