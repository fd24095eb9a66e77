"""ONNX Runtime's time for one flush of a STEP graph, one key against many: what the graph alone
costs per flush when its rows spread over keys (deploy/README.md, "What bounds many keys").

    python bench/flush_time.py build/models/elec [--rows 128] [--keys 100] [--threads 1] [--profile]

A flush of `rows` rows is timed on one key (one call of rows x 1 key) and dealt round robin to
`keys` keys (one call per row count), every key with a full window cached. Inputs are synthetic:
the time does not depend on their values.

--profile: where the one-key flush's time goes (what bounds it against the MatMul roofline,
issue 11): ONNX Runtime's own profile of the call, its kernels' time by operator, and the FLOPs
and GFLOP/s of its matrix products (FLOPs from each product's shapes, 2 per multiply-add).
ONNX Runtime times each kernel, which adds a few microseconds a node: the shares are those of a
profiled call, whose total is printed beside the unprofiled one.
"""
import argparse
import collections
import json
import math
import os
import tempfile
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


MATRIX_PRODUCTS = ("MatMul", "FusedMatMul")


def matmul_flops(event, transposed):
    """2 x output elements x the contracted length, from a profiled kernel's shapes; `transposed`:
    whether its first operand is read transposed (FusedMatMul's transA)."""
    shapes = [list(t.values())[0] for t in event["args"]["input_type_shape"]]
    out = list(event["args"]["output_type_shape"][0].values())[0]
    a = shapes[0]
    return 2 * math.prod(out) * (a[-2] if transposed else a[-1])


def open_session(model_path, threads, **settings):
    """An ONNX Runtime session as the operator opens one (all graph optimisations), with `settings`
    on its SessionOptions."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    for name, value in settings.items():
        setattr(options, name, value)
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


def profile(model_path, threads, feeds, repeats):
    """Kernel time per operator (ms per call), matrix-product FLOPs per call, profiled call ms."""
    import onnx
    with tempfile.TemporaryDirectory() as tmp:
        optimized_path = os.path.join(tmp, "optimized.onnx")
        # log_severity_level 3: not the warning that an optimized model is machine-specific.
        session = open_session(model_path, threads, enable_profiling=True, log_severity_level=3,
                               profile_file_prefix=os.path.join(tmp, "flush"),
                               optimized_model_filepath=optimized_path)
        for _ in range(repeats):
            session.run(None, feeds)
        events = json.load(open(session.end_profiling()))
        optimized = onnx.load(optimized_path)
    trans_a = {n.name for n in optimized.graph.node for at in n.attribute if at.name == "transA" and at.i}
    runs = [e for e in events if e["name"] == "model_run"][repeats // 2:]   # the first half warms up
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
               and e["ts"] >= runs[0]["ts"]]
    by_op, flops = collections.Counter(), 0
    for e in kernels:
        op = e["args"]["op_name"]
        by_op[op] += e["dur"] / 1e3 / len(runs)
        if op in MATRIX_PRODUCTS:
            flops += matmul_flops(e, e["name"][:-len("_kernel_time")] in trans_a) / len(runs)
    return by_op, flops, sum(r["dur"] for r in runs) / 1e3 / len(runs)


def print_profile(by_op, flops, profiled_ms, unprofiled_ms, rows):
    kernels = sum(by_op.values())
    products = sum(by_op[op] for op in MATRIX_PRODUCTS)
    print(f"one key's flush, profiled: {profiled_ms:.2f} ms a call ({unprofiled_ms:.2f} unprofiled), "
          f"kernels {kernels:.2f} ms")
    print(f"  matrix products: {products:.2f} ms ({products / kernels:.0%} of kernel time), "
          f"{flops / 1e6 / rows:.2f} MFLOP a row, {flops / products / 1e6:.1f} GFLOP/s while they run")
    print("  by operator: " + ", ".join(f"{op} {ms:.2f} ms ({ms / kernels:.0%})" for op, ms in by_op.most_common(10)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir")
    p.add_argument("--rows", type=int, default=128)
    p.add_argument("--keys", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--profile", action="store_true", help="where the one-key flush's time goes")
    a = p.parse_args()
    manifest = json.load(open(os.path.join(a.model_dir, "manifest.json")))
    if manifest["graph"]["kind"] != "STEP":
        raise SystemExit(f"{a.model_dir}: a {manifest['graph']['kind']} graph; this times STEP graphs")
    model_path = os.path.join(a.model_dir, manifest["graph"]["file"])
    session = open_session(model_path, a.threads)
    rng = np.random.default_rng(0)
    per_key = collections.Counter(i % a.keys for i in range(a.rows))
    groups = collections.Counter(per_key.values())            # row count -> keys with that many rows
    spread = [call_inputs(manifest, keys, rows, rng) for rows, keys in sorted(groups.items())]
    one_key = call_inputs(manifest, 1, a.rows, rng)
    one = ms_per_flush(session, [one_key], a.repeats)
    many = ms_per_flush(session, spread, a.repeats)
    calls = " + ".join(f"{keys} keys x {rows}" for rows, keys in sorted(groups.items()))
    print(f"{a.model_dir}: a flush of {a.rows} rows, {a.threads} thread(s): 1 key {one:.2f} ms, "
          f"{a.keys} keys ({calls}) {many:.2f} ms")
    if a.profile:
        print_profile(*profile(model_path, a.threads, one_key, a.repeats), one, a.rows)


if __name__ == "__main__":
    main()
