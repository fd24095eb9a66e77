"""One bad row never changes another record's prediction, and never yields a non-finite output:
random pathological rows (huge finite values, values that overflow once standardised) at random
positions of random micro-batches, served through ONNX Runtime as the Flink operator serves them."""
import os

import numpy as np
import pytest

from npt_export import data as D
from npt_export.export import MANIFEST_FILE, cache_feeds, load
from npt_export.fixtures import DATA_FILE
from npt_export.train import CHECKPOINT_FILE
from test_export import read, session
from nptstream.v1 import manifest_pb2 as mpb

TOLERANCE = 1e-5
EXTREMES = (3.0e38, -3.0e38, 1.0e30, -1.0e20, 3.4e38)


def key_rows(folder, n=48):
    """The first n rows of one key of the fixture's stream: num, cat, y."""
    _, schema, _ = load(os.path.join(folder, CHECKPOINT_FILE))
    header, rows = D.read_csv(os.path.join(folder, DATA_FILE))
    t = D.encode(schema, header, rows)
    idx = [i for i, k in enumerate(t.keys) if k == t.keys[0]][:n]
    return t.num[idx], t.cat[idx], t.y[idx]


class StepServer:
    """One key on the STEP graph: micro-batches of M rows, the cache kept as the contract says."""

    def __init__(self, folder, window):
        self.m = read(folder, MANIFEST_FILE, mpb.Manifest())
        self.sess = session(folder)
        a = self.m.architecture
        self.k = np.zeros((1, a.abd_layers, window, a.cache_dim), np.float32)
        self.v = np.zeros_like(self.k)
        self.valid = np.zeros((1, window), bool)

    def batch(self, num, cat, y):
        feeds = {**cache_feeds(self.k, self.v), "cache_valid": self.valid, "x_num": num[None],
                 "x_cat": cat[None], "x_y": y[None].astype(np.float32), "x_valid": np.ones((1, len(y)), bool)}
        outs = self.sess.run(None, {k: v for k, v in feeds.items() if k in self.m.graph.inputs})
        lab = ~np.isnan(y)
        W = self.valid.shape[1]
        self.k = np.concatenate([self.k, outs[-2][:, :, lab]], 2)[:, :, -W:]
        self.v = np.concatenate([self.v, outs[-1][:, :, lab]], 2)[:, :, -W:]
        self.valid = np.concatenate([self.valid, np.ones((1, int(lab.sum())), bool)], 1)[:, -W:]
        return outs[0][0]                                   # probs [M, C] or mean [M]


def micro_batches(rng, rows, smallest):
    """Random micro-batch sizes of smallest..16 rows that cover `rows` rows."""
    sizes = []
    while rows:
        sizes.append(int(min(rows, rng.integers(smallest, 17))))
        rows -= sizes[-1]
    return sizes


def serve(folder, num, cat, y, sizes):
    server = StepServer(folder, window=8)
    outs, at = [], 0
    for m in sizes:
        outs.append(server.batch(num[at:at + m], cat[at:at + m], y[at:at + m]))
        at += m
    return np.concatenate(outs)


@pytest.mark.parametrize("name", ["causal-cls", "causal-reg"])
def test_unlabeled_pathological_rows_change_no_other_prediction(exported, name):
    folder = exported[name]
    num, cat, y = key_rows(folder)
    rng = np.random.default_rng(0)
    for trial in range(12):
        bad = np.sort(rng.choice(len(y), size=rng.integers(1, 4), replace=False))
        n2 = num.copy()
        for b in bad:                                       # huge finite values in a random feature
            n2[b, rng.integers(n2.shape[1])] = rng.choice(EXTREMES)
        keep = np.ones(len(y), bool)
        keep[bad] = False
        y2 = y.copy()
        y2[bad] = np.nan                                    # unlabeled: they never join the context
        got = serve(folder, n2, cat, y2, micro_batches(rng, len(y), 1))
        assert np.isfinite(got).all(), f"trial {trial}: a non-finite output"
        want = serve(folder, num[keep], cat[keep], y[keep], [1] * int(keep.sum()))
        assert np.abs(got[keep] - want).max() <= TOLERANCE, f"trial {trial}: rows {bad} changed other predictions"


@pytest.mark.parametrize("name", ["causal-cls", "causal-reg"])
def test_a_labeled_pathological_row_changes_no_earlier_prediction_and_nothing_overflows(exported, name):
    folder = exported[name]
    num, cat, y = key_rows(folder)
    reference = serve(folder, num, cat, y, [1] * len(y))
    rng = np.random.default_rng(1)
    for trial in range(12):
        b = int(rng.integers(len(y)))
        n2 = num.copy()
        n2[b, :] = rng.choice(EXTREMES)
        got = serve(folder, n2, cat, y, micro_batches(rng, len(y), 2))
        assert np.isfinite(got).all(), f"trial {trial}: the clamp let a huge value overflow"
        assert np.abs(got[:b] - reference[:b]).max(initial=0) <= TOLERANCE, f"trial {trial}: row {b} reached back"
