"""A Gaussian kernel smoother over each key's last W labeled rows: the reference for what reading a
context can give, on the same rows as `evidence.context` (trained on nothing; the first 20% only
standardise the features).

    python -m npt_export.evidence.smoother NAME --csv STREAM.csv [--key COL] [--window 256 1024] [--sharpness 1 2 8 32]

Row i is predicted as the class of largest weight sum over its key's W labeled rows before it, a row
j weighing exp(-b |x_i - x_j|^2 / F) over the F standardised numeric features (a missing one reads as
the mean; categorical features are left out). Prints one line per W and sharpness b: the accuracy on
the last 80%.
"""
from __future__ import annotations

import argparse

import numpy as np

from npt_export import data as D
from npt_export.evidence.context import TRAIN_SHARE, stream_parser


def scored_stream(csv: str, target: str, key: str | None):
    """A classification stream's schema (inferred from its first 20%), its encoded rows, and the
    first scored row."""
    header, rows = D.read_csv(csv)
    start = int(len(rows) * TRAIN_SHARE)
    schema = D.infer_schema(header, rows[:start], target, key)
    return schema, D.encode(schema, header, rows), start


def smoother_accuracy(x, y, keys, start: int, window: int, sharpness: float, classes: int) -> float:
    """Accuracy of the smoother on rows start: of x [N,F] (standardised, 0 = missing), y [N]."""
    history: dict[str, list[int]] = {}
    hits = 0
    for i in range(len(y)):
        past = history.setdefault(keys[i], [])
        if i >= start:
            ctx = np.asarray(past[-window:], dtype=np.int64)
            if len(ctx):
                d2 = ((x[ctx] - x[i]) ** 2).mean(1)
                w = np.exp(-sharpness * (d2 - d2.min()))
                hits += int(np.bincount(y[ctx], w, classes).argmax() == y[i])
        past.append(i)
        del past[:-window]
    return hits / (len(y) - start)


def window_reference_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """The arguments of a reference over each key's last W rows (this one, `evidence.forest`)."""
    p = stream_parser(module, doc)
    p.add_argument("--window", type=int, nargs="+", default=[256, 1024])
    return p


def main(argv=None):
    p = window_reference_parser("smoother", __doc__)
    p.add_argument("--sharpness", type=float, nargs="+", default=[1.0, 2.0, 8.0, 32.0])
    a = p.parse_args(argv)
    schema, table, start = scored_stream(a.csv, a.target, a.key)
    mean, std = (np.array([getattr(a, f) for a in schema.numeric]) for f in ("mean", "std"))
    x = np.nan_to_num((table.num - mean) / std)       # the standardisation a model trained on rows :start has
    y = table.y.astype(np.int64)
    keys = table.keys or [""] * len(y)
    for window in a.window:
        for b in a.sharpness:
            acc = smoother_accuracy(x, y, keys, start, window, b, len(schema.classes))
            print(f"{a.name}: W {window}, sharpness {b:g}: accuracy {100 * acc:.2f}%", flush=True)


if __name__ == "__main__":
    main()
