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
for bench in saturation cpu memory concurrency; do
  grep -q "\"bench\":\"$bench\".*\"ratio\":" "$work/results.jsonl" || {
    echo "no $bench result" >&2
    exit 1
  }
done
test "$(grep -c '"bench":"saturation"' "$work/results.jsonl")" -eq 2
grep '"bench":"saturation"' "$work/results.jsonl" | grep -q '"http_429":0'
echo "bench quick: ok"
