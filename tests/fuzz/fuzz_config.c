/* The config parser on any bytes: it returns 0, or AD_ECONFIG with a
 * message, and frees what it allocated either way. (The sync's memory is
 * SQLite's file format now, state/store.h: no parser of ours.) */
#include <string.h>

#include "builtin.h"
#include "config.h"
#include "error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ad_config_t cfg;
  char err[512];
  int rc = ad_config_parse(&cfg, (const char *)data, size,
                           ad_builtin_plugins(), NULL, NULL, err, sizeof(err));

  AD_FUZZ_CHECK(rc == 0 || rc == AD_ECONFIG);
  AD_FUZZ_CHECK(rc == 0 || (strlen(err) > 0 && strlen(err) < sizeof(err)));
  ad_config_free(&cfg);
  return 0;
}
