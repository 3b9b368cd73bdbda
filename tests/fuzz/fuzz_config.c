/* The config parser on any bytes: it returns 0, or AD_ECONFIG with a
 * message, and frees what it allocated either way. The same bytes are
 * also read as a resume state file (sync --state), with the same promise:
 * accepted, or refused with a message. */
#include <string.h>

#include <stdlib.h>

#include "builtin.h"
#include "config.h"
#include "error.h"
#include "fuzz.h"
#include "state.h"

/* The destination a state file is checked against. */
static json_object *fuzz_destination(void) {
  static const char text[] =
      "{\"source\":{\"api_key\":\"patF.z\"},\"sink\":{\"api_key\":\"sk-f\","
      "\"workspace_id\":\"w\",\"space_id\":\"s\",\"data_source_id\":\"d\"}}";
  static json_object *dest;
  ad_config_t cfg;
  char err[256];
  char *dtext;

  if (dest != NULL)
    return dest;
  AD_FUZZ_CHECK(ad_config_parse(&cfg, text, sizeof(text) - 1,
                                ad_builtin_plugins(), NULL, NULL, err,
                                sizeof(err)) == 0);
  dtext = cfg.sink_plugin->destination(cfg.sink.conf);
  dest = dtext != NULL ? json_tokener_parse(dtext) : NULL;
  free(dtext);
  ad_config_free(&cfg);
  AD_FUZZ_CHECK(dest != NULL);
  return dest;
}

static void fuzz_state(const char *text, size_t size) {
  ad_state_t st;
  char err[768];
  int rc = ad_state_parse(&st, text, size, fuzz_destination(), err,
                          sizeof(err));

  AD_FUZZ_CHECK(rc == 0 || rc == AD_ECONFIG);
  AD_FUZZ_CHECK(rc == 0 || strlen(err) > 0);
  if (rc == 0)
    ad_state_finished(&st, "appA", "tblB");
  ad_state_close(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ad_config_t cfg;
  char err[512];
  int rc = ad_config_parse(&cfg, (const char *)data, size,
                           ad_builtin_plugins(), NULL, NULL, err, sizeof(err));

  AD_FUZZ_CHECK(rc == 0 || rc == AD_ECONFIG);
  AD_FUZZ_CHECK(rc == 0 || (strlen(err) > 0 && strlen(err) < sizeof(err)));
  ad_config_free(&cfg);
  fuzz_state((const char *)data, size);
  return 0;
}
