"""A random forest refit on each key's last W labeled rows: how much of a stream's concept its
window holds, for a learner strong on axis-aligned concepts. If the forest beats the MOA learners
with the same W rows that a stream model reads, a gap to them is the model's reading of its
context, not the window's length. Same rows as `evidence.context` (trained on nothing before).

    python -m npt_export.evidence.forest NAME --csv STREAM.csv [--key COL] [--window 256 1024]

Each key's rows are predicted in blocks of `--every` of its rows, by 100 trees fitted on the key's
W labeled rows before the block (numeric features raw, a missing one as the column's mean;
categories by their code), so a row misses up to every-1 of the newest labels: a lower bound on
the window's worth. Prints one line per W: the accuracy on the last 80%, and per 1,000 rows.
"""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from npt_export.evidence.context import BLOCK, per_block
from npt_export.evidence.smoother import scored_stream, window_reference_parser


def forest_predictions(x, y, labels, keys, start: int, window: int, every: int, seed: int = 0):
    """Predicted classes of the rows of x [N,F], y [N] (labels [N]: whether a row has one): -1
    before row `start`, and where a key had no labeled row yet."""
    pred = np.full(len(y), -1, dtype=np.int64)
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    for rows in groups.values():
        rows = np.asarray(rows)
        first = int(np.searchsorted(rows, start))
        labeled = rows[labels[rows]]
        for b in range(first, len(rows), every):
            ctx = labeled[labeled < rows[b]][-window:]
            if len(ctx):
                forest = RandomForestClassifier(100, random_state=seed, n_jobs=1).fit(x[ctx], y[ctx])
                pred[rows[b:b + every]] = forest.predict(x[rows[b:b + every]])
    return pred


def main(argv=None):
    p = window_reference_parser("forest", __doc__)
    p.add_argument("--every", type=int, default=100)
    a = p.parse_args(argv)
    schema, table, start = scored_stream(a.csv, a.target, a.key)
    mean = np.array([f.mean for f in schema.numeric])
    x = np.concatenate([np.where(np.isnan(table.num), mean, table.num), table.cat], 1)
    labels = ~np.isnan(table.y)
    y = np.nan_to_num(table.y, nan=-1).astype(np.int64)
    keys = table.keys or [""] * len(y)
    for window in a.window:
        hit = (forest_predictions(x, y, labels, keys, start, window, a.every) == y)[start:][labels[start:]]
        print(f"{a.name}: W {window}, forest: accuracy {100 * hit.mean():.2f}% | per {BLOCK} rows: {per_block(hit)}", flush=True)


if __name__ == "__main__":
    main()
