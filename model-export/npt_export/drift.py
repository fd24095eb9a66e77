"""Retraining on drift: where a stream model's context cannot carry a new concept (one that changes
which features matter, as Agrawal's drifts do), it is fine-tuned on the rows since a drift, and a
fine-tune serves only if it beats the served model on rows it did not train on. One policy, run
live by `npt_export.retrain --on-drift` and replayed by the bench (`npt_export.evidence.drift_retrain`,
bench/README.md "Retraining on drift", where it is measured):

- a drift detector (HDDM_A, Frías-Blanco et al. 2015) watches the served model's errors;
- once N (FIRST_ROWS) labeled rows have come since a drift, then 2N, 4N, ..., the served model is
  fine-tuned on every row since the drift, so the new concept is learned from more rows as they
  come (at most three times until one of the drift's fine-tunes serves, then until the next drift
  or MAX_ROWS);
- each fine-tune is tested on its own held-out rows (the last 10%, MIN_HELD_OUT at least) against
  the served model: until one of the drift's fine-tunes has served, it must win beyond chance
  (McNemar's test at 5% over the drift's tests), and one that does not is tested once more when
  as many rows have come again, on all of them; after that, it must do no worse.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from npt_export import data as D
from npt_export.prequential import predictions
from npt_export.train import TrainConfig, validation_start

# Fewer held-out rows cannot tell a 20-point gain from chance (51 rows did not, on agrawal-abrupt).
MIN_HELD_OUT = 100
# The most rows a fine-tune trains on (`npt_export.retrain`'s too): its steps are as many however many
# rows it has, and a concept that has held this long needs no more of them.
MAX_ROWS = 20_000
# N: the labeled rows after a drift before its first fine-tune, whatever the model's window. Fewer
# rows than a training run are fine (its runs are padded), and 512 hold MIN_HELD_OUT for the test.
# Twice the window, as before, is 2,048 rows for a long model: a drift that its context could not
# follow then cost 2,000 rows at 28-33% on a drifting LED stream (bench/README.md).
FIRST_ROWS = 512


class HDDM_A:
    """Frías-Blanco et al.'s HDDM_A (2015; MOA's HDDM_A_Test, one-sided, at its default confidence):
    a drift when the error rate since a cut point exceeds the rate up to it by more than Hoeffding's
    bound at confidence `delta`, the cut being where the rate so far plus its bound was lowest. It
    compares the rows after a change with those before it, so it finds an abrupt rise tens of rows
    after it, where DDM (Gama et al. 2004), whose rate is over every row since its reset, took
    hundreds and alarmed on Elec2's noise (bench/README.md, "Retraining on drift with HDDM_A and a
    second test")."""

    def __init__(self, delta: float = 0.001):
        self.delta = delta
        self.reset()

    def reset(self):
        self.n, self.errors, self.cut_n, self.cut_errors = 0, 0, 0, 0

    def drift(self, error: bool) -> bool:
        self.n += 1
        self.errors += error
        if self.cut_n == 0 or self._upper(self.errors, self.n) <= self._upper(self.cut_errors, self.cut_n):
            self.cut_n, self.cut_errors = self.n, self.errors
        if self.cut_n == self.n:
            return False
        bound = math.sqrt((self.n - self.cut_n) / (self.cut_n * self.n) / 2 * math.log(2 / self.delta))
        return self.errors / self.n - self.cut_errors / self.cut_n >= bound

    def _upper(self, errors: int, n: int) -> float:
        """The error rate of the first n rows plus Hoeffding's bound on it."""
        return errors / n + math.sqrt(math.log(1 / self.delta) / (2 * n))


def beats(tuned_ok, served_ok, chi2: float = 3.84) -> bool:
    """McNemar's test: on the same rows, the tuned model right where the served one was wrong (b)
    more often than the other way round (c), beyond chance: (|b - c| - 1)^2 / (b + c) > chi2, whose
    default 3.84 is the threshold at 5% for one test (a drift's fine-tunes use `Retrains.CHI2`)."""
    b, c = int((tuned_ok & ~served_ok).sum()), int((~tuned_ok & served_ok).sum())
    return b > c and (abs(b - c) - 1) ** 2 / (b + c) > chi2


class Retrains:
    """When a drift's fine-tunes come and which of them serve. Once N labeled rows have arrived since
    a drift, then 2N, 4N, ..., each on every row since the drift. Until one of a drift's fine-tunes
    serves, each must beat the served model beyond chance (`beats`), and there are at most COUNT: a
    refusal does not end the drift's retrains, because a gradual drift's first rows still mix the
    old concept in. Once one serves, the doubling goes on until the next drift or MAX_ROWS, and a
    later fine-tune, on more rows of the same concept, must only do no worse: the new concept is
    learned from all its rows as they come, at a fine-tune per doubling."""

    COUNT = 3
    # McNemar's threshold at 5% / (2 COUNT) (Bonferroni): a drift's tests before one of its
    # fine-tunes serves, up to two for each of its first COUNT (RetrainsOnDrift tests a refused one
    # again), together swap in a model no better than the served one with a chance of 5% at most.
    CHI2 = 6.96

    def __init__(self, first: int):
        self.first, self.drift, self.taken, self.adopted = first, None, 0, False

    def on_drift(self, row: int):
        """A drift detected before `row`: its fine-tunes replace any left of the one before."""
        self.drift, self.taken, self.adopted = row, 0, False

    def is_due(self, end: int) -> bool:
        """Whether a fine-tune on rows drift:end is due now."""
        rows = self.first * 2 ** self.taken
        # Past its first COUNT, a drift's fine-tunes go on only once one has served, up to MAX_ROWS.
        if self.drift is None or (self.taken >= self.COUNT and (not self.adopted or rows > MAX_ROWS)):
            return False
        return self.drift + rows <= end

    def take(self, end: int) -> bool:
        """`is_due`, and then the due points passed (while an earlier fine-tune trained, in a live
        retrainer) are taken as one fine-tune, on all the rows."""
        if not self.is_due(end):
            return False
        while self.is_due(end):
            self.taken += 1
        return True

    def serves(self, tuned_ok, served_ok) -> bool:
        """Whether a fine-tune serves, given where it and the served model were right on its held-out rows."""
        serves = bool(tuned_ok.mean() >= served_ok.mean() if self.adopted else beats(tuned_ok, served_ok, self.CHI2))
        self.adopted |= serves
        return serves


def held_out_share(rows: int) -> float:
    """The share of a fine-tune's rows held out (its validation rows, at its end): 10%, and at least
    MIN_HELD_OUT rows, which the served model is judged against."""
    return max(TrainConfig.val_frac, min(0.5, MIN_HELD_OUT / rows))


def held_out_start(rows: int) -> int:
    """The first of a fine-tune's `rows` rows that it holds out (trained with val_frac held_out_share(rows))."""
    return validation_start(rows, held_out_share(rows))


@dataclass
class FineTune:
    """A fine-tune on rows begin:end (counted as the retrainer counts them) and its test: where it
    and the served model were right on its held-out rows (held_out:end)."""
    checkpoint: str
    begin: int
    end: int
    held_out: int
    tuned_ok: np.ndarray
    served_ok: np.ndarray
    seconds: float = 0.0

    def verdict(self) -> str:
        return (f"{100 * self.tuned_ok.mean():.1f}% against {100 * self.served_ok.mean():.1f}% served on "
                f"rows {self.held_out}:{self.end}")


class RetrainsOnDrift:
    """The loop, apart from where rows come from and where a model goes: fed whether each labeled
    prediction of the served model was right (`observe`), it detects drifts; `retrain` then runs
    the fine-tune due by now, if any, through `fine_tune(begin, end)`, or the second test due by now
    of a refused one, through `retest(tune, end)` (both models on rows tune.held_out:end), and
    returns it if it should serve from the next row on. `seen` is the number of the first row it is fed."""

    def __init__(self, first: int, fine_tune: Callable[[int, int], FineTune],
                 retest: Callable[[FineTune, int], FineTune], seen: int = 0, say: Callable[[str], None] = print):
        self.fine_tune, self.retest, self.seen, self.say = fine_tune, retest, seen, say
        self.detector, self.schedule = HDDM_A(), Retrains(first)
        # The drift's last fine-tune, refused while none of the drift's has served: a held-out
        # part of 100-200 rows cannot tell a gain of 5 points from chance, twice as many often can.
        self.refused: FineTune | None = None

    def observe(self, correct: bool):
        self.seen += 1
        if self.detector.drift(not correct):
            self.schedule.on_drift(self.seen)
            self.restart()
            self.say(f"drift detected at row {self.seen - 1}")

    def retest_due(self) -> bool:
        """Whether the refused fine-tune's second test is due: its test rows have doubled."""
        tune = self.refused
        return tune is not None and self.seen - tune.held_out >= 2 * (tune.end - tune.held_out)

    def due(self) -> int:
        """Rows since the drift when a fine-tune or a second test is due now, else 0."""
        return self.seen - self.schedule.drift if self.schedule.is_due(self.seen) or self.retest_due() else 0

    def retrain(self) -> FineTune | None:
        if self.schedule.take(self.seen):     # a fine-tune on more rows replaces a refused one
            self.say(f"fine-tuning on rows {self.schedule.drift}:{self.seen}")
            t0 = time.time()
            tune = self.fine_tune(self.schedule.drift, self.seen)
            tune.seconds = time.time() - t0
            what, again = f"fine-tuned on rows {tune.begin}:{tune.end} in {tune.seconds:.0f} s", tune
        elif self.retest_due():
            tune = self.retest(self.refused, self.seen)
            what, again = f"tested again the fine-tune on rows {tune.begin}:{self.refused.end}", None
        else:
            return None
        serves = self.schedule.serves(tune.tuned_ok, tune.served_ok)
        self.refused = None if self.schedule.adopted else again     # adopted: this one or an earlier one serves
        if serves:
            self.restart()
        self.say(f"{what}, {tune.verdict()}: " + (f"serving from row {tune.end}" if serves else "not served"))
        return tune if serves else None

    def restart(self):
        """After a drift, or when another model serves from now on: the detector starts afresh on
        the errors from here, and a refused fine-tune (of the drift before, or tested against the
        model before) is no longer a candidate."""
        self.detector.reset()
        self.refused = None


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
