"""The Python reference for serving: a keyed stream, record by record, as proto/README.md says.

Each record is predicted from its key's context, then, if labeled, joins it (prequential order).
CAUSAL models keep per key the last W labeled rows' per-layer keys and values (the cache) and call
the STEP computation with M = 1; BIDIRECTIONAL models keep the last W labeled raw rows and call the
FULL computation. `evaluate_rows` is the same for one long key, in chunks (which the STEP
semantics make identical to one record at a time), for evaluation.

A model with standardise_rows N standardises each key's numeric features by its KeyStatistics
first. Those in use are refreshed after the key's labeled rows number 1, 2, 4, ... and N; a record
right after a refresh sees its context re-encoded under the new ones (the cache rebuilt from the
raw rows).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from npt_export.data import MIN_STD, Table
from npt_export.model import CAUSAL, NPT


def refreshes_at(labeled: int, rows: int) -> bool:
    """Whether a key's statistics in use are refreshed once it has `labeled` labeled rows: after
    its 1st, 2nd, 4th, 8th, ... and its `rows`-th (so about log2(rows) context re-encodings a key)."""
    return 1 <= labeled <= rows and (labeled == rows or labeled & (labeled - 1) == 0)


class KeyStatistics:
    """The mean and population std of each numeric feature over a key's first `rows` labeled rows,
    missing values skipped; Welford's update in double precision, in the order the rows came, which
    the Java operator repeats bit for bit (its KeyStatistics). Those in use (`standardise`) are
    refreshed at `refreshes_at`."""

    def __init__(self, rows: int, features: int):
        self.rows = rows
        self.seen = 0
        self.count = [0] * features
        self.mean = [0.0] * features
        self.m2 = [0.0] * features
        self.in_use = (torch.zeros(features), torch.ones(features))      # mean, std (float32)

    @property
    def settled(self) -> bool:
        """Whether no later row changes them."""
        return self.seen >= self.rows

    def add(self, num):
        """A labeled row's raw numeric features; ignored once `rows` rows are in."""
        if self.settled:
            return
        self.seen += 1
        for j, x in enumerate(torch.as_tensor(num, dtype=torch.float32).reshape(-1).tolist()):
            if math.isnan(x):
                continue
            self.count[j] += 1
            delta = x - self.mean[j]
            self.mean[j] += delta / self.count[j]
            self.m2[j] += delta * (x - self.mean[j])
        if refreshes_at(self.seen, self.rows):
            std = [math.sqrt(m2 / c) if c > 1 else 1.0 for m2, c in zip(self.m2, self.count)]
            self.in_use = (torch.tensor(self.mean, dtype=torch.float32),
                           torch.tensor([s if s > MIN_STD else 1.0 for s in std], dtype=torch.float32))

    def standardise(self, num):
        """num [..., F] float32 -> (num - mean) / std in float32, by the statistics in use; a feature
        seen fewer than twice, or constant, has std 1."""
        mean, std = self.in_use
        return (torch.as_tensor(num, dtype=torch.float32) - mean) / std


@dataclass
class Scored:
    outputs: tuple            # the graph's outputs for the record: (probs [C],) or (mean,) or (mean, std)
    context_size: int         # labeled context rows it attended to


class KeyedReference:
    """One record at a time, per key, with the window `window` (at most the model's)."""

    def __init__(self, model: NPT, window: int | None = None):
        self.model = model.eval()
        self.window = window or model.cfg.window
        self.state: dict[str, list] = {}
        # Per key, with standardise_rows: [KeyStatistics, its raw labeled rows (the history), rows appended].
        self.raw: dict[str, list] = {}

    @torch.no_grad()
    def process(self, key: str, num, cat, y: float) -> Scored:
        """num [Fn] float (NaN = missing), cat [Fc] int (0 = unknown), y float (NaN = unlabeled)."""
        cfg = self.model.cfg
        if not cfg.standardise_rows:
            return self._process(key, num, cat, y)
        entry = self.raw.setdefault(key, [KeyStatistics(cfg.standardise_rows, cfg.n_num), [], 0])
        stats, rows, appended = entry
        if refreshes_at(appended, stats.rows):      # its last row refreshed the statistics: the context is re-encoded
            self._rebuild(key, stats, rows)
        scored = self._process(key, stats.standardise(num), cat, y)
        if not math.isnan(y):
            stats.add(num)
            rows.append((torch.as_tensor(num, dtype=torch.float32), torch.as_tensor(cat, dtype=torch.int64), y))
            history = cfg.abd_layers * self.window if cfg.attention == CAUSAL else self.window
            del rows[:-history]
            entry[2] += 1
        return scored

    def _rebuild(self, key: str, stats: KeyStatistics, rows: list):
        """The key's context from its raw rows under the current statistics, as the Java operator
        rebuilds a cache entry (CAUSAL: the rows in one STEP call on an empty cache)."""
        self.state.pop(key, None)
        if not rows:
            return
        num = stats.standardise(torch.stack([r[0] for r in rows]))
        cat = torch.stack([r[1] for r in rows])
        y = torch.tensor([r[2] for r in rows], dtype=torch.float32)
        if self.model.cfg.attention != CAUSAL:
            self.state[key] = list(zip(num, cat, y))
            return
        cfg, W, n = self.model.cfg, self.window, len(rows)
        k = torch.zeros(1, cfg.abd_layers, W, cfg.cache_dim)
        v = torch.zeros(1, cfg.abd_layers, W, cfg.cache_dim)
        kv = torch.zeros(1, W, dtype=torch.bool)
        valid = torch.ones(1, n, dtype=torch.bool)
        _, nk, nv, _ = self.model.step(k, v, kv, num[None], cat[None], y[None], valid)
        self.state[key] = [torch.cat([k, nk], 2)[:, :, -W:], torch.cat([v, nv], 2)[:, :, -W:],
                           torch.cat([kv, valid], 1)[:, -W:]]

    def _process(self, key: str, num, cat, y: float) -> Scored:
        cfg, W = self.model.cfg, self.window
        num = torch.as_tensor(num, dtype=torch.float32).view(1, 1, -1)
        cat = torch.as_tensor(cat, dtype=torch.int64).view(1, 1, -1)
        yt = torch.tensor([[y]], dtype=torch.float32)
        valid = torch.ones(1, 1, dtype=torch.bool)
        labeled = not torch.isnan(yt).item()
        if cfg.attention == CAUSAL:
            L, Dm = cfg.abd_layers, cfg.cache_dim
            k, v, kv = self.state.setdefault(key, [torch.zeros(1, L, W, Dm), torch.zeros(1, L, W, Dm),
                                                   torch.zeros(1, W, dtype=torch.bool)])
            h_q, nk, nv, ctx = self.model.step(k, v, kv, num, cat, yt, valid)
            if labeled:
                self.state[key] = [torch.cat([k[:, :, 1:], nk], 2), torch.cat([v[:, :, 1:], nv], 2),
                                   torch.cat([kv[:, 1:], valid], 1)]
        else:
            rows = self.state.setdefault(key, [])
            n = len(rows)
            c_num = torch.zeros(1, W, num.shape[-1])
            c_cat = torch.zeros(1, W, cat.shape[-1], dtype=torch.int64)
            c_y = torch.zeros(1, W)
            c_valid = torch.zeros(1, W, dtype=torch.bool)
            for p, (rn, rc, ry) in enumerate(rows):          # right-aligned, oldest first
                s = W - n + p
                c_num[0, s], c_cat[0, s], c_y[0, s], c_valid[0, s] = rn, rc, ry, True
            _, h_q, ctx = self.model.full(c_num, c_cat, c_y, c_valid, num, cat, valid)
            if labeled:
                rows.append((num[0, 0], cat[0, 0], yt[0, 0]))
                del rows[:-W]
        outputs = tuple(o[0, 0] for o in self.model.predict(h_q))
        return Scored(outputs, int(ctx.mask_q[0, 0].sum()))


@torch.no_grad()
def evaluate_rows(model: NPT, num, cat, y, window: int | None = None, chunk: int = 512, device="cpu",
                  select=None):
    """Prequential outputs for the rows of ONE key in arrival order: row i is predicted from the
    `window` labeled rows before it. Returns the graph's outputs, each [N, ...] (or for the rows
    `select` only), on the CPU. CAUSAL uses the cached STEP path in chunks of `chunk` rows;
    BIDIRECTIONAL recomputes each selected row's context (O(W^2) per row). With standardise_rows
    the rows must begin with the key's first, whose statistics standardise the rest."""
    if not model.cfg.standardise_rows:
        return _evaluate(model, num, cat, y, window, chunk, device, select)
    num, cat, y = torch.as_tensor(num), torch.as_tensor(cat), torch.as_tensor(y)
    labeled = ~torch.isnan(y)
    labeled_rows = labeled.nonzero()[:, 0]
    stats = KeyStatistics(model.cfg.standardise_rows, num.shape[1])
    # A row sees its context under the statistics of the last refresh before it: its epoch.
    before = (torch.cumsum(labeled, 0) - labeled.long()).tolist()
    points = [0] + [e for e in range(1, min(stats.rows, len(labeled_rows)) + 1) if refreshes_at(e, stats.rows)]
    epoch = torch.tensor([max(e for e in points if e <= b) for b in before], dtype=torch.long)
    outs, added = None, 0
    for e in points:
        while added < e:
            stats.add(num[labeled_rows[added]])
            added += 1
        rows = (epoch == e).nonzero()[:, 0]
        if len(rows):
            end = int(rows[-1]) + 1
            got = _evaluate(model, stats.standardise(num[:end]), cat[:end], y[:end], window, chunk, device, rows)
            if outs is None:
                outs = tuple(torch.zeros((len(y), *o.shape[1:]), dtype=o.dtype) for o in got)
            for o, g in zip(outs, got):
                o[rows] = g
    return outs if select is None else tuple(o[torch.as_tensor(select)] for o in outs)


def predictions(model: NPT, table: Table, relabel=lambda y: y):
    """Prequential class predictions for every row of a table, each key on its own context;
    `relabel` maps each key's labels (a tensor) before they enter its context."""
    keys = np.asarray(table.keys or [""] * len(table))
    out = np.zeros(len(table), dtype=np.int64)
    for key in np.unique(keys):
        mine = np.flatnonzero(keys == key)
        y = relabel(torch.from_numpy(table.y[mine]))
        out[mine] = evaluate_rows(model, torch.from_numpy(table.num[mine]), torch.from_numpy(table.cat[mine]), y)[0].argmax(-1).numpy()
    return out


def _evaluate(model: NPT, num, cat, y, window, chunk, device, select):
    cfg = model.cfg
    W = window or cfg.window
    model.eval()
    num, cat, y = torch.as_tensor(num), torch.as_tensor(cat), torch.as_tensor(y)
    N = len(y)
    outs = []
    if cfg.attention == CAUSAL:
        L, Dm = cfg.abd_layers, cfg.cache_dim
        k = torch.zeros(1, L, W, Dm, device=device)
        v = torch.zeros(1, L, W, Dm, device=device)
        kv = torch.zeros(1, W, dtype=torch.bool, device=device)
        for s in range(0, N, chunk):
            xn, xc, xy = (t[s:s + chunk][None].to(device) for t in (num, cat, y))
            xv = torch.ones(xy.shape, dtype=torch.bool, device=device)
            h_q, nk, nv, _ = model.step(k, v, kv, xn, xc, xy, xv)
            outs.append(tuple(o[0].cpu() for o in model.predict(h_q)))
            lab = ~torch.isnan(xy[0])
            k = torch.cat([k, nk[:, :, lab]], 2)[:, :, -W:]
            v = torch.cat([v, nv[:, :, lab]], 2)[:, :, -W:]
            kv = torch.cat([kv, lab[lab][None]], 1)[:, -W:]
    else:
        lab_idx = (~torch.isnan(y)).nonzero()[:, 0]
        c = torch.searchsorted(lab_idx, torch.arange(N))          # labeled rows before each row
        wanted = torch.arange(N) if select is None else torch.as_tensor(select)
        for s in range(0, len(wanted), chunk):
            rows = wanted[s:s + chunk]
            B = len(rows)
            pos = c[rows][:, None] - W + torch.arange(W)[None]       # right-aligned window
            valid = pos >= 0
            idx = lab_idx[pos.clamp(min=0)] if len(lab_idx) else torch.zeros_like(pos)
            ctx = [t[idx].to(device) for t in (num, cat, y)]
            q = [t[rows][:, None].to(device) for t in (num, cat)]
            _, h_q, _ = model.full(ctx[0], ctx[1], ctx[2], valid.to(device), q[0], q[1],
                                   torch.ones(B, 1, dtype=torch.bool, device=device))
            outs.append(tuple(o[:, 0].cpu() for o in model.predict(h_q)))
    outs = tuple(torch.cat(parts) for parts in zip(*outs))
    if cfg.attention == CAUSAL and select is not None:
        outs = tuple(o[torch.as_tensor(select)] for o in outs)
    return outs
