"""The context is read: a model trained with the default objective follows a relation that no
training row had, when its context shows it (the probe of issue "The model learns from its
context"; `make bench` measures the same on every bench stream)."""
import csv

import numpy as np

from npt_export import data as D
from npt_export.evidence.context import follow_rate
from npt_export.export import load
from npt_export.train import TrainConfig, train

WINDOW = 32


def write_stream(path, rows=1500, seed=0):
    """Three classes: the nearest of six fixed prototypes in four features, with 5% label noise."""
    rng = np.random.default_rng(seed)
    protos = rng.normal(size=(6, 4))
    owner = np.array([0, 1, 2, 0, 1, 2])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "d", "target"])
        for _ in range(rows):
            x = rng.normal(size=4)
            y = owner[np.argmin(((protos - x) ** 2).sum(1))]
            if rng.random() < 0.05:
                y = rng.integers(3)
            w.writerow([f"{v:.4f}" for v in x] + [int(y)])


def trained(tmp_path, **objective):
    data = str(tmp_path / "stream.csv")
    write_stream(data)
    tc = TrainConfig(csv=data, target="target", rows="0:1000", out=str(tmp_path / "model"), steps=1000, batch=8,
                     eval_every=250, patience=10, threads=1, export=False, **objective)
    arch = dict(window=WINDOW, embed_dim=8, abd_layers=2, aba_layers=1, heads=2)
    model, schema, _ = load(train(tc, arch, quiet=True))
    header, rows = D.read_csv(data)
    return model, D.encode(schema, header, rows)


def test_the_default_objective_follows_labels_no_training_row_had(tmp_path):
    model, table = trained(tmp_path)
    rate = follow_rate(model, table, start=1000)
    assert rate >= 0.9, f"predictions follow the shifted context labels on {rate:.1%} of rows"


def test_without_tasks_the_model_ignores_its_context(tmp_path):
    """The control: trained on the stream's own labels only, the same model predicts from its
    weights, so the probe above is able to fail."""
    model, table = trained(tmp_path, p_relabel=0.0, p_drift=0.0)
    assert follow_rate(model, table, start=1000) < 0.5
