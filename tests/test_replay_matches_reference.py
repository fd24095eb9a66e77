"""End to end across modules: the Flink job's replay mode (Java, ONNX Runtime, keyed state, the
cache, micro-batching) predicts a fixture's whole CSV exactly as model-export's Python reference
does, one record at a time with PyTorch."""
import csv
import os
import pathlib
import subprocess

import numpy as np
import pytest

from npt_export import data as D
from npt_export.export import load
from npt_export.fixtures import DATA_FILE
from npt_export.prequential import KeyedReference
from npt_export.train import CHECKPOINT_FILE

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "build" / "fixtures"
CLASSPATH = ROOT / "build" / "flink-job.classpath"
TOLERANCE = 1e-4


def reference(model_dir: pathlib.Path):
    model, schema, _ = load(str(model_dir / CHECKPOINT_FILE))
    header, rows = D.read_csv(str(model_dir / DATA_FILE))
    schema.key = "key"
    table = D.encode(schema, header, rows)
    server = KeyedReference(model)
    out = []
    for i in range(len(table)):
        s = server.process(table.keys[i], table.num[i], table.cat[i], float(table.y[i]))
        out.append((table.keys[i], [o.flatten().tolist() for o in s.outputs], s.context_size))
    return schema, out


def replay(model_dir: pathlib.Path, out: pathlib.Path, *options: str):
    tmp = out.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    cmd = ["java", f"-Djava.io.tmpdir={tmp}", "-cp",
           f"{ROOT / 'flink-job/target/classes'}:{CLASSPATH.read_text().strip()}",
           "io.nptstream.flink.job.Replay", "--csv", str(model_dir / DATA_FILE), "--key", "key",
           "--model.dir", str(model_dir), "--out", str(out), *options]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    with open(out, newline="") as f:
        return done.stdout, sorted(csv.DictReader(f), key=lambda r: int(r["row"]))


@pytest.mark.parametrize("name,options", [
    ("causal-cls", ["--batch.size", "32"]),
    ("causal-cls", ["--batch.size", "1", "--inference", "recompute"]),
    ("bidir-cls", ["--batch.size", "16"]),
    ("causal-reg", ["--batch.size", "64"]),
    ("causal-cls-long", ["--batch.size", "32"]),
    ("prior-cls", ["--batch.size", "32"]),
    ("prior-cls-zero-shot", ["--batch.size", "32"]),
])
def test_java_replay_matches_python_reference(name, options, tmp_path):
    model_dir = FIXTURES / name
    if not CLASSPATH.exists() or not (model_dir / CHECKPOINT_FILE).exists():
        pytest.fail(f"{CLASSPATH} or {model_dir} is missing: run `make test-e2e`, which builds them")
    schema, expected = reference(model_dir)
    summary, got = replay(model_dir, tmp_path / "predictions.csv", *options)

    assert len(got) == len(expected), summary
    worst = 0.0
    for row, (key, outputs, context_size) in zip(got, expected):
        assert row["key"] == key
        assert int(row["context_size"]) == context_size, row
        if schema.task == D.CLASSIFICATION:
            probs = [float(p) for p in row["probabilities"].split(";")]
            worst = max(worst, float(np.max(np.abs(np.array(probs) - np.array(outputs[0])))))
            assert row["predicted"] == schema.classes[int(np.argmax(outputs[0]))]
        else:
            worst = max(worst, abs(float(row["predicted"]) - outputs[0][0]))
            if len(outputs) > 1:
                worst = max(worst, abs(float(row["std"]) - outputs[1][0]))
    assert worst <= TOLERANCE, f"max abs difference {worst:.2e} between Java and the Python reference"
