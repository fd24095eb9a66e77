"""ONNX Runtime's time for one flush of a STEP graph, one key against many: what the graph alone
costs per flush when its rows spread over keys (deploy/README.md, "What bounds many keys").

    python bench/flush_time.py build/models/elec [--rows 128] [--keys 100] [--threads 1]

A flush of `rows` rows is timed on one key (one call of rows x 1 key) and dealt round robin to
`keys` keys (one call per row count, as the operator groups them), every key with a full window
cached. Inputs are synthetic: the time does not depend on their values.
"""
import argparse
import collections
import json
import os
import time

import numpy as np
import onnxruntime as ort


def call_inputs(manifest, keys, rows, rng):
    ctx, arch = manifest["context"], manifest["architecture"]
    window, dim = ctx["max_window"], arch.get("cache_dim") or arch["row_dim"]
    kinds = [f["kind"] for f in manifest["features"]]
    feeds = {"cache_valid": np.ones((keys, window), bool),
             "x_y": np.ones((keys, rows), np.float32),
             "x_valid": np.ones((keys, rows), bool),
             "x_num": rng.standard_normal((keys, rows, kinds.count("NUMERIC")), dtype=np.float32),
             "x_cat": np.zeros((keys, rows, kinds.count("CATEGORICAL")), np.int64)}
    for layer in range(arch["abd_layers"]):
        for name in ("cache_k", "cache_v"):
            feeds[f"{name}_{layer}"] = rng.standard_normal((keys, window, dim), dtype=np.float32)
    return {name: feeds[name] for name in manifest["graph"]["inputs"]}


def ms_per_flush(session, calls, repeats):
    for _ in range(10):
        for feeds in calls:
            session.run(None, feeds)
    start = time.perf_counter()
    for _ in range(repeats):
        for feeds in calls:
            session.run(None, feeds)
    return (time.perf_counter() - start) / repeats * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir")
    p.add_argument("--rows", type=int, default=128)
    p.add_argument("--keys", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=200)
    a = p.parse_args()
    manifest = json.load(open(os.path.join(a.model_dir, "manifest.json")))
    if manifest["graph"]["kind"] != "STEP":
        raise SystemExit(f"{a.model_dir}: a {manifest['graph']['kind']} graph; this times STEP graphs")
    options = ort.SessionOptions()
    options.intra_op_num_threads = a.threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(os.path.join(a.model_dir, manifest["graph"]["file"]), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    per_key = collections.Counter(i % a.keys for i in range(a.rows))
    groups = collections.Counter(per_key.values())            # row count -> keys with that many rows
    spread = [call_inputs(manifest, keys, rows, rng) for rows, keys in sorted(groups.items())]
    one = ms_per_flush(session, [call_inputs(manifest, 1, a.rows, rng)], a.repeats)
    many = ms_per_flush(session, spread, a.repeats)
    calls = " + ".join(f"{keys} keys x {rows}" for rows, keys in sorted(groups.items()))
    print(f"{a.model_dir}: a flush of {a.rows} rows, {a.threads} thread(s): 1 key {one:.2f} ms, "
          f"{a.keys} keys ({calls}) {many:.2f} ms")


if __name__ == "__main__":
    main()
