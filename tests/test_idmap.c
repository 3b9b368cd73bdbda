/* The id map of a recurring sync (pipeline/idmap.h): what is put is
 * found, deleted entries are gone and their slots reused on growth, keys
 * survive growth byte for byte, and ids that share a prefix stay apart. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "idmap.h"
#include "testutil.h"

START_TEST(test_put_get_del) {
  ad_idmap_t m;
  ad_idmap_entry_t *e;
  int created;

  ad_idmap_init(&m);
  ck_assert_ptr_null(ad_idmap_get(&m, "rec1", 4));
  e = ad_idmap_put(&m, "rec1", 4, &created);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(created, 1);
  e->hash[0] = 7;
  e = ad_idmap_put(&m, "rec1", 4, &created);
  ck_assert_int_eq(created, 0);
  ck_assert_int_eq(e->hash[0], 7);
  ck_assert_str_eq(ad_idmap_key(&m, e), "rec1");
  /* a prefix, a longer id: other entries */
  ck_assert_ptr_null(ad_idmap_get(&m, "rec", 3));
  ck_assert_ptr_null(ad_idmap_get(&m, "rec10", 5));
  ck_assert_ptr_nonnull(ad_idmap_put(&m, "rec10", 5, &created));
  ck_assert_int_eq(created, 1);
  ck_assert_uint_eq(m.count, 2);
  ad_idmap_del(&m, ad_idmap_get(&m, "rec1", 4));
  ck_assert_ptr_null(ad_idmap_get(&m, "rec1", 4));
  ck_assert_ptr_nonnull(ad_idmap_get(&m, "rec10", 5));
  ck_assert_uint_eq(m.count, 1);
  e = ad_idmap_put(&m, "rec1", 4, &created); /* back, fresh */
  ck_assert_int_eq(created, 1);
  ck_assert_int_eq(e->hash[0], 0);
  ad_idmap_free(&m);
}
END_TEST

/* 100 000 ids, half deleted along the way, the rest put again: the map
 * grows, drops its tombstones, and every live key is intact. */
START_TEST(test_growth_and_tombstones) {
  ad_idmap_t m;
  ad_idmap_entry_t *e;
  char id[32];
  int i, created, live = 0;
  size_t n;

  ad_idmap_init(&m);
  for (i = 0; i < 100000; i++) {
    n = (size_t)snprintf(id, sizeof(id), "rec%014d", i);
    e = ad_idmap_put(&m, id, n, &created);
    ck_assert_ptr_nonnull(e);
    e->flags = (unsigned char)(i & 0xff);
    if (i % 2 == 1) { /* the one before goes */
      n = (size_t)snprintf(id, sizeof(id), "rec%014d", i - 1);
      ad_idmap_del(&m, ad_idmap_get(&m, id, n));
    }
  }
  ck_assert_uint_eq(m.count, 50000);
  for (i = 0; i < 100000; i++) {
    n = (size_t)snprintf(id, sizeof(id), "rec%014d", i);
    e = ad_idmap_get(&m, id, n);
    if (i % 2 == 0) {
      ck_assert_ptr_null(e);
      continue;
    }
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(ad_idmap_key(&m, e), id);
    ck_assert_int_eq(e->flags, i & 0xff);
  }
  for (n = 0; n < m.cap; n++)
    live += ad_idmap_live(&m.slots[n]);
  ck_assert_int_eq(live, 50000);
  ad_idmap_free(&m);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("idmap");
  TCase *tc = tcase_create("idmap");
  tcase_add_test(tc, test_put_get_del);
  tcase_add_test(tc, test_growth_and_tombstones);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(suite()); }
