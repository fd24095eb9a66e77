"""Training tasks that the weights cannot memorise, so that the model learns to read its context.

A model trained only on a stream's own labels can fit that stream's concept in its weights and
ignore the labels in its context; after a drift it then keeps predicting the old concept. So a
share of the training runs get labels from a task drawn afresh for that run, which only the run's
own labeled rows reveal, and a share get a change of task inside the run (an abrupt drift), which
only the newest labels reveal. The features stay the stream's own rows, so the model learns to
read contexts of the data it will serve.

A task maps a row's features u (numeric ones standardised, categorical ones through a random value
per category, a random subset of the features relevant) to a label:
- permute: the stream's own labels through a random class permutation (regression: a random
  affine map, sign flips included);
- prototypes: the label of the nearest of 2-16 prototype rows (a Voronoi partition, as in RBF
  streams and kNN);
- linear: argmax over C random linear functions (a hyperplane for two classes);
- tree: a random axis-aligned tree of depth 1-3 with thresholds at the data's own values;
each with 0-10% label noise. Regression tasks are scaled to the target's own mean and std.
"""
from __future__ import annotations

import torch

from npt_export.model import CLASSIFICATION, NPTConfig

KINDS = ("permute", "prototypes", "linear", "tree")
MAX_PROTOTYPES = 16
MAX_DEPTH = 3
MAX_NOISE = 0.1


def rand_float(gen) -> float:
    return float(torch.rand((), generator=gen))


def rand_int(lo: int, hi: int, gen) -> int:
    """Uniform in [lo, hi)."""
    return int(torch.randint(lo, hi, (), generator=gen))


def task_features(cfg: NPTConfig, num, cat, gen):
    """One run's rows [S, Fn] / [S, Fc] -> u [S, F] (F >= 1): standardised numerics (missing = 0),
    a random N(0, 1) value per category, and only a random non-empty subset of features kept."""
    parts = []
    if cfg.n_num:
        mean = torch.tensor(cfg.num_means, dtype=num.dtype)
        std = torch.tensor(cfg.num_stds, dtype=num.dtype)
        z = (num - mean) / std
        parts.append(torch.where(torch.isnan(z), torch.zeros_like(z), z))
    for j, size in enumerate(cfg.cat_sizes):
        values = torch.randn(size, generator=gen)
        parts.append(values[cat[:, j].clamp(0, size - 1)][:, None])
    if not parts:
        return torch.zeros(num.shape[0], 1)
    u = torch.cat(parts, 1)
    keep = torch.rand(u.shape[1], generator=gen) < 0.3 + 0.7 * rand_float(gen)
    keep[rand_int(0, u.shape[1], gen)] = True
    return u[:, keep]


def nearest_prototype(u, n_out, gen):
    """Index of the nearest of m prototypes (rows of u), mapped to a random output index."""
    m = rand_int(2, MAX_PROTOTYPES + 1, gen)
    protos = u[torch.randint(0, u.shape[0], (m,), generator=gen)]
    nearest = torch.cdist(u, protos).argmin(1)
    return torch.randint(0, n_out, (m,), generator=gen)[nearest], nearest


def random_tree(u, n_out, gen):
    """The leaf of a random axis-aligned tree of depth 1-3, mapped to a random output index."""
    depth = rand_int(1, MAX_DEPTH + 1, gen)
    inner = 2 ** depth - 1
    feat = torch.randint(0, u.shape[1], (inner,), generator=gen)
    thr = u[torch.randint(0, u.shape[0], (inner,), generator=gen), feat]
    node = torch.zeros(u.shape[0], dtype=torch.long)
    for _ in range(depth):
        right = u.gather(1, feat[node][:, None])[:, 0] > thr[node]
        node = 2 * node + 1 + right.long()
    leaf = node - inner
    return torch.randint(0, n_out, (inner + 1,), generator=gen)[leaf]


def linear_argmax(u, n_out, gen):
    """The argmax over n_out random linear functions (a hyperplane for two)."""
    w = torch.randn(u.shape[1], n_out, generator=gen)
    return (u @ w + torch.randn(n_out, generator=gen)).argmax(1)


def draw_task(cfg: NPTConfig, num, cat, y, gen):
    """The labels of one task drawn afresh over one run's rows (the caller keeps unlabeled rows
    unlabeled). Classification: class indices as float; regression: raw target units."""
    kind = KINDS[rand_int(0, len(KINDS), gen)]
    classify = cfg.task == CLASSIFICATION
    C = cfg.n_classes
    if kind == "permute":
        if classify:
            perm = torch.randperm(C, generator=gen).to(y.dtype)
            return perm[y.nan_to_num(0).long().clamp(0, C - 1)]
        scale = (0.5 + 1.5 * rand_float(gen)) * (1 if rand_float(gen) < 0.5 else -1)
        shift = float(torch.randn((), generator=gen)) * cfg.y_std
        return cfg.y_mean + shift + scale * (y - cfg.y_mean)
    u = task_features(cfg, num, cat, gen)
    if classify:
        if kind == "prototypes":
            out = nearest_prototype(u, C, gen)[0]
        elif kind == "tree":
            out = random_tree(u, C, gen)
        else:
            out = linear_argmax(u, C, gen)
        noisy = torch.rand(out.shape, generator=gen) < MAX_NOISE * rand_float(gen)
        out = torch.where(noisy, torch.randint(0, C, out.shape, generator=gen), out)
        return out.to(y.dtype)
    if kind == "prototypes":
        _, nearest = nearest_prototype(u, 1, gen)
        value = torch.randn(MAX_PROTOTYPES, generator=gen)[nearest]
    elif kind == "tree":
        value = random_tree(u, 2 ** (MAX_DEPTH + 1), gen).to(y.dtype)
    else:
        value = u @ torch.randn(u.shape[1], generator=gen)
    value = value + torch.randn(value.shape, generator=gen) * MAX_NOISE * rand_float(gen) * value.std().clamp_min(1e-6)
    value = (value - value.mean()) / value.std().clamp_min(1e-6)
    return (cfg.y_mean + cfg.y_std * value).to(y.dtype)


def relabel_runs(cfg: NPTConfig, num, cat, y, p_relabel: float, p_drift: float, gen):
    """Runs [B, S] of raw rows -> their labels for training: per run, with probability p_relabel
    a drawn task instead of the stream's labels, and with probability p_drift a fresh task from a
    random point of the run's middle half on. Unlabeled (NaN) rows stay unlabeled."""
    out = y.clone()
    B, S = y.shape
    for b in range(B):
        if rand_float(gen) < p_relabel:
            out[b] = draw_task(cfg, num[b], cat[b], y[b], gen)
        if rand_float(gen) < p_drift:
            t = rand_int(S // 4, 3 * S // 4 + 1, gen)
            out[b, t:] = draw_task(cfg, num[b, t:], cat[b, t:], y[b, t:], gen)
    return torch.where(torch.isnan(y), y, out)
