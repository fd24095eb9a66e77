"""The prior (prior.py) and a prior model serving a stream it was not trained on."""
import math
from dataclasses import replace

import torch

from npt_export import data as D
from npt_export.model import NPT, category_value
from npt_export.prior import PriorConfig, draw_batch, draw_run, pretrain
from npt_export.train import STANDARDISATION, model_config, set_category_values

PC = PriorConfig(feature_slots=6, class_slots=4, window=16, embed_dim=8)


def test_the_prior_is_deterministic_by_seed():
    def batch(seed):
        return draw_batch(PC, 3, 64, torch.Generator().manual_seed(seed))
    a, b, c = batch(0), batch(0), batch(1)
    assert torch.equal(a[0].nan_to_num(-9), b[0].nan_to_num(-9)) and torch.equal(a[2], b[2])
    assert not torch.equal(a[0].nan_to_num(-9), c[0].nan_to_num(-9))


def test_a_run_fills_random_slots_with_standardised_features_and_a_few_classes():
    gen = torch.Generator().manual_seed(0)
    filled = set()
    for _ in range(40):
        num, y = draw_run(PC, 200, gen)
        present = ~torch.isnan(num).all(0)
        assert 1 <= int(present.sum()) <= PC.feature_slots
        filled |= set(present.nonzero()[:, 0].tolist())
        assert 0 <= int(y.min()) and int(y.max()) < PC.class_slots
        head = num[:50, present]
        assert float(torch.nanmean(head).abs()) < 0.5       # standardised by the run's first quarter
    assert filled == set(range(PC.feature_slots))            # no slot is a fixed column


def test_a_category_has_one_value_whatever_the_model():
    assert category_value("red") == category_value("red")
    values = [category_value(f"c{i}") for i in range(200)]
    assert len(set(values)) == 200
    assert abs(sum(values) / 200) < 0.3 and 0.7 < math.sqrt(sum(v * v for v in values) / 200) < 1.3


def bound_model(schema):
    """A random prior model, bound to `schema` as `train --init PRIOR` binds it."""
    torch.manual_seed(0)
    prior = NPT(model_config(D.Schema([D.Attribute(f"f{i}", "numeric") for i in range(PC.feature_slots)], "y",
                                      D.CLASSIFICATION, [str(c) for c in range(PC.class_slots)]),
                             window=16, embed_dim=8, feature_slots=PC.feature_slots, class_slots=PC.class_slots))
    model = NPT(model_config(schema, window=16, embed_dim=8, feature_slots=PC.feature_slots, class_slots=PC.class_slots))
    state = {k: v for k, v in prior.state_dict().items() if k not in STANDARDISATION}
    assert set(model.load_state_dict(state, strict=False).missing_keys) == set(STANDARDISATION)
    set_category_values(model, schema)
    return model.eval()


def test_a_prior_model_serves_a_stream_of_its_own_schema():
    schema = D.Schema([D.Attribute("load", "numeric", mean=10, std=3), D.Attribute("temp", "numeric"),
                       D.Attribute("color", "categorical", categories=["red", "blue"])], "target", D.CLASSIFICATION,
                      ["a", "b", "c"])
    model = bound_model(schema)
    assert model.embed.cat_values.tolist() == [0.0, category_value("red"), category_value("blue")]
    num = torch.tensor([[[10.0, 0.5], [13.0, float("nan")], [7.0, -1.0]]])
    cat = torch.tensor([[[1], [2], [0]]])
    y = torch.tensor([[0.0, 2.0, float("nan")]])
    empty = torch.zeros(1, 2, 16, model.cfg.cache_dim)
    h_q, _, _, _ = model.step(empty, empty, torch.zeros(1, 16, dtype=torch.bool), num, cat, y,
                              torch.ones(1, 3, dtype=torch.bool))
    probs = model.predict(h_q)[0]
    assert probs.shape == (1, 3, 3)                          # the stream's classes only
    assert torch.allclose(probs.sum(-1), torch.ones(1, 3))
    # The slots the stream does not fill read as missing: the same as a missing value there.
    slots = model.embed.numbers(num, cat, torch.zeros_like(cat, dtype=torch.bool))
    assert slots.shape == (1, 3, PC.feature_slots) and torch.isnan(slots[..., 3:]).all()
    assert torch.isnan(slots[0, 2, 2])                       # the unknown category
    assert float(slots[0, 0, 0]) == 0.0 and float(slots[0, 0, 2]) == category_value("red")


def test_pretraining_continues_from_a_prior_checkpoint(tmp_path):
    pc = PriorConfig(out=str(tmp_path / "a"), feature_slots=4, class_slots=3, window=8, embed_dim=8, steps=1, val_runs=1,
                     eval_every=1)
    first = pretrain(pc, quiet=True)
    again = torch.load(pretrain(replace(pc, out=str(tmp_path / "b"), steps=0, init=first), quiet=True), weights_only=False)
    start = torch.load(first, weights_only=False)
    assert again["train"]["init"] == first and again["prior"]["init"] == first
    assert all(torch.equal(v, again["state"][k]) for k, v in start["state"].items())


def test_a_schema_file_serves_the_prior_model_with_no_rows(exported, tmp_path, capsys):
    """`--schema FILE` binds the prior model with none of the stream's rows, into the same graph as
    the binding over its CSV, untrained (prior-cls-zero-shot): nothing of the rows is in it."""
    import json
    from nptstream.v1 import manifest_pb2 as mpb
    from npt_export.export import MANIFEST_FILE
    from npt_export.train import main
    folder = exported["prior-cls-zero-shot"]
    bound = mpb.Manifest()
    with open(f"{folder}/{MANIFEST_FILE}", "rb") as f:
        bound.ParseFromString(f.read())
    spec = {"features": [{"name": a.name, "kind": "numeric" if a.kind == mpb.Attribute.NUMERIC else "categorical",
                          "categories": list(a.categories)} for a in bound.features],
            "target": bound.target.name, "classes": list(bound.target.classes), "key": "key"}
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(spec))
    out = tmp_path / "model"
    main(["--schema", str(schema), "--init", bound.training.init, "--steps", "0", "--out", str(out)])
    served = mpb.Manifest()
    with open(out / MANIFEST_FILE, "rb") as f:
        served.ParseFromString(f.read())
    assert served.model_version == bound.model_version and served.context.standardise_rows == 16
    assert served.training.data == str(schema) and " --schema " in served.training.command
    # Without --init PRIOR --steps 0 a schema has nothing to serve: one line says what to add.
    try:
        main(["--schema", str(schema), "--out", str(tmp_path / "no")])
    except SystemExit as e:
        assert e.code == 2 and "--init PRIOR_CHECKPOINT --steps 0" in capsys.readouterr().err
    else:
        raise AssertionError("a schema without a prior model was accepted")
