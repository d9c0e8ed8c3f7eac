#!/usr/bin/env bash
# Simulator cost per request against cluster size: stress-1m's instances and load scaled together
# (scripts/scale-scenario.py: N Llama-2-7B replicas on A100-80GB, 12.5 req/s and 4,000 requests per replica,
# least-outstanding-tokens routing), so that every size simulates the same 320 s of each replica's traffic:
# stress-1m runs near saturation, and a replica's batches (so the steps a request takes part in) depend on how long
# its queue has had to grow. Each size runs three times; the cost per request is the fastest run's, from `bench`'s
# simulated requests per second (its wall time has two decimals: 16 replicas take about 0.05 s). Prints the cost and
# the events per request (equal across sizes when the dynamics are) and `bench`'s line.
# Usage: scripts/scaling-bench.sh [SIMRUN] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/.."
simrun=${1:-.build/release/simrun}
shift || true
sizes=${*:-16 64 256 1024}
[ -x "$simrun" ] || { echo "scaling-bench.sh: $simrun: no such executable (build it: swift build -c release)" >&2; exit 2; }
for n in $sizes; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "scaling-bench.sh: SIZES: expected positive whole numbers, got '$n'" >&2; exit 2; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for n in $sizes; do
  python3 scripts/scale-scenario.py "$n" "$dir/scale-$n.json"
  line=$("$simrun" bench "$dir/scale-$n.json" --repeats 3 | tail -1)
  [[ "$line" =~ :\ ([0-9]+)\ requests,\ ([0-9]+)\ events.*\ ([0-9]+)\ simulated\ requests/s ]] \
    || { echo "scaling-bench.sh: no rate in bench's output: $line" >&2; exit 1; }
  python3 -c "r, e, rate = map(int, '${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}'.split()); \
print(f'$n instances: {1e6 / rate:.3f} µs per request, {e / r:.2f} events per request — ', end='')"
  echo "$line"
done
