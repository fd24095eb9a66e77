"""The trainer's choice of architecture (--arch, train.ARCHITECTURES)."""
import random
import shlex

import pytest
import torch

from npt_export.export import training_command
from npt_export.model import NPTConfig
from npt_export.train import ARCHITECTURES, CHECKPOINT_FILE, RUN_SHAPE, fit_architecture, narrowed, parse_args, run_shape


def write_stream(tmp_path, features=2):
    data = tmp_path / "s.csv"
    rnd = random.Random(0)
    rows = [[rnd.gauss(0, 1) for _ in range(features)] for _ in range(400)]
    header = ",".join(f"f{j}" for j in range(features))
    data.write_text(header + ",target\n" + "".join(",".join(map(str, r)) + f",{int(r[0] + r[1] > 0)}\n" for r in rows))
    return str(data)


def quick(data, out, *flags):
    return parse_args(["--csv", data, "--out", str(out), "--steps", "2", "--eval-every", "1", "--batch", "1",
                       "--threads", "1", "--no-export", *flags])


def test_auto_keeps_the_architecture_of_lower_validation_loss(tmp_path):
    out = tmp_path / "model"
    tc, arch = quick(write_stream(tmp_path), out)
    ck = torch.load(fit_architecture(tc, arch, quiet=True), weights_only=False)
    fitted = ck["training"]["architectures"]
    assert set(fitted) == set(ARCHITECTURES)
    kept = min(fitted, key=lambda name: fitted[name]["val_loss"])
    assert ck["train"]["arch"] == kept and ck["config"]["abd_layers"] == ARCHITECTURES[kept]["abd_layers"]
    assert ck["config"]["window"] == ARCHITECTURES[kept]["window"]
    assert sorted(p.name for p in out.iterdir()) == [CHECKPOINT_FILE]      # the candidates' folders are gone
    again, _ = parse_args(shlex.split(training_command(ck))[3:])            # the manifest's command runs
    assert again.arch == kept and again.out == str(out)


def test_an_architecture_flag_needs_arch_custom(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--csv", "s.csv", "--out", "m", "--window=512"])
    assert "--window is set by --arch auto; add --arch custom to set it yourself" in capsys.readouterr().err
    tc, arch = parse_args(["--csv", "s.csv", "--out", "m", "--arch", "custom", "--window", "512"])
    assert arch["window"] == 512 and tc.arch == "custom"


def test_retraining_keeps_an_architectures_run_shape():
    long = {k: v for k, v in ARCHITECTURES["long"].items() if k not in RUN_SHAPE}
    assert run_shape({**long, "heads": 4}) == {"seq_mult": 1, "query_rows": 256, "max_row_dim": 512}
    assert run_shape({**long, "window": 512}) == {}


def test_a_fine_tune_trains_on_its_starting_models_run_shape(tmp_path):
    data = write_stream(tmp_path)
    start = fit_architecture(*quick(data, tmp_path / "long", "--arch", "long"), quiet=True)
    ck = torch.load(fit_architecture(*quick(data, tmp_path / "tuned", "--init", start), quiet=True), weights_only=False)
    assert ck["config"]["abd_layers"] == 1 and ck["config"]["window"] == ARCHITECTURES["long"]["window"]
    trained = {k: ck["train"][k] for k in RUN_SHAPE}
    assert run_shape(ck["config"]) == trained == {"seq_mult": 1, "query_rows": 256, "max_row_dim": 512}


def test_a_wide_stream_narrows_the_embedding(tmp_path):
    def config(attributes, embed_dim):
        return NPTConfig(num_means=[0.0] * (attributes - 1), num_stds=[1.0] * (attributes - 1), embed_dim=embed_dim, heads=4)
    assert [narrowed(config(a, 16), 256).embed_dim for a in (9, 16, 17, 22, 55, 300)] == [16, 16, 12, 8, 4, 4]
    assert narrowed(config(9, 8), 256).embed_dim == 8          # never wider than asked
    data = write_stream(tmp_path, features=20)                                        # 21 attributes
    for arch, embed_dim in (("deep", 12), ("long", 16), ("custom", 16)):
        ck = torch.load(fit_architecture(*quick(data, tmp_path / arch, "--arch", arch), quiet=True), weights_only=False)
        assert ck["config"]["embed_dim"] == embed_dim
