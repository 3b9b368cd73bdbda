/* ad_mkdirs: a folder and its missing parents, as `mkdir -p -m 0700`. */
#ifndef AD_MKDIRS_H
#define AD_MKDIRS_H

#include <stddef.h>

/* Makes path and every missing parent, new ones 0700 (what airdust keeps
 * between runs is the user's alone). Returns 0, or AD_EIO with err naming
 * the folder that could not be made and why. */
int ad_mkdirs(const char *path, char *err, size_t errlen);

#endif
