"""A prior model: one NPT pretrained on synthetic drifting streams, which serves a stream it has
never seen from its context alone (TabPFN's idea, for streams), and which a stream model can start
from (`npt_export.train --init`).

    python -m npt_export.prior --out models/prior [--steps N --seed S]

The model has feature_slots numeric slots and class_slots classes whatever the stream. A run of
the prior is a stream of its own:
- 1 to feature_slots features (log-uniform), placed in random slots (so no slot means a column),
  the other slots missing; Gaussian, uniform, skewed or discrete (categorical-like) marginals, mixed
  linearly (correlated), some drifting in mean (covariate drift), some missing values; standardised
  with the statistics of the run's first quarter, as a stream is by those of its first rows;
- 2 to class_slots classes; labels from one of the concepts of tasks.py (nearest prototype as in
  RBF streams, random linear functions as in hyperplanes, random trees) or a small random MLP, over
  a random subset of the features (the rest irrelevant), with some classes merged (imbalance);
- no drift, an abrupt one, a gradual one (the new concept's share rising over a random width) or a
  recurring one (A, B, A), at random points; 0-15% label noise; and in a quarter of the runs
  label autocorrelation (a label repeats the previous one with probability 0.5-0.95), as in Elec2.
Served untrained on a stream (`npt_export.train --init PRIOR --steps 0`, or `--schema FILE` without
any rows), its features are standardised per key by the statistics of the key's first rows, as a
run's are by its first quarter: nothing of the stream is fitted.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import asdict, dataclass

import torch

from npt_export import data as D
from npt_export.model import CAUSAL, CLASSIFICATION, NPT, NPTConfig
from npt_export.prequential import evaluate_rows
from npt_export.tasks import linear_argmax, nearest_prototype, rand_float, rand_int, random_tree
from npt_export.train import CHECKPOINT_FILE, TrainConfig, class_scores, fit, save, start_from, with_architecture

PRIOR_VERSION = "stream-prior/1"


@dataclass
class PriorConfig:
    out: str = "models/prior"
    feature_slots: int = 32
    class_slots: int = 10
    arch: str = "long"              # one of train.ARCHITECTURES: the layers, window and training runs
    window: int = 0                 # 0 = the architecture's
    embed_dim: int = 8
    dropout: float = 0.0            # the prior is never seen twice, so nothing to regularise
    steps: int = 2500
    batch: int = 4
    lr: float = 1e-3
    # The feature loss's weight starts at its floor: a prior's features are random by construction,
    # and a run of a few thousand steps is short for the in-context reading that the target teaches.
    lam_anneal_frac: float = 0.0
    seed: int = 0
    threads: int = 0                # torch CPU threads; 0 = torch's default
    device: str = "cpu"
    val_runs: int = 8               # held-out runs of the prior (a fixed seed), scored prequentially
    eval_every: int = 500
    init: str = ""                  # a prior model's checkpoint to pretrain further (same slots and size); "" = random weights


def draw_features(n: int, k: int, gen):
    """[n, k] raw features: correlated latent Gaussians through random marginals, some drifting."""
    mix = torch.eye(k) + torch.randn(k, k, generator=gen) * rand_float(gen)
    z = torch.randn(n, k, generator=gen) @ mix
    z = (z - z.mean(0)) / z.std(0).clamp_min(1e-6)
    drifting = torch.rand(k, generator=gen) < 0.3 * rand_float(gen)
    ramp = torch.linspace(0, 1, n)[:, None] * torch.randn(k, generator=gen) * 2
    z = z + ramp * drifting
    kind = torch.randint(0, 4, (k,), generator=gen)
    out = z.clone()
    out[:, kind == 1] = torch.special.ndtr(z[:, kind == 1])                    # uniform
    out[:, kind == 2] = torch.exp(z[:, kind == 2] * (0.3 + rand_float(gen)))          # skewed
    for j in (kind == 3).nonzero()[:, 0].tolist():                               # discrete levels
        levels = torch.randn(rand_int(2, 9, gen), generator=gen)
        edges = torch.sort(torch.randn(len(levels) - 1, generator=gen)).values
        out[:, j] = levels[torch.bucketize(z[:, j].contiguous(), edges)]
    return out


def draw_concept(u, n_classes: int, gen):
    """Labels in [0, n_classes) from one random concept over u [n, F], some classes merged."""
    cells = n_classes + rand_int(0, n_classes + 1, gen)
    kind = rand_int(0, 4, gen)
    if kind == 0:
        out = nearest_prototype(u, cells, gen)[0]
    elif kind == 1:
        out = linear_argmax(u, cells, gen)
    elif kind == 2:
        out = random_tree(u, cells, gen)
    else:
        hidden = torch.tanh(u @ torch.randn(u.shape[1], 16, generator=gen) * (0.5 + 2 * rand_float(gen)))
        out = linear_argmax(hidden, cells, gen)
    merge = torch.cat([torch.randperm(n_classes, generator=gen), torch.randint(0, n_classes, (cells - n_classes,),
                                                                               generator=gen)])
    return merge[out]


def draw_labels(x, n_classes: int, gen):
    """Labels for the rows x [n, k]: concepts over random feature subsets, drift, noise, autocorrelation."""
    n, k = x.shape

    def concept():
        keep = torch.rand(k, generator=gen) < 0.3 + 0.7 * rand_float(gen)
        keep[rand_int(0, k, gen)] = True
        return draw_concept(x[:, keep], n_classes, gen)

    y = concept()
    drift = rand_int(0, 4, gen)            # none, abrupt, gradual, recurring
    if drift:
        t = rand_int(n // 8, 7 * n // 8, gen)
        new = concept()
        if drift == 2:
            width = 1 + rand_int(0, n // 4, gen)
            p_new = torch.sigmoid((torch.arange(n) - t) / (width / 8))
            y = torch.where(torch.rand(n, generator=gen) < p_new, new, y)
        else:
            back = rand_int(t, n + 1, gen) if drift == 3 else n
            y = torch.cat([y[:t], new[t:back], y[back:]])
    noisy = torch.rand(n, generator=gen) < 0.15 * rand_float(gen)
    y = torch.where(noisy, torch.randint(0, n_classes, (n,), generator=gen), y)
    if rand_float(gen) < 0.25:
        repeat = torch.rand(n, generator=gen) < 0.5 + 0.45 * rand_float(gen)
        repeat[0] = False
        last_fresh = torch.cummax(torch.where(repeat, 0, torch.arange(n)), 0).values
        y = y[last_fresh]
    return y


def draw_run(pc: PriorConfig, n: int, gen):
    """One run of the prior: num [n, feature_slots] (NaN where missing or unfilled), y [n] (float)."""
    F = pc.feature_slots
    k = min(F, int(math.exp(rand_float(gen) * math.log(F + 1))))
    k = max(1, k)
    x = draw_features(n, k, gen)
    y = draw_labels(x, rand_int(2, pc.class_slots + 1, gen), gen)
    head = x[:D.standardising_rows(n)]
    x = (x - head.mean(0)) / head.std(0).clamp_min(1e-6)
    if rand_float(gen) < 0.2:
        x = torch.where(torch.rand(x.shape, generator=gen) < 0.1 * rand_float(gen), torch.full_like(x, float("nan")), x)
    num = torch.full((n, F), float("nan"))
    num[:, torch.randperm(F, generator=gen)[:k]] = x
    return num, y.float()


def draw_batch(pc: PriorConfig, batch: int, n: int, gen):
    """`batch` runs of n rows, as training batches are: (num, cat, y, valid)."""
    runs = [draw_run(pc, n, gen) for _ in range(batch)]
    num = torch.stack([r[0] for r in runs])
    y = torch.stack([r[1] for r in runs])
    return num, torch.zeros(batch, n, 0, dtype=torch.int64), y, torch.ones(batch, n, dtype=torch.bool)


def prior_schema(pc: PriorConfig) -> D.Schema:
    """The prior model's own schema: slots f1..fF (standardised), classes 0..C-1."""
    return D.Schema(features=[D.Attribute(f"f{i + 1}", "numeric") for i in range(pc.feature_slots)],
                    target="y", task=CLASSIFICATION, classes=[str(c) for c in range(pc.class_slots)])


@torch.no_grad()
def validate(model: NPT, runs) -> dict[str, float]:
    """Prequential accuracy and log loss on held-out runs of the prior, from row W on."""
    model.eval()
    W = model.cfg.window
    loss = correct = n = 0.0
    for num, y in runs:
        probs = evaluate_rows(model, num, torch.zeros(len(y), 0, dtype=torch.int64), y)[0][W:]
        run_loss, run_correct = class_scores(probs, y[W:])
        loss += run_loss
        correct += run_correct
        n += len(probs)
    model.train()
    return {"val_loss": loss / n, "val_accuracy": correct / n}


def pretrain(pc: PriorConfig, quiet: bool = False) -> str:
    """Pretrains on the prior and keeps the best checkpoint in OUT/checkpoint.pt; returns its path."""
    torch.manual_seed(pc.seed)
    if pc.threads:
        torch.set_num_threads(pc.threads)
    schema = prior_schema(pc)
    tc, arch = with_architecture(
        TrainConfig(csv=PRIOR_VERSION, out=pc.out, device=pc.device, seed=pc.seed, steps=pc.steps, batch=pc.batch,
                    lr=pc.lr, lam_anneal_frac=pc.lam_anneal_frac, eval_every=pc.eval_every, patience=pc.steps,
                    threads=pc.threads, init=pc.init), {}, pc.arch)
    window = pc.window or arch["window"]
    cfg = NPTConfig(num_means=[0.0] * pc.feature_slots, num_stds=[1.0] * pc.feature_slots, task=CLASSIFICATION,
                    n_classes=pc.class_slots, feature_slots=pc.feature_slots, class_slots=pc.class_slots,
                    attention=CAUSAL, window=window, abd_layers=arch["abd_layers"], aba_layers=arch["aba_layers"],
                    feature_kernel=True, embed_dim=pc.embed_dim, dropout=pc.dropout)
    model = NPT(cfg)
    if pc.init:
        start_from(model, pc.init)
    model = model.to(pc.device)
    held_out = torch.Generator().manual_seed(10_000 + pc.seed)
    runs = [draw_run(pc, 4 * window, held_out) for _ in range(pc.val_runs)]
    length = tc.seq_mult * window
    os.makedirs(pc.out, exist_ok=True)
    path = os.path.join(pc.out, CHECKPOINT_FILE)

    step, seconds = fit(model, tc, lambda gen: draw_batch(pc, tc.batch, length, gen), lambda: validate(model, runs),
                        lambda step, seconds, metrics: save(path, model, schema, tc, step, seconds, metrics),
                        torch.device(pc.device), quiet)
    ck = torch.load(path, weights_only=False)
    ck["training"].update(steps=step, seconds=seconds, row_begin=0, row_end=0)
    ck["prior"] = asdict(pc)
    torch.save(ck, path)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m npt_export.prior", description=__doc__.split("\n\n")[0])
    for name, default in asdict(PriorConfig()).items():
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    p.add_argument("--no-export", dest="export", action="store_false")
    a = vars(p.parse_args(argv))
    export_it = a.pop("export")
    pc = PriorConfig(**a)
    path = pretrain(pc)
    if export_it:
        from npt_export.export import export
        export(path, pc.out)


if __name__ == "__main__":
    sys.exit(main())
