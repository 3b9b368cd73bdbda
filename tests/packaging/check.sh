#!/bin/sh
# The Airbyte image's description agrees with the tree (no docker here):
# one version everywhere, the entrypoint Airbyte runs is the one docker
# runs, and every source folder CMake builds from is copied into the
# build stage. Usage: check.sh SOURCE_DIR
set -eu
src=$1
dockerfile=$src/packaging/airbyte/Dockerfile
metadata=$src/packaging/airbyte/metadata.yaml
fail() { echo "packaging: $*" >&2; exit 1; }

version=$(sed -n 's/^#define AD_VERSION_STRING "\(.*\)"/\1/p' "$src/include/airdust.h")
[ -n "$version" ] || fail "no AD_VERSION_STRING in include/airdust.h"
grep -q "^  dockerImageTag: $version\$" "$metadata" ||
  fail "metadata.yaml dockerImageTag is not $version"
grep -q "io.airbyte.version=\"$version\"" "$dockerfile" ||
  fail "Dockerfile io.airbyte.version is not $version"
repo=$(sed -n 's/^  dockerRepository: //p' "$metadata")
grep -q "io.airbyte.name=\"$repo\"" "$dockerfile" ||
  fail "Dockerfile io.airbyte.name is not $repo"

grep -q '^ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/airdust airbyte"$' "$dockerfile" ||
  fail "AIRBYTE_ENTRYPOINT is not /usr/local/bin/airdust airbyte"
grep -q '^ENTRYPOINT \["/usr/local/bin/airdust", "airbyte"\]$' "$dockerfile" ||
  fail "ENTRYPOINT does not match AIRBYTE_ENTRYPOINT"

# Every top folder a source of the top CMakeLists.txt lives in.
for dir in $(grep -o '[( ][a-z_]*/[A-Za-z0-9_/]*\.c' "$src/CMakeLists.txt" |
             sed 's/^[( ]//; s|/.*||' | sort -u); do
  case $dir in tests|bench) continue ;; esac
  grep -q "^COPY $dir $dir\$" "$dockerfile" ||
    fail "the Dockerfile does not copy $dir/, which CMakeLists.txt builds from"
done

# The modes the catalog takes are the ones the registry is told.
for mode in append append_dedup overwrite overwrite_dedup; do
  grep -q "^    - $mode\$" "$metadata" || fail "metadata.yaml lacks $mode"
done
echo "packaging: ok ($version)"
