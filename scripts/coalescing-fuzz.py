#!/usr/bin/env python3
"""Decode stretches' exactness on random configurations: each trial draws a shipped scenario, a seed, a request
count and one to five overrides with drawn values (scheduler limits, KV blocks and block size, recompute or swap,
timeouts, priorities, the admission policies, prefix caching and offloading, vLLM V0 or V1 steps, routers, cluster
sizes), runs it with and without --no-coalescing (both with --iterations) and compares every output file but
provenance.json byte for byte. With --twice it runs each configuration twice as drawn instead (determinism).
Prints each configuration that differs and a count; exits 1 if any differed. A configuration simrun refuses (exit 2)
is counted and skipped; any other failure is reported.

Usage: scripts/coalescing-fuzz.py SIMRUN TRIALS SEED [--twice]
Writes only in a temporary folder it removes. The same SEED draws the same configurations."""
import filecmp, os, random, shutil, subprocess, sys, tempfile

USAGE = "usage: scripts/coalescing-fuzz.py SIMRUN TRIALS SEED [--twice]"


def fail(message):
    print(f"coalescing-fuzz.py: {message}", file=sys.stderr)
    sys.exit(2)


def whole(text, name):
    if not text.isdigit() or int(text) < 1:
        fail(f"{name}: expected a positive whole number, got '{text}'")
    return int(text)


args = sys.argv[1:]
twice = "--twice" in args
args = [a for a in args if a != "--twice"]
if len(args) != 3:
    fail(f"expected 3 arguments and --twice at most, got {len(sys.argv) - 1} ({USAGE})")
simrun = args[0]
if not (os.path.isfile(simrun) and os.access(simrun, os.X_OK)):
    fail(f"{simrun}: no such executable (build it: swift build -c release)")
trials, seed = whole(args[1], "TRIALS"), whole(args[2], "SEED")

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios")
scenarios = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                   if f.endswith(".json") and f != "scenario.schema.json"
                   and not f.startswith(("stress-10m", "search-")))
overrides = [
    lambda r: f"scheduler.max_num_seqs={r.choice([2, 4, 8, 16, 64, 256])}",
    lambda r: f"scheduler.max_num_batched_tokens={r.choice([256, 512, 2048, 8192])}",
    lambda r: f"scheduler.chunked_prefill={r.choice(['true', 'false'])}",
    lambda r: f"scheduler.admission_interval_steps={r.randint(1, 9)}",
    lambda r: f"scheduler.preemption={r.choice(['recompute', 'swap'])}",
    lambda r: f"scheduler.watermark={r.choice([0, 0.01, 0.1])}",
    lambda r: f"scheduler.num_gpu_blocks={r.choice([64, 200, 600, 2000])}",
    lambda r: f"scheduler.block_size={r.choice([8, 16, 32])}",
    lambda r: f"scheduler.queue_timeout_s={r.choice([0.5, 2, 10])}",
    lambda r: f"scheduler.max_preemptions={r.choice([0, 1, 3])}",
    lambda r: f"scheduler.policy={r.choice(['fcfs', 'aggressive', 'conservative', 'past_future'])}",
    lambda r: f"scheduler.priorities={r.choice(['true', 'false'])}",
    lambda r: f"scheduler.swap_space_gib={r.choice([0, 1, 8])}",
    lambda r: f"scheduler.max_prefill_tokens_per_round={r.choice([512, 4096])}",
    lambda r: f"scheduler.kv_offloading_gib={r.choice([0, 2])}",
    lambda r: f"scheduler.max_output_tokens={r.choice([8, 64, 512])}",
    lambda r: f"workload.client_timeout_s={r.choice([1, 5, 30])}",
    lambda r: f"workload.high_priority_share={r.choice([0.1, 0.5])}",
    lambda r: f"workload.arrivals.rate={r.choice([0.5, 2, 8, 30])}",
    lambda r: f"instances[0].engine_overrides.scheduling={r.choice(['v0', 'v1'])}",
    lambda r: f"instances[0].engine_overrides.prefix_caching={r.choice(['true', 'false'])}",
    lambda r: f"instances[0].engine_overrides.overlap_host={r.choice(['true', 'false'])}",
    lambda r: f"instances[0].max_num_seqs={r.choice([3, 32])}",
    lambda r: f"instances[0].count={r.choice([2, 3, 5, 8, 16, 32])}",
    lambda r: "run.check_invariants=true",
    lambda r: f"router={r.choice(['round_robin', 'least_outstanding_tokens', 'shortest_queue', 'llumnix_load'])}",
]

work = tempfile.mkdtemp(prefix="coalescing-fuzz-")
compared = differed = refused = 0
try:
    for trial in range(trials):
        r = random.Random(seed * 1_000_003 + trial)
        scenario = r.choice(scenarios)
        sets = [f"workload.num_requests={r.choice([50, 150, 400, 1500])}"] + [o(r) for o in r.sample(overrides, r.randint(1, 5))]
        run = [scenario, "--seed", str(r.randint(1, 10**6))] + [x for s in sets for x in ("--set", s)]
        label = f"{os.path.relpath(scenario, root)} {' '.join(run[1:])}"
        outs = []
        for variant, extra in (("a", []), ("b", [] if twice else ["--no-coalescing"])):
            out = os.path.join(work, variant)
            shutil.rmtree(out, ignore_errors=True)
            p = subprocess.run([simrun, "run"] + run + extra + ["--out", out, "--iterations"], capture_output=True, text=True)
            if p.returncode != 0:
                break
            outs.append(out)
        if len(outs) < 2:
            if p.returncode == 2 and not outs:
                refused += 1
            else:
                differed += 1
                print(f"FAILED (status {p.returncode}): {label}: {p.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        compared += 1
        names = sorted((set(os.listdir(outs[0])) | set(os.listdir(outs[1]))) - {"provenance.json"})
        bad = [n for n in names if not all(os.path.exists(os.path.join(o, n)) for o in outs)
               or not filecmp.cmp(os.path.join(outs[0], n), os.path.join(outs[1], n), shallow=False)]
        if bad:
            differed += 1
            print(f"DIFFERS ({', '.join(bad)}): {label}", flush=True)
finally:
    shutil.rmtree(work, ignore_errors=True)
what = "run twice" if twice else "with and without coalescing"
print(f"seed {seed}: {compared} configurations compared ({what}), {differed} differed or failed, {refused} refused")
sys.exit(1 if differed else 0)
