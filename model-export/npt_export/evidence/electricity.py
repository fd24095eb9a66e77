"""Elec2, prequentially: each row of 9062:45312 is predicted from the W labeled rows before it
(training rows before 9062 included as warm-up context), then appended; accuracy per model.

    python -m npt_export.evidence.electricity build/models/elec [more model folders...]

The CSV (--csv) defaults to $ELEC_CSV, which the Makefile defines (and exports to what it runs).

References (MOA, same rows): ARF 87.87%, NoChange 85.77%, HAT 79.90%, kNN 79.79%.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from npt_export import data as D
from npt_export.export import load
from npt_export.prequential import evaluate_rows
from npt_export.train import CHECKPOINT_FILE

REFERENCES = {"ARF": 87.87, "NoChange": 85.77, "HAT": 79.90, "kNN": 79.79}


def evaluate(folder: str, csv: str, begin: int, end: int, window: int | None = None, every: int = 1):
    model, schema, ck = load(os.path.join(folder, CHECKPOINT_FILE))
    header, rows = D.read_csv(csv)
    table = D.encode(schema, header, rows[:end])
    W = window or model.cfg.window
    first = max(0, begin - model.cfg.abd_layers * W)       # enough warm-up for an exact context
    t0 = time.time()
    scored = np.arange(begin, end, every)
    probs = evaluate_rows(model, table.num[first:], table.cat[first:], table.y[first:], window=W,
                          select=scored - first)[0]
    seconds = time.time() - t0
    acc = float((probs.argmax(-1).numpy() == table.y[scored]).mean())
    return acc, seconds, model.cfg, ck["training"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--csv", default=os.environ.get("ELEC_CSV"), required="ELEC_CSV" not in os.environ,
                   help="Elec2's CSV; default $ELEC_CSV")
    p.add_argument("--rows", default="9062:45312")
    p.add_argument("--window", type=int, default=None, help="serve with this W (default: the model's)")
    p.add_argument("--every", type=int, default=1, help="score every n-th row only (each still sees its full context)")
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    header, rows = D.read_csv(a.csv)
    begin, end = D.parse_range(a.rows, len(rows))
    y = np.array([float(r[header.index("target")]) for r in rows[begin - 1:end]])
    nochange = (y[1:] == y[:-1])[::a.every]
    print(f"rows {begin}:{end} (every {a.every}): NoChange {100 * nochange.mean():.2f}%   references (all rows): "
          + ", ".join(f"{k} {v:.2f}%" for k, v in REFERENCES.items()))
    for folder in a.models:
        acc, sec, cfg, tr = evaluate(folder, a.csv, begin, end, a.window, a.every)
        print(f"{folder}: {cfg.attention}, recency {'on' if cfg.recency else 'off'}, W={a.window or cfg.window}: "
              f"accuracy {100 * acc:.2f}%  (eval {sec:.0f} s; "
              f"trained {tr['steps']} steps in {tr['seconds']:.0f} s, {tr['steps'] / tr['seconds']:.2f} steps/s)")


if __name__ == "__main__":
    main()
