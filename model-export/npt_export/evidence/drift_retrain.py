"""Retrain on drift: what the model lifecycle (`npt_export.retrain`, then a swap) adds where a
stream model's context cannot carry a new concept. A replay of a stream model on the last 80% of a
stream, each row predicted before it joins its key's context; a drift detector (DDM, Gama et al.
2004) watches the served model's errors. After a drift, once N labeled rows have come, the served
model is fine-tuned on the rows since the drift as `npt_export.retrain` does (same layout, from its
checkpoint), again at 2N and 4N rows. Until one of a drift's fine-tunes has served, each serves
from the next row on only if it beats the served model on its held-out rows (the last 10% of its
rows, 100 at least) beyond chance (McNemar's test at 5% over the drift's three tests); after that,
if it does no worse there. The time a fine-tune takes is not replayed: in a job its swap comes that
much later.

    python -m npt_export.evidence.drift_retrain NAME --csv STREAM.csv --model CHECKPOINT [--key COL] [--steps 200] [--rows N]

N is by default twice the model's window, the fewest that `npt_export.retrain` trains on.
Prints each drift and retrain, then the accuracy on the last 80% and per 1,000 rows, without and
with the retrains. Classification only.
"""
from __future__ import annotations

import math
import tempfile
import time

import numpy as np

from npt_export import data as D
from npt_export.evidence.context import BLOCK, TRAIN_SHARE, per_block, predictions, stream_parser
from npt_export.export import load
from npt_export.train import TrainConfig, train, validation_start

# Fewer held-out rows cannot tell a 20-point gain from chance (51 rows did not, on agrawal-abrupt).
MIN_HELD_OUT = 100


class DDM:
    """The drift detection method: error rate p over the rows since the last reset, s = sqrt(p(1-p)/n);
    a drift when p + s exceeds its lowest value by 3 of that lowest s, after at least 30 rows."""

    def __init__(self, min_rows: int = 30, level: float = 3.0):
        self.min_rows, self.level = min_rows, level
        self.reset()

    def reset(self):
        self.n, self.errors, self.best, self.best_s = 0, 0, math.inf, math.inf

    def drift(self, error: bool) -> bool:
        self.n += 1
        self.errors += error
        p = self.errors / self.n
        s = math.sqrt(p * (1 - p) / self.n)
        if self.n < self.min_rows:
            return False
        if p + s < self.best:
            self.best, self.best_s = p + s, s
        return p + s > self.best + self.level * self.best_s


def beats(tuned_ok, served_ok, chi2: float = 3.84) -> bool:
    """McNemar's test: on the same rows, the tuned model right where the served one was wrong (b)
    more often than the other way round (c), beyond chance: (|b - c| - 1)^2 / (b + c) > chi2, whose
    default 3.84 is the threshold at 5% for one test (a drift's fine-tunes use `Retrains.CHI2`)."""
    b, c = int((tuned_ok & ~served_ok).sum()), int((~tuned_ok & served_ok).sum())
    return b > c and (abs(b - c) - 1) ** 2 / (b + c) > chi2


class Retrains:
    """When a drift's fine-tunes come and which of them serve. Once N labeled rows have arrived since
    a drift, then at 2N and 4N, each on every row since the drift, so the new concept is learned from
    more rows as they come (as an online learner does) and served early. Until one of a drift's
    fine-tunes serves, each must beat the served model beyond chance (`beats`): a refusal does not
    end the drift's retrains, because a gradual drift's first rows still mix the old concept in.
    Once one serves, a later one, on more rows of the same concept, must only do no worse."""

    COUNT = 3
    # McNemar's threshold at 5% / COUNT (Bonferroni): a drift's tests, up to COUNT of them, together
    # swap in a model no better than the served one with a chance of 5% at most.
    CHI2 = 5.73

    def __init__(self, first: int):
        self.first, self.drift, self.due, self.adopted = first, None, [], False

    def on_drift(self, row: int):
        """A drift detected before `row`: its fine-tunes replace any left of the one before."""
        self.drift, self.due, self.adopted = row, [row + self.first * 2 ** j for j in range(self.COUNT)], False

    def take(self, end: int) -> bool:
        """Whether a fine-tune on rows drift:end is due now."""
        if self.due and self.due[0] == end:
            self.due.pop(0)
            return True
        return False

    def serves(self, tuned_ok, served_ok) -> bool:
        """Whether a fine-tune serves, given where it and the served model were right on its held-out rows."""
        serves = bool(tuned_ok.mean() >= served_ok.mean() if self.adopted else beats(tuned_ok, served_ok, self.CHI2))
        self.adopted |= serves
        return serves


def held_out_share(rows: int) -> float:
    """The share of a fine-tune's rows held out (its validation rows, at its end): 10%, and at least
    MIN_HELD_OUT rows, which the served model is judged against."""
    return max(TrainConfig.val_frac, min(0.5, MIN_HELD_OUT / rows))


def fine_tune(csv: str, target: str, key: str | None, checkpoint: str, begin: int, end: int, steps: int, out: str) -> str:
    """`npt_export.retrain`'s fine-tune, on rows begin:end of the CSV: the served model's layout and
    architecture, from its checkpoint."""
    layout = load(checkpoint)[1]
    tc = TrainConfig(csv=csv, target=target, key=key, rows=f"{begin}:{end}", out=out, steps=steps, init=checkpoint,
                     val_frac=held_out_share(end - begin), export=False)
    return train(tc, {}, quiet=True, layout=layout)


def replay_start(table: D.Table, row: int, window: int) -> int:
    """The first row of a replay that gives rows row: what a replay from the start gives: where
    every key still has its last `window` labeled rows before `row`. For a model of L ABD layers
    that is L times its W (a context row's upper layers read the W rows before it)."""
    keys = np.asarray(table.keys or [""] * len(table))[:row]
    labeled = ~np.isnan(table.y[:row])
    first = row
    for k in np.unique(keys):
        mine = keys == k
        context = np.flatnonzero(mine & labeled)
        first = min(first, int(context[-window]) if len(context) >= window else int(np.flatnonzero(mine)[0]))
    return first


def predictions_from(model, table: D.Table, row: int):
    """`predictions` of rows row:, each key's context as in a replay from the start."""
    # A key standardised by its own first rows (a prior model's) needs them all.
    first = 0 if model.cfg.standardise_rows else replay_start(table, row, model.cfg.abd_layers * model.cfg.window)
    part = D.Table(table.num[first:], table.cat[first:], table.y[first:], None if table.keys is None else table.keys[first:])
    return predictions(model, part)[row - first:]


def main(argv=None):
    p = stream_parser("drift_retrain", __doc__)
    p.add_argument("--model", required=True, help="the stream model's checkpoint.pt")
    p.add_argument("--steps", type=int, default=200, help="fine-tuning steps a retrain")
    p.add_argument("--rows", type=int, default=0, help="N: labeled rows after a drift before the first retrain; 0 = twice the window")
    p.add_argument("--predictions", help="a CSV to write the scored rows' predictions to: row,label,predicted,model")
    a = p.parse_args(argv)
    header, rows = D.read_csv(a.csv)
    start = int(len(rows) * TRAIN_SHARE)
    served, schema, _ = load(a.model)
    table = D.encode(schema, header, rows)
    y = table.y.astype(np.int64)
    first = a.rows or 2 * served.cfg.window
    base = predictions(served, table)
    pred, model_of = base.copy(), np.zeros(len(rows), dtype=np.int64)
    ddm, checkpoint, schedule, retrains = DDM(), a.model, Retrains(first), 0
    with tempfile.TemporaryDirectory(prefix="npt-drift-retrain-") as tmp:
        for i in range(start, len(rows)):
            if ddm.drift(bool(pred[i] != y[i])):
                schedule.on_drift(i + 1)
                ddm.reset()
                print(f"{a.name}: drift detected at row {i}", flush=True)
            end = i + 1
            if end < len(rows) and schedule.take(end):
                t0, drift = time.time(), schedule.drift
                candidate = fine_tune(a.csv, a.target, a.key, checkpoint, drift, end, a.steps, f"{tmp}/{end}")
                # The fine-tune's own held-out rows (the end of its rows): it serves only if it beats there what was served.
                held_out = drift + validation_start(end - drift, held_out_share(end - drift))
                out = predictions_from(load(candidate)[0], table, held_out)
                tuned_ok, served_ok = out[:end - held_out] == y[held_out:end], pred[held_out:end] == y[held_out:end]
                verdict = f"{100 * tuned_ok.mean():.1f}% against {100 * served_ok.mean():.1f}% served on rows {held_out}:{end}"
                serves = schedule.serves(tuned_ok, served_ok)
                if serves:
                    checkpoint, retrains = candidate, retrains + 1
                    pred[end:], model_of[end:] = out[end - held_out:], retrains
                    ddm.reset()
                print(f"{a.name}: fine-tuned on rows {drift}:{end} in {time.time() - t0:.0f} s, {verdict}: "
                      + (f"serving from row {end}" if serves else "not served"), flush=True)
    for label, out in (("without retrains", base), (f"with {retrains} retrains", pred)):
        ok = (out == y)[start:]
        print(f"{a.name}, {label}: accuracy {100 * ok.mean():.2f}% | per {BLOCK} rows: {per_block(ok)}", flush=True)
    if a.predictions:
        with open(a.predictions, "w") as f:
            f.write("row,label,predicted,model\n")
            f.writelines(f"{i},{y[i]},{pred[i]},{model_of[i]}\n" for i in range(start, len(rows)))


if __name__ == "__main__":
    main()
