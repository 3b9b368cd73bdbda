/* Neutral values (airdust_plugin.h) as initializers, for tests that build
 * records by hand. */
#ifndef AD_TEST_VALUES_H
#define AD_TEST_VALUES_H

#include "airdust_plugin.h"

#define V_NULL                                                                 \
  {                                                                            \
    AD_KIND_NULL, 0, { 0 }                                                     \
  }
#define V_TEXT(str)                                                            \
  {                                                                            \
    AD_KIND_TEXT, sizeof(str) - 1, { .s = str }                                \
  }
#define V_INT(x)                                                               \
  {                                                                            \
    AD_KIND_INT, 0, { .i = (x) }                                               \
  }
#define V_FLOAT(lit)                                                           \
  {                                                                            \
    AD_KIND_FLOAT, sizeof(lit) - 1, { .s = lit }                               \
  }
#define V_BOOL(x)                                                              \
  {                                                                            \
    AD_KIND_BOOL, 0, { .b = (x) }                                              \
  }
#define V_DATE(x)                                                              \
  {                                                                            \
    AD_KIND_DATETIME, 1, { .ms = (x) }                                         \
  }
#define V_TIME(x)                                                              \
  {                                                                            \
    AD_KIND_DATETIME, 0, { .ms = (x) }                                         \
  }
#define V_LIST(a)                                                              \
  {                                                                            \
    AD_KIND_LIST, sizeof(a) / sizeof(a[0]), { .items = a }                     \
  }
#define V_JSON(str)                                                            \
  {                                                                            \
    AD_KIND_JSON, sizeof(str) - 1, { .s = str }                                \
  }

#endif
