#include "error.h"

const char *ad_strerror(int err) {
  switch (err) {
  case AD_OK:
    return "success";
#define AD_STRERROR_CASE(name, value, text)                                 \
  case AD_##name:                                                           \
    return text;
    AD_ERRNO_MAP(AD_STRERROR_CASE)
#undef AD_STRERROR_CASE
  }
  return "unknown error";
}

const char *ad_version(void) { return AD_VERSION_STRING; }
