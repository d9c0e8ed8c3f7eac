#!/usr/bin/env python3
"""Assertions about the CI sweep (sweeps/ci.json) that could fail: latency rises with load for each
policy, and Past-Future admission evicts no more than aggressive admission under load."""
import json, sqlite3, sys

db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT r.parameters, m.name, m.value FROM runs r JOIN metrics m USING (point_id) WHERE r.status = 'ok'")
values = {}
for parameters, name, value in rows:
    p = json.loads(parameters)
    values.setdefault((p["scheduler.policy"], p["workload.arrivals.clients"], name), []).append(value)
mean = lambda k: sum(values[k]) / len(values[k])
checks = []
for policy in ["aggressive", "past_future"]:
    checks.append((f"{policy}: p90 TTFT at 40 clients > at 10", mean((policy, 40, "ttft.p90_ms")) > mean((policy, 10, "ttft.p90_ms"))))
checks.append(("past_future evicts no more than aggressive at 40 clients",
               mean(("past_future", 40, "preemptions")) <= mean(("aggressive", 40, "preemptions"))))
for label, ok in checks:
    print(("ok   " if ok else "FAIL ") + label)
sys.exit(0 if all(ok for _, ok in checks) else 1)
