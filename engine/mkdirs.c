#include "mkdirs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

int ad_mkdirs(const char *path, char *err, size_t errlen) {
  char buf[4096];
  size_t len = strlen(path), i;
  struct stat st;

  if (len == 0 || len >= sizeof(buf)) {
    snprintf(err, errlen, "cannot make folder %s: %s", path,
             len == 0 ? "empty path" : "path too long");
    return AD_EIO;
  }
  memcpy(buf, path, len + 1);
  for (i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot make folder %s: %s", buf, strerror(errno));
      return AD_EIO;
    }
    if (i < len)
      buf[i] = '/';
  }
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "cannot use %s as a folder: %s", path,
             stat(path, &st) != 0 ? strerror(errno) : "not a folder");
    return AD_EIO;
  }
  return 0;
}
