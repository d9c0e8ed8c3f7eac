#!/usr/bin/env bash
# The Past-Future artifact's offline behaviour study (token accounting only): each scenario in
# scenarios/past-future/behaviour/ under the three admission policies; one CSV row per run with the
# study's two figures, mean KV use and evictions per finished request.
# Usage: scripts/past-future-behaviour.sh [OUT.csv [--set FIELD=VALUE ...]]   (needs: swift build -c release)
set -euo pipefail
out=${1:-results/past-future-behaviour.csv}
shift || true
extra=("$@")
bin=.build/release/simrun
mkdir -p "$(dirname "$out")"
echo "scenario,policy,requests_completed,kv_utilization,evictions_per_finished_request,steps" > "$out"
for scenario in scenarios/past-future/behaviour/*.json; do
  for policy in aggressive conservative past_future; do
    dir=$(mktemp -d)
    "$bin" run "$scenario" --out "$dir/r" --set scheduler.policy=$policy ${extra[@]+"${extra[@]}"} > /dev/null
    python3 - "$dir/r/summary.json" "$scenario" "$policy" >> "$out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
done = s["requests_completed"]
print(",".join(str(x) for x in [sys.argv[2].split("/")[-1][:-5], sys.argv[3], done, round(s["kv_utilization_mean"], 4),
      round(s["preemptions"] / max(1, done), 4), round(s["simulated_seconds"] * 1000)]))
PY
    rm -rf "$dir"
  done
done
echo "wrote $out" >&2
