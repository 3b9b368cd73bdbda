#!/bin/sh
# Installs the build into a scratch prefix, then builds a consumer against
# it twice: with CMake's package config and with pkg-config.
# usage: run.sh BUILD_DIR SOURCE_DIR "EXTRA C FLAGS"
set -eu
build=$1 src=$2 flags=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/airdust"
"$prefix/bin/airdust" --version
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
