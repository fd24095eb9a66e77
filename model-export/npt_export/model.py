"""The Non-Parametric Transformer (Kossen et al. 2021) in its streaming form, in one file.

A row is a set of d attributes (the features, then the target), each embedded to e values. The
stack alternates attention between datapoints (ABD: rows are tokens of width D = d*e) and
attention between attributes (ABA: the d attributes of one row are the tokens), ABD first.

Two streams run through the same weights (as in XLNet):
- the context stream: rows with their labels visible; a labeled row's per-layer ABD keys and
  values are what later rows attend to, so they are computed once and cached;
- the query stream: the same rows with their labels masked; this is the prediction.
Every row, in both streams, attends to its context rows (the context stream's keys and values,
chosen by a mask) and to itself (its own stream's key and value), never to other queries.

Two context models share that code and differ only in their masks (built in `causal_context`
and `full_context`): CAUSAL, where a row's context is the W labeled rows before it (served as a
STEP graph with a per-layer key/value cache), and BIDIRECTIONAL, where context rows attend to
each other and queries attend to all of them (served as a FULL graph).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

CAUSAL = "causal"
BIDIRECTIONAL = "bidirectional"
CLASSIFICATION = "classification"
REGRESSION = "regression"
# A standardised value (a numeric feature or a regression target) is clamped to this many standard
# deviations inside the graph, so that no finite input, however large, overflows into Inf or NaN.
Z_LIMIT = 100.0
# The smallest standardised std that a regression model predicts (see `z_std`).
STD_FLOOR = 1e-3


@dataclass
class NPTConfig:
    # Schema and preprocessing constants (from data.Schema); they are compiled into the graph.
    num_means: list[float] = field(default_factory=list)
    num_stds: list[float] = field(default_factory=list)
    cat_sizes: list[int] = field(default_factory=list)   # vocabulary size + 1 (index 0 = unknown)
    task: str = CLASSIFICATION
    n_classes: int = 2
    y_mean: float = 0.0
    y_std: float = 1.0
    has_std: bool = True                                 # regression: also predict a std
    # A prior (schema-agnostic) model has this many feature slots and class slots whatever the stream
    # (prior.py): a stream's features fill the first slots, the others read as missing, and its
    # classes the first class slots. 0 = one attribute per feature and one output per class.
    feature_slots: int = 0
    class_slots: int = 0
    # > 0: the numeric features are standardised per key, by the mean and std of the key's first
    # standardise_rows labeled rows (prequential.KeyStatistics, kept in state when served), before
    # the graph, whose constants are then 0 and 1. A prior model served untrained on a stream takes
    # nothing from the stream's data; 0 = the constants above.
    standardise_rows: int = 0
    # Context model.
    attention: str = CAUSAL
    window: int = 256
    recency: bool = True
    # ABD scores a context row by q.k - w_h |k|^2 / 2, a learned weight w_h per head (from 1): at w_h = 1 that
    # is -|q - k|^2 / 2 up to a per-query constant, a distance, so a head can be a sharp kernel smoother
    # over its context, as kNN is. Off: q.k alone, which favours rows of large norm over near ones.
    distance_attention: bool = True
    # The first ABD layer also scores a context row by a Gaussian kernel over the two rows' standardised
    # numbers (`kernel_numbers`), -b_h |s * (x_i - x_j)|^2 / F, a learned sharpness b_h per head (from 16
    # on the head of the slowest recency decay to 1) and weight s per feature (1 in a prior model's slots,
    # which must not learn a column's identity). The rows' numbers ride in the first F dimensions of its
    # keys, so the cache holds them and its width does not change. On in a prior model, which reads a new
    # stream's features without training; off by default in a stream model, which learns its own metric
    # (measured in model-export/README.md).
    feature_kernel: bool = False
    # Architecture.
    embed_dim: int = 16
    abd_layers: int = 2
    aba_layers: int = 2
    heads: int = 4
    # ABD key/value heads, each shared by heads/kv_heads query heads; 0 = heads. 1 (multi-query) caches
    # heads times fewer floats per key, which is what serving many keys costs (deploy/README.md, sizing).
    kv_heads: int = 1
    ff_mult: int = 4
    dropout: float = 0.1
    attn_dropout: float = 0.0          # the paper has 0.1; off by default: its sampling is ~25% of a CPU step

    @property
    def n_num(self) -> int:
        return len(self.num_means)

    @property
    def n_cat(self) -> int:
        return len(self.cat_sizes)

    @property
    def attributes(self) -> int:
        return (self.feature_slots or self.n_num + self.n_cat) + 1

    @property
    def row_dim(self) -> int:
        return self.attributes * self.embed_dim

    @property
    def cache_dim(self) -> int:
        """The width of a cached ABD key or value: kv_heads heads of row_dim/heads."""
        return self.kv_heads * (self.row_dim // self.heads)

    @property
    def target_width(self) -> int:
        if self.task == CLASSIFICATION:
            return self.n_classes
        return 2 if self.has_std else 1

    def __post_init__(self):
        if self.abd_layers not in (self.aba_layers, self.aba_layers + 1):
            raise ValueError("layers alternate ABD, ABA (ABD first): abd_layers must be aba_layers or aba_layers + 1")
        if self.row_dim % self.heads or self.embed_dim % self.heads:
            raise ValueError(f"heads={self.heads} must divide embed_dim={self.embed_dim}")
        if self.kv_heads == 0:
            self.kv_heads = self.heads
        if self.kv_heads < 1 or self.heads % self.kv_heads:
            raise ValueError(f"kv_heads={self.kv_heads} must divide heads={self.heads}")
        if self.feature_slots and self.n_num + self.n_cat > self.feature_slots:
            raise ValueError(f"the stream has {self.n_num + self.n_cat} features, more than the prior model's "
                             f"{self.feature_slots} feature slots; train a stream model instead")
        if self.feature_slots and self.task != CLASSIFICATION:
            raise ValueError("the prior model predicts classes; train a stream model for a regression target")
        if self.class_slots and self.n_classes > self.class_slots:
            raise ValueError(f"the stream has {self.n_classes} classes, more than the prior model's "
                             f"{self.class_slots}; train a stream model instead")
        if self.attention not in (CAUSAL, BIDIRECTIONAL):
            raise ValueError(f"attention must be {CAUSAL} or {BIDIRECTIONAL}, not {self.attention!r}")


def z_std(raw):
    """The std head's raw output -> the predicted std in standardised units (positive, >= STD_FLOOR)."""
    return F.softplus(raw) + STD_FLOOR


# ----------------------------------------------------------------------------- embedding


class RowEmbedding(nn.Module):
    """Raw values -> [.., d, e]. Each attribute has its own Linear(width + mask bit -> e); a
    categorical one is written as an embedding table (a Linear over a one-hot), which is the same
    map without materialising the one-hot.

    A prior model (feature_slots > 0) embeds every feature as a number in a slot: numerics
    standardised, a category as a fixed value drawn from its name (`category_value`), so nothing
    depends on a vocabulary; the slots the stream does not fill read as missing."""

    def __init__(self, cfg: NPTConfig):
        super().__init__()
        e = cfg.embed_dim
        self.cfg = cfg
        self.register_buffer("num_mean", torch.tensor(cfg.num_means, dtype=torch.float32))
        self.register_buffer("num_std", torch.tensor(cfg.num_stds, dtype=torch.float32))
        slots = cfg.feature_slots or cfg.n_num
        self.num_proj = nn.Parameter(torch.randn(slots, 2, e) / math.sqrt(2))  # value, mask bit
        self.num_bias = nn.Parameter(torch.zeros(slots, e))
        if cfg.feature_slots:
            # Every category's value, feature after feature (index 0 = unknown, read as missing).
            self.register_buffer("cat_values", torch.zeros(sum(cfg.cat_sizes)))
            self.cat_offsets = [sum(cfg.cat_sizes[:j]) for j in range(cfg.n_cat)]
        else:
            self.cat_tables = nn.ModuleList(nn.Embedding(v, e) for v in cfg.cat_sizes)
            self.cat_mask = nn.Parameter(torch.randn(cfg.n_cat, e) * 0.02)
        ywidth = (cfg.class_slots or cfg.n_classes) if cfg.task == CLASSIFICATION else 1
        self.y_proj = nn.Linear(ywidth + 1, e)
        self.attr = nn.Parameter(torch.randn(cfg.attributes, e) * 0.02)
        if cfg.feature_slots:
            both = cfg.task == CLASSIFICATION
            ids = [0] * cfg.feature_slots + [1]
        else:
            both = (cfg.n_num > 0) and (cfg.n_cat > 0 or cfg.task == CLASSIFICATION)
            ids = [0] * cfg.n_num + [1] * cfg.n_cat + [1 if cfg.task == CLASSIFICATION else 0]
        self.typed = both
        if both:  # numeric = 0, categorical = 1; the target's type is its task's
            self.register_buffer("type_ids", torch.tensor(ids))
            self.type_embed = nn.Embedding(2, e)
        self.drop = nn.Dropout(cfg.dropout)

    def numbers(self, num, cat, cat_masked):
        """The features as standardised numbers [.., F], NaN where missing: a stream model's numeric
        features; a prior model's feature slots, its categories as their values, unfilled slots NaN."""
        cfg = self.cfg
        parts = [((num - self.num_mean) / self.num_std).clamp(-Z_LIMIT, Z_LIMIT)]
        if not cfg.feature_slots:
            return parts[0]
        for j, size in enumerate(cfg.cat_sizes):
            idx = cat[..., j]
            known = (idx > 0) & (idx < size) & ~cat_masked[..., j]
            value = self.cat_values[self.cat_offsets[j] + idx.clamp(0, size - 1)]
            parts.append(torch.where(known, value, torch.full_like(value, float("nan")))[..., None])
        free = cfg.feature_slots - cfg.n_num - cfg.n_cat
        parts.append(torch.full((*num.shape[:-1], free), float("nan"), dtype=num.dtype, device=num.device))
        return torch.cat(parts, -1)

    def forward(self, numbers, cat, cat_masked, y):
        """numbers [..,F] (`numbers`, NaN = missing or masked), cat [..,Fc] index (0 = unknown),
        cat_masked [..,Fc] bool, y [..] raw (NaN = masked). Returns [.., d, e]."""
        cfg = self.cfg
        parts = []
        if numbers.shape[-1]:
            miss = torch.isnan(numbers)
            z = zero_missing(numbers)
            inp = torch.stack([z, miss.to(z.dtype)], -1)                       # [.., Fn, 2]
            parts.append(torch.einsum("...fi,fie->...fe", inp, self.num_proj) + self.num_bias)
        if not cfg.feature_slots:
            for j, table in enumerate(self.cat_tables):
                idx = cat[..., j]
                idx = torch.where((idx < 0) | (idx >= table.num_embeddings), torch.zeros_like(idx), idx)
                bit = cat_masked[..., j, None].to(self.attr.dtype)
                parts.append((table(idx) * (1 - bit) + bit * self.cat_mask[j])[..., None, :])
        miss = torch.isnan(y)
        y0 = torch.where(miss, torch.zeros_like(y), y)
        if cfg.task == CLASSIFICATION:
            width = cfg.class_slots or cfg.n_classes
            onehot = F.one_hot(y0.long().clamp(0, width - 1), width).to(y.dtype)
            val = onehot * (~miss)[..., None].to(y.dtype)
        else:
            val = ((y0 - cfg.y_mean) / cfg.y_std).clamp(-Z_LIMIT, Z_LIMIT)[..., None]
        parts.append(self.y_proj(torch.cat([val, miss[..., None].to(y.dtype)], -1))[..., None, :])
        h = torch.cat(parts, -2) + self.attr
        if self.typed:
            h = h + self.type_embed(self.type_ids)
        return self.drop(h)


def rows_of(t, idx):
    """t [B,M,...] -> [B,Q,...]: the rows idx [B,Q] of each batch element."""
    return t[torch.arange(t.shape[0], device=t.device)[:, None], idx]


def zero_missing(x):
    return torch.where(torch.isnan(x), torch.zeros_like(x), x)


def kernel_numbers(numbers):
    """A row's numbers for the feature kernel: 0 where missing, and scaled by sqrt(F / present), so
    that a squared distance is a mean over the numbers the row has, whether a stream fills 3 of a
    prior model's 32 slots or all of them."""
    present = (~torch.isnan(numbers)).sum(-1, keepdim=True).clamp(min=1).to(numbers.dtype)
    return zero_missing(numbers) * torch.sqrt(numbers.shape[-1] / present)


def category_value(name: str) -> float:
    """A prior model's number for a category: N(0, 1), drawn from a hash of its name, so that the
    same category has the same value in any model and no vocabulary is learned."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return float(torch.randn((), generator=torch.Generator().manual_seed(seed)))


class RowHeads(nn.Module):
    """One Linear(e -> width) per attribute, without the mask bit. A prior model predicts its
    numeric features only, and its target over the class slots the stream fills."""

    def __init__(self, cfg: NPTConfig):
        super().__init__()
        e = cfg.embed_dim
        self.cfg = cfg
        slots = cfg.feature_slots or cfg.n_num
        self.num = nn.Parameter(torch.randn(slots, e) / math.sqrt(e))
        self.num_bias = nn.Parameter(torch.zeros(slots))
        self.cat = nn.ModuleList(nn.Linear(e, v) for v in ([] if cfg.feature_slots else cfg.cat_sizes))
        self.target = nn.Linear(e, cfg.class_slots or cfg.target_width)

    def target_out(self, h):
        return self.target(h[..., -1, :])[..., : self.cfg.target_width]

    def features(self, h):
        """Standardised numeric predictions [.., Fn] and categorical logits (a list)."""
        n = self.cfg.n_num
        num = torch.einsum("...fe,fe->...f", h[..., :n, :], self.num[:n]) + self.num_bias[:n]
        cats = [head(h[..., n + j, :]) for j, head in enumerate(self.cat)]
        return num, cats


# ----------------------------------------------------------------------------- attention


def heads_of(x, kv: int, dh: int):
    """[B,P,kv*dh] -> [B,kv,P,dh]: key/value heads, each shared by a group of query heads."""
    B, P, _ = x.shape
    if kv == 1:
        return x.view(B, 1, P, dh)           # no transpose: the cache is read as it is stored
    return x.view(B, P, kv, dh).transpose(1, 2)


def attend(q, kvs, mask, bias, k_self, v_self, self_bias, penalties, heads: int, drop: nn.Module):
    """Multi-head attention of each query to its context (masked) and to itself, with grouped
    keys and values: kv = Dkv / (D / heads) key/value heads, each shared by g = heads / kv query
    heads (kv = heads is plain multi-head attention, kv = 1 multi-query attention).

    q [B,S,n,D]: S streams of n queries that share one context, its mask [B,n,P], bias [B,h,n,P]
    or None and penalties; kvs: the context's (k, v) pairs [B,P_i,Dkv], in order (the cache, then
    this call's rows), attended as one context of P = sum P_i rows without concatenating them;
    k_self, v_self [B,S,n,Dkv]; self_bias [h] or None; penalties: None, or what each head subtracts
    from the scores of the keys of each kvs pair [B,kv,g,1,P_i] and of k_self flattened to
    [B,kv,g,1,S*n] (ABD's distance terms, `ABD.penalty`). Returns [B,S,n,D].

    All queries that read a key/value head (its g query heads, every stream) are the rows of one
    matrix product with the context's keys, and then with its values: with few queries a key, as
    when many keys share a call, the cost is reading the context, once per product. The self term
    is its own softmax column, so a row with an empty context still has a well-defined output, and
    no query ever sees another query."""
    B, S, n, D = q.shape
    dh = D // heads
    kv = k_self.shape[-1] // dh
    g = heads // kv
    q = q.view(B, S, n, kv, g, dh).permute(0, 3, 1, 4, 2, 5)                  # [B,kv,S,g,n,dh]
    ks, vs = (t.view(B, S, n, kv, 1, dh).permute(0, 3, 1, 4, 2, 5) for t in (k_self, v_self))
    parts = [(heads_of(k, kv, dh), heads_of(v, kv, dh)) for k, v in kvs]      # [B,kv,P_i,dh]
    scale = 1.0 / math.sqrt(dh)
    q = q * scale
    rows = q.reshape(B, kv, S * g * n, dh)
    s_ctx = torch.cat([rows @ k.transpose(-1, -2) for k, _ in parts], -1)
    P = s_ctx.shape[-1]
    s_self = (q * ks).sum(-1, keepdim=True)                                    # [B,kv,S,g,n,1]
    # What the scores get besides q.k, summed on the context's terms [B,kv,g,n,P] before they
    # are broadcast over the streams: one pass over the scores, not one per term.
    terms = torch.zeros((), dtype=q.dtype, device=q.device)
    if penalties is not None:
        context_penalties, self_penalty = penalties
        terms = terms - torch.cat(context_penalties, -1) * scale
        s_self = s_self - self_penalty.view(B, kv, g, S, n, 1).transpose(2, 3) * scale
    if bias is not None:
        terms = terms + bias.view(B, kv, g, n, P)
        s_self = s_self + self_bias.view(1, kv, 1, g, 1, 1)
    terms = terms.masked_fill(~mask[:, None, None], float("-inf"))
    s_ctx = s_ctx.view(B, kv, S, g, n, P) + terms[:, :, None]
    p = drop(torch.softmax(torch.cat([s_ctx, s_self], -1), -1))
    out = p[..., P:] * vs
    start = 0
    for k, v in parts:
        P_i = k.shape[-2]
        out = out + (p[..., start:start + P_i].reshape(B, kv, S * g * n, P_i) @ v).view(B, kv, S, g, n, dh)
        start += P_i
    return out.permute(0, 2, 4, 1, 3, 5).reshape(B, S, n, D)                   # [B,kv,S,g,n,dh] -> [B,S,n,D]


class FeedForward(nn.Module):
    def __init__(self, width: int, cfg: NPTConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, cfg.ff_mult * width), nn.GELU(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.ff_mult * width, width), nn.Dropout(cfg.dropout))

    def forward(self, x):
        return self.net(x)


class ABA(nn.Module):
    """Attention between the d attributes of each row (no mask), pre-LayerNorm."""

    def __init__(self, cfg: NPTConfig):
        super().__init__()
        e = cfg.embed_dim
        self.heads = cfg.heads
        self.ln1, self.ln2 = nn.LayerNorm(e), nn.LayerNorm(e)
        self.qkv = nn.Linear(e, 3 * e)
        self.out = nn.Linear(e, e)
        self.res = nn.Linear(e, e, bias=False)
        self.ff = FeedForward(e, cfg)
        self.drop = nn.Dropout(cfg.attn_dropout)

    def forward(self, h):                                                     # [..., d, e]
        shape = h.shape
        x = h.reshape(-1, shape[-2], shape[-1])
        q, k, v = self.qkv(self.ln1(x)).chunk(3, -1)
        B, d, e = x.shape
        dh = e // self.heads
        q, k, v = (t.view(B, d, self.heads, dh).transpose(1, 2) for t in (q, k, v))
        p = self.drop(torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(dh), -1))
        a = (p @ v).transpose(1, 2).reshape(B, d, e)
        res = self.res(x) + self.out(a)
        return (res + self.ff(self.ln2(res))).reshape(shape)


class ABD(nn.Module):
    """Attention between datapoints, pre-LayerNorm, for both streams. Rows are tokens of width D.

    With recency, the score of a context row gets a per-head bias -a_h * log(age) (an ALiBi-like
    power-law decay, learned per head); a row's keys never depend on the age, so they stay cacheable.
    The distance terms (NPTConfig.distance_attention, feature_kernel) are computed from the keys too."""

    def __init__(self, cfg: NPTConfig, first: bool):
        super().__init__()
        D, Dkv = cfg.row_dim, cfg.cache_dim
        self.heads, self.kv_heads, self.dh = cfg.heads, cfg.kv_heads, D // cfg.heads
        features = cfg.feature_slots or cfg.n_num
        self.kernel_dims = features if first and cfg.feature_kernel else 0
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v = nn.Linear(D, D), nn.Linear(D, Dkv), nn.Linear(D, Dkv)
        with torch.no_grad():
            # Keys start as the queries (each key head as the first query head of its group), so
            # the first scores are similarities between rows: the model starts as a kernel smoother
            # over its context (kNN-like), which is where reading the context's labels begins;
            # training then shapes the metric.
            g, dh = cfg.heads // cfg.kv_heads, self.dh
            self.k.weight.copy_(self.q.weight.view(cfg.kv_heads, g, dh, D)[:, 0].reshape(Dkv, D))
            # The kernel's dimensions start as the features alone.
            for lin in (self.q, self.k):
                lin.weight.view(-1, dh, D)[:, :self.kernel_dims] = 0
                lin.bias.view(-1, dh)[:, :self.kernel_dims] = 0
        self.out = nn.Linear(D, D)
        self.res = nn.Linear(D, D, bias=False)
        self.ff = FeedForward(D, cfg)
        self.drop = nn.Dropout(cfg.attn_dropout)
        self.recency = cfg.recency
        if cfg.recency:
            # Slopes spread from ~0 (uniform over the window) to 2 (the newest rows), like ALiBi.
            init = torch.linspace(0.05, 2.0, cfg.heads)
            self.decay = nn.Parameter(torch.log(torch.expm1(init)))           # softplus^-1
            self.self_bias = nn.Parameter(torch.zeros(cfg.heads))
        self.norm_weight = nn.Parameter(torch.ones(cfg.heads)) if cfg.distance_attention else None
        if self.kernel_dims:
            # log b_h, the sharpest kernel on the head of the slowest recency decay, the widest on the fastest.
            self.kernel_sharpness = nn.Parameter(torch.linspace(math.log(16.0), 0.0, cfg.heads))
            # s: a prior model learns no weight per slot, which would be a column's identity (all 1).
            scale = torch.ones(self.kernel_dims)
            if cfg.feature_slots:
                self.register_buffer("kernel_scale", scale)
            else:
                self.kernel_scale = nn.Parameter(scale)

    def kernel_weight(self):
        """a_h = 2 b_h sqrt(dh) / F: with the attention's 1/sqrt(dh), a_h (x_i.x_j - |x_j|^2 / 2) is
        -b_h |x_i - x_j|^2 / F up to a per-query constant."""
        return torch.exp(self.kernel_sharpness) * (2 * math.sqrt(self.dh) / self.kernel_dims)

    def kernel_inputs(self, z, x_q, k):
        """Adds the rows' weighted numbers z [B,n,F] to the first F dimensions of every key head of
        k [B,n,Dkv] and, times a_h, of every query head of x_q [B,n,D] (None: rows that ask nothing)."""
        if not self.kernel_dims:
            return x_q, k
        u = F.pad(z * self.kernel_scale, (0, self.dh - self.kernel_dims))                  # [B,n,dh]
        k = k + u.repeat(1, 1, self.kv_heads)
        q = None if x_q is None else x_q + (self.kernel_weight()[:, None] * u[..., None, :]).flatten(-2)
        return q, k

    def penalty(self, k):
        """What each head subtracts from a key's score: w_h |k|^2 / 2 over the learned dimensions
        (distance_attention) and a_h |k|^2 / 2 over the kernel's. k [B,P,Dkv] -> [B,kv,g,1,P]. Computed
        once per layer for the context's keys, which both streams attend to."""
        kv, g = self.kv_heads, self.heads // self.kv_heads
        k = heads_of(k, kv, self.dh)[:, :, None]
        out = 0
        # |k|^2 as a norm squared: one ReduceL2 pass over the keys in ONNX Runtime, not a product and a sum.
        if self.norm_weight is not None:
            learned = torch.linalg.vector_norm(k[..., self.kernel_dims:], dim=-1).square()
            out = self.norm_weight.view(1, kv, g, 1, 1) * learned[..., None, :] / 2
        if self.kernel_dims:
            kern = torch.linalg.vector_norm(k[..., :self.kernel_dims], dim=-1).square()
            out = out + self.kernel_weight().view(1, kv, g, 1, 1) * kern[..., None, :] / 2
        return out

    def bias(self, age):
        if not self.recency:
            return None
        slope = F.softplus(self.decay).view(1, -1, 1, 1)
        return -slope * torch.log(age.clamp(min=1.0))[:, None]

    def forward(self, h_ctx, h_q, prefix_k, prefix_v, ctx, z_ctx, z_q, ctx_out: bool = True):
        """h_ctx [B,n_ctx,D] (context stream), h_q [B,n_q,D] (query stream); prefix_k/v [B,P,D]:
        context rows from earlier calls (the cache). ctx: the Context (masks and ages over the P
        prefix rows followed by the n_ctx context-stream rows); z_ctx, z_q [B,n,F]: the rows'
        `kernel_numbers`. Returns the new h_ctx (None without ctx_out: only the context stream's keys
        and values are wanted), h_q and the context stream's keys and values [B,n_ctx,D]."""
        x_ctx, x_q = self.ln1(h_ctx), self.ln1(h_q)
        # Without ctx_out the context rows are only keys and values: their queries are not computed.
        q_ctx, k_ctx = self.kernel_inputs(z_ctx, self.q(x_ctx) if ctx_out else None, self.k(x_ctx))
        q_q, k_q = self.kernel_inputs(z_q, self.q(x_q), self.k(x_q))
        v_ctx, v_q = self.v(x_ctx), self.v(x_q)
        # An empty prefix (the FULL graph, training) is left out: a 0-row reshape is not exportable.
        empty = isinstance(prefix_k.shape[1], int) and prefix_k.shape[1] == 0
        kvs = ((k_ctx, v_ctx),) if empty else ((prefix_k, prefix_v), (k_ctx, v_ctx))
        sb = self.self_bias if self.recency else None
        pens = None
        if self.norm_weight is not None or self.kernel_dims:
            pens = [self.penalty(k) for k, _ in kvs]

        def streams(q, mask, age, k_self, v_self):
            penalties = None if pens is None else (pens, self.penalty(k_self.flatten(1, 2)))
            return attend(q, kvs, mask, self.bias(age), k_self, v_self, sb, penalties, self.heads, self.drop)

        if not ctx_out:
            a_q = streams(q_q[:, None], ctx.mask_q, ctx.age_q, k_q[:, None], v_q[:, None])[:, 0]
            return None, self.update(h_q, a_q), k_ctx, v_ctx
        if ctx.mask_ctx is ctx.mask_q:
            # The two streams of the same rows (STEP): one pass over the context's keys and values
            # for both, which is what a call costs when the context is long and the rows a key few.
            a = streams(torch.stack([q_ctx, q_q], 1), ctx.mask_q, ctx.age_q,
                        torch.stack([k_ctx, k_q], 1), torch.stack([v_ctx, v_q], 1))
            a_ctx, a_q = a[:, 0], a[:, 1]
        else:
            a_ctx = streams(q_ctx[:, None], ctx.mask_ctx, ctx.age_ctx, k_ctx[:, None], v_ctx[:, None])[:, 0]
            a_q = streams(q_q[:, None], ctx.mask_q, ctx.age_q, k_q[:, None], v_q[:, None])[:, 0]
        return self.update(h_ctx, a_ctx), self.update(h_q, a_q), k_ctx, v_ctx

    def update(self, h, a):
        res = self.res(h) + self.out(a)
        return res + self.ff(self.ln2(res))


# ----------------------------------------------------------------------------- context masks


@dataclass
class Context:
    """Which context rows each row of each stream attends to, and their ages (all masks built here)."""
    mask_ctx: torch.Tensor        # [B,n_ctx,P+n_ctx] bool: the context stream's rows
    age_ctx: torch.Tensor         # [B,n_ctx,P+n_ctx] float
    mask_q: torch.Tensor          # [B,n_q,P+n_ctx]: the query stream's rows
    age_q: torch.Tensor


def causal_context(cache_valid, labeled, window) -> Context:
    """STEP semantics (proto/README.md): row i attends to cache slot p if it is valid and its age
    (Wc - p) + c_i is at most `window`, and to x row j < i if j is labeled and c_i - c_j <= window,
    where c_i counts the labeled rows among x[0..i). Both streams of a row share this context."""
    Wc = cache_valid.shape[1]
    M = labeled.shape[1]
    lab = labeled.to(torch.int64)
    c = torch.cumsum(lab, 1) - lab                                             # [B,M]
    slot = torch.arange(Wc, device=labeled.device)
    age_cache = (Wc - slot)[None, None, :] + c[:, :, None]                     # [B,M,Wc]
    mask_cache = cache_valid[:, None, :] & (age_cache <= window)
    idx = torch.arange(M, device=labeled.device)
    age_x = c[:, :, None] - c[:, None, :]                                      # [B,M(i),M(j)]
    before = idx[None, :, None] > idx[None, None, :]
    mask_x = before & labeled[:, None, :] & (age_x <= window)
    mask = torch.cat([mask_cache, mask_x], 2)
    age = torch.cat([age_cache, age_x], 2).to(torch.float32)
    return Context(mask, age, mask, age)


def full_context(ctx_valid, n_queries: int) -> Context:
    """FULL semantics: context rows attend to every other valid context row, queries to every valid
    context row (each row also attends to itself, in `attend`). The age of a context row is its rank
    from the newest valid one (1 = newest); between two context rows it is their rank difference."""
    B, W = ctx_valid.shape
    v = ctx_valid.to(torch.int64)
    rank = torch.flip(torch.cumsum(torch.flip(v, [1]), 1), [1])               # [B,W], newest = 1
    idx = torch.arange(W, device=ctx_valid.device)
    other = idx[:, None] != idx[None, :]
    mask_ctx = ctx_valid[:, None, :] & other[None]
    age_ctx = (rank[:, :, None] - rank[:, None, :]).abs().to(torch.float32)
    mask_q = ctx_valid[:, None, :].expand(B, n_queries, W)
    age_q = rank[:, None, :].expand(B, n_queries, W).to(torch.float32)
    return Context(mask_ctx, age_ctx, mask_q, age_q)


# ----------------------------------------------------------------------------- the model


class NPT(nn.Module):
    def __init__(self, cfg: NPTConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = RowEmbedding(cfg)
        blocks = []
        for i in range(cfg.abd_layers + cfg.aba_layers):
            blocks.append(ABD(cfg, first=i == 0) if i % 2 == 0 else ABA(cfg))
        self.blocks = nn.ModuleList(blocks)
        self.heads = RowHeads(cfg)

    def run(self, emb_ctx, emb_q, prefix_k, prefix_v, ctx: Context, z_ctx, z_q, ctx_out: bool = True):
        """emb_ctx [B,n_ctx,d,e] (context stream), emb_q [B,n_q,d,e] (query stream); prefix_k/v:
        per ABD layer [B,P,D]; z_ctx, z_q: the rows' `kernel_numbers`. Returns the final h_ctx (None
        without ctx_out: the context stream then stops at the last ABD layer's keys and values, all
        that the queries read of it), h_q and the context stream's per-ABD-layer keys and values
        [B,L,n_ctx,D]."""
        h_ctx, h_q = emb_ctx, emb_q
        ks, vs = [], []
        for block in self.blocks:
            if isinstance(block, ABD):
                s_ctx, s_q = h_ctx.shape, h_q.shape
                layer = len(ks)
                more = ctx_out or layer + 1 < self.cfg.abd_layers
                c, q, k, v = block(h_ctx.flatten(-2), h_q.flatten(-2), prefix_k[layer], prefix_v[layer], ctx,
                                   z_ctx, z_q, more)
                h_ctx, h_q = c.view(s_ctx) if more else None, q.view(s_q)
                ks.append(k)
                vs.append(v)
            else:
                h_ctx, h_q = block(h_ctx) if h_ctx is not None else None, block(h_q)
        return h_ctx, h_q, torch.stack(ks, 1), torch.stack(vs, 1)

    def _inputs(self, num, cat, like):
        """Fill absent feature kinds with empty tensors so that one code path serves every schema."""
        shape = like.shape
        if num is None:
            num = like.new_zeros(*shape, 0)
        if cat is None:
            cat = torch.zeros(*shape, 0, dtype=torch.int64, device=like.device)
        return num, cat

    def step(self, cache_k, cache_v, cache_valid, x_num, x_cat, x_y, x_valid,
             window=None, y_context=None, cat_masked=None, queries=None):
        """The CAUSAL computation (the STEP graph, and the training forward over a run of rows with
        an empty cache). `y_context` (training only) replaces the labels the context stream sees, for
        stochastic target masking; `cat_masked` (training only) marks masked categorical entries;
        `queries` [B,Q] (training only) are the rows of x that the query stream predicts (all of them
        by default): a run's context rows cost little, its queries' attention over their windows a lot.
        cache_k/v: per ABD layer [B,W,Dc] (the STEP graph's inputs, one per layer: a slice of one
        stacked input is a copy in ONNX Runtime), or stacked [B,L,W,Dc] (training, evaluation).
        Returns (h_q, new_k, new_v, ctx)."""
        if torch.is_tensor(cache_k):
            cache_k, cache_v = cache_k.unbind(1), cache_v.unbind(1)
        x_num, x_cat = self._inputs(x_num, x_cat, x_y)
        if window is None:
            window = cache_k[0].shape[1]
        if cat_masked is None:
            cat_masked = torch.zeros_like(x_cat, dtype=torch.bool)
        labeled = x_valid & ~torch.isnan(x_y)
        ctx = causal_context(cache_valid, labeled, window)
        y_ctx = x_y if y_context is None else y_context
        numbers = self.embed.numbers(x_num, x_cat, cat_masked)
        emb_ctx = self.embed(numbers, x_cat, cat_masked, y_ctx)
        z = kernel_numbers(numbers)
        q_rows = numbers, x_cat, cat_masked, x_y, z
        if queries is not None:
            ctx = Context(ctx.mask_ctx, ctx.age_ctx, rows_of(ctx.mask_q, queries), rows_of(ctx.age_q, queries))
            q_rows = tuple(rows_of(t, queries) for t in q_rows)
        q_numbers, q_cat, q_masked, q_y, z_q = q_rows
        emb_q = self.embed(q_numbers, q_cat, q_masked, torch.full_like(q_y, float("nan")))
        _, h_q, k, v = self.run(emb_ctx, emb_q, cache_k, cache_v, ctx, z, z_q, ctx_out=False)
        return h_q, k, v, ctx

    def full(self, ctx_num, ctx_cat, ctx_y, ctx_valid, q_num, q_cat, q_valid,
             y_context=None, ctx_cat_masked=None, q_cat_masked=None):
        """The BIDIRECTIONAL computation (the FULL graph). Returns (h_ctx, h_q, ctx)."""
        ctx_num, ctx_cat = self._inputs(ctx_num, ctx_cat, ctx_y)
        q_like = torch.zeros(q_valid.shape, dtype=ctx_y.dtype, device=ctx_y.device)
        q_num, q_cat = self._inputs(q_num, q_cat, q_like)
        if ctx_cat_masked is None:
            ctx_cat_masked = torch.zeros_like(ctx_cat, dtype=torch.bool)
        if q_cat_masked is None:
            q_cat_masked = torch.zeros_like(q_cat, dtype=torch.bool)
        ctx = full_context(ctx_valid, q_valid.shape[1])
        y_ctx = ctx_y if y_context is None else y_context
        ctx_numbers = self.embed.numbers(ctx_num, ctx_cat, ctx_cat_masked)
        q_numbers = self.embed.numbers(q_num, q_cat, q_cat_masked)
        emb_ctx = self.embed(ctx_numbers, ctx_cat, ctx_cat_masked, y_ctx)
        emb_q = self.embed(q_numbers, q_cat, q_cat_masked, torch.full_like(q_like, float("nan")))
        empty = [ctx_y.new_zeros(ctx_y.shape[0], 0, self.cfg.cache_dim)] * self.cfg.abd_layers
        h_ctx, h_q, _, _ = self.run(emb_ctx, emb_q, empty, empty, ctx, kernel_numbers(ctx_numbers),
                                    kernel_numbers(q_numbers))
        return h_ctx, h_q, ctx

    def predict(self, h):
        """Final hidden [.., d, e] -> the graph's outputs in raw units: (probs,) or (mean,) or (mean, std)."""
        out = self.heads.target_out(h)
        cfg = self.cfg
        if cfg.task == CLASSIFICATION:
            return (torch.softmax(out, -1),)
        mean = out[..., 0] * cfg.y_std + cfg.y_mean
        if not cfg.has_std:
            return (mean,)
        return mean, z_std(out[..., 1]) * cfg.y_std
