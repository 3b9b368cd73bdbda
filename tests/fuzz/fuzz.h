/* The fuzz targets' entry point (libFuzzer's), and the replay driver that
 * runs saved inputs through it in ordinary builds, so the seed corpus and
 * every input a fuzzer ever crashed on stay regression tests. */
#ifndef AD_FUZZ_H
#define AD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broken: report and abort, so the fuzzer keeps the input. */
#define AD_FUZZ_CHECK(cond)                                                   \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,   \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

#endif
