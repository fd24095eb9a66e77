"""Does a stream model learn from its context? Train on the first 20% of a CSV stream, then score
the rest prequentially, and probe: the same rows with every class label c shifted to (c + 1) mod C.

    python -m npt_export.evidence.context NAME --csv STREAM.csv --out DIR [train options]

Prints one line: accuracy on the last 80%, the share of those rows whose prediction follows the
shifted labels (a model that predicts from its weights alone scores about 0%, one that reads its
context about 100%), the training time and the accuracy per 1,000 scored rows. The train options
are `npt_export.train`'s (`--rows` defaults to the first 20%). Classification only.
"""
from __future__ import annotations

import argparse
import sys
import time

from npt_export import data as D
from npt_export.export import load
from npt_export.prequential import predictions
from npt_export.train import fit_architecture, parse_args, shifted_labels

TRAIN_SHARE = 0.2
BLOCK = 1000


def per_block(ok) -> str:
    """Accuracy per BLOCK scored rows, in whole percent: "92 93 91 60 ..."."""
    return " ".join(f"{100 * ok[i:i + BLOCK].mean():.0f}" for i in range(0, len(ok), BLOCK))


def stream_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """The arguments every evidence script over a CSV stream takes: a name, the CSV, its target and key columns."""
    p = argparse.ArgumentParser(prog=f"python -m npt_export.evidence.{module}", description=doc.split("\n\n")[0])
    p.add_argument("name")
    p.add_argument("--csv", required=True)
    p.add_argument("--target", default="target")
    p.add_argument("--key")
    return p


def follow_rate(model, table, start: int) -> float:
    """Share of rows from `start` whose prediction moves with the context's shifted labels."""
    before = predictions(model, table)
    after = predictions(model, table, lambda y: shifted_labels(model.cfg, y))
    return float((after == (before + 1) % model.cfg.n_classes)[start:].mean())


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    name = argv.pop(0)
    header, rows = D.read_csv(argv[argv.index("--csv") + 1])
    start = int(len(rows) * TRAIN_SHARE)
    if "--rows" not in argv:
        argv += ["--rows", f"0:{start}"]
    tc, arch = parse_args(argv + ["--no-export"])
    t0 = time.time()
    model, schema, ck = load(fit_architecture(tc, arch, quiet=True))
    seconds = time.time() - t0
    table = D.encode(schema, header, rows)
    ok = (predictions(model, table) == table.y)[start:]
    follows = follow_rate(model, table, start)
    kept = f"{ck['train']['arch']}, best step {ck['training']['best_step']}"
    print(f"{name}: accuracy {100 * ok.mean():.2f}%, follows shifted labels {100 * follows:.1f}%, "
          f"trained {seconds:.0f} s ({kept}) | per {BLOCK} rows: {per_block(ok)}", flush=True)


if __name__ == "__main__":
    main()
