"""Train an NPT on a CSV stream, then export it (one command).

    python -m npt_export.train --csv data.csv --target target --rows 0:9062 --out build/models/elec

CAUSAL: a training example is a run of S = seq_mult * W consecutive labeled rows of one key. The
query stream predicts its rows (all of them, or query_rows drawn at random) from the W labeled rows
before each, which is exactly the prequential serving computation. BIDIRECTIONAL: W context rows
and the queries that follow them.

The objective is the paper's: stochastic feature masking (BERT-style) and target masking, with
L = (1 - lam) * L_target + lam * L_features, lam cosine-annealed from 1 to a floor. Four runs in
five get labels from a task drawn for that run and half a drift inside it (tasks.py), so that the model
learns to read its context's labels instead of memorising the stream's concept.

By default (--arch auto) it fits both ARCHITECTURES, one after the other, and keeps the one of
lower validation loss: one ABD layer over 1,024 rows reads a long context as a learned kernel
smoother does, two ABD layers over 256 rows model a stream's own concept better (measured in
model-export/README.md); which one a stream wants is what its validation rows say.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from npt_export import data as D
from npt_export.model import BIDIRECTIONAL, CAUSAL, CLASSIFICATION, NPT, NPTConfig, category_value, rows_of, z_std
from npt_export.tasks import relabel_runs

CHECKPOINT_FILE = "checkpoint.pt"          # the best checkpoint, in the output folder
# The NPTConfig fields that the command line sets (the rest come from the schema, or keep their defaults).
ARCH_ARGS = ("attention", "window", "recency", "distance_attention", "feature_kernel", "embed_dim", "abd_layers",
             "aba_layers", "heads", "kv_heads", "dropout", "attn_dropout")


@dataclass
class TrainConfig:
    csv: str = ""
    schema: str = ""               # instead of csv, for a prior model served untrained (--init PRIOR --steps 0): data.read_schema's file
    target: str = "target"
    rows: str = ""
    key: str | None = None
    out: str = "build/models/model"
    device: str = "cpu"
    bf16: bool = False
    seed: int = 0
    steps: int = 600
    batch: int = 4                 # sequences (CAUSAL) or sets (BIDIRECTIONAL) per step
    seq_mult: int = 2              # CAUSAL: rows per sequence = seq_mult * window
    queries: int = 32              # BIDIRECTIONAL: queries per set
    query_rows: int = 0            # CAUSAL: the rows of a run that the query stream predicts, drawn at random; 0 = all
    max_row_dim: int = 0           # a row's width (attributes × embed_dim) that embed_dim narrows to keep within; 0 = none
    arch: str = "auto"             # one of ARCHITECTURES; auto = each of them, keeping the best; custom = the flags
    lr: float = 1e-3
    weight_decay: float = 0.01
    flat_frac: float = 0.7         # lr flat, then cosine to 0 (the paper's schedule)
    p_feature: float = 0.15
    p_target: float = 0.15         # context-stream labels masked (the query stream's always are)
    p_relabel: float = 0.8         # runs whose labels come from a drawn task (tasks.py), not the stream
    p_drift: float = 0.5           # runs whose task changes at a random point (an abrupt drift)
    lam_floor: float = 0.1
    lam_anneal_frac: float = 0.3   # lam goes 1 -> lam_floor over this part of training
    val_frac: float = 0.1          # validation: the END of the training rows
    eval_every: int = 100
    patience: int = 5              # evaluations without improvement before stopping
    threads: int = 0               # torch CPU threads; 0 = torch's default
    init: str = ""                 # a checkpoint to fine-tune from, whose architecture the model keeps; "" = random weights
    export: bool = True


# The architectures that --arch names, with the shape of their training runs. "deep" is what the
# dataclasses' defaults give; "long" reads a longer window with one ABD layer, whose context rows then
# need no attention of their own, so a run's cost is its queries' (query_rows) attention.
# A step costs about row_dim² per row that goes through an ABD layer's projections and feed-forward,
# so on a wide stream the embedding narrows to keep row_dim within max_row_dim: the deep
# architecture's 2 layers take every row of its runs, the long one's a quarter of them (its queries),
# and the two limits keep that part of their steps' cost alike. At e 16 they narrow nothing up to 15
# features (deep) and 31 (long); measured in model-export/README.md.
ARCHITECTURES = {
    "long": dict(abd_layers=1, aba_layers=1, window=1024, seq_mult=1, query_rows=256, max_row_dim=512),
    "deep": dict(abd_layers=2, aba_layers=2, window=256, seq_mult=2, query_rows=0, max_row_dim=256),
}
RUN_SHAPE = ("seq_mult", "query_rows", "max_row_dim")     # the TrainConfig fields of an architecture; the rest are NPTConfig's


def with_architecture(tc: TrainConfig, arch: dict, name: str) -> tuple[TrainConfig, dict]:
    """tc and arch with the architecture `name` of ARCHITECTURES in them."""
    preset = ARCHITECTURES[name]
    return (replace(tc, arch=name, **{k: preset[k] for k in RUN_SHAPE}),
            {**arch, **{k: v for k, v in preset.items() if k not in RUN_SHAPE}})


def narrowed(cfg: NPTConfig, max_row_dim: int) -> NPTConfig:
    """cfg with the largest embed_dim, a multiple of heads and at most cfg's, that keeps row_dim
    (attributes × embed_dim) within max_row_dim (heads at least)."""
    fits = max(cfg.heads, max_row_dim // cfg.attributes // cfg.heads * cfg.heads)
    return replace(cfg, embed_dim=min(cfg.embed_dim, fits))


def run_shape(arch: dict) -> dict:
    """The run shape (RUN_SHAPE) of the architecture in ARCHITECTURES that has arch's layers and
    window, for training such a model again (retrain.py); {} (the defaults) for any other."""
    for preset in ARCHITECTURES.values():
        if all(arch.get(k) == v for k, v in preset.items() if k not in RUN_SHAPE):
            return {k: preset[k] for k in RUN_SHAPE}
    return {}


# ----------------------------------------------------------------------------- data


def validation_start(rows: int, val_frac: float) -> int:
    """The first validation row of `rows` training rows: the last val_frac of them, one at least."""
    return rows - max(1, int(rows * val_frac)) if val_frac > 0 else rows


class Stream:
    """The training rows as tensors, grouped by key, with the validation rows at the end."""

    def __init__(self, table: D.Table, val_frac: float):
        self.num = torch.from_numpy(table.num)
        self.cat = torch.from_numpy(table.cat)
        self.y = torch.from_numpy(table.y)
        n = len(table)
        self.val_start = validation_start(n, val_frac)
        keys = table.keys or [""] * n
        groups: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        self.groups = [torch.tensor(g) for g in groups.values()]

    def take(self, idx):
        return self.num[idx], self.cat[idx], self.y[idx]


def sample_runs(stream: Stream, gen: torch.Generator, batch: int, length: int):
    """`batch` runs of `length` consecutive rows of one key, from the rows before the validation
    split; short keys are padded with invalid rows at the end."""
    train_groups = [g[g < stream.val_start] for g in stream.groups]
    train_groups = [g for g in train_groups if len(g)]
    weights = torch.tensor([float(len(g)) for g in train_groups])
    picks = torch.multinomial(weights, batch, replacement=True, generator=gen)
    idx = torch.zeros(batch, length, dtype=torch.long)
    valid = torch.zeros(batch, length, dtype=torch.bool)
    for b, gi in enumerate(picks.tolist()):
        g = train_groups[gi]
        start = int(torch.randint(0, max(1, len(g) - length + 1), (1,), generator=gen))
        run = g[start:start + length]
        idx[b, :len(run)] = run
        valid[b, :len(run)] = True
    num, cat, y = stream.take(idx)
    y = torch.where(valid, y, torch.full_like(y, float("nan")))
    return num, cat, y, valid


def mask_features(cfg: NPTConfig, num, cat, p: float, gen: torch.Generator):
    """BERT-style: each present feature entry is chosen with probability p; of the chosen, 80% are
    masked, 10% replaced by a random value, 10% kept. Returns inputs and the chosen entries."""
    def choose(shape):
        chosen = torch.rand(shape, generator=gen) < p
        r = torch.rand(shape, generator=gen)
        return chosen, chosen & (r < 0.8), chosen & (r >= 0.8) & (r < 0.9)

    ch_num, m_num, r_num = choose(num.shape)
    ch_num &= ~torch.isnan(num)
    mean = torch.tensor(cfg.num_means, dtype=num.dtype)
    std = torch.tensor(cfg.num_stds, dtype=num.dtype)
    rand_num = mean + std * torch.randn(num.shape, generator=gen)
    num_in = torch.where(ch_num & m_num, torch.full_like(num, float("nan")), num)
    num_in = torch.where(ch_num & r_num, rand_num, num_in)
    ch_cat, m_cat, r_cat = choose(cat.shape)
    sizes = torch.tensor(cfg.cat_sizes, dtype=torch.long)
    rand_cat = (torch.rand(cat.shape, generator=gen) * sizes).long()
    cat_in = torch.where(ch_cat & r_cat, rand_cat, cat)
    return num_in, cat_in, ch_cat & m_cat, ch_num, ch_cat


def mask_targets(y, p: float, gen: torch.Generator):
    masked = (torch.rand(y.shape, generator=gen) < p) & ~torch.isnan(y)
    return torch.where(masked, torch.full_like(y, float("nan")), y), masked


# ----------------------------------------------------------------------------- losses


def target_terms(model: NPT, h, y, where):
    """Summed target loss over rows `where` (with a label), their count, and correct predictions."""
    cfg = model.cfg
    where = where & ~torch.isnan(y)
    out = model.heads.target_out(h)[where]
    t = y[where]
    if t.numel() == 0:
        return out.sum() * 0, 0, 0
    if cfg.task == CLASSIFICATION:
        loss = F.cross_entropy(out.float(), t.long(), reduction="sum")
        return loss, t.numel(), int((out.argmax(-1) == t.long()).sum())
    z = (t - cfg.y_mean) / cfg.y_std
    if cfg.has_std:
        s = z_std(out[:, 1].float())
        loss = F.gaussian_nll_loss(out[:, 0].float(), z, s * s, reduction="sum")
    else:
        loss = F.mse_loss(out[:, 0].float(), z, reduction="sum")
    return loss, t.numel(), 0


def feature_terms(model: NPT, h, num, cat, ch_num, ch_cat):
    """Summed loss over the chosen feature entries (standardised MSE, or cross-entropy) and their count."""
    cfg = model.cfg
    pred_num, pred_cat = model.heads.features(h)
    total = h.sum() * 0
    count = 0
    if cfg.n_num and ch_num.any():
        z = (num - torch.tensor(cfg.num_means)) / torch.tensor(cfg.num_stds)
        total = total + F.mse_loss(pred_num[ch_num].float(), z[ch_num], reduction="sum")
        count += int(ch_num.sum())
    for j, logits in enumerate(pred_cat):
        sel = ch_cat[..., j]
        if sel.any():
            total = total + F.cross_entropy(logits[sel].float(), cat[..., j][sel], reduction="sum")
            count += int(sel.sum())
    return total, count


def stream_batch(cfg: NPTConfig, tc: TrainConfig, stream: Stream, gen: torch.Generator):
    """One batch of the stream's runs, with the labels they train on (tasks.relabel_runs)."""
    length = tc.seq_mult * cfg.window if cfg.attention == CAUSAL else cfg.window + tc.queries
    num, cat, y, valid = sample_runs(stream, gen, tc.batch, length)
    return num, cat, relabel_runs(cfg, num, cat, y, tc.p_relabel, tc.p_drift, gen), valid


def training_loss(model: NPT, tc: TrainConfig, batch, gen: torch.Generator, lam: float, device):
    """One batch of runs (num, cat, y, valid): returns the loss to minimise, the target loss and
    the query accuracy."""
    cfg = model.cfg
    W = cfg.window
    num, cat, y, valid = batch
    num_in, cat_in, cat_masked, ch_num, ch_cat = mask_features(cfg, num, cat, tc.p_feature, gen)
    y_ctx, y_masked = mask_targets(y, tc.p_target, gen)
    dev = lambda t: t.to(device)
    if cfg.attention == CAUSAL:
        # The context stream stops at the last ABD layer's keys and values (NPT.run), so the query
        # stream carries every loss: its rows' labels, and the features masked in them.
        B, S = y.shape
        queries = None
        if 0 < tc.query_rows < S:
            queries = torch.sort(torch.rand(B, S, generator=gen).argsort(1)[:, :tc.query_rows], 1).values
        empty = torch.zeros(B, cfg.abd_layers, 0, cfg.cache_dim, device=device)
        no_cache = torch.zeros(B, 0, dtype=torch.bool, device=device)
        h_q, _, _, _ = model.step(empty, empty, no_cache, *map(dev, (num_in, cat_in, y, valid)), window=W,
                                  y_context=dev(y_ctx), cat_masked=dev(cat_masked),
                                  queries=None if queries is None else dev(queries))
        pick = (lambda t: t) if queries is None else (lambda t: rows_of(t, queries))
        l_q, n_q, correct = target_terms(model, h_q, dev(pick(y)), dev(pick(valid)))
        lf, nf = feature_terms(model, h_q, dev(pick(num)), dev(pick(cat)), dev(pick(ch_num & valid[..., None])),
                               dev(pick(ch_cat & valid[..., None])))
        l_target = l_q / max(1, n_q)
    else:
        ctx, q = slice(None, W), slice(W, None)
        # Random context lengths (left padding), so that the short contexts of a key's start are seen too.
        short = torch.rand(tc.batch, generator=gen) < 0.3
        keep = (torch.rand(tc.batch, generator=gen) * W).long()
        ctx_valid = valid[:, ctx] & ~(short[:, None] & (torch.arange(W)[None] < (W - keep)[:, None]))
        args = [t.to(device) for t in (num_in[:, ctx], cat_in[:, ctx], y[:, ctx], ctx_valid,
                                       num[:, q], cat[:, q], valid[:, q], y_ctx[:, ctx], cat_masked[:, ctx])]
        h_ctx, h_q, _ = model.full(*args[:7], y_context=args[7], ctx_cat_masked=args[8])
        l_q, n_q, correct = target_terms(model, h_q, dev(y[:, q]), dev(valid[:, q]))
        l_ctx, n_ctx, _ = target_terms(model, h_ctx, dev(y[:, ctx]), dev(y_masked[:, ctx] & ctx_valid))
        lf, nf = feature_terms(model, h_ctx, dev(num[:, ctx]), dev(cat[:, ctx]),
                               dev(ch_num[:, ctx] & ctx_valid[..., None]), dev(ch_cat[:, ctx] & ctx_valid[..., None]))
        l_target = (l_q + l_ctx) / max(1, n_q + n_ctx)
    l_feat = lf / max(1, nf)
    return (1 - lam) * l_target + lam * l_feat, l_target.item(), correct / max(1, n_q)


def lam_at(tc: TrainConfig, step: int) -> float:
    """Feature-loss weight: cosine from 1 to lam_floor over the first lam_anneal_frac of training."""
    f = min(1.0, step / max(1, tc.lam_anneal_frac * tc.steps))
    return tc.lam_floor + (1 - tc.lam_floor) * 0.5 * (1 + math.cos(math.pi * f))


def lr_at(tc: TrainConfig, step: int) -> float:
    f = step / max(1, tc.steps)
    if f < tc.flat_frac:
        return tc.lr
    return tc.lr * 0.5 * (1 + math.cos(math.pi * (f - tc.flat_frac) / (1 - tc.flat_frac)))


# ----------------------------------------------------------------------------- validation


def shifted_labels(cfg: NPTConfig, y):
    """The probe's new relation: every class moved to the next one (a permutation that changes
    every label), or a regression target mirrored around its mean."""
    if cfg.task == CLASSIFICATION:
        return (y + 1) % cfg.n_classes
    return 2 * cfg.y_mean - y


def class_scores(probs, y) -> tuple[float, float]:
    """Summed log loss and correct predictions of class probabilities [N, C] against labels [N]."""
    t = y.long()
    return float(F.nll_loss(torch.log(probs.clamp_min(1e-12)), t, reduction="sum")), float((probs.argmax(-1) == t).sum())


@torch.no_grad()
def validate(model: NPT, stream: Stream, device) -> dict[str, float]:
    """Prequential scores on the validation rows: each is predicted from the labeled rows before it
    (training rows included), exactly as served; once with the stream's labels and once with every
    label shifted (`shifted_labels`), which only a model that reads its context can follow. The
    validation loss, which picks the checkpoint, is the mean of the two."""
    from npt_export.prequential import evaluate_rows
    model.eval()
    cfg = model.cfg
    scores = {}
    for name, relabel in (("", lambda y: y), ("_shifted", lambda y: shifted_labels(cfg, y))):
        loss = correct = sq = 0.0
        n = 0
        for g in stream.groups:
            score = g >= stream.val_start
            if not score.any():
                continue
            first = int(score.nonzero()[0])
            # Standardised per key, the rows begin with the key's first, whose statistics standardise the rest.
            idx = g if cfg.standardise_rows else g[max(0, first - cfg.abd_layers * cfg.window):]
            num, cat, y = stream.take(idx)
            y = relabel(y)
            out = evaluate_rows(model, num, cat, y, device=device)
            n_hist = len(idx) - int(score.sum())
            yv = y[n_hist:]
            lab = ~torch.isnan(yv)
            if cfg.task == CLASSIFICATION:
                batch_loss, batch_correct = class_scores(out[0][n_hist:][lab], yv[lab])
                loss += batch_loss
                correct += batch_correct
            else:
                sq += float(((out[0][n_hist:][lab] - yv[lab]) ** 2).sum())
            n += int(lab.sum())
        n = max(1, n)
        if cfg.task == CLASSIFICATION:
            scores.update({f"loss{name}": loss / n, f"val_accuracy{name}": correct / n})
        else:
            scores.update({f"loss{name}": math.sqrt(sq / n), f"val_rmse{name}": math.sqrt(sq / n)})
    model.train()
    return {"val_loss": (scores.pop("loss") + scores.pop("loss_shifted")) / 2, **scores}


# ----------------------------------------------------------------------------- the loop


def fit(model: NPT, tc: TrainConfig, draw_batch, evaluate, keep, device, quiet: bool) -> tuple[int, float]:
    """The optimisation loop: `draw_batch(gen)` gives each step's runs, `evaluate()` the validation
    metrics every eval_every steps, and `keep(step, seconds, metrics)` saves the model at each
    better validation loss; it stops early after `patience` evaluations without one. With 0 steps
    the model as it starts is evaluated and kept. Returns the steps run and the seconds taken."""
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    gen = torch.Generator().manual_seed(tc.seed)
    best, best_metrics, stale, t0, step = math.inf, {}, 0, time.time(), 0
    if tc.steps == 0:
        best_metrics = evaluate()
        keep(0, 0.0, best_metrics)
    bar = tqdm(range(1, tc.steps + 1), disable=quiet, ncols=100, desc="train")
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = lr_at(tc, step)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.bf16):
            loss, l_target, acc = training_loss(model, tc, draw_batch(gen), gen, lam_at(tc, step), device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
        bar.set_postfix(loss=f"{l_target:.3f}", acc=f"{acc:.3f}")
        if step % tc.eval_every == 0 or step == tc.steps:
            metrics = evaluate()
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if metrics["val_loss"] < best:
                best, best_metrics, stale = metrics["val_loss"], metrics, 0
                keep(step, time.time() - t0, metrics)
            else:
                stale += 1
                if stale >= tc.patience:
                    bar.write(f"early stop at step {step}: no better validation loss for {stale} evaluations")
                    break
    seconds = time.time() - t0
    if not quiet:
        print(f"trained {step} steps in {seconds:.0f} s ({step / max(seconds, 1e-9):.2f} steps/s); best {best_metrics}")
    return step, seconds


def model_config(schema: D.Schema, **arch) -> NPTConfig:
    return NPTConfig(
        num_means=[a.mean for a in schema.numeric], num_stds=[a.std for a in schema.numeric],
        cat_sizes=[len(a.categories) + 1 for a in schema.categorical],
        task=schema.task, n_classes=len(schema.classes), y_mean=schema.y_mean, y_std=schema.y_std, **arch)


def train(tc: TrainConfig, cfg_arch: dict, quiet: bool = False, layout: D.Schema | None = None) -> str:
    """Trains, keeps the best checkpoint (by validation loss) in OUT/checkpoint.pt, returns its path.
    With `layout` (a serving model's schema) the model keeps its features, vocabularies and classes."""
    torch.manual_seed(tc.seed)
    np.random.seed(tc.seed)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    if tc.device == "cuda" and not torch.cuda.is_available():
        raise D.DataError("--device cuda but torch sees no CUDA device; use --device cpu")
    if tc.init:     # a fine-tuned model keeps its starting model's architecture, and trains on its runs' shape
        cfg_arch = architecture(tc.init)
        tc = replace(tc, **run_shape(cfg_arch))
    # A prior model served untrained takes nothing from the stream's data: its keys standardise their own rows.
    untrained_prior = bool(tc.init and cfg_arch["feature_slots"] and tc.steps == 0)
    if tc.schema:
        if not untrained_prior:
            raise D.DataError(f"--schema {tc.schema} serves a prior model untrained: add --init PRIOR_CHECKPOINT "
                              f"--steps 0, or train on the stream's rows with --csv")
        schema, stream, begin, end = D.read_schema(tc.schema), None, 0, 0
    else:
        header, rows = D.read_csv(tc.csv)
        begin, end = D.parse_range(tc.rows, len(rows))
        schema = D.infer_schema(header, rows[begin:end], tc.target, key=tc.key, task=layout.task if layout else "auto",
                                categorical=tuple(a.name for a in layout.categorical) if layout else ())
        if layout:
            schema = D.keep_layout(schema, layout)
        stream = Stream(D.encode(schema, header, rows[begin:end], first_row=begin), tc.val_frac)
    if untrained_prior:
        schema = D.unstandardised(schema)
        cfg_arch = {**cfg_arch, "standardise_rows": D.standardising_rows(tc.seq_mult * cfg_arch["window"])}
    cfg = model_config(schema, **cfg_arch)
    if tc.max_row_dim and not tc.init:
        cfg = narrowed(cfg, tc.max_row_dim)
    device = torch.device(tc.device)
    model = NPT(cfg)
    if tc.init:
        start_from(model, tc.init)
    if cfg.feature_slots:
        set_category_values(model, schema)
    model = model.to(device)
    os.makedirs(tc.out, exist_ok=True)
    path = os.path.join(tc.out, CHECKPOINT_FILE)
    step, seconds = fit(model, tc, lambda gen: stream_batch(cfg, tc, stream, gen),
                        lambda: validate(model, stream, device) if stream is not None else {},
                        lambda step, seconds, metrics: save(path, model, schema, tc, step, seconds, metrics),
                        device, quiet)
    ck = torch.load(path, weights_only=False)
    ck["training"].update(steps=step, seconds=seconds, steps_per_second=step / max(seconds, 1e-9), row_begin=begin,
                          row_end=end)
    torch.save(ck, path)
    return path


def fit_architecture(tc: TrainConfig, cfg_arch: dict, quiet: bool = False) -> str:
    """`train` with tc.arch: the architecture it names; for auto each of ARCHITECTURES in OUT/NAME,
    the checkpoint of lowest validation loss then copied to OUT/checkpoint.pt (its training record
    has every candidate's validation loss and seconds); custom trains cfg_arch as given, and so does
    a fine-tune from --init, whose model `train` keeps. Returns the checkpoint's path."""
    if tc.init or tc.arch == "custom":
        return train(tc, cfg_arch, quiet)
    if tc.arch != "auto":
        return train(*with_architecture(tc, cfg_arch, tc.arch), quiet)
    checkpoints = {}
    for name in ARCHITECTURES:
        path = train(*with_architecture(replace(tc, out=os.path.join(tc.out, name)), cfg_arch, name), quiet)
        checkpoints[name] = torch.load(path, weights_only=False)
    fitted = {name: {"val_loss": ck["training"]["metrics"]["val_loss"], "seconds": ck["training"]["seconds"]}
              for name, ck in checkpoints.items()}
    best = min(fitted, key=lambda name: fitted[name]["val_loss"])
    ck = checkpoints[best]
    ck["training"]["architectures"] = fitted
    ck["train"]["out"] = tc.out
    path = os.path.join(tc.out, CHECKPOINT_FILE)
    torch.save(ck, path)
    for name in ARCHITECTURES:
        shutil.rmtree(os.path.join(tc.out, name))
    if not quiet:
        print("kept " + best + "; validation loss " + ", ".join(f"{n} {f['val_loss']:.4f}" for n, f in fitted.items()))
    return path


# Buffers that come from the training rows: a fine-tuned model keeps its own data's.
STANDARDISATION = ("embed.num_mean", "embed.num_std", "embed.cat_values")
# What a fine-tuned model takes from the checkpoint it starts from, besides ARCH_ARGS.
SLOTS = ("feature_slots", "class_slots")


def architecture(checkpoint: str) -> dict:
    """The architecture of `checkpoint` (ARCH_ARGS and its slots), which a model fine-tuned from it keeps."""
    from npt_export.export import load
    _, _, ck = load(checkpoint)
    return {f: ck["config"][f] for f in (*ARCH_ARGS, *SLOTS)}


def start_from(model: NPT, checkpoint: str):
    """Loads the weights of `checkpoint` into `model` (fine-tuning), all but the standardisation
    constants, which stay those of the new rows."""
    from npt_export.export import load
    base, _, _ = load(checkpoint)
    state = {k: v for k, v in base.state_dict().items() if k not in STANDARDISATION}
    try:
        result = model.load_state_dict(state, strict=False)
        mismatch = set(result.missing_keys) - set(STANDARDISATION) or set(result.unexpected_keys)
    except RuntimeError:    # a tensor of another shape
        mismatch = True
    if mismatch:
        raise D.DataError(f"--init {checkpoint}: its features or classes are not this stream's; fine-tune from a "
                          f"model of the same features and classes, or from a prior model (npt_export.prior)")


def set_category_values(model: NPT, schema: D.Schema):
    """A prior model's number for each of the schema's categories (model.category_value); index 0,
    the unknown category, reads as missing whatever its number."""
    values = [v for a in schema.categorical for v in (0.0, *map(category_value, a.categories))]
    model.embed.cat_values.copy_(torch.tensor(values, dtype=torch.float32))


def save(path, model: NPT, schema: D.Schema, tc: TrainConfig, step, seconds, metrics):
    torch.save({
        "config": asdict(model.cfg), "schema": asdict(schema), "train": asdict(tc),
        "state": model.state_dict(),
        "training": {"best_step": step, "steps": step, "seconds": seconds, "metrics": metrics},
    }, path)


def add_field(p: argparse.ArgumentParser, config: type, name: str, **kw):
    """--NAME (dashes for underscores) with the default of the dataclass `config`'s field NAME, so
    that every default is written once, in its dataclass; the type is the default's, a bool is
    --NAME/--no-NAME, unless `kw` says otherwise."""
    default = getattr(config, name)
    if isinstance(default, bool):
        kw.setdefault("action", argparse.BooleanOptionalAction)
    elif default is not None:
        kw.setdefault("type", type(default))
    p.add_argument("--" + name.replace("_", "-"), default=default, **kw)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m npt_export.train", description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    add_field(source, TrainConfig, "csv")
    add_field(source, TrainConfig, "schema", help="a JSON file of the stream's features, target and classes "
              "(model-export/README.md), to serve a prior model untrained (--init PRIOR --steps 0) without any rows")
    add_field(p, TrainConfig, "target")
    add_field(p, TrainConfig, "rows", help="BEGIN:END data rows to train on (header excluded); default all")
    add_field(p, TrainConfig, "key", help="column that partitions the stream (one context per key)")
    p.add_argument("--out", required=True)
    add_field(p, TrainConfig, "device", choices=["cpu", "cuda"])
    add_field(p, TrainConfig, "bf16", action="store_true", help="bf16 autocast (CUDA)")
    add_field(p, NPTConfig, "attention", choices=[CAUSAL, BIDIRECTIONAL])
    for f in ARCH_ARGS[1:]:
        add_field(p, NPTConfig, f)
    add_field(p, TrainConfig, "arch", choices=["auto", *ARCHITECTURES, "custom"],
              help="auto: train each architecture and keep the one of lower validation loss; custom: the flags below")
    add_field(p, TrainConfig, "init", help="a checkpoint.pt to fine-tune from, whose architecture the model keeps: a "
              "prior model's (npt_export.prior), or a stream model's of the same features and classes; with --steps 0 "
              "the prior model serves the stream as it is")
    for f in ("steps", "batch", "seed", "eval_every", "patience", "threads", "seq_mult", "queries", "query_rows",
              "max_row_dim", "lr", "weight_decay", "flat_frac", "p_feature", "p_target", "p_relabel", "p_drift",
              "lam_floor", "lam_anneal_frac", "val_frac"):
        add_field(p, TrainConfig, f)
    p.add_argument("--no-export", dest="export", action="store_false")   # TrainConfig.export is True
    a = p.parse_args(argv)
    given = {t.split("=")[0] for t in argv if t.startswith("--")}
    preset = sorted(given & {"--" + k.replace("_", "-") for fields in ARCHITECTURES.values() for k in fields})
    if preset and a.arch != "custom":
        p.error(f"{preset[0]} is set by --arch {a.arch}; add --arch custom to set it yourself")
    arch = {f: getattr(a, f) for f in ARCH_ARGS}
    tc = TrainConfig(**{k: getattr(a, k) for k in TrainConfig.__dataclass_fields__})
    return tc, arch


def main(argv=None):
    tc, arch = parse_args(argv if argv is not None else sys.argv[1:])
    try:
        path = fit_architecture(tc, arch)
        if tc.export:
            from npt_export.export import export
            export(path, tc.out)
    except (D.DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
