#!/usr/bin/env bash
# Simulator cost per request against cluster size: stress-1m's instances and load scaled together
# (N Llama-2-7B replicas on A100-80GB, 12.5 req/s and 1,000 requests per replica, least-outstanding-tokens
# routing). Prints one `simrun bench` line per size. Usage: scripts/scaling-bench.sh [SIMRUN] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/.."
simrun=${1:-.build/release/simrun}
shift || true
sizes=${*:-16 64 256 1024}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for n in $sizes; do
  python3 - "$n" "$dir/scale-$n.json" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
s = json.load(open("scenarios/stress-1m.json"))
s["name"] = f"scale-{n}"
s["instances"][0]["count"] = n
s["workload"]["arrivals"]["rate"] = 12.5 * n
s["workload"]["num_requests"] = 1000 * n
json.dump(s, open(path, "w"))
PY
  line=$("$simrun" bench "$dir/scale-$n.json" | tail -1)
  wall=$(echo "$line" | sed -E 's/.* in ([0-9.]+) s wall.*/\1/')
  echo "$n instances: $(python3 -c "print(f'{$wall / (1000 * $n) * 1e6:.2f}')") µs per request — $line"
done
