"""Cross-datapoint lookup (paper section 4.2): NPT uses the other rows, an MLP cannot.

Each set has W context rows of random categorical features whose labels are a fresh random
function of the row (drawn per set), and queries that duplicate context rows with their label
masked. The only way to predict a query is to find its duplicate in the context and read its label.

    python -m npt_export.evidence.lookup

Prints: NPT accuracy with the true context (expect >= 99%), with the context's labels permuted
(expect ~50% against the original labels, ~100% against the permuted ones: the predictions follow
the context), and an MLP of similar size trained on the same rows (expect ~50%).
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from npt_export.model import BIDIRECTIONAL, NPT, NPTConfig

FEATURES, VOCAB, CLASSES = 4, 6, 2


def sets(g, B, W, M):
    """Context [B,W,F] categories (1..VOCAB) with random labels per set; queries duplicate context rows."""
    cat = torch.randint(1, VOCAB + 1, (B, W, FEATURES), generator=g)
    y = torch.randint(0, CLASSES, (B, W), generator=g).float()
    pick = torch.randint(0, W, (B, M), generator=g)
    q = torch.gather(cat, 1, pick[..., None].expand(B, M, FEATURES))
    return cat, y, q, torch.gather(y, 1, pick), pick


def npt_forward(model, cat, y, q):
    B, W, _ = cat.shape
    M = q.shape[1]
    _, h_q, _ = model.full(None, cat, y, torch.ones(B, W, dtype=torch.bool), None, q,
                           torch.ones(B, M, dtype=torch.bool))
    return model.heads.target_out(h_q)


def mlp(params: int) -> nn.Module:
    d_in = FEATURES * (VOCAB + 1)
    h = int(params ** 0.5)                                       # ~h^2 parameters
    return nn.Sequential(nn.Linear(d_in, h), nn.GELU(), nn.Linear(h, h), nn.GELU(), nn.Linear(h, CLASSES))


def onehot(cat):
    return F.one_hot(cat, VOCAB + 1).flatten(-2).float()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--queries", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    cfg = NPTConfig(cat_sizes=[VOCAB + 1] * FEATURES, n_classes=CLASSES, attention=BIDIRECTIONAL,
                    window=a.window, recency=False, embed_dim=16, abd_layers=2, aba_layers=1, heads=4,
                    dropout=0.0)
    model = NPT(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    base = mlp(n_params)
    opts = [torch.optim.AdamW(model.parameters(), lr=1e-3), torch.optim.AdamW(base.parameters(), lr=1e-3)]
    t0 = time.time()
    for step in range(1, a.steps + 1):
        cat, y, q, qy, _ = sets(g, a.batch, a.window, a.queries)
        losses = [F.cross_entropy(npt_forward(model, cat, y, q).flatten(0, 1), qy.flatten().long()),
                  F.cross_entropy(base(onehot(q)).flatten(0, 1), qy.flatten().long())]
        for opt, loss in zip(opts, losses):
            opt.zero_grad()
            loss.backward()
            opt.step()
        if step % 100 == 0:
            print(f"step {step}: NPT loss {losses[0].item():.3f}, MLP loss {losses[1].item():.3f}")
    model.eval()
    with torch.no_grad():
        cat, y, q, qy, pick = sets(g, 256, a.window, a.queries)
        acc = (npt_forward(model, cat, y, q).argmax(-1) == qy).float().mean().item()
        perm = torch.stack([torch.randperm(a.window, generator=g) for _ in range(256)])
        y_perm = torch.gather(y, 1, perm)
        pred = npt_forward(model, cat, y_perm, q).argmax(-1)
        acc_perm = (pred == qy).float().mean().item()
        follows = (pred == torch.gather(y_perm, 1, pick)).float().mean().item()
        acc_mlp = (base(onehot(q)).argmax(-1) == qy).float().mean().item()
    print(f"NPT ({n_params} parameters, {a.steps} steps, {time.time() - t0:.0f} s): "
          f"true context {100 * acc:.2f}%; context labels permuted {100 * acc_perm:.2f}% "
          f"(agrees with the permuted labels {100 * follows:.2f}%); "
          f"MLP ({sum(p.numel() for p in base.parameters())} parameters) {100 * acc_mlp:.2f}%; chance 50%")


if __name__ == "__main__":
    main()
