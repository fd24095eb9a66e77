"""Breast Cancer (sklearn's load_breast_cancer), the paper's small-data benchmark: the training
split is the context, test rows are queries. Accuracy and AUROC over seeds.

    python -m npt_export.evidence.breast_cancer

Paper: 94.73 +- 0.69% accuracy, AUROC 0.997 (NPT-Base, 2,000 full-batch steps, e = 32); here by
default e = 16, one ABD and one ABA layer, 150 steps, so that five seeds fit in minutes on 2 CPU cores.
Each step holds out a random fifth of the training rows as queries against the rest (the paper
masks training targets instead); BIDIRECTIONAL, no recency (the rows have no order).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from npt_export.model import BIDIRECTIONAL, NPT, NPTConfig
from npt_export.train import feature_terms, lam_at, lr_at, mask_features, mask_targets, TrainConfig


def run(seed: int, a) -> tuple[float, float, float]:
    x, y = load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    xtr, xte = (torch.tensor(v, dtype=torch.float32) for v in (xtr, xte))
    ytr, yte = (torch.tensor(v, dtype=torch.float32) for v in (ytr, yte))
    n = len(ytr)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    cfg = NPTConfig(num_means=xtr.mean(0).tolist(), num_stds=xtr.std(0).tolist(), n_classes=2,
                    attention=BIDIRECTIONAL, window=n, recency=False, embed_dim=a.embed_dim,
                    abd_layers=a.layers, aba_layers=a.layers, heads=4)
    model = NPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr)
    tc = TrainConfig(steps=a.steps, lr=a.lr)
    no_cat = torch.zeros(1, n, 0, dtype=torch.long)
    t0 = time.time()
    for step in range(1, a.steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(tc, step)
        held = torch.rand(n, generator=g) < 0.2
        num_in, _, _, ch_num, _ = mask_features(cfg, xtr[None], no_cat, 0.15, g)
        y_ctx, y_masked = mask_targets(ytr[None], 0.15, g)
        ctx_valid = ~held[None]
        h_ctx, h_q, _ = model.full(num_in, None, ytr[None], ctx_valid, xtr[None, held], None,
                                   torch.ones(1, int(held.sum()), dtype=torch.bool), y_context=y_ctx)
        out_q = model.heads.target_out(h_q)[0]
        out_ctx = model.heads.target_out(h_ctx)[0][y_masked[0] & ~held]
        logits = torch.cat([out_q, out_ctx])
        target = torch.cat([ytr[held], ytr[y_masked[0] & ~held]]).long()
        l_target = F.cross_entropy(logits, target)
        lf, nf = feature_terms(model, h_ctx, xtr[None], no_cat, ch_num & ctx_valid[..., None], no_cat.bool())
        lam = lam_at(tc, step)
        loss = (1 - lam) * l_target + lam * lf / max(1, nf)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    with torch.no_grad():
        _, h_q, _ = model.full(xtr[None], None, ytr[None], torch.ones(1, n, dtype=torch.bool),
                               xte[None], None, torch.ones(1, len(yte), dtype=torch.bool))
        probs = model.predict(h_q)[0][0, :, 1].numpy()
    acc = float(((probs > 0.5) == yte.numpy()).mean())
    return acc, float(roc_auc_score(yte.numpy(), probs)), time.time() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--embed-dim", type=int, default=16)
    p.add_argument("--layers", type=int, default=1, help="ABD and ABA layers each")
    p.add_argument("--lr", type=float, default=5e-4)
    a = p.parse_args(argv)
    accs, aucs = [], []
    for seed in range(a.seeds):
        acc, auc, sec = run(seed, a)
        accs.append(acc)
        aucs.append(auc)
        print(f"seed {seed}: accuracy {100 * acc:.2f}%, AUROC {auc:.4f} ({sec:.0f} s)")
    print(f"Breast Cancer, {a.seeds} seeds, e={a.embed_dim}, {a.layers}+{a.layers} layers, {a.steps} steps: "
          f"accuracy {100 * np.mean(accs):.2f} +- {100 * np.std(accs):.2f}%, AUROC {np.mean(aucs):.4f} +- {np.std(aucs):.4f} "
          f"(paper: 94.73 +- 0.69%, 0.997)")


if __name__ == "__main__":
    main()
