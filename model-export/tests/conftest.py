import pytest
import torch

from npt_export import fixtures
from npt_export.model import BIDIRECTIONAL, CAUSAL, CLASSIFICATION, NPT, NPTConfig, REGRESSION

torch.set_num_threads(1)


def tiny(attention=CAUSAL, recency=True, task=CLASSIFICATION, window=8, seed=0, n_cat=1, kv_heads=0,
         distance_attention=True, feature_kernel=False, layers=2) -> NPT:
    """A small random model (2 numeric + n_cat categorical features), in eval mode; kv_heads 1 =
    multi-query ABD attention."""
    torch.manual_seed(seed)
    cfg = NPTConfig(num_means=[1.0, -2.0], num_stds=[2.0, 0.5], cat_sizes=[5] * n_cat, task=task,
                    n_classes=3, y_mean=3.0, y_std=2.0, attention=attention, window=window,
                    recency=recency, distance_attention=distance_attention, feature_kernel=feature_kernel,
                    embed_dim=8, abd_layers=layers, aba_layers=layers, heads=2, kv_heads=kv_heads)
    return NPT(cfg).eval()


def rows(model: NPT, *shape, p_unlabeled=0.3, seed=0):
    """Random raw rows (with NaN features and unlabeled rows) for `model`."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    num = torch.randn(*shape, cfg.n_num, generator=g) * 2
    num[torch.rand(num.shape, generator=g) < 0.1] = float("nan")
    cat = torch.randint(0, 5, (*shape, cfg.n_cat), generator=g)
    y = torch.randint(0, 3, shape, generator=g).float()
    y[torch.rand(shape, generator=g) < p_unlabeled] = float("nan")
    return num, cat, y


# Smaller and shorter than the Java tests' fixtures: the Python tests only need real exported graphs.
QUICK = fixtures.Size(window=8, steps=4, batch=2, eval_every=2, patience=5, queries=4, attn_dropout=0.0, prior_steps=2)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Real exported models, trained a few steps on the fixtures' synthetic streams."""
    root = tmp_path_factory.mktemp("models")
    return {name: fixtures.build(root, name, spec, QUICK) for name, spec in fixtures.FIXTURES.items()}
