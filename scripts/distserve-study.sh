#!/usr/bin/env bash
# The DistServe reproduction (OPT-13B chatbot on A100-80GB): Table 2's attainment against per-GPU rate for
# colocated vLLM (1 GPU) and DistServe (prefill TP2 + decode TP1, 3 GPUs), the goodput of each, and the
# placement search on 4 GPUs (OPT-13B), 32 (OPT-175B, Algorithm 2) and 8 for code completion (OPT-66B, HumanEval). Writes OUT_DIR/table2.csv and
# OUT_DIR/search*/ (search.csv, best*.json).
# Usage: scripts/distserve-study.sh [OUT_DIR]   (needs a release build: swift build -c release)
set -euo pipefail
out=${1:-results/distserve-study}
bin=.build/release/simrun
dir=scenarios/distserve
mkdir -p "$out"
echo "per_gpu_rate,system,gpus,attainment,ttft_attainment,tpot_attainment,kv_wait_share,kv_transfer_share" > "$out/table2.csv"
for rate in 1.0 1.5 2.0 2.5 3.0 3.5 4.0; do
  for system in vllm:1 distserve:3; do
    name=${system%%:*}; gpus=${system##*:}
    tmp=$(mktemp -d)
    "$bin" run "$dir/opt13b-chatbot-$name.json" --out "$tmp/r" \
      --set workload.arrivals.rate="$(python3 -c "print($rate * $gpus)")" > /dev/null
    python3 - "$tmp/r/summary.json" "$rate" "$name" "$gpus" >> "$out/table2.csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); slo = s["slo"]
print(",".join(str(x) for x in [sys.argv[2], sys.argv[3], sys.argv[4], round(slo["attainment"], 4),
      round(slo["ttft_attainment"], 4), round(slo["tpot_attainment"], 4),
      round(s.get("kv_wait_share") or 0, 5), round(s.get("kv_transfer_share") or 0, 6)]))
PY
    rm -rf "$tmp"
  done
done
# Attainment against SLO scale (both SLOs times one factor) at 1 req/s per GPU.
echo "slo_scale,system,attainment" > "$out/slo-scale.csv"
for scale in 0.4 0.6 0.8 1.0 1.2 1.6 2.0; do
  for system in vllm:1 distserve:3; do
    name=${system%%:*}; gpus=${system##*:}
    tmp=$(mktemp -d)
    "$bin" run "$dir/opt13b-chatbot-$name.json" --out "$tmp/r" --set workload.arrivals.rate="$gpus" \
      --set slo.ttft_s="$(python3 -c "print(0.2 * $scale)")" --set slo.tpot_s="$(python3 -c "print(0.1 * $scale)")" > /dev/null
    python3 -c "import json, sys; print('$scale,$name,' + str(round(json.load(open('$tmp/r/summary.json'))['slo']['attainment'], 4)))" \
      >> "$out/slo-scale.csv"
    rm -rf "$tmp"
  done
done
for name in vllm distserve; do
  "$bin" goodput "$dir/opt13b-chatbot-$name.json" --out "$out/goodput-$name.csv" | tail -2
done
# Where the KV moves: NVLink inside a server, or one 25-Gbps NIC between two (OPT-66B, 1 req/s per prefill instance).
for layout in one-server two-servers; do
  tmp=$(mktemp -d)
  "$bin" run "$dir/opt66b-chatbot-$layout.json" --out "$tmp/r" > /dev/null
  python3 - "$tmp/r" "$layout" <<'PY'
import csv, json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
moves = sorted(float(r["kv_transfer_s"]) for r in csv.DictReader(open(sys.argv[1] + "/requests.csv")) if r["status"] == "finished")
print(f"{sys.argv[2]}: attainment {s['slo']['attainment']:.3f}, KV transfer {100 * s['kv_transfer_share']:.3g}% of latency, "
      f"median {1000 * moves[len(moves) // 2]:.1f} ms, p95 {1000 * moves[int(0.95 * len(moves))]:.1f} ms")
PY
  rm -rf "$tmp"
done
"$bin" search "$dir/search-opt13b-4xa100.json" --out "$out/search" 2> /dev/null
"$bin" search "$dir/search-opt175b-32xa100.json" --out "$out/search-opt175b" 2> /dev/null | head -8
# Code completion (OPT-66B, HumanEval lengths, TTFT 0.125 s, TPOT 0.2 s) on one 8-GPU server.
"$bin" search "$dir/search-opt66b-code-8xa100.json" --out "$out/search-opt66b-code" 2> /dev/null | head -6
echo "wrote $out" >&2
