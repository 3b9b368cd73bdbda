/* The fault matrix: every fault either fake can inject, alone (both
 * formats, two seeds) and in every pair (the format and the seed vary with
 * the pair), each over a full end-to-end sync.
 *
 * Each run must end before its deadline and leave every record of the
 * dataset stored exactly once, none failed; Dust may hold a row twice only
 * when an answer was slow enough for the client to give up on it and
 * resend (an idempotent retry); and no request may reach an Airtable base
 * while a 429 has told the client that base is paused.
 *
 * CK_RUN_CASE picks "single", "pairs_a" or "pairs_b", so ctest can run the
 * three parts side by side (label "faults"); AD_FAULT_CASE=N runs only
 * iteration N of them, to look at one case. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sync_harness.h"
#include "testutil.h"

/* Two pages per table, so offsets are in play; fewer in documents format,
 * where each record is a request. */
#define RECORDS 150
#define RECORDS_DOCUMENTS 101
#define BATCH 100

static ad_th_t h;
static int token_blocked; /* the at_token fault fired */

typedef struct fault {
  const char *name;
  void (*before)(ad_th_t *th); /* sets options before the fakes start */
  void (*live)(ad_th_t *th);   /* after they start, before the sync */
} fault_t;

static void append(char *field, size_t size, const char *text) {
  strncat(field, text, size - strlen(field) - 1);
}

/* ---- Airtable's faults ---------------------------------------------------- */

/* The client allows itself more than the fake grants, so bursts draw 429
 * storms; another client also takes base 0's budget twice. */
static void at_429_before(ad_th_t *th) {
  th->ao.per_base_rps = 2;
  append(th->rate_extra, sizeof(th->rate_extra), ",\"per_base_rps\":12");
}
static void at_429_live(ad_th_t *th) {
  ad_fake_airtable_inject_429(th->at, 0, 2);
}

/* Another client of the token spends its budget once the sync is under
 * way: every base is refused, and the client must pause them all. */
static void block_token_once(ad_th_t *th) {
  ad_fake_airtable_counters_t c;
  if (token_blocked)
    return;
  ad_fake_airtable_counters(th->at, &c);
  if (c.requests_records == 0)
    return;
  ad_fake_airtable_block_token(th->at);
  token_blocked = 1;
}
static void at_token_before(ad_th_t *th) { th->tick = block_token_once; }

static void at_5xx_before(ad_th_t *th) {
  th->ao.fail_5xx = 0.2;
  th->ao.retry_after_s = 1;
}
static void at_drop_before(ad_th_t *th) { th->ao.drop = 0.15; }
static void at_truncate_before(ad_th_t *th) { th->ao.truncate = 0.2; }

/* Each table's first offset has expired by the time it is used. */
static void at_expiry_live(ad_th_t *th) {
  int b, t;
  for (b = 0; b < th->ao.bases; b++)
    for (t = 0; t < th->ao.tables_per_base; t++)
      ad_fake_airtable_expire_offsets(th->at, b, t, 1);
}

/* ---- Dust's faults ---------------------------------------------------------- */

/* Below the sink's burst in either format (documents go one per request). */
static void d_429_before(ad_th_t *th) {
  th->dop.max_rps = strcmp(th->format, "tables") == 0 ? 6 : 40;
}
static void d_5xx_before(ad_th_t *th) { th->dop.fail_5xx = 0.2; }
/* A body limit under one batch: every batch is split (tables format). */
static void d_413_before(ad_th_t *th) { th->dop.max_body = 48 * 1024; }
static void d_rows_500_before(ad_th_t *th) { th->dop.rows_500 = 0.2; }
static void d_drop_before(ad_th_t *th) { th->dop.drop = 0.15; }
static void d_non_json_before(ad_th_t *th) { th->dop.non_json = 0.15; }
/* Some answers come after the client's timeout: it resends. */
static void d_slow_before(ad_th_t *th) {
  th->dop.slow = 0.1;
  th->dop.slow_ms = 1500;
  append(th->engine_extra, sizeof(th->engine_extra),
         ",\"request_timeout_s\":1");
}

static const fault_t faults[] = {
    {"airtable 429 storm", at_429_before, at_429_live},
    {"airtable token 429", at_token_before, NULL},
    {"airtable 503 + Retry-After", at_5xx_before, NULL},
    {"airtable dropped connection", at_drop_before, NULL},
    {"airtable truncated JSON", at_truncate_before, NULL},
    {"airtable iterator expiry", NULL, at_expiry_live},
    {"dust 429", d_429_before, NULL},
    {"dust 5xx", d_5xx_before, NULL},
    {"dust 413", d_413_before, NULL},
    {"dust 500 on rows", d_rows_500_before, NULL},
    {"dust dropped connection", d_drop_before, NULL},
    {"dust non-JSON 200", d_non_json_before, NULL},
    {"dust slow answers", d_slow_before, NULL},
};
#define NFAULTS ((int)(sizeof(faults) / sizeof(faults[0])))
#define NPAIRS (NFAULTS * (NFAULTS - 1) / 2)

static void setup(void) {
  ad_th_setup(&h);
  token_blocked = 0;
  h.ao.bases = 2;
  h.ao.tables_per_base = 2;
  h.ao.records_per_table = RECORDS;
  h.ao.per_base_rps = 10;
  h.ao.penalty_ms = 1000;
  h.backoff_on_429_s = 1;
  h.max_retries = 10;
  h.deadline_ms = 60000;
  snprintf(h.rate_extra, sizeof(h.rate_extra),
           ",\"dust_documents_per_minute\":100000");
  snprintf(h.sink_extra, sizeof(h.sink_extra), ",\"batch_size\":%d", BATCH);
}

static void teardown(void) { ad_th_teardown(&h); }

/* AD_FAULT_CASE picks one iteration; the others pass at once. */
static int skipped(int i) {
  const char *only = getenv("AD_FAULT_CASE");
  return only != NULL && *only != '\0' && atoi(only) != i;
}

/* Rows (or documents) Dust stored more than once. */
static long duplicates(const ad_fake_dust_counters_t *c) {
  if (strcmp(h.format, "tables") == 0)
    return c->duplicate_rows;
  return c->documents_received - c->documents_stored;
}

static void run_case(const fault_t *const *set, int n, uint64_t seed,
                     const char *format) {
  ad_fake_airtable_counters_t ac;
  ad_fake_dust_counters_t dc;
  long per_request = strcmp(format, "tables") == 0 ? BATCH : 1;
  int i;

  h.ao.seed = seed;
  h.dop.seed = seed;
  h.format = format;
  if (strcmp(format, "documents") == 0)
    h.ao.records_per_table = RECORDS_DOCUMENTS;
  for (i = 0; i < n; i++)
    fprintf(stderr, "%s%s", i ? " + " : "fault case: ", set[i]->name);
  fprintf(stderr, " (seed %llu, %s)\n", (unsigned long long)seed, format);
  for (i = 0; i < n; i++)
    if (set[i]->before != NULL)
      set[i]->before(&h);
  ad_th_start_fakes(&h);
  for (i = 0; i < n; i++)
    if (set[i]->live != NULL)
      set[i]->live(&h);
  ad_th_run(&h);
  ad_th_assert_all_landed(&h);
  ck_assert_uint_eq(h.st.tables_failed, 0);
  ad_fake_airtable_counters(h.at, &ac);
  ad_fake_dust_counters(h.dust, &dc);
  fprintf(stderr,
          "  airtable: %ld requests, %ld x 429, %ld x 5xx; dust: %ld requests, "
          "%ld x 429, %ld x 5xx, largest body %ld\n",
          ac.requests_bases + ac.requests_schema + ac.requests_records,
          ac.sent_429, ac.sent_5xx,
          dc.requests_tables_post + dc.requests_rows_post +
              dc.requests_documents_post,
          dc.sent_429, dc.sent_5xx, dc.largest_request);
  ck_assert_int_eq(ac.ignored_penalty, 0);
  ck_assert_uint_eq(h.st.http429_source, (uint64_t)ac.sent_429);
  /* Only a resend after a timeout may store a record twice. */
  ck_assert_int_le(duplicates(&dc), dc.slow_answers * per_request);
}

/* Each fault alone: both formats, two seeds. */
START_TEST(test_single) {
  const fault_t *set[1];
  if (skipped(_i))
    return;
  set[0] = &faults[_i / 4];
  h.log_level = AD_LOG_DEBUG;
  run_case(set, 1, 1 + (uint64_t)(_i % 2), _i % 4 < 2 ? "tables" : "documents");
}
END_TEST

/* Pair k of the NPAIRS, in order (0,1), (0,2), ... */
static void pair(int k, int *a, int *b) {
  for (*a = 0; *a < NFAULTS; (*a)++)
    for (*b = *a + 1; *b < NFAULTS; (*b)++)
      if (k-- == 0)
        return;
}

START_TEST(test_pair) {
  const fault_t *set[2];
  int a, b;
  if (skipped(_i))
    return;
  pair(_i, &a, &b);
  set[0] = &faults[a];
  set[1] = &faults[b];
  h.log_level = AD_LOG_WARN;
  run_case(set, 2, 100 + (uint64_t)_i, _i % 2 ? "documents" : "tables");
}
END_TEST

static TCase *faults_case(const char *name) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 90);
  return tc;
}

static Suite *faults_suite(void) {
  Suite *s = suite_create("faults");
  TCase *single = faults_case("single"), *pairs_a = faults_case("pairs_a"),
        *pairs_b = faults_case("pairs_b");
  tcase_add_loop_test(single, test_single, 0, NFAULTS * 4);
  tcase_add_loop_test(pairs_a, test_pair, 0, NPAIRS / 2);
  tcase_add_loop_test(pairs_b, test_pair, NPAIRS / 2, NPAIRS);
  suite_add_tcase(s, single);
  suite_add_tcase(s, pairs_a);
  suite_add_tcase(s, pairs_b);
  return s;
}

int main(void) { return ad_test_run_suite(faults_suite()); }
