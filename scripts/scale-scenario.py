#!/usr/bin/env python3
"""Writes stress-1m's setup scaled to N replicas, the cluster-size scenarios of scripts/scaling-bench.sh: N
Llama-2-7B replicas on A100-80GB, 12.5 requests/s and 4,000 requests per replica, least-outstanding-tokens
routing, so that every size simulates the same 320 s of each replica's traffic.

Usage: scripts/scale-scenario.py N OUT.json   (OUT must not exist: the script writes a new file only)"""
import json
import os
import sys

name = "scale-scenario.py"


def refuse(message):
    print(f"{name}: {message}", file=sys.stderr)
    sys.exit(2)


if len(sys.argv) != 3:
    refuse(f"expected 2 arguments (N OUT.json), got {len(sys.argv) - 1}")
count, out = sys.argv[1], sys.argv[2]
if not count.isdigit() or not 1 <= int(count) <= 1_000_000:
    refuse(f"N: expected a whole number from 1 to 1000000, got '{count}'")
if os.path.lexists(out):
    refuse(f"{out}: already exists (the script writes a new file only)")
n = int(count)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios", "stress-1m.json")) as f:
    scenario = json.load(f)
scenario["name"] = f"scale-{n}"
scenario["description"] = f"stress-1m's setup on {n} replicas: 12.5 requests/s and 4,000 requests per replica."
scenario["instances"][0]["count"] = n
scenario["workload"]["arrivals"]["rate"] = 12.5 * n
scenario["workload"]["num_requests"] = 4000 * n
try:
    with open(out, "x") as f:
        json.dump(scenario, f)
except OSError as e:
    refuse(f"{out}: {e.strerror}")
