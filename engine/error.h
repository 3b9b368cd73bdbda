/* Error codes shared by every airdust module.
 *
 * The codes and ad_strerror are public (include/airdust.h); functions
 * return 0 on success and one of them on failure, as libuv does. A function
 * that takes a callback and returns an error never invokes that callback. */
#ifndef AD_ERROR_H
#define AD_ERROR_H

#include "airdust.h"

#endif
