/* The resume file: parsing (pure), refusing a file made for another
 * destination or that is not a state file, and the atomic write and
 * re-read. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "config.h"
#include "sink.h"
#include "error.h"
#include "state.h"
#include "testutil.h"

static ad_config_t cfg;
static char dir[64], path[128];

static void setup(void) {
  static const char text[] =
      "{\"source\":{\"api_key\":\"patA.b\"},\"sink\":{\"api_key\":\"sk-x\","
      "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\"}}";
  char err[256];
  ck_assert_int_eq(
      ad_config_parse(&cfg, text, strlen(text), ad_builtin_plugins(), NULL,
                      NULL, err, sizeof(err)),
      0);
  snprintf(dir, sizeof(dir), "/tmp/ad_state_%d", (int)getpid());
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void teardown(void) {
  char tmp[160];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  unlink(path);
  unlink(tmp);
  rmdir(dir);
  ad_config_free(&cfg);
}

/* Where the config's sink writes, as the sync binds a state to it. */
static json_object *destination(void) {
  char *text = cfg.sink_plugin->destination(cfg.sink.conf);
  json_object *dest = json_tokener_parse(text);
  free(text);
  ck_assert_ptr_nonnull(dest);
  return dest;
}

/* ad_state_open for the config's destination. */
static int open_for(ad_state_t *st, const char *file, char *err, size_t len) {
  json_object *dest = destination();
  int rc = ad_state_open(st, file, dest, err, len);
  json_object_put(dest);
  return rc;
}

static int parse(ad_state_t *st, const char *text, char *err, size_t len) {
  json_object *dest = destination();
  int rc = ad_state_parse(st, text, strlen(text), dest, err, len);
  json_object_put(dest);
  return rc;
}

START_TEST(test_empty_and_finished) {
  ad_state_t st;
  char err[512], text[1024];
  json_object *dest = destination();

  ck_assert_int_eq(parse(&st, "", err, sizeof(err)), 0);
  ck_assert_uint_eq(ad_state_count(&st), 0);
  ck_assert_int_eq(ad_state_finished(&st, "appA", "tblA"), 0);
  ad_state_close(&st);
  snprintf(text, sizeof(text),
           "{\"version\":1,\"destination\":%s,\"tables\":{\"appA/tblA\":"
           "{\"records\":3,\"finished_at\":\"2026-11-22T10:00:00Z\"}}}",
           json_object_to_json_string(dest));
  json_object_put(dest);
  ck_assert_int_eq(parse(&st, text, err, sizeof(err)), 0);
  ck_assert_int_eq(ad_state_finished(&st, "appA", "tblA"), 1);
  ck_assert_int_eq(ad_state_finished(&st, "appA", "tblB"), 0);
  ck_assert_int_eq(ad_state_finished(&st, "appB", "tblA"), 0);
  ad_state_close(&st);
}
END_TEST

static const struct {
  const char *text, *says;
} refused[] = {
    {"{\"version\":1", "not JSON"},
    {"{} trailing", "not JSON"},
    {"[]", "not an airdust state file"},
    {"{\"version\":2,\"tables\":{}}", "not an airdust state file"},
    {"{\"version\":1,\"destination\":{\"dust_url\":\"https://x\"},"
     "\"tables\":{}}",
     "written for another destination"},
    {"{\"version\":1,\"tables\":{}}", "written for another destination"},
};

/* Each refusal is AD_ECONFIG and says why; another destination also
 * says which one this run writes to. */
START_TEST(test_refused) {
  ad_state_t st;
  char err[768];
  ck_assert_int_eq(parse(&st, refused[_i].text, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_msg(strstr(err, refused[_i].says) != NULL, "%s", err);
  if (strstr(refused[_i].says, "destination"))
    ck_assert_ptr_nonnull(strstr(err, "\"data_source_id\":\"d\""));
  ck_assert_ptr_null(st.root);
}
END_TEST

/* A malformed table entry is named. */
START_TEST(test_bad_entry_named) {
  ad_state_t st;
  char err[512], text[1024];
  json_object *dest = destination();
  snprintf(text, sizeof(text),
           "{\"version\":1,\"destination\":%s,\"tables\":{\"appA\":{}}}",
           json_object_to_json_string(dest));
  json_object_put(dest);
  ck_assert_int_eq(parse(&st, text, err, sizeof(err)), AD_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err, "tables.\"appA\""));
}
END_TEST

/* finish writes the file whole (no .tmp left); a reopen sees it; another
 * destination is then refused, naming the path. */
START_TEST(test_write_and_reopen) {
  ad_state_t st;
  char err[768], tmp[160];

  ck_assert_int_eq(open_for(&st, path, err, sizeof(err)), 0);
  ck_assert_int_eq(access(path, F_OK), -1); /* nothing written yet */
  ck_assert_int_eq(ad_state_finish(&st, "appA", "tblA", 7, err, sizeof(err)),
                   0);
  ck_assert_int_eq(ad_state_finish(&st, "appB", "tblC", 0, err, sizeof(err)),
                   0);
  ad_state_close(&st);
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  ck_assert_int_eq(access(tmp, F_OK), -1);
  ck_assert_int_eq(open_for(&st, path, err, sizeof(err)), 0);
  ck_assert_uint_eq(ad_state_count(&st), 2);
  ck_assert_int_eq(ad_state_finished(&st, "appA", "tblA"), 1);
  ck_assert_int_eq(ad_state_finished(&st, "appB", "tblC"), 1);
  ad_state_close(&st);
  free(((ad_dust_config_t *)cfg.sink.conf)->data_source_id);
  ((ad_dust_config_t *)cfg.sink.conf)->data_source_id = strdup("other");
  ck_assert_int_eq(open_for(&st, path, err, sizeof(err)),
                   AD_ECONFIG);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "another destination"));
}
END_TEST

/* A file that cannot be written fails the update, naming the path. */
START_TEST(test_unwritable) {
  ad_state_t st;
  char err[768], bad[160];
  snprintf(bad, sizeof(bad), "%s/no/such/dir/state.json", dir);
  ck_assert_int_eq(open_for(&st, bad, err, sizeof(err)), 0);
  ck_assert_int_eq(ad_state_finish(&st, "appA", "tblA", 1, err, sizeof(err)),
                   AD_EIO);
  ck_assert_ptr_nonnull(strstr(err, bad));
  ad_state_close(&st);
}
END_TEST

static Suite *state_suite(void) {
  Suite *s = suite_create("state");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_empty_and_finished);
  tcase_add_loop_test(tc, test_refused, 0,
                      (int)(sizeof(refused) / sizeof(refused[0])));
  tcase_add_test(tc, test_bad_entry_named);
  tcase_add_test(tc, test_write_and_reopen);
  tcase_add_test(tc, test_unwritable);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return ad_test_run_suite(state_suite()); }
