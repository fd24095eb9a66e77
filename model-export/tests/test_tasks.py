"""Training tasks (tasks.py): labels the weights cannot memorise, and drifts inside a run."""
import torch

from conftest import rows, tiny
from npt_export.model import REGRESSION
from npt_export.tasks import relabel_runs


def runs(model, B=64, S=40):
    num, cat, y = rows(model, B, S)
    num = num.nan_to_num(0.0)
    return num, cat, y


def test_no_task_keeps_the_streams_labels():
    m = tiny()
    num, cat, y = runs(m)
    out = relabel_runs(m.cfg, num, cat, y, 0.0, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(out.nan_to_num(-1), y.nan_to_num(-1))


def test_tasks_give_valid_classes_and_keep_unlabeled_rows_unlabeled():
    m = tiny()
    num, cat, y = runs(m)
    out = relabel_runs(m.cfg, num, cat, y, 1.0, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(torch.isnan(out), torch.isnan(y))
    lab = out[~torch.isnan(out)]
    assert ((lab >= 0) & (lab < m.cfg.n_classes) & (lab == lab.round())).all()
    assert (out.nan_to_num(-1) != y.nan_to_num(-1)).any(), "some runs get other labels"


def test_a_drift_changes_the_labels_from_one_point_of_the_run_on():
    m = tiny()
    num, cat, y = runs(m, B=200, S=40)
    out = relabel_runs(m.cfg, num, cat, y, 0.0, 1.0, torch.Generator().manual_seed(2))
    changed = (out != y) & ~torch.isnan(y)
    first = torch.where(changed.any(1), changed.float().argmax(1), torch.full((200,), 40))
    assert (first >= 40 // 4).all(), "the first quarter of every run keeps the stream's labels"
    assert changed.any(1).float().mean() > 0.8, "most drifts change some label after them"


def test_regression_tasks_keep_the_targets_scale():
    m = tiny(task=REGRESSION)
    num, cat, _ = runs(m)
    y = m.cfg.y_mean + m.cfg.y_std * torch.randn(num.shape[:2], generator=torch.Generator().manual_seed(3))
    out = relabel_runs(m.cfg, num, cat, y, 1.0, 0.0, torch.Generator().manual_seed(4))
    assert torch.isfinite(out).all()
    assert abs(out.mean().item() - m.cfg.y_mean) < 1.5 * m.cfg.y_std
    assert 0.2 * m.cfg.y_std < out.std().item() < 5 * m.cfg.y_std
