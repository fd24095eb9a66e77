"""The exported folder: ONNX Runtime against PyTorch, the manifest, and the golden stream replayed
through ONNX Runtime the way the Flink operator serves it."""
import hashlib
import math
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from npt_export.export import (FORMAT, GOLDEN_FILE, MANIFEST_FILE, MODEL_FILE, Graph, cache_feeds, export,
                               golden_inputs, input_names, load, training_command)
from npt_export.fixtures import FIXTURES
from npt_export.model import CAUSAL
from npt_export.prequential import KeyStatistics, refreshes_at
from npt_export.prior import PRIOR_VERSION
from npt_export.train import CHECKPOINT_FILE
from nptstream.v1 import manifest_pb2 as mpb

ATOL = 1e-4


def read(folder, name, msg):
    with open(os.path.join(folder, name), "rb") as f:
        msg.ParseFromString(f.read())
    return msg


def session(folder):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(os.path.join(folder, MODEL_FILE), so, providers=["CPUExecutionProvider"])


def array(t: mpb.Tensor):
    if t.f32:
        return np.array(t.f32, dtype=np.float32).reshape(t.shape)
    if t.i64:
        return np.array(t.i64, dtype=np.int64).reshape(t.shape)
    return np.array(t.b, dtype=bool).reshape(t.shape)


def test_the_same_checkpoint_exports_to_the_same_version_anywhere(exported, tmp_path):
    """model_version is the graph file's hash: it must not depend on the folder or machine it was
    exported on, and the file must not carry this machine's source paths."""
    folder = exported["causal-cls"]
    first, second = tmp_path / "a" / "deep" / "place", tmp_path / "b"
    versions = [export(os.path.join(folder, CHECKPOINT_FILE), str(out)).model_version for out in (first, second)]
    assert versions[0] == versions[1] == read(folder, MANIFEST_FILE, mpb.Manifest()).model_version
    graph = (first / MODEL_FILE).read_bytes()
    assert b"stack_trace" not in graph and os.path.dirname(os.path.abspath(__file__)).encode() not in graph


@pytest.mark.parametrize("name", list(FIXTURES))
def test_manifest_matches_graph(exported, name):
    folder = exported[name]
    m = read(folder, MANIFEST_FILE, mpb.Manifest())
    with open(os.path.join(folder, MODEL_FILE), "rb") as f:
        assert m.model_version == hashlib.sha256(f.read()).hexdigest()[:16]
    g = onnx.load(os.path.join(folder, MODEL_FILE))
    assert m.format == FORMAT and m.graph.opset >= 17
    assert [i.name for i in g.graph.input] == list(m.graph.inputs)
    assert [o.name for o in g.graph.output] == list(m.graph.outputs)
    causal = FIXTURES[name]["attention"] == CAUSAL
    assert m.graph.kind == (mpb.Graph.STEP if causal else mpb.Graph.FULL)
    assert m.context.history_layers == (m.architecture.abd_layers if causal else 1)
    assert m.architecture.row_dim == m.architecture.attributes * m.architecture.embed_dim
    if name == "causal-reg":
        assert not any(n.endswith("_cat") for n in m.graph.inputs) and list(m.graph.outputs)[:2] == ["mean", "std"]
    zero_shot = FIXTURES[name].get("steps") == 0
    assert (m.training.steps > 0) != zero_shot and m.training.row_end == 600 and "val_loss" in m.training.metrics
    # Untrained on the stream, a prior model takes no constants from it: its keys standardise their own rows.
    assert m.context.standardise_rows == (16 if zero_shot else 0)
    assert all((a.mean, a.std) == (0, 1) for a in m.features if a.kind == mpb.Attribute.NUMERIC) == zero_shot
    assert m.training.command.startswith("python -m npt_export.train --csv ") and " --key key" in m.training.command
    if FIXTURES[name].get("prior"):     # a prior model: its slots, and the prior it started from
        assert (m.architecture.feature_slots, m.architecture.class_slots) == (5, 4) and m.architecture.attributes == 6
        assert m.architecture.feature_kernel and m.architecture.distance_attention
        assert m.training.init.endswith(CHECKPOINT_FILE) and " --init " in m.training.command
        prior = torch.load(m.training.init, weights_only=False)
        assert prior["train"]["csv"] == PRIOR_VERSION and training_command(prior).startswith("python -m npt_export.prior ")
    else:
        assert m.architecture.feature_slots == 0 and m.training.init == ""
        assert not m.architecture.feature_kernel and m.architecture.distance_attention


@pytest.mark.parametrize("name", list(FIXTURES))
def test_onnx_matches_pytorch_on_golden_cases_and_other_shapes(exported, name):
    folder = exported[name]
    sess = session(folder)
    golden = read(folder, GOLDEN_FILE, mpb.Golden())
    assert len(golden.cases) >= 3
    for case in golden.cases:
        feeds = {t.name: array(t) for t in case.inputs}
        for want, got in zip(case.outputs, sess.run(None, feeds)):
            assert np.abs(array(want) - got).max() <= ATOL, (case.name, want.name)
    # Shapes never traced: fresh golden-style inputs from another seed (B, M, W vary per case).
    model, _, _ = load(os.path.join(folder, CHECKPOINT_FILE))
    graph, names = Graph(model), input_names(model.cfg)
    for _, inputs in golden_inputs(model, seed=7):
        with torch.no_grad():
            want = graph(*(inputs[n] for n in names))
        got = sess.run(None, {n: inputs[n].numpy() for n in names})
        assert max(float(np.abs(w.numpy() - g).max()) for w, g in zip(want, got)) <= ATOL


class OrtServer:
    """A minimal keyed server on ONNX Runtime, as proto/README.md describes (what the Java side does)."""

    def __init__(self, folder, window):
        self.m = read(folder, MANIFEST_FILE, mpb.Manifest())
        self.sess = session(folder)
        self.W = window
        self.state = {}
        self.raw = {}       # standardised per key: (KeyStatistics, the key's raw labeled rows)

    def features(self, r):
        num = [r.numeric[a.name] for a in self.m.features if a.kind == mpb.Attribute.NUMERIC]
        cat = [(list(a.categories).index(r.categorical[a.name]) + 1) if r.categorical[a.name] in a.categories else 0
               for a in self.m.features if a.kind == mpb.Attribute.CATEGORICAL]
        return np.array(num, np.float32), np.array(cat, np.int64)

    def label(self, r):
        if r.HasField("label_class"):
            return float(list(self.m.target.classes).index(r.label_class))
        return r.label_value if r.HasField("label_value") else math.nan

    def feed(self, feeds):
        return {k: v for k, v in feeds.items() if k in self.m.graph.inputs}

    def process(self, r):
        num, cat = self.features(r)
        y = self.label(r)
        if self.m.context.standardise_rows:
            stats, rows = self.raw.setdefault(r.key, (KeyStatistics(self.m.context.standardise_rows, len(num)), []))
            if refreshes_at(len(rows), stats.rows):     # its last row refreshed the statistics: re-encode the context
                self.rebuild(r.key, stats, rows)
            raw, num = num, stats.standardise(num).numpy()
            if not math.isnan(y):
                rows.append((raw, cat, y))
                stats.add(raw)
        return self.step(r.key, num, cat, y)

    def rebuild(self, key, stats, rows):
        """The key's context: its raw rows, standardised by the current statistics, in one STEP call on an empty cache."""
        self.state.pop(key, None)
        W, a = self.W, self.m.architecture
        rows = rows[-a.abd_layers * W:]
        if rows:
            n = len(rows)
            empty = np.zeros((1, a.abd_layers, W, a.cache_dim), np.float32)
            outs = self.sess.run(None, self.feed({**cache_feeds(empty, empty), "cache_valid": np.zeros((1, W), bool),
                                                  "x_num": stats.standardise(np.stack([r[0] for r in rows])).numpy()[None],
                                                  "x_cat": np.stack([r[1] for r in rows])[None],
                                                  "x_y": np.array([[r[2] for r in rows]], np.float32),
                                                  "x_valid": np.ones((1, n), bool)}))
            kv = np.concatenate([np.zeros((1, W), bool), np.ones((1, n), bool)], 1)[:, -W:]
            self.state[key] = (np.concatenate([empty, outs[-2]], 2)[:, :, -W:],
                               np.concatenate([empty, outs[-1]], 2)[:, :, -W:], kv)

    def step(self, key, num, cat, y):
        W, a = self.W, self.m.architecture
        one = np.ones((1, 1), bool)
        if self.m.graph.kind == mpb.Graph.STEP:
            k, v, kv = self.state.setdefault(key, (np.zeros((1, a.abd_layers, W, a.cache_dim), np.float32),) * 2
                                             + (np.zeros((1, W), bool),))
            outs = self.sess.run(None, self.feed({**cache_feeds(k, v), "cache_valid": kv,
                                                  "x_num": num[None, None], "x_cat": cat[None, None],
                                                  "x_y": np.array([[y]], np.float32), "x_valid": one}))
            size = int(kv.sum())
            if not math.isnan(y):
                nk, nv = outs[-2], outs[-1]
                self.state[key] = (np.concatenate([k[:, :, 1:], nk], 2), np.concatenate([v[:, :, 1:], nv], 2),
                                     np.concatenate([kv[:, 1:], one], 1))
        else:
            hist = self.state.setdefault(key, [])
            n = len(hist)
            cn = np.zeros((1, W, len(num)), np.float32)
            cc = np.zeros((1, W, len(cat)), np.int64)
            cy = np.zeros((1, W), np.float32)
            cv = np.zeros((1, W), bool)
            for p, (hn, hc, hy) in enumerate(hist):
                cn[0, W - n + p], cc[0, W - n + p], cy[0, W - n + p], cv[0, W - n + p] = hn, hc, hy, True
            outs = self.sess.run(None, self.feed({"ctx_num": cn, "ctx_cat": cc, "ctx_y": cy, "ctx_valid": cv,
                                                  "q_num": num[None, None], "q_cat": cat[None, None], "q_valid": one}))
            size = n
            if not math.isnan(y):
                hist.append((num, cat, y))
                del hist[:-W]
        return outs, size


@pytest.mark.parametrize("name", list(FIXTURES))
def test_golden_stream_replays_through_onnx_runtime(exported, name):
    folder = exported[name]
    golden = read(folder, GOLDEN_FILE, mpb.Golden())
    assert 60 <= len(golden.stream) == len(golden.expected) <= 200
    assert len({r.key for r in golden.stream}) == 3
    assert any(not r.HasField("label_class") and not r.HasField("label_value") for r in golden.stream)
    assert any(math.isnan(x) for r in golden.stream for x in r.numeric.values())
    server = OrtServer(folder, golden.window)
    sizes = []
    for r, p in zip(golden.stream, golden.expected):
        outs, size = server.process(r)
        assert (p.key, p.id, p.context_size) == (r.key, r.id, size)
        if server.m.target.task == mpb.Target.CLASSIFICATION:
            assert np.abs(np.array(p.probabilities) - outs[0][0, 0]).max() <= ATOL
            assert p.predicted_class == server.m.target.classes[int(outs[0][0, 0].argmax())]
        else:
            assert abs(p.value - outs[0][0, 0]) <= ATOL * max(1.0, abs(p.value))
            assert abs(p.std - outs[1][0, 0]) <= ATOL * max(1.0, p.std)
        sizes.append(size)
    assert max(sizes) == golden.window        # the window fills, so eviction is exercised
