#!/bin/sh
# Runs every benchmark on small datasets: each sync must complete (exit 0,
# stats written) and each benchmark must append its result, with the
# figures docs/benchmarks.md reports.
# usage: quick.sh AD_BENCH
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" --quick --work "$work/work" --out "$work/results.jsonl"
cat "$work/results.jsonl"
for bench in saturation cpu memory concurrency shared airbyte; do
  grep -q "\"bench\":\"$bench\".*\"ratio\":" "$work/results.jsonl" || {
    echo "no $bench result" >&2
    exit 1
  }
done
# both stamp modes, and no 429 in any saturation or shared run
test "$(grep -c '"bench":"saturation"' "$work/results.jsonl")" -eq 4
test "$(grep -c '"bench":"shared"' "$work/results.jsonl")" -eq 2
if grep -E '"bench":"(saturation|shared)"' "$work/results.jsonl" |
    grep -v '"http_429":0,'; then
  echo "a rate-limited run drew 429s" >&2
  exit 1
fi
echo "bench quick: ok"
