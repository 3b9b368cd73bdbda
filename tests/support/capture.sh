#!/bin/sh
# capture.sh DIR NAME COMMAND...
# Runs COMMAND with its stdout and stderr going both to ctest and to
# DIR/NAME.log, which the secrets check reads once every suite has run.
# Exits with COMMAND's status.
dir=$1
name=$2
shift 2
mkdir -p "$dir" || exit 1
rc_file="$dir/$name.rc"
rm -f "$rc_file"
{ "$@" 2>&1; echo $? >"$rc_file"; } | tee "$dir/$name.log"
if [ ! -s "$rc_file" ]; then
  echo "capture.sh: $name left no exit status" >&2
  exit 1
fi
rc=$(cat "$rc_file")
rm -f "$rc_file"
exit "$rc"
