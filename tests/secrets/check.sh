#!/bin/sh
# check.sh KEYS DIR
# The secrets check (ctest test_secrets, run after every other suite):
# no key listed in KEYS may appear in any output captured in DIR/*.log,
# which holds what each suite printed (logs, errors, stats, sanitizer and
# crash reports). Matches are reported by file and line, never shown.
keys=$1
dir=$2
found=0

# The check must be able to fail: a planted key has to be caught.
probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
echo "x Authorization: Bearer sk-fake0123456789 y" >"$probe"
if ! grep -F -q -e "sk-fake0123456789" "$probe"; then
  echo "check.sh: grep does not find a planted key" >&2
  exit 1
fi

logs=$(ls "$dir"/*.log 2>/dev/null | wc -l)
if [ "$logs" -eq 0 ]; then
  echo "check.sh: no captured output in $dir" >&2
  exit 1
fi
bytes=$(cat "$dir"/*.log | wc -c)
grep -v -e '^#' -e '^$' "$keys" >"$probe.keys"
nkeys=$(wc -l <"$probe.keys")
for log in "$dir"/*.log; do
  lines=$(grep -n -F -f "$probe.keys" "$log" | cut -d: -f1 | tr '\n' ' ')
  if [ -n "$lines" ]; then
    echo "a key appears in $(basename "$log"), line(s) $lines" >&2
    found=1
  fi
done
rm -f "$probe.keys"
if [ "$found" -ne 0 ]; then
  exit 1
fi
echo "no key ($nkeys checked) in $logs captured outputs ($bytes bytes)"
