#!/usr/bin/env bash
# Runs the Past-Future reproduction: every scenario in scenarios/past-future/ under the three admission
# policies and several closed-loop client counts, and writes one CSV row per run.
# Usage: scripts/past-future-study.sh [OUT.csv [--set FIELD=VALUE ...]]   (needs a release build: swift build -c release)
# Extra --set options apply to every run (e.g. --set scheduler.admission_interval_steps=2, LightLLM's timing).
set -euo pipefail
out=${1:-results/past-future-study.csv}
shift || true
extra=("$@")
bin=.build/release/simrun
mkdir -p "$(dirname "$out")"
echo "scenario,policy,clients,requests_completed,token_goodput,request_goodput,slo_attainment,kv_utilization,preemptions_per_request,p99_ttft_ms" > "$out"
for scenario in scenarios/past-future/*.json; do
  case "$scenario" in *70b*) clients="100 200 300 400 500";; *) clients="10 20 40 60 80 100";; esac
  for c in $clients; do
    for policy in aggressive conservative past_future; do
      dir=$(mktemp -d)
      "$bin" run "$scenario" --out "$dir/r" --set scheduler.policy=$policy --set workload.arrivals.clients=$c ${extra[@]+"${extra[@]}"} > /dev/null
      python3 - "$dir/r/summary.json" "$scenario" "$policy" "$c" >> "$out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); slo = s["slo"]
print(",".join(str(x) for x in [sys.argv[2].split("/")[-1][:-5], sys.argv[3], sys.argv[4], s["requests_completed"],
      round(slo["token_goodput"], 1), round(slo["request_goodput"], 4), round(slo["attainment"], 4),
      round(s["kv_utilization_mean"], 4), round(s["preemptions_per_request"], 4), round(s["ttft"]["p99_ms"] or 0, 1)]))
PY
      rm -rf "$dir"
    done
  done
done
echo "wrote $out" >&2
