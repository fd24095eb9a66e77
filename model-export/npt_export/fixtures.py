"""Tiny real models for the Java tests: each trained a few steps on a synthetic keyed stream and
fully exported (model.onnx, manifest.pb/.json, golden.pb), with the CSV it was trained on.

    python -m npt_export.fixtures OUTDIR

- causal-cls: 2 numeric + 1 categorical feature, 3 classes, CAUSAL (STEP graph), recency on;
- bidir-cls:  the same schema, BIDIRECTIONAL (FULL graph), recency off;
- causal-reg: 3 numeric features, regression with std, CAUSAL, no *_cat inputs;
- causal-cls-retrained: causal-cls trained again with another seed and multi-query ABD attention
  (kv_heads 1): the same layout, another version and cache width (the model a swap moves to);
- causal-cls-long: causal-cls's layout in train.ARCHITECTURES' "long" shape: one ABD and one ABA
  layer (the context stream is then the rows' keys and values alone), each training run's queries
  drawn at random (query_rows);
- prior-cls: a tiny prior model (prior.py: 5 feature slots, 4 class slots) fine-tuned on
  causal-cls's stream: its features in slots, its category as a number, its classes in class slots;
- prior-cls-zero-shot: such a prior model bound to causal-cls's stream untrained (--steps 0), its
  numeric features standardised per key by the key's first rows (Context.standardise_rows).
"""
from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass

import numpy as np

from npt_export.export import export
from npt_export.model import BIDIRECTIONAL, CAUSAL
from npt_export.prior import PriorConfig, pretrain
from npt_export.train import RUN_SHAPE, TrainConfig, train

DATA_FILE = "data.csv"     # the stream a fixture was trained on, beside its model
ROWS = 600
KEYS = ("alpha", "beta", "gamma")
COLORS = ("red", "green", "blue", "white")


@dataclass(frozen=True)
class Size:
    """How large a fixture's model is and how long it trains."""
    window: int
    steps: int
    batch: int
    eval_every: int
    patience: int
    queries: int
    attn_dropout: float
    prior_steps: int       # prior-cls: pretraining steps of its tiny prior


# The Java tests' fixtures (`make fixtures`); the Python tests build smaller ones (tests/conftest.py).
JAVA = Size(window=16, steps=30, batch=4, eval_every=15, patience=10, queries=8, attn_dropout=0.1, prior_steps=10)


def write_csv(path: str, regression: bool, seed: int):
    """A keyed stream whose label depends on the features and on the key's previous label
    (so the context matters), with a few missing values. `temp` is in hundreds of degrees: a std
    below 1, so that a huge finite value overflows float32 once standardised."""
    rng = np.random.default_rng(seed)
    prev = {k: 0.0 for k in KEYS}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if regression:
            w.writerow(["key", "load", "temp", "price", "target"])
        else:
            w.writerow(["key", "load", "temp", "color", "target"])
        for _ in range(ROWS):
            k = KEYS[rng.integers(len(KEYS))]
            load, temp = rng.normal(10, 3), rng.uniform(-0.05, 0.30)
            if regression:
                price = rng.normal(50, 10)
                y = 0.5 * prev[k] + 2 * load - 30 * temp + 0.1 * price + rng.normal(0, 1)
                prev[k] = y
                row = [k, f"{load:.4f}", f"{temp:.5f}", f"{price:.3f}", f"{y:.4f}"]
            else:
                color = rng.integers(len(COLORS))
                score = (load - 10) / 3 + (temp - 0.12) * 10 + (color == 2) + 1.5 * prev[k]
                y = int(np.digitize(score + rng.normal(0, 0.3), [-0.5, 1.0]))
                prev[k] = y - 1
                row = [k, f"{load:.4f}", f"{temp:.5f}", COLORS[color], str(y)]
            if rng.random() < 0.03:
                row[1] = ""                       # a missing numeric value
            w.writerow(row)


FIXTURES = {
    "causal-cls": dict(regression=False, attention=CAUSAL, recency=True),
    "bidir-cls": dict(regression=False, attention=BIDIRECTIONAL, recency=False),
    "causal-reg": dict(regression=True, attention=CAUSAL, recency=True),
    "causal-cls-retrained": dict(regression=False, attention=CAUSAL, recency=True, train_seed=1, kv_heads=1),
    "causal-cls-long": dict(regression=False, attention=CAUSAL, recency=True, kv_heads=1, abd_layers=1, aba_layers=1,
                            seq_mult=1, query_rows=8),
    "prior-cls": dict(regression=False, attention=CAUSAL, recency=True, prior=True),
    "prior-cls-zero-shot": dict(regression=False, attention=CAUSAL, recency=True, prior=True, steps=0),
}


def write_drifting_csv(path: str, rows: int, change: int, seed: int = 0):
    """A stream for the tests of retraining on drift: columns a, b, target; the target is whether a
    is positive, then from row `change` on whether it is negative."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "target"])
        for i in range(rows):
            x = rng.normal(size=2)
            w.writerow([f"{x[0]:.4f}", f"{x[1]:.4f}", int((x[0] > 0) == (i < change))])


def tiny_prior(folder: str, window: int, steps: int, seed: int = 0) -> str:
    """prior-cls's starting point: a prior model of 5 feature slots and 4 class slots, pretrained
    `steps` steps into folder/prior; returns its checkpoint."""
    return pretrain(PriorConfig(out=os.path.join(folder, "prior"), feature_slots=5, class_slots=4, window=window,
                                steps=steps, val_runs=1, eval_every=steps, seed=seed), quiet=True)


def build(out_dir: str, name: str, spec: dict, size: Size = JAVA, seed: int = 0) -> str:
    """Trains and exports fixture `name` of FIXTURES into OUT_DIR/NAME, beside its stream; returns the folder."""
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    data = os.path.join(folder, DATA_FILE)
    write_csv(data, spec["regression"], seed)
    tc = TrainConfig(csv=data, target="target", key="key", out=folder, seed=spec.get("train_seed", seed),
                     steps=spec.get("steps", size.steps), batch=size.batch, eval_every=size.eval_every, patience=size.patience,
                     queries=size.queries, **{k: spec[k] for k in RUN_SHAPE if k in spec})
    arch = dict(attention=spec["attention"], window=size.window, recency=spec["recency"], embed_dim=8,
                abd_layers=spec.get("abd_layers", 2), aba_layers=spec.get("aba_layers", 1), heads=2,
                kv_heads=spec.get("kv_heads", 0), dropout=0.1, attn_dropout=size.attn_dropout)
    if spec.get("prior"):
        tc.init = tiny_prior(folder, size.window, steps=size.prior_steps, seed=seed)
    export(train(tc, arch, quiet=True), folder)
    return folder


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m npt_export.fixtures OUTDIR", file=sys.stderr)
        sys.exit(2)
    for name, spec in FIXTURES.items():
        build(argv[0], name, spec)


if __name__ == "__main__":
    main()
