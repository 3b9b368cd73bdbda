/* Recurring syncs (docs/mirror.md): the same sync run again after the
 * source changed leaves Dust equal to what a first sync of the changed
 * source leaves there — in both formats, for each kind of change alone
 * and all together, over several seeds —, sends nothing for what did not
 * change, deletes nothing from a table whose read failed, holds back a
 * mass deletion until it is allowed, and never touches what it did not
 * write. The oracle is a fresh pair of fakes given the same seed and the
 * same mutations, synced once without memory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_harness.h"
#include "testutil.h"

#define AT_BASES 2
#define AT_TABLES 3
#define AT_RECORDS 120

static const char *format_of(int i) { return i == 0 ? "tables" : "documents"; }

/* Fakes without rate limits (the mirror is under test, not the pacing),
 * a memory, and the run's limits raised to match. */
static void setup_th(ad_th_t *th, const char *format, uint64_t seed) {
  ad_th_setup(th);
  th->format = format;
  th->ao.seed = seed;
  th->ao.bases = AT_BASES;
  th->ao.tables_per_base = AT_TABLES;
  th->ao.records_per_table = AT_RECORDS;
  th->ao.per_base_rps = 0;
  th->ao.per_token_rps = 0;
  snprintf(th->rate_extra, sizeof(th->rate_extra),
           ",\"dust_documents_per_minute\":100000,\"per_base_rps\":500,"
           "\"per_token_rps\":5000");
  th->store_name = "sync.db";
}

static json_object *get(json_object *o, const char *key) {
  return json_object_object_get(o, key);
}

/* Dust's content, as the dump gives it, compared with the oracle's:
 * every table (id, name, title, description, schema, rows) and every
 * document. */
static void assert_same_dust(ad_th_t *got, ad_th_t *want) {
  json_object *a = ad_fake_dust_dump(got->dust), *b = ad_fake_dust_dump(want->dust);
  json_object *ta = get(a, "tables"), *tb = get(b, "tables"), *x, *y;
  static const char *const keys[] = {"name", "title", "description", "rows",
                                     "schema"};
  size_t i, j, k;

  ck_assert_msg(json_object_array_length(ta) == json_object_array_length(tb),
                "%zu Dust tables, the oracle has %zu",
                json_object_array_length(ta), json_object_array_length(tb));
  for (i = 0; i < json_object_array_length(tb); i++) {
    y = json_object_array_get_idx(tb, i);
    x = NULL;
    for (j = 0; j < json_object_array_length(ta) && x == NULL; j++)
      if (strcmp(json_object_get_string(get(json_object_array_get_idx(ta, j),
                                              "table_id")),
                 json_object_get_string(get(y, "table_id"))) == 0)
        x = json_object_array_get_idx(ta, j);
    ck_assert_msg(x != NULL, "table %s missing",
                  json_object_get_string(get(y, "table_id")));
    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
      ck_assert_msg(json_object_equal(get(x, keys[k]), get(y, keys[k])),
                    "table %s: %s differs: %.300s vs %.300s",
                    json_object_get_string(get(y, "table_id")), keys[k],
                    json_object_to_json_string(get(x, keys[k])),
                    json_object_to_json_string(get(y, keys[k])));
  }
  ck_assert_msg(json_object_equal(get(a, "documents"), get(b, "documents")),
                "documents differ: %d vs %d",
                json_object_object_length(get(a, "documents")),
                json_object_object_length(get(b, "documents")));
  json_object_put(a);
  json_object_put(b);
}

static long dust_requests(ad_th_t *th) {
  ad_fake_dust_counters_t c;
  ad_fake_dust_counters(th->dust, &c);
  return c.requests_tables_post + c.requests_rows_post +
         c.requests_documents_post + c.requests_tables_delete +
         c.requests_rows_delete + c.requests_documents_delete;
}

/* One sync, one change, one more sync; then the oracle. */
static void mirror_case(const char *format, uint64_t seed, unsigned kinds,
                        double share) {
  ad_th_t th, oracle;
  ad_fake_mutation_t m, m2;
  uint64_t mseed = seed * 7919u + kinds;
  long before;

  setup_th(&th, format, seed);
  ad_th_run(&th);
  ad_th_assert_all_landed(&th);
  ck_assert_int_eq(ad_fake_airtable_mutate(th.at, mseed, kinds, share, &m),
                   0);
  before = dust_requests(&th);
  ad_th_run(&th);
  ck_assert_msg(th.st.records_failed == 0 && th.st.tables_failed == 0,
                "%s: %s", m.summary, json_object_to_json_string(th.stats));
  ck_assert_uint_eq(th.st.records_read, (uint64_t)ad_th_total_records(&th));
  ck_assert_uint_eq(th.st.tables_deleted, (uint64_t)m.tables_dropped);
  ck_assert_uint_eq(th.st.deletes_held, 0);
  if (!(kinds & (AD_FAKE_MUT_SCHEMA & ~AD_FAKE_MUT_DROP_TABLE))) {
    /* records alone: exactly what changed travels */
    ck_assert_uint_eq(th.st.rows_written + th.st.documents_written,
                      (uint64_t)(m.edited + m.added));
    if (strcmp(format, "tables") == 0)
      ck_assert_uint_eq(th.st.rows_deleted, (uint64_t)m.deleted);
    else
      ck_assert_uint_ge(th.st.documents_deleted, (uint64_t)m.deleted);
  }
  if (kinds == 0)
    ck_assert_int_eq(dust_requests(&th), before);

  setup_th(&oracle, format, seed);
  oracle.store_name = NULL;
  ad_th_start_fakes(&oracle);
  ck_assert_int_eq(
      ad_fake_airtable_mutate(oracle.at, mseed, kinds, share, &m2), 0);
  ck_assert_str_eq(m.summary, m2.summary);
  ad_th_run(&oracle);
  assert_same_dust(&th, &oracle);
  ad_th_teardown(&oracle);
  ad_th_teardown(&th);
}

static const unsigned kinds_alone[] = {
    AD_FAKE_MUT_DELETE,       AD_FAKE_MUT_EDIT,
    AD_FAKE_MUT_ADD,          AD_FAKE_MUT_ADD_FIELD,
    AD_FAKE_MUT_RENAME_FIELD, AD_FAKE_MUT_RETYPE_FIELD,
    AD_FAKE_MUT_DROP_TABLE};
#define NKINDS (int)(sizeof(kinds_alone) / sizeof(kinds_alone[0]))

/* _i: format (bit 0), seed (bit 1), kind (the rest). */
START_TEST(test_each_kind_alone) {
  mirror_case(format_of(_i & 1), 1 + (uint64_t)((_i >> 1) & 1),
              kinds_alone[_i >> 2], 0.1);
}
END_TEST

START_TEST(test_all_kinds_together) {
  mirror_case(format_of(_i & 1), 11 + (uint64_t)(_i >> 1), AD_FAKE_MUT_ALL,
              0.1);
}
END_TEST

/* A rerun of an unchanged source reads everything and sends nothing: no
 * row, no document, no table upsert, no delete. */
START_TEST(test_unchanged_rerun_sends_nothing) {
  ad_th_t th;
  long before;
  setup_th(&th, format_of(_i), 5);
  ad_th_run(&th);
  before = dust_requests(&th);
  ad_th_run(&th);
  ck_assert_int_eq(dust_requests(&th), before);
  ck_assert_uint_eq(th.st.records_unchanged,
                    (uint64_t)ad_th_total_records(&th));
  ck_assert_uint_eq(th.st.rows_written + th.st.documents_written, 0);
  ck_assert_uint_eq(th.st.tables_skipped, 0); /* a complete run: no resume */
  ad_th_teardown(&th);
}
END_TEST

/* A table whose read fails midway deletes nothing (its records not read
 * may well still exist); its neighbours' deletions go through. */
START_TEST(test_failed_read_deletes_nothing) {
  ad_th_t th;
  json_object *dump;
  int r;
  setup_th(&th, "tables", 7);
  ad_th_run(&th);
  for (r = 0; r < 10; r++) {
    ck_assert_int_eq(ad_fake_airtable_delete_record(th.at, 0, 0, r * 3), 0);
    ck_assert_int_eq(ad_fake_airtable_delete_record(th.at, 0, 1, r * 3), 0);
  }
  ck_assert_int_eq(ad_fake_airtable_fail_table_after(th.at, 0, 0, 1), 0);
  th.max_retries = 1;
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.tables_failed, 1);
  ck_assert_uint_eq(th.st.rows_deleted, 10); /* table (0, 1)'s only */
  dump = ad_fake_dust_dump(th.dust);
  ck_assert_int_eq(ad_th_stored_rows(&th, dump, 0, 0), AT_RECORDS);
  ck_assert_int_eq(ad_th_stored_rows(&th, dump, 0, 1), AT_RECORDS - 10);
  json_object_put(dump);
  /* Once it reads again, it catches up. */
  ck_assert_int_eq(ad_fake_airtable_fail_table_after(th.at, 0, 0, -1), 0);
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.tables_failed, 0);
  ck_assert_uint_eq(th.st.rows_deleted, 10);
  dump = ad_fake_dust_dump(th.dust);
  ck_assert_int_eq(ad_th_stored_rows(&th, dump, 0, 0), AT_RECORDS - 10);
  json_object_put(dump);
  ad_th_teardown(&th);
}
END_TEST

static void stop_after_a_few_pages(ad_th_t *th) {
  if (th->p.stats.records_read >= 300 && !th->p.stopped)
    ad_pipeline_stop(&th->p);
}

/* A run stopped midway deletes nothing from the tables it had not read to
 * their end (their unread records are not gone); the next run resumes
 * and does. */
START_TEST(test_stopped_run_deletes_only_what_it_read_whole) {
  ad_th_t th;
  json_object *dump;
  uint64_t deleted;
  long rows;
  int b, t, r, cut = 0;

  setup_th(&th, "tables", 19);
  ad_th_run(&th);
  for (b = 0; b < AT_BASES; b++)
    for (t = 0; t < AT_TABLES; t++)
      for (r = 0; r < 10; r++)
        ck_assert_int_eq(ad_fake_airtable_delete_record(th.at, b, t, r * 5),
                         0);
  ad_fake_dust_set_latency(th.dust, 0);
  th.ao.latency_ms = 0;
  th.tick = stop_after_a_few_pages;
  ad_th_run(&th);
  dump = ad_fake_dust_dump(th.dust);
  for (b = 0; b < AT_BASES; b++)
    for (t = 0; t < AT_TABLES; t++) {
      rows = ad_th_stored_rows(&th, dump, b, t);
      ck_assert_msg(rows == AT_RECORDS || rows == AT_RECORDS - 10,
                    "table %d/%d holds %ld rows", b, t, rows);
      cut += rows == AT_RECORDS;
    }
  json_object_put(dump);
  ck_assert_int_gt(cut, 0);
  deleted = th.st.rows_deleted;
  th.tick = NULL;
  ad_th_run(&th);
  /* each deletion once: what the stopped run left, the next one did */
  ck_assert_uint_eq(deleted + th.st.rows_deleted, AT_BASES * AT_TABLES * 10);
  dump = ad_fake_dust_dump(th.dust);
  for (b = 0; b < AT_BASES; b++)
    for (t = 0; t < AT_TABLES; t++)
      ck_assert_int_eq(ad_th_stored_rows(&th, dump, b, t), AT_RECORDS - 10);
  json_object_put(dump);
  ad_th_teardown(&th);
}
END_TEST

/* Dust refuses the deletions of one table: each is tried, none is
 * forgotten, and the table's refusals are one failure that ends the run
 * partial; the next run tries them again. */
START_TEST(test_refused_deletes_are_retried) {
  ad_th_t th;
  json_object *dump;
  char table[64];
  int r, run;

  setup_th(&th, "tables", 17);
  ad_th_run(&th);
  for (r = 0; r < 10; r++)
    ck_assert_int_eq(ad_fake_airtable_delete_record(th.at, 1, 0, r), 0);
  ad_th_dust_table_id(&th, table, sizeof(table), 1, 0);
  ad_fake_dust_reject_table(th.dust, table);
  for (run = 0; run < 2; run++) {
    ad_th_run(&th);
    ck_assert_uint_eq(th.st.rows_deleted, 0);
    ck_assert(!ad_stats_ok(&th.st));
    ck_assert_int_eq(
        (int)json_object_array_length(get(th.stats, "failures")), 1);
    ck_assert_ptr_nonnull(strstr(json_object_to_json_string(th.stats),
                                 "10 deletions not done"));
  }
  dump = ad_fake_dust_dump(th.dust);
  ck_assert_int_eq(ad_th_stored_rows(&th, dump, 1, 0), AT_RECORDS);
  json_object_put(dump);
  ad_th_teardown(&th);
}
END_TEST

/* More than half of a table's records gone: nothing is deleted there, the
 * run says why and ends partial; allowed, the next run deletes them. The
 * same for the tables. */
START_TEST(test_mass_delete_guard) {
  ad_th_t th;
  json_object *dump;
  ad_fake_dust_counters_t c;
  int r, b, t, n = AT_RECORDS * 6 / 10;

  setup_th(&th, format_of(_i), 9);
  ad_th_run(&th);
  for (r = 0; r < n; r++)
    ck_assert_int_eq(ad_fake_airtable_delete_record(th.at, 1, 2, r), 0);
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.deletes_held, (uint64_t)n);
  ck_assert_uint_eq(th.st.rows_deleted + th.st.documents_deleted, 0);
  ck_assert(!ad_stats_ok(&th.st));
  ck_assert_ptr_nonnull(strstr(json_object_to_json_string(th.stats),
                               "--allow-mass-delete"));
  if (_i == 0) {
    dump = ad_fake_dust_dump(th.dust);
    ck_assert_int_eq(ad_th_stored_rows(&th, dump, 1, 2), AT_RECORDS);
    json_object_put(dump);
  }
  th.allow_mass_delete = 1;
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.rows_deleted + th.st.documents_deleted,
                    (uint64_t)n);
  ck_assert_uint_eq(th.st.deletes_held, 0);
  th.allow_mass_delete = 0;
  /* Four of the six tables gone at once. */
  for (b = 0; b < AT_BASES; b++)
    for (t = 0; t < 2; t++)
      ck_assert_int_eq(ad_fake_airtable_drop_table(th.at, b, t), 0);
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.tables_deleted, 0);
  ck_assert_uint_eq(th.st.tables_held, 4);
  ad_fake_dust_counters(th.dust, &c);
  ck_assert_int_eq(c.tables_deleted, 0);
  th.allow_mass_delete = 1;
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.tables_deleted, 4);
  ad_th_teardown(&th);
}
END_TEST

/* What another writer put in the data source survives every run: a table
 * and documents of its own, and a row it added to one of airdust's
 * tables (a recurring sync deletes only what it remembers writing). */
START_TEST(test_never_deletes_what_it_did_not_write) {
  ad_th_t th;
  json_object *dump, *value, *tables, *x;
  char table[64];
  size_t i;
  int found = 0;

  setup_th(&th, format_of(_i), 13);
  ad_th_run(&th);
  ad_th_dust_table_id(&th, table, sizeof(table), 0, 0);
  ad_fake_dust_add_table(th.dust, "other_writer_table", "other_writer");
  value = json_object_new_object();
  json_object_object_add(value, "note", json_object_new_string("keep me"));
  if (_i == 0)
    ck_assert_int_eq(ad_fake_dust_put_row(th.dust, table, "recOtherWriter01",
                                          value),
                     0);
  json_object_put(value);
  ad_fake_dust_put_document(th.dust, "notion__page1", "A page",
                            "source:notion", (char *)NULL);
  ck_assert_int_eq(ad_fake_airtable_mutate(th.at, 99, AD_FAKE_MUT_ALL, 0.2,
                                           NULL),
                   0);
  ad_th_run(&th);
  dump = ad_fake_dust_dump(th.dust);
  ck_assert_ptr_nonnull(
      json_object_object_get(get(dump, "documents"), "notion__page1"));
  tables = get(dump, "tables");
  for (i = 0; i < json_object_array_length(tables); i++) {
    x = json_object_array_get_idx(tables, i);
    if (strcmp(json_object_get_string(get(x, "table_id")),
               "other_writer_table") == 0)
      found = 1;
    if (_i == 0 &&
        strcmp(json_object_get_string(get(x, "table_id")), table) == 0)
      ck_assert_ptr_nonnull(
          json_object_object_get(get(x, "rows"), "recOtherWriter01"));
  }
  ck_assert(found);
  json_object_put(dump);
  ad_th_teardown(&th);
}
END_TEST

/* A lost memory (a new machine, an empty disk) is not a lost mirror: the
 * run lists what airdust wrote in the data source, writes everything, and
 * deletes what the source no longer has — and still nothing of another
 * writer's. */
START_TEST(test_lost_state_reconciles) {
  ad_th_t th, oracle;
  ad_fake_mutation_t m;
  json_object *dump;
  uint64_t seed = 21 + (uint64_t)_i;

  setup_th(&th, format_of(_i), seed);
  ad_th_run(&th);
  ad_fake_dust_add_table(th.dust, "other_writer_table", "other_writer");
  /* airdust's shape, of a base this token does not see: another
   * account's sync, maybe — never taken for gone */
  ad_fake_dust_add_table(th.dust, "airtable_appOtherAccount01_tblOther01",
                         "other_account");
  ad_fake_dust_put_document(th.dust, "notion__page1", "A page",
                            "source:notion", (char *)NULL);
  ck_assert_int_eq(ad_fake_airtable_mutate(th.at, seed, AD_FAKE_MUT_ALL, 0.1,
                                           &m),
                   0);
  th.store_name = "lost.db"; /* the first run's memory is gone */
  ad_th_run(&th);
  ck_assert_int_eq(ad_fake_dust_drop_table(
                       th.dust, "airtable_appOtherAccount01_tblOther01"),
                   0);
  ck_assert_msg(th.st.records_failed == 0 && th.st.tables_failed == 0, "%s",
                json_object_to_json_string(th.stats));
  ck_assert_uint_eq(th.st.rows_written + th.st.documents_written,
                    (uint64_t)ad_th_total_records(&th));
  ck_assert_uint_eq(th.st.tables_deleted, (uint64_t)m.tables_dropped);
  dump = ad_fake_dust_dump(th.dust);
  ck_assert_ptr_nonnull(
      json_object_object_get(get(dump, "documents"), "notion__page1"));
  json_object_put(dump);
  /* what another writer made goes away for the comparison */
  ck_assert_int_ge(ad_fake_dust_drop_table(th.dust, "other_writer_table"), 0);
  setup_th(&oracle, format_of(_i), seed);
  oracle.store_name = NULL;
  ad_th_start_fakes(&oracle);
  ck_assert_int_eq(ad_fake_airtable_mutate(oracle.at, seed, AD_FAKE_MUT_ALL,
                                           0.1, NULL),
                   0);
  ad_fake_dust_put_document(oracle.dust, "notion__page1", "A page",
                            "source:notion", (char *)NULL);
  ad_th_run(&oracle);
  assert_same_dust(&th, &oracle);
  /* The new memory is a memory: the next run sends nothing. */
  ad_th_run(&th);
  ck_assert_uint_eq(th.st.records_unchanged,
                    (uint64_t)ad_th_total_records(&th));
  ad_th_teardown(&oracle);
  ad_th_teardown(&th);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("mirror");
  TCase *tc = tcase_create("mirror");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, test_each_kind_alone, 0, 4 * NKINDS);
  tcase_add_loop_test(tc, test_all_kinds_together, 0, 6);
  tcase_add_loop_test(tc, test_unchanged_rerun_sends_nothing, 0, 2);
  tcase_add_test(tc, test_failed_read_deletes_nothing);
  tcase_add_loop_test(tc, test_mass_delete_guard, 0, 2);
  tcase_add_test(tc, test_refused_deletes_are_retried);
  tcase_add_test(tc, test_stopped_run_deletes_only_what_it_read_whole);
  tcase_add_loop_test(tc, test_never_deletes_what_it_did_not_write, 0, 2);
  tcase_add_loop_test(tc, test_lost_state_reconciles, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(suite()); }
