"""Retrain on drift, replayed: what `npt_export.retrain --on-drift` adds where a stream model's
context cannot carry a new concept. A replay of a stream model on the last 80% of a stream, each
row predicted before it joins its key's context, under the policy of `npt_export.drift`: a drift
detector on the served model's errors, fine-tunes on the rows since a drift (as `npt_export.retrain`
does: same layout, from its checkpoint), each serving from the next row on if it passes its test.
The time a fine-tune takes is not replayed: in a job its swap comes that much later.

    python -m npt_export.evidence.drift_retrain NAME --csv STREAM.csv --model CHECKPOINT [--key COL] [--steps 200] [--rows N]

N is by default `drift.FIRST_ROWS` (512), as `npt_export.retrain --on-drift` has it.
Prints each drift and retrain, then the accuracy on the last 80% and per 1,000 rows, without and
with the retrains. Classification only.
"""
from __future__ import annotations

import tempfile

import numpy as np

from npt_export import data as D
from npt_export.drift import FIRST_ROWS, FineTune, RetrainsOnDrift, held_out_share, held_out_start, predictions_from
from npt_export.evidence.context import BLOCK, TRAIN_SHARE, per_block, stream_parser
from npt_export.export import load
from npt_export.prequential import predictions
from npt_export.train import TrainConfig, train


def fine_tune(csv: str, target: str, key: str | None, checkpoint: str, begin: int, end: int, steps: int, out: str) -> str:
    """`npt_export.retrain`'s fine-tune, on rows begin:end of the CSV: the served model's layout and
    architecture, from its checkpoint."""
    layout = load(checkpoint)[1]
    tc = TrainConfig(csv=csv, target=target, key=key, rows=f"{begin}:{end}", out=out, steps=steps, init=checkpoint,
                     val_frac=held_out_share(end - begin), export=False)
    return train(tc, {}, quiet=True, layout=layout)


def main(argv=None):
    p = stream_parser("drift_retrain", __doc__)
    p.add_argument("--model", required=True, help="the stream model's checkpoint.pt")
    p.add_argument("--steps", type=int, default=200, help="fine-tuning steps a retrain")
    p.add_argument("--rows", type=int, default=FIRST_ROWS, help="N: labeled rows after a drift before its first fine-tune")
    p.add_argument("--predictions", help="a CSV to write the scored rows' predictions to: row,label,predicted,model")
    a = p.parse_args(argv)
    header, rows = D.read_csv(a.csv)
    start = int(len(rows) * TRAIN_SHARE)
    served, schema, _ = load(a.model)
    table = D.encode(schema, header, rows)
    y = table.y.astype(np.int64)
    base = predictions(served, table)
    pred, model_of = base.copy(), np.zeros(len(rows), dtype=np.int64)
    served_checkpoint, tuned = a.model, None     # tuned: the last fine-tune's predictions from its held-out rows on

    with tempfile.TemporaryDirectory(prefix="npt-drift-retrain-") as tmp:
        def tune(begin: int, end: int) -> FineTune:
            nonlocal tuned
            checkpoint = fine_tune(a.csv, a.target, a.key, served_checkpoint, begin, end, a.steps, f"{tmp}/{end}")
            # Its own held-out rows (the end of its rows), where it and the served model are compared.
            held_out = begin + held_out_start(end - begin)
            tuned = predictions_from(load(checkpoint)[0], table, held_out)
            return tested(checkpoint, begin, held_out, end)

        def retest(refused: FineTune, end: int) -> FineTune:
            # `tuned` is still the refused fine-tune's: a newer one would have replaced it as the candidate.
            return tested(refused.checkpoint, refused.begin, refused.held_out, end)

        def tested(checkpoint: str, begin: int, held_out: int, end: int) -> FineTune:
            """The last fine-tune (`tuned`) and the served model on rows held_out:end."""
            return FineTune(checkpoint, begin, end, held_out, tuned[:end - held_out] == y[held_out:end],
                            pred[held_out:end] == y[held_out:end])

        loop = RetrainsOnDrift(a.rows, tune, retest, seen=start,
                               say=lambda line: print(f"{a.name}: {line}", flush=True))
        # The last row's outcome can change nothing after it.
        for i in range(start, len(rows) - 1):
            loop.observe(bool(pred[i] == y[i]))
            serving = loop.retrain()
            if serving:
                served_checkpoint = serving.checkpoint
                pred[serving.end:] = tuned[serving.end - serving.held_out:]
                model_of[serving.end:] = model_of[serving.end - 1] + 1
    retrains = int(model_of[-1])
    for label, out in (("without retrains", base), (f"with {retrains} retrains", pred)):
        ok = (out == y)[start:]
        print(f"{a.name}, {label}: accuracy {100 * ok.mean():.2f}% | per {BLOCK} rows: {per_block(ok)}", flush=True)
    if a.predictions:
        with open(a.predictions, "w") as f:
            f.write("row,label,predicted,model\n")
            f.writelines(f"{i},{y[i]},{pred[i]},{model_of[i]}\n" for i in range(start, len(rows)))


if __name__ == "__main__":
    main()
