#!/usr/bin/env python3
"""Run a simrun sweep on a Ray cluster: one Ray task per shard, then merge.

    python3 tools/ray_sweep.py SWEEP.json --shards N --out merged.sqlite [--address ray://host:10001]
           [--simrun .build/release/simrun] [--workers-per-shard 1]

Each task runs `simrun sweep SWEEP --shard i/N` into a private database and returns the database's bytes
through Ray's object store, so shards may run on any node; the driver writes them out and joins them with
`simrun merge`. Every node needs this repository and a built simrun at the same paths (for example a shared
filesystem, or the same checkout and build on each node). Without --address a local Ray is started with one
CPU per shard. A shard that fails raises here, and nothing is merged.
"""
import argparse, os, subprocess, sys, tempfile

import ray


@ray.remote(num_cpus=1)
def run_shard(index, count, sweep, simrun, workers, cwd):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, f"shard-{index}-of-{count}.sqlite")
        result = subprocess.run([simrun, "sweep", sweep, "--shard", f"{index}/{count}", "--db", db,
                                 "--workers", str(workers)], cwd=cwd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"shard {index}/{count} failed ({result.returncode}): {result.stderr.strip()}")
        with open(db, "rb") as f:
            return f.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep")
    parser.add_argument("--shards", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    parser.add_argument("--simrun", default=".build/release/simrun")
    parser.add_argument("--workers-per-shard", type=int, default=1)
    args = parser.parse_args()
    if args.shards < 1:
        parser.error("--shards must be at least 1")
    simrun, sweep, cwd = os.path.abspath(args.simrun), os.path.abspath(args.sweep), os.getcwd()
    for path, what in [(simrun, "simrun binary"), (sweep, "sweep file")]:
        if not os.path.exists(path):
            print(f"error: {path}: no such {what}", file=sys.stderr)
            return 2

    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.shards, include_dashboard=False, log_to_driver=False)
    try:
        shards = ray.get([run_shard.remote(i, args.shards, sweep, simrun, args.workers_per_shard, cwd)
                          for i in range(args.shards)])
    finally:
        ray.shutdown()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(shards):
            paths.append(os.path.join(tmp, f"shard-{i}.sqlite"))
            with open(paths[-1], "wb") as f:
                f.write(data)
        subprocess.run([simrun, "merge", args.out] + paths, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
