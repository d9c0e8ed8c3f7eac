#!/usr/bin/env python3
"""Turns AIConfigurator's in-engine kernel tables (parquet) into the CSVs that
`simrun calibrate` fits: calibration/aiconfigurator/{gemm,attention}.csv.

Usage: tools/aiconfigurator_kernels.py PERF_DB_FOLDER OUT_FOLDER

PERF_DB_FOLDER is `aic-core/src/aiconfigurator_core/systems/data/` of
ai-dynamo/aiconfigurator (laid out <system>/<op>/<framework>/<version>/).
Values are copied unchanged (latency stays in ms); only the columns the fits
read are kept, and rows are sorted so the output is the same on every run.
Needs pandas and pyarrow (not needed to build or test simrun).
"""
import os
import sys

import pandas as pd

# The vLLM version whose tables exist for both H100 and A100.
VERSION = "0.14.0"
SYSTEMS = ["a100_sxm", "h100_sxm"]
DTYPES = {"bfloat16": "bf16", "fp8": "fp8"}  # per-tensor FP8 (fp8_block is DeepSeek-style, not modelled)


def gemm(root):
    frames = []
    for system in SYSTEMS:
        d = pd.read_parquet(f"{root}/{system}/gemm/vllm/{VERSION}/gemm_perf.parquet")
        d = d[d.gemm_dtype.isin(DTYPES)]
        frames.append(pd.DataFrame({"system": system, "dtype": d.gemm_dtype.map(DTYPES),
                                    "m": d.m, "n": d.n, "k": d.k, "latency_ms": d.latency}))
    return pd.concat(frames).sort_values(["system", "dtype", "m", "n", "k"])


def attention(root):
    frames = []
    for system in SYSTEMS:
        for phase, table in [("prefill", "context"), ("decode", "generation")]:
            d = pd.read_parquet(f"{root}/{system}/attention/vllm/{VERSION}/{table}_attention_perf.parquet")
            d = d[d.kv_cache_dtype == "bfloat16"]
            # Context rows: `isl` new tokens per sequence, nothing cached (step 0).
            # Generation rows: one new token after `step` cached tokens.
            frames.append(pd.DataFrame({
                "system": system, "phase": phase, "batch": d.batch_size,
                "new_tokens": d.isl, "cached_tokens": d.step,
                "heads": d.num_heads, "kv_heads": d.num_key_value_heads, "head_dim": d.head_dim,
                "latency_ms": d.latency}))
    return pd.concat(frames).sort_values(["system", "phase", "batch", "new_tokens", "cached_tokens", "heads",
                                          "kv_heads"])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, frame in [("gemm.csv", gemm(root)), ("attention.csv", attention(root))]:
        path = f"{out}/{name}"
        header = ",".join(frame.columns)
        # Replace only a table this script wrote (same header); never someone else's file.
        if os.path.exists(path):
            with open(path) as f:
                if f.readline().strip() != header:
                    sys.exit(f"{path}: exists and is not a table this script wrote; not replaced")
        frame.to_csv(path + ".tmp", index=False, float_format="%.6g")
        os.replace(path + ".tmp", path)
        print(f"{path}: {len(frame)} rows")


if __name__ == "__main__":
    main()
