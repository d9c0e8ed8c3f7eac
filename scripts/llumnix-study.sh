#!/usr/bin/env bash
# The Llumnix reproduction (serving, generated lengths): scenarios/llumnix/llama7b-a10-generated.json under
# round-robin dispatch, freeness dispatch without migration (INFaaS++), Llumnix (freeness dispatch and live
# migration) and Llumnix with blocking one-copy migration, at several Poisson rates; one CSV row per run.
# Usage: scripts/llumnix-study.sh [OUT.csv [--set FIELD=VALUE ...]]   (needs a release build: swift build -c release)
set -euo pipefail
out=${1:-results/llumnix-study.csv}
shift || true
extra=("$@")
bin=.build/release/simrun
mkdir -p "$(dirname "$out")"
echo "rate,system,mean_ttft_ms,p99_ttft_ms,p99_tpot_ms,mean_e2el_ms,p99_e2el_ms,preemptions,migrations,mean_downtime_ms,p99_downtime_ms,migrations_aborted" > "$out"
# serve SCENARIO RATE NAME [--set ...]: one run, one row of $out.
serve() {
  local scenario=$1 rate=$2 name=$3 dir
  shift 3
  dir=$(mktemp -d)
  "$bin" run "scenarios/llumnix/$scenario.json" --out "$dir/r" --set workload.arrivals.rate=$rate "$@" \
    ${extra[@]+"${extra[@]}"} > /dev/null
  python3 - "$dir/r/summary.json" "$rate" "$name" >> "$out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
down = s.get("migration_downtime") or {}
print(",".join(str(x) for x in [sys.argv[2], sys.argv[3], round(s["ttft"]["mean_ms"], 1), round(s["ttft"]["p99_ms"], 1),
      round(s["tpot"]["p99_ms"], 1), round(s["e2el"]["mean_ms"], 1), round(s["e2el"]["p99_ms"], 1), s["preemptions"], s["migrations"],
      round(down.get("mean_ms") or 0, 3), round(down.get("p99_ms") or 0, 3), s.get("migrations_aborted") or 0]))
PY
  rm -rf "$dir"
}
for rate in 18 20 22 24; do
  for system in round_robin:none:round_robin:live infaas:none:llumnix_load:live llumnix:llumnix:llumnix_load:live \
                llumnix-blocking:llumnix:llumnix_load:blocking; do
    IFS=: read -r name controller router migration <<< "$system"
    serve llama7b-a10-generated $rate $name --set router=$router --set controller.policy=$controller \
      --set controller.migration=$migration
  done
done
# Real lengths (ShareGPT under LLaMA's context) with bursty Gamma arrivals (CV 4).
for rate in 8 10; do
  serve llama7b-a10-sharegpt $rate sharegpt-gamma4-infaas --set controller.policy=none
  serve llama7b-a10-sharegpt $rate sharegpt-gamma4-llumnix --set controller.policy=llumnix
done
# The larger model: 4 LLaMA-30B instances at TP4 (one 4 × A10 server each).
for rate in 4 5; do
  serve llama30b-a10-generated $rate llama30b-infaas --set controller.policy=none
  serve llama30b-a10-generated $rate llama30b-llumnix --set controller.policy=llumnix
done

# Autoscaling: Llumnix against INFaaS++ (the same scaling rule, no migration); instance-hours at the tail latency.
scaling=${out%.csv}-autoscale.csv
echo "rate,system,mean_ttft_ms,p99_ttft_ms,p99_tpot_ms,instance_hours,migrations,preemptions" > "$scaling"
for rate in 2.0 2.5 3.0; do
  for system in llumnix:live infaas:none; do
    IFS=: read -r name migration <<< "$system"
    dir=$(mktemp -d)
    "$bin" run scenarios/llumnix/llama7b-a10-autoscale.json --out "$dir/r" --set workload.arrivals.rate=$rate \
      --set controller.migration=$migration ${extra[@]+"${extra[@]}"} > /dev/null
    python3 - "$dir/r/summary.json" "$rate" "$name" >> "$scaling" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(",".join(str(x) for x in [sys.argv[2], sys.argv[3], round(s["ttft"]["mean_ms"], 1), round(s["ttft"]["p99_ms"], 1),
      round(s["tpot"]["p99_ms"], 1), round(s["instance_hours"], 3), s["migrations"], s["preemptions"]]))
PY
    rm -rf "$dir"
  done
done
# The scaling thresholds swept at 2.5 req/s (the paper's cost-saving figure: instance-hours at similar P99 prefill).
thresholds=${out%.csv}-thresholds.csv
echo "scale_up,scale_down,system,p99_ttft_ms,instance_hours" > "$thresholds"
for pair in 5:30 10:60 20:120; do
  IFS=: read -r up down <<< "$pair"
  for system in llumnix:live infaas:none; do
    IFS=: read -r name migration <<< "$system"
    dir=$(mktemp -d)
    "$bin" run scenarios/llumnix/llama7b-a10-autoscale.json --out "$dir/r" --set controller.scale_up=$up \
      --set controller.scale_down=$down --set controller.migration=$migration ${extra[@]+"${extra[@]}"} > /dev/null
    python3 - "$dir/r/summary.json" "$up" "$down" "$name" >> "$thresholds" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(",".join(str(x) for x in sys.argv[2:5] + [round(s["ttft"]["p99_ms"], 1), round(s["instance_hours"], 3)]))
PY
    rm -rf "$dir"
  done
done
# Priorities: 10% high-priority requests, Llumnix with and without headroom for them, and with priorities off.
priority=${out%.csv}-priority.csv
echo "rate,priorities,headroom,high_mean_ttft_ms,high_p99_ttft_ms,high_mean_tpot_ms,normal_mean_ttft_ms,normal_p99_ttft_ms,normal_mean_tpot_ms" > "$priority"
for rate in 26 40; do
  for setting in true:profiled-10% true:400 true:0 false:0; do
    IFS=: read -r on headroom <<< "$setting"
    case $headroom in
      profiled-10%) room=(--set scheduler.priority_headroom_slowdown=0.1) ;;
      *) room=(--set scheduler.priority_headroom_slowdown=null --set scheduler.priority_headroom_blocks=$headroom) ;;
    esac
    dir=$(mktemp -d)
    "$bin" run scenarios/llumnix/llama7b-a10-priority.json --out "$dir/r" --set workload.arrivals.rate=$rate \
      --set scheduler.priorities=$on "${room[@]}" ${extra[@]+"${extra[@]}"} > /dev/null
    python3 - "$dir/r/summary.json" "$rate" "$on" "$headroom" >> "$priority" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["by_priority"]
row = sys.argv[2:5]
for c in ("high", "normal"):
    row += [round(b[c]["ttft"]["mean_ms"], 1), round(b[c]["ttft"]["p99_ms"], 1), round(b[c]["tpot"]["mean_ms"], 1)]
print(",".join(str(x) for x in row))
PY
    rm -rf "$dir"
  done
done
echo "wrote $out, $scaling, $thresholds and $priority" >&2
