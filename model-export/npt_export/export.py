"""Checkpoint -> model folder: model.onnx, manifest.pb, manifest.json, golden.pb (proto/README.md).

    python -m npt_export.export --checkpoint OUT/checkpoint.pt --out OUT

The export checks itself: ONNX Runtime must reproduce every golden case within 1e-4.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import hashlib
import math
import os
import sys
import warnings
from dataclasses import asdict

import numpy as np
import onnx
import torch
from google.protobuf import json_format

from npt_export import data as D
from npt_export.model import CAUSAL, CLASSIFICATION, NPT, NPTConfig, Z_LIMIT
from npt_export.prequential import KeyedReference
from nptstream.v1 import manifest_pb2 as mpb
from nptstream.v1 import stream_pb2 as spb

FORMAT = "npt-stream/1"
OPSET = 18
TOLERANCE = 1e-4
UNKNOWN_CATEGORY = "<never-seen>"
# The model folder's files (proto/README.md).
MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.pb"
MANIFEST_JSON_FILE = "manifest.json"
GOLDEN_FILE = "golden.pb"
# The golden file's short window (`golden_window`): its graph cases and its stream fill and overflow
# it, so that a server is checked on full, sliding contexts while the file stays small.
GOLDEN_WINDOW = 16


def load(path: str) -> tuple[NPT, D.Schema, dict]:
    try:
        ck = torch.load(path, weights_only=False, map_location="cpu")
    except (OSError, RuntimeError) as e:
        raise D.DataError(f"cannot load checkpoint {path}: {e}") from None
    for option in ("distance_attention", "feature_kernel"):   # off in a checkpoint from before the option
        ck["config"].setdefault(option, False)
    model = NPT(NPTConfig(**ck["config"]))
    model.load_state_dict(ck["state"])
    model.eval()
    s = ck["schema"]
    schema = D.Schema(**{**s, "features": [D.Attribute(**a) for a in s["features"]]})
    return model, schema, ck


# ----------------------------------------------------------------------------- graphs


def input_names(cfg: NPTConfig) -> list[str]:
    """The graph's inputs in order; *_num / *_cat are left out when there is no such feature."""
    def feats(prefix):
        return ([f"{prefix}_num"] if cfg.n_num else []) + ([f"{prefix}_cat"] if cfg.n_cat else [])
    if cfg.attention == CAUSAL:
        return [*cache_names(cfg.abd_layers, "cache_k"), *cache_names(cfg.abd_layers, "cache_v"), "cache_valid",
                *feats("x"), "x_y", "x_valid"]
    return [*feats("ctx"), "ctx_y", "ctx_valid", *feats("q"), "q_valid"]


def cache_names(layers: int, tensor: str) -> list[str]:
    """cache_k_0 .. cache_k_{L-1} (or cache_v_*): the STEP graph's cache, one input per ABD layer."""
    return [f"{tensor}_{layer}" for layer in range(layers)]


def cache_feeds(cache_k, cache_v) -> dict:
    """Stacked caches [B,L,W,Dc] (torch or numpy) as the STEP graph's per-layer inputs, by name."""
    def part(t, layer):
        return t[:, layer].contiguous() if torch.is_tensor(t) else np.ascontiguousarray(t[:, layer])
    layers = cache_k.shape[1]
    return {**{n: part(cache_k, l) for l, n in enumerate(cache_names(layers, "cache_k"))},
            **{n: part(cache_v, l) for l, n in enumerate(cache_names(layers, "cache_v"))}}


def output_names(cfg: NPTConfig) -> list[str]:
    outs = ["probs"] if cfg.task == CLASSIFICATION else (["mean", "std"] if cfg.has_std else ["mean"])
    return outs + (["new_k", "new_v"] if cfg.attention == CAUSAL else [])


class Graph(torch.nn.Module):
    """The served computation with the graph's inputs by name (so absent kinds can be left out)."""

    def __init__(self, model: NPT):
        super().__init__()
        self.model = model
        self.names = input_names(model.cfg)

    def forward(self, *args):
        a = dict(zip(self.names, args))
        m = self.model
        if m.cfg.attention == CAUSAL:
            L = m.cfg.abd_layers
            h_q, k, v, _ = m.step([a[n] for n in cache_names(L, "cache_k")],
                                  [a[n] for n in cache_names(L, "cache_v")], a["cache_valid"], a.get("x_num"),
                                  a.get("x_cat"), a["x_y"], a["x_valid"])
            return (*m.predict(h_q), k, v)
        _, h_q, _ = m.full(a.get("ctx_num"), a.get("ctx_cat"), a["ctx_y"], a["ctx_valid"],
                           a.get("q_num"), a.get("q_cat"), a["q_valid"])
        return m.predict(h_q)


def dynamic_axes(cfg: NPTConfig) -> dict:
    axes = {}
    for n in input_names(cfg):
        if n.startswith("cache_"):
            axes[n] = {0: "B", 1: "W"}
        elif n.startswith("ctx_"):
            axes[n] = {0: "B", 1: "W"}
        else:
            axes[n] = {0: "B", 1: "M"}
    for n in output_names(cfg):
        axes[n] = {0: "B", 2: "M"} if n.startswith("new_") else {0: "B", 1: "M"}
    return axes


def export_onnx(model: NPT, path: str, example: dict[str, torch.Tensor]):
    """The dynamo exporter, with B, M and W dynamic (the example must not have a size-1 axis among
    them, or torch.export specialises it)."""
    cfg = model.cfg
    names = input_names(cfg)
    dims = {n: torch.export.Dim(n) for n in ("B", "M", "W")}
    axes = dynamic_axes(cfg)
    shapes = tuple({i: dims[a] for i, a in axes[n].items()} for n in names)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch").setLevel(logging.ERROR)
        torch.onnx.export(Graph(model), tuple(example[n] for n in names), path, input_names=names,
                          output_names=output_names(cfg), dynamic_shapes=(shapes,),
                          opset_version=OPSET, dynamo=True, verbose=False, external_data=False)
    strip_provenance(path)


def strip_provenance(path: str):
    """Drops what the exporter writes about where it ran: each node's metadata (stack traces with
    this machine's absolute source paths, FX node dumps) and doc strings. The graph computes the
    same; the file, and so `model_version` (its hash), become a function of the weights and the
    code's graph alone: the same training gives the same version in any clone."""
    m = onnx.load(path)
    for node in m.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    del m.metadata_props[:]
    m.graph.doc_string = ""
    onnx.save(m, path)


def run_onnx(path: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: inputs[i.name] for i in sess.get_inputs()})


# ----------------------------------------------------------------------------- golden inputs


class Synth:
    """Random rows shaped like the schema (NaNs and unknown categories included): raw records
    (`raw`), or what a server feeds the graph, which differs under key statistics: numbers a key's
    statistics standardised."""

    def __init__(self, cfg: NPTConfig, seed: int, raw: bool):
        self.cfg = cfg
        self.raw = raw
        self.g = torch.Generator().manual_seed(seed)

    def rows(self, *shape, p_missing=0.05, p_unlabeled=0.0):
        cfg, g = self.cfg, self.g
        means, stds = torch.tensor(cfg.num_means), torch.tensor(cfg.num_stds)
        if cfg.standardise_rows and self.raw:   # records in units far from the graph's 0 and 1
            means, stds = 100 * torch.randn(cfg.n_num, generator=g), 10 ** (4 * torch.rand(cfg.n_num, generator=g) - 2)
        num = means + stds * torch.randn(*shape, cfg.n_num, generator=g)
        num = torch.where(torch.rand(num.shape, generator=g) < p_missing, torch.full_like(num, float("nan")), num)
        cat = torch.stack([torch.randint(0, v, shape, generator=g) for v in cfg.cat_sizes], -1) \
            if cfg.n_cat else torch.zeros(*shape, 0, dtype=torch.int64)
        if cfg.task == CLASSIFICATION:
            y = torch.randint(0, cfg.n_classes, shape, generator=g).float()
        else:
            y = cfg.y_mean + cfg.y_std * torch.randn(*shape, generator=g)
        y = torch.where(torch.rand(shape, generator=g) < p_unlabeled, torch.full_like(y, float("nan")), y)
        return num.float(), cat, y.float()


@torch.no_grad()
def causal_cache(model: NPT, synth: Synth, fill: list[int], W: int):
    """Right-aligned caches for B sets holding fill[b] real rows (computed by the model)."""
    cfg = model.cfg
    B, L, Dm = len(fill), cfg.abd_layers, cfg.cache_dim
    k, v = torch.zeros(B, L, W, Dm), torch.zeros(B, L, W, Dm)
    valid = torch.zeros(B, W, dtype=torch.bool)
    for b, n in enumerate(fill):
        if n == 0:
            continue
        num, cat, y = synth.rows(1, n)
        empty = torch.zeros(1, L, W, Dm)
        _, nk, nv, _ = model.step(empty, empty, torch.zeros(1, W, dtype=torch.bool), num, cat, y,
                                  torch.ones(1, n, dtype=torch.bool))
        m = min(n, W)
        k[b, :, W - m:], v[b, :, W - m:] = nk[0, :, -m:], nv[0, :, -m:]
        valid[b, W - m:] = True
    return k, v, valid


def golden_window(cfg: NPTConfig) -> int:
    """The window of the golden cases (besides the max-window ones) and of the golden stream."""
    return min(GOLDEN_WINDOW, cfg.window)


def golden_inputs(model: NPT, seed: int = 1) -> list[tuple[str, dict[str, torch.Tensor]]]:
    cfg = model.cfg
    synth = Synth(cfg, seed, raw=False)
    Wmax = cfg.window
    Ws = golden_window(cfg)
    cases = []
    if cfg.attention == CAUSAL:
        def case(name, fill, W, M, invalid=()):
            k, v, cv = causal_cache(model, synth, fill, W)
            num, cat, y = synth.rows(len(fill), M, p_unlabeled=0.3)
            valid = torch.ones(len(fill), M, dtype=torch.bool)
            for b, m in invalid:
                valid[b, m] = False
            cases.append((name, {**cache_feeds(k, v), "cache_valid": cv, "x_num": num,
                                 "x_cat": cat, "x_y": y, "x_valid": valid}))
        case("step_m1_empty_cache", [0], Ws, 1)
        case("step_sets_partial_cache_padding", [0, 5, Ws + 3], Ws, 6, invalid=[(0, 5), (1, 4), (1, 5)])
        case("step_long_history_m_gt_w", [Ws // 2], Ws, 2 * Ws + 3)
        case("step_max_window", [Wmax + 1, 3], Wmax, 3)
    else:
        def case(name, B, W, M, fill, q_invalid=()):
            cn, cc, cy = synth.rows(B, W)
            cvalid = torch.zeros(B, W, dtype=torch.bool)
            for b, n in enumerate(fill):
                cvalid[b, W - n:] = True
            qn, qc, _ = synth.rows(B, M)
            qv = torch.ones(B, M, dtype=torch.bool)
            for b, m in q_invalid:
                qv[b, m] = False
            cases.append((name, {"ctx_num": cn, "ctx_cat": cc, "ctx_y": cy, "ctx_valid": cvalid,
                                 "q_num": qn, "q_cat": qc, "q_valid": qv}))
        case("full_m1_empty_context", 1, Ws, 1, [0])
        case("full_sets_padding", 3, Ws, 4, [Ws, 5, 1], q_invalid=[(1, 3)])
        case("full_max_window", 2, Wmax, 2, [Wmax, Wmax // 2])
    return cases


def tensor(name: str, t) -> mpb.Tensor:
    t = torch.as_tensor(t)
    msg = mpb.Tensor(name=name, shape=list(t.shape))
    flat = t.reshape(-1)
    if t.dtype == torch.bool:
        msg.b.extend(flat.tolist())
    elif t.dtype == torch.int64:
        msg.i64.extend(flat.tolist())
    else:
        msg.f32.extend(flat.float().tolist())
    return msg


# ----------------------------------------------------------------------------- golden stream


def golden_stream(model: NPT, schema: D.Schema, model_version: str, window: int, seed: int = 2,
                  n_keys: int = 3, per_key: int = 40):
    """Records over n_keys keys (interleaved; some unlabeled, NaNs, unknown categories) and the
    reference's prequential Prediction for each, one record at a time."""
    cfg = model.cfg
    synth = Synth(cfg, seed, raw=True)
    n = n_keys * per_key
    num, cat, y = synth.rows(n, p_missing=0.05, p_unlabeled=0.2)
    keys = torch.randint(0, n_keys, (n,), generator=synth.g).tolist()
    ref = KeyedReference(model, window)
    records, expected = [], []
    for i in range(n):
        r = spb.Record(key=f"key-{keys[i]}", id=f"r{i}", event_time_ms=1_700_000_000_000 + 1000 * i)
        for j, a in enumerate(schema.numeric):
            r.numeric[a.name] = float(num[i, j])
        for j, a in enumerate(schema.categorical):
            c = int(cat[i, j])
            r.categorical[a.name] = a.categories[c - 1] if c > 0 else UNKNOWN_CATEGORY
        labeled = not math.isnan(float(y[i]))
        if labeled:
            if cfg.task == CLASSIFICATION:
                r.label_class = schema.classes[int(y[i])]
            else:
                r.label_value = float(y[i])
        s = ref.process(r.key, num[i], cat[i], float(y[i]))
        p = spb.Prediction(key=r.key, id=r.id, event_time_ms=r.event_time_ms,
                           context_size=s.context_size, model_version=model_version)
        if cfg.task == CLASSIFICATION:
            probs = s.outputs[0]
            p.probabilities.extend(probs.tolist())
            p.predicted_class = schema.classes[int(probs.argmax())]
            if labeled:
                p.label_class = r.label_class
        else:
            p.value = float(s.outputs[0])
            if cfg.has_std:
                p.std = float(s.outputs[1])
            if labeled:
                p.label_value = r.label_value
        records.append(r)
        expected.append(p)
    return records, expected


# ----------------------------------------------------------------------------- manifest


def manifest(model: NPT, schema: D.Schema, ck: dict, version: str) -> mpb.Manifest:
    cfg = model.cfg
    m = mpb.Manifest(format=FORMAT, model_version=version)
    for a in schema.features:
        kind = mpb.Attribute.NUMERIC if a.kind == "numeric" else mpb.Attribute.CATEGORICAL
        if a.kind == "numeric":
            m.features.append(mpb.Attribute(name=a.name, kind=kind, mean=a.mean, std=a.std))
        else:
            m.features.append(mpb.Attribute(name=a.name, kind=kind, categories=a.categories))
    m.target.name = schema.target
    if cfg.task == CLASSIFICATION:
        m.target.task = mpb.Target.CLASSIFICATION
        m.target.classes.extend(schema.classes)
    else:
        m.target.task = mpb.Target.REGRESSION
        m.target.has_std = cfg.has_std
        m.target.mean, m.target.std = cfg.y_mean, cfg.y_std
    m.value_limit_std = Z_LIMIT
    causal = cfg.attention == CAUSAL
    m.context.attention = mpb.Context.CAUSAL if causal else mpb.Context.BIDIRECTIONAL
    m.context.max_window = cfg.window
    m.context.history_layers = cfg.abd_layers if causal else 1
    m.context.recency = cfg.recency
    m.context.standardise_rows = cfg.standardise_rows
    m.graph.kind = mpb.Graph.STEP if causal else mpb.Graph.FULL
    m.graph.file = MODEL_FILE
    m.graph.inputs.extend(input_names(cfg))
    m.graph.outputs.extend(output_names(cfg))
    m.graph.opset = OPSET
    a = m.architecture
    a.embed_dim, a.attributes, a.row_dim = cfg.embed_dim, cfg.attributes, cfg.row_dim
    a.kv_heads, a.cache_dim = cfg.kv_heads, cfg.cache_dim
    a.abd_layers, a.aba_layers, a.heads, a.ff_mult = cfg.abd_layers, cfg.aba_layers, cfg.heads, cfg.ff_mult
    a.parameters = sum(p.numel() for p in model.parameters())
    a.feature_slots, a.class_slots = cfg.feature_slots, cfg.class_slots
    a.distance_attention, a.feature_kernel = cfg.distance_attention, cfg.feature_kernel
    tc, tr = ck["train"], ck["training"]
    t = m.training
    t.data = tc["csv"] or tc.get("schema", "")
    t.row_begin, t.row_end = tr["row_begin"], tr["row_end"]
    t.steps, t.seed, t.device = int(tr["steps"]), int(tc["seed"]), tc["device"]
    t.seconds = float(tr["seconds"])
    for k, v in tr["metrics"].items():
        t.metrics[k] = float(v)
    t.metrics["best_step"] = float(tr["best_step"])
    t.torch_version = torch.__version__
    t.init = tc["init"]
    t.command = training_command(ck)
    return m


def training_command(ck: dict) -> str:
    """The command that trains the checkpoint again: its module and the options that are not at
    their defaults (a fine-tuned model's architecture is its starting checkpoint's, not an option;
    one of train.ARCHITECTURES is --arch NAME, which sets its layers, window and run shape; any
    other architecture is --arch custom and its flags)."""
    from npt_export.prior import PriorConfig
    from npt_export.train import ARCH_ARGS, ARCHITECTURES, TrainConfig
    if "prior" in ck:
        module, values, defaults = "npt_export.prior", ck["prior"], asdict(PriorConfig())
    else:
        arch = {} if ck["train"]["init"] else {f: ck["config"][f] for f in ARCH_ARGS}
        module, values = "npt_export.train", {**ck["train"], **arch}
        preset = ARCHITECTURES.get(values.get("arch"))
        values = {k: v for k, v in values.items() if k not in preset} if preset else {**values, "arch": "custom"}
        defaults = {**asdict(TrainConfig()), **{f: NPTConfig.__dataclass_fields__[f].default for f in ARCH_ARGS}}
    options = []
    for name, value in values.items():
        if name in defaults and value != defaults[name]:
            flag = name.replace("_", "-")
            options.append(f"--{flag}" if value is True else f"--no-{flag}" if value is False else f"--{flag} {value}")
    return " ".join([f"python -m {module}", *options])


# ----------------------------------------------------------------------------- export


def export(checkpoint: str, out: str) -> mpb.Manifest:
    model, schema, ck = load(checkpoint)
    cfg = model.cfg
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, MODEL_FILE)
    cases = golden_inputs(model)
    with torch.no_grad():
        export_onnx(model, onnx_path, cases[1][1])
        golden = mpb.Golden()
        graph = Graph(model)
        names = input_names(cfg)
        worst = 0.0
        for name, inputs in cases:
            outs = graph(*(inputs[n] for n in names))
            onnx_outs = run_onnx(onnx_path, {n: inputs[n].numpy() for n in names})
            c = golden.cases.add(name=name)
            for n in names:
                c.inputs.append(tensor(n, inputs[n]))
            for n, o, r in zip(output_names(cfg), outs, onnx_outs):
                c.outputs.append(tensor(n, o))
                worst = max(worst, float(np.abs(o.numpy() - r).max()))
    if not worst <= TOLERANCE:
        raise D.DataError(f"ONNX Runtime differs from PyTorch by {worst:.2e} (> {TOLERANCE}) on the golden cases; the export is wrong")
    with open(onnx_path, "rb") as f:
        version = hashlib.sha256(f.read()).hexdigest()[:16]
    golden.window = golden_window(cfg)
    records, expected = golden_stream(model, schema, version, golden.window)
    golden.stream.extend(records)
    golden.expected.extend(expected)
    m = manifest(model, schema, ck, version)
    with open(os.path.join(out, GOLDEN_FILE), "wb") as f:
        f.write(golden.SerializeToString())
    with open(os.path.join(out, MANIFEST_FILE), "wb") as f:
        f.write(m.SerializeToString())
    with open(os.path.join(out, MANIFEST_JSON_FILE), "w") as f:
        f.write(json_format.MessageToJson(m, preserving_proto_field_name=True) + "\n")
    print(f"exported {out}: {m.graph.kind and mpb.Graph.Kind.Name(m.graph.kind)} graph, version {version}, "
          f"ORT vs PyTorch max abs diff {worst:.1e} over {len(cases)} cases, {len(records)} golden records")
    return m


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m npt_export.export", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    try:
        export(a.checkpoint, a.out)
    except D.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
