"""Retrain on drift (`npt_export.drift`, replayed by `npt_export.evidence.drift_retrain` as the
bench's NPT-retrain): the detector, the schedule and test of a drift's fine-tunes, the replay from
the middle of a stream, and the whole loop on a stream whose concept changes."""
import csv

import numpy as np
import torch

from conftest import rows, tiny
from npt_export import data as D
from npt_export.drift import HDDM_A, FineTune, Retrains, RetrainsOnDrift, beats, predictions_from, replay_start
from npt_export.evidence import drift_retrain
from npt_export.fixtures import write_drifting_csv
from npt_export.prequential import evaluate_rows, predictions
from npt_export.train import TrainConfig, train


def drifts(errors) -> list[int]:
    detector = HDDM_A()
    found = []
    for i, e in enumerate(errors):
        if detector.drift(bool(e)):
            found.append(i)
            detector.reset()
    return found


def test_the_detector_finds_a_jump_in_the_error_rate_and_nothing_in_a_steady_one():
    rng = np.random.default_rng(0)
    steady = rng.random(4000) < 0.1
    assert drifts(steady) == []
    jump = np.concatenate([steady, rng.random(2000) < 0.4])
    found = drifts(jump)
    assert found and 4000 <= found[0] < 4150, found


def test_a_fine_tune_must_beat_the_served_model_beyond_chance():
    def outcomes(both, tuned_only, served_only):
        tuned = np.array([True] * (both + tuned_only) + [False] * served_only)
        served = np.array([True] * both + [False] * tuned_only + [True] * served_only)
        return tuned, served

    assert beats(*outcomes(30, 10, 2))
    assert not beats(*outcomes(30, 4, 1)), "3 rows better of 51 is chance"
    assert not beats(*outcomes(30, 2, 10))


def test_a_replay_from_the_middle_gives_the_outputs_of_the_replay_from_the_start():
    model = tiny(window=8, n_cat=1)
    num, cat, y = rows(model, 300, p_unlabeled=0.3)
    keys = [f"k{i % 3}" if i % 7 else "k3" for i in range(300)]
    table = D.Table(num.numpy(), cat.numpy(), y.numpy(), keys)
    with torch.no_grad():
        for key in sorted(set(keys)):
            mine = np.flatnonzero(np.array(keys) == key)
            whole = evaluate_rows(model, num[mine], cat[mine], y[mine])[0]
            for row in range(0, 300, 7):
                first = replay_start(table, row, model.cfg.abd_layers * model.cfg.window)
                kept = mine[mine >= first]
                part = evaluate_rows(model, num[kept], cat[kept], y[kept])[0]
                later = kept >= row
                torch.testing.assert_close(part[later], whole[np.isin(mine, kept[later])], atol=1e-5, rtol=0)
        assert (predictions_from(model, table, 150) == predictions(model, table)[150:]).all()


def test_a_drift_is_followed_by_retrains_that_serve_from_the_row_after_their_data(tmp_path, capsys):
    data = str(tmp_path / "stream.csv")
    write_drifting_csv(data, rows=1500, change=900)
    tc = TrainConfig(csv=data, target="target", rows="0:300", out=str(tmp_path / "model"), steps=200, batch=4,
                     eval_every=50, p_relabel=0.0, p_drift=0.0, threads=1, export=False)
    checkpoint = train(tc, dict(window=16, embed_dim=8, abd_layers=1, aba_layers=1, heads=2), quiet=True)
    out = tmp_path / "predictions.csv"
    drift_retrain.main(["drifting", "--csv", data, "--model", checkpoint, "--steps", "100", "--rows", "300",
                        "--predictions", str(out)])
    printed = capsys.readouterr().out
    with open(out) as f:
        served = list(csv.DictReader(f))
    assert [int(r["row"]) for r in served] == list(range(300, 1500))
    model_of = [int(r["model"]) for r in served]
    assert "drift detected at row" in printed
    assert model_of == sorted(model_of) and model_of[-1] >= 1, printed
    first_swap = model_of.index(1) + 300
    assert f"fine-tuned on rows " in printed and f":{first_swap} " in printed and f"serving from row {first_swap}" in printed


def test_a_drifts_fine_tunes_face_the_test_until_one_serves_then_must_only_do_no_worse():
    better = np.array([True] * 40 + [False] * 10), np.array([True] * 20 + [False] * 30)
    slightly_worse = np.array([True] * 39 + [False] * 11), np.array([True] * 40 + [False] * 10)
    equal = np.array([True] * 26 + [False] * 24), np.array([True] * 25 + [False] * 25)
    marginal = np.array([True] * 46 + [False] * 4), np.array([True] * 40 + [False] * 10)
    assert beats(*marginal), "6 rows better of 6 differing is beyond chance in one test at 5%"
    schedule = Retrains(first=100)
    schedule.on_drift(1000)
    assert not schedule.take(1099) and schedule.take(1100)
    assert not schedule.serves(*marginal), "but not at 5% over a drift's six tests"
    assert not schedule.serves(*equal), "a drift's first fine-tune must beat the served model beyond chance"
    assert schedule.take(1200), "a refused fine-tune leaves the drift's later ones due"
    assert not schedule.serves(*equal), "so must the next, while none has served (a gradual drift)"
    assert schedule.take(1400)
    assert schedule.serves(*better)
    assert not schedule.serves(*slightly_worse)
    assert schedule.serves(*equal), "after one served, no worse is enough"
    assert [end for end in range(1400, 5000) if schedule.take(end)] == [1800, 2600, 4200], \
        "and the doubling goes on while the concept holds"
    assert [end for end in range(5000, 10 ** 5, 100) if schedule.take(end)] == [7400, 13800], \
        "up to fine-tunes on MAX_ROWS"
    refusing = Retrains(first=100)
    refusing.on_drift(1000)
    assert [end for end in range(1000, 5000) if refusing.take(end)] == [1100, 1200, 1400], \
        "while none serves, three fine-tunes a drift"
    schedule.on_drift(3000)
    assert not schedule.serves(*equal), "a new drift's fine-tunes face the test again"


def test_a_refused_fine_tune_is_tested_once_more_on_twice_its_rows_and_serves_if_it_then_wins():
    calls = []

    def fine_tune(begin, end):      # as good as the served model on its 20 held-out rows: refused
        calls.append(("fine-tune", begin, end))
        return FineTune("tuned", begin, end, end - 20, np.ones(20, bool), np.ones(20, bool))

    def retest(refused, end):       # then right on every row where the served model is right on half
        calls.append(("again", refused.end, end))
        rows = end - refused.held_out
        return FineTune(refused.checkpoint, refused.begin, end, refused.held_out, np.ones(rows, bool),
                        np.arange(rows) % 2 == 0)

    loop = RetrainsOnDrift(100, fine_tune, retest, say=lambda line: None)
    served = []
    for correct in [True] * 500 + [False] * 30 + [True] * 400:
        loop.observe(correct)
        if loop.due() and loop.retrain():
            served.append(loop.seen)
    drift = loop.schedule.drift
    assert 500 < drift <= 530
    assert calls[:2] == [("fine-tune", drift, drift + 100), ("again", drift + 100, drift + 120)], calls
    assert served[0] == drift + 120, "the second test, on 40 rows, passes"
    assert ("again", drift + 200, drift + 220) not in calls, "once one has served, no worse is enough: no second tests"
