#!/usr/bin/env bash
# Two simrun builds' `bench` on one scenario, alternated: round r runs OLD then NEW when r is odd, NEW then OLD
# when it is even, so that both meet the same hour's load. Prints each build's simulation wall times (as `bench`
# reports them) with their least and median, then the median of the rounds' differences (NEW − OLD) and in how
# many rounds NEW was faster. On a shared machine whose speed drifts by tens of percent within an hour, pairs run
# back to back are the only wall-time comparison of two builds; instruction and cache-miss counts
# (scripts/valgrind-bench.sh) are steadier still.
# Usage: scripts/ab-bench.sh OLD-SIMRUN NEW-SIMRUN SCENARIO [ROUNDS]   (ROUNDS: 6 unless given)
set -euo pipefail
usage="usage: scripts/ab-bench.sh OLD-SIMRUN NEW-SIMRUN SCENARIO [ROUNDS]"
[ $# -ge 3 ] && [ $# -le 4 ] || { echo "ab-bench.sh: expected 3 or 4 arguments, got $# ($usage)" >&2; exit 2; }
old=$1 new=$2 scenario=$3 rounds=${4:-6}
for simrun in "$old" "$new"; do
  [ -x "$simrun" ] || { echo "ab-bench.sh: $simrun: no such executable (build it: swift build -c release)" >&2; exit 2; }
done
[ -f "$scenario" ] || { echo "ab-bench.sh: $scenario: no such scenario file" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ab-bench.sh: ROUNDS: expected a positive whole number, got '$rounds'" >&2; exit 2; }

source "$(dirname "$0")/bench-wall.sh"
wall() { bench_wall ab-bench.sh "$1" "$scenario"; }

olds=() news=()
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then a=$(wall "$old"); b=$(wall "$new"); else b=$(wall "$new"); a=$(wall "$old"); fi
  olds+=("$a") news+=("$b")
done
python3 - "${olds[*]}" "${news[*]}" "$old" "$new" <<'PY'
import statistics, sys
old, new = [list(map(float, s.split())) for s in sys.argv[1:3]]
for name, times in ((sys.argv[3], old), (sys.argv[4], new)):
    print(f"{name}: least {min(times):.2f} s, median {statistics.median(times):.2f} s ({' '.join(f'{t:.2f}' for t in times)})")
differences = [b - a for a, b in zip(old, new)]
faster = sum(d < 0 for d in differences)
print(f"new − old: median {statistics.median(differences):+.2f} s; new faster in {faster} of {len(differences)} rounds")
PY
