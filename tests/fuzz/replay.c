/* Runs every file named on the command line (or found in a directory
 * named there) through LLVMFuzzerTestOneInput once. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char *data = NULL;
  long size;

  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0 ||
      (data = malloc((size_t)size + 1)) == NULL ||
      fread(data, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    if (f != NULL)
      fclose(f);
    free(data);
    return 1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, (size_t)size);
  free(data);
  return 0;
}

static int replay(const char *path, int *count) {
  char child[4096];
  struct stat st;
  struct dirent *e;
  DIR *d;
  int rc = 0;

  if (stat(path, &st) != 0)
    return 0; /* a target may have no regressions yet */
  if (!S_ISDIR(st.st_mode)) {
    ++*count;
    return replay_file(path);
  }
  if ((d = opendir(path)) == NULL)
    return 1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') {
      snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
      rc |= replay(child, count);
    }
  closedir(d);
  return rc;
}

int main(int argc, char **argv) {
  int i, rc = 0, count = 0;
  for (i = 1; i < argc; i++)
    rc |= replay(argv[i], &count);
  printf("replayed %d inputs\n", count);
  return rc != 0 || count == 0;
}
