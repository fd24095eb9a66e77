"""The model store and retraining with a serving model's layout (the Kafka reading is exercised by
`make demo DEMO_RETRAIN=1`, against a real broker)."""
import csv
import os

import pytest

from npt_export import data as D
from npt_export.export import export
from npt_export import retrain
from npt_export.retrain import architecture_of, layout_of, write_csv
from npt_export.store import LATEST, StoreError, latest, publish, read_manifest, version_dir
from npt_export.train import TrainConfig, train
from nptstream.v1 import stream_pb2 as spb


def test_publish_writes_a_whole_version_folder_once_and_points_latest_at_it(exported, tmp_path):
    store = tmp_path / "store"
    a, b = exported["causal-cls"], exported["causal-cls-retrained"]
    va = publish(a, str(store))
    assert latest(str(store)) == va == read_manifest(a).model_version
    assert sorted(os.listdir(store / va)) == ["checkpoint.pt", "golden.pb", "manifest.json", "manifest.pb", "model.onnx"]
    vb = publish(b, "file://" + str(store), latest=False)
    assert latest(str(store)) == va, "--no-latest leaves LATEST"
    assert publish(b, str(store)) == vb and latest(str(store)) == vb
    assert sorted(p for p in os.listdir(store)) == sorted([va, vb, LATEST]), "no staging folder is left"
    assert version_dir(str(store), "latest") == str(store / vb)
    with pytest.raises(StoreError, match="is not in"):
        version_dir(str(store), "0000000000000000")
    with pytest.raises(StoreError, match="copy the version folder"):
        publish(a, "s3://bucket/models")


def test_retraining_keeps_the_serving_models_layout(exported, tmp_path):
    """New rows that lack a category and a class still give a model of the serving layout, so that
    the job's gate accepts the swap."""
    base = read_manifest(exported["causal-cls"])
    layout = layout_of(base)
    with open(os.path.join(exported["causal-cls"], "data.csv")) as f:
        rows = list(csv.DictReader(f))
    records = []
    for i, r in enumerate(rows):
        if r["color"] == "white" or r["target"] == "2":
            continue
        rec = spb.Record(key=r["key"], id=str(i), label_class=r["target"], categorical={"color": r["color"]})
        for name in ("load", "temp"):
            rec.numeric[name] = float(r[name]) if r[name] else float("nan")
        records.append(rec)
    data = tmp_path / "records.csv"
    assert write_csv(records, layout, str(data)), "several keys: a key column"
    tc = TrainConfig(csv=str(data), target=layout.target, key="_key", out=str(tmp_path / "m"), steps=4, eval_every=2,
                     threads=1)
    manifest = export(train(tc, architecture_of(base), quiet=True, layout=layout), str(tmp_path / "m"))
    assert [(a.name, a.kind, list(a.categories)) for a in manifest.features] == \
        [(a.name, a.kind, list(a.categories)) for a in base.features]
    assert list(manifest.target.classes) == list(base.target.classes)
    assert manifest.context.max_window == base.context.max_window
    assert manifest.architecture.cache_dim == base.architecture.cache_dim
    assert manifest.model_version != base.model_version

    # Fine-tuned from the serving model's checkpoint: its weights, the new rows' constants.
    tc.init, tc.out = os.path.join(exported["causal-cls"], "checkpoint.pt"), str(tmp_path / "f")
    tuned = export(train(tc, architecture_of(base), quiet=True, layout=layout), tc.out)
    assert [a.name for a in tuned.features] == [a.name for a in base.features]
    tc.init = os.path.join(exported["causal-reg"], "checkpoint.pt")
    with pytest.raises(D.DataError, match="its features or classes are not this stream's"):
        train(tc, architecture_of(base), quiet=True, layout=layout)


def test_a_layout_the_new_rows_do_not_fit_is_one_line():
    layout = D.Schema([D.Attribute("a", "numeric"), D.Attribute("b", "categorical", categories=["x"])], "y", "classification",
                      classes=["0", "1"])
    inferred = D.Schema([D.Attribute("a", "numeric")], "y", "classification", classes=["0"])
    with pytest.raises(D.DataError, match="feature 'b' of the serving model is not in the new rows"):
        D.keep_layout(inferred, layout)


def test_retraining_on_drift_refuses_what_it_cannot_follow_in_one_line(exported, tmp_path, capsys):
    """Before it reaches any broker: a regression model (its detector counts a classifier's errors)
    and options that only a one-off retrain takes."""
    regression, classifier = str(tmp_path / "reg"), str(tmp_path / "cls")
    publish(exported["causal-reg"], regression)
    publish(exported["causal-cls"], classifier)
    for store, extra, why in ((regression, [], "is a regression model"),
                              (classifier, ["--last", "500", "--base", "latest"], "--last, --base with --on-drift")):
        with pytest.raises(SystemExit) as stop:
            retrain.main(["--bootstrap", "127.0.0.1:1", "--store", store, "--on-drift", *extra])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.startswith("error: ") and why in err and err.count("\n") == 1, err
