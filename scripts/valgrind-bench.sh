#!/usr/bin/env bash
# What wall time on a shared machine cannot resolve: `simrun bench`'s instructions and simulated first-level
# data-cache misses (valgrind's cachegrind, every thread, a 48 KiB 12-way first level and a 2 MiB last level)
# on cuts of the two 10 M-request clusters (the scenarios with fewer requests; 100,000 unless given).
# The counts repeat within about 0.5% (the threads interleave differently), where wall time here spread by up to
# 40% within an hour. About a minute. Needs valgrind (apt-get install valgrind).
# Usage: scripts/valgrind-bench.sh [SIMRUN] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
simrun=${1:-.build/release/simrun}
requests=${2:-100000}
command -v valgrind >/dev/null || { echo "valgrind-bench.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[ -x "$simrun" ] || { echo "valgrind-bench.sh: $simrun: no such executable (build it: swift build -c release)" >&2; exit 2; }
[[ "$requests" =~ ^[1-9][0-9]*$ ]] || { echo "valgrind-bench.sh: REQUESTS: expected a positive whole number, got '$requests'" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for scenario in stress-10m-256gpu stress-10m-256x7b; do
  python3 - "$scenario" "$requests" "$dir/$scenario.json" <<'PY'
import json, sys
name, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = json.load(open(f"scenarios/{name}.json"))
s["name"] = f"{name}-cut-{n}"
s["workload"]["num_requests"] = n
json.dump(s, open(path, "w"))
PY
  report=$(valgrind --tool=cachegrind --cache-sim=yes --D1=49152,12,64 --LL=2097152,16,64 --cachegrind-out-file=/dev/null \
    "$simrun" bench "$dir/$scenario.json" 2>&1 >/dev/null)
  instructions=$(echo "$report" | sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p')
  misses=$(echo "$report" | sed -nE 's/.*D1 +misses: +([0-9,]+) +\( *([0-9,]+) rd +\+ +([0-9,]+) wr.*/\1 (reads \2, writes \3)/p')
  echo "$scenario, $requests requests: $instructions instructions, $misses first-level data misses"
done
