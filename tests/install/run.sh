#!/bin/sh
# Installs the build into a scratch prefix, checks that nothing there needs
# the fakes or libmicrohttpd, then builds a consumer against it twice: with
# CMake's package config and with pkg-config.
# usage: run.sh BUILD_DIR SOURCE_DIR "EXTRA C FLAGS"
set -eu
build=$1 src=$2 flags=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/airdust"
"$prefix/bin/airdust" --version
# The product ships without the fakes: no airdust-fakes, and nothing
# installed needs libmicrohttpd (the airdust binary, directly or through
# its libraries, the static libraries, the .pc and CMake package files).
fail() { echo "install: $*" >&2; exit 1; }
test ! -e "$prefix/bin/airdust-fakes" || fail "airdust-fakes was installed"
needed=$(readelf -d "$prefix/bin/airdust")
echo "$needed" | grep -q NEEDED || fail "readelf found no NEEDED entry"
! echo "$needed" | grep NEEDED | grep -i microhttpd ||
  fail "airdust links libmicrohttpd"
loads=$(ldd "$prefix/bin/airdust")
! echo "$loads" | grep -i microhttpd || fail "airdust loads libmicrohttpd"
pc=$(find "$prefix" -name airdust.pc)
test -n "$pc" || fail "no airdust.pc"
grep -q '^Requires:' "$pc" || fail "airdust.pc has no Requires"
! grep '^Requires' "$pc" | grep -i microhttpd ||
  fail "airdust.pc requires microhttpd"
libs=$(find "$prefix" -name 'libairdust*.a')
test -n "$libs" || fail "no libairdust*.a"
for lib in $libs; do
  ! nm -u "$lib" | grep -w 'MHD_[A-Za-z_]*' || fail "$lib needs libmicrohttpd"
done
! grep -ril microhttpd "$prefix" || fail "an installed file names microhttpd"
cmake -S "$src/tests/install/consumer" -B "$prefix/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(ls "$prefix/lib" | grep -- -linux-gnu || true)/pkgconfig"
# shellcheck disable=SC2046
cc $flags -o "$prefix/consumer-pc" "$src/tests/install/consumer/main.c" \
  $(pkg-config --cflags --libs airdust)
"$prefix/consumer-pc"
echo "install: ok"
