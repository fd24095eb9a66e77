"""`retrain --on-drift` against a real broker (deploy/kafka.sh): it follows a job's predictions, and
on a drift it fine-tunes the served version on the input topic's records since the drift, tests
it, publishes it and asks the job to swap. The job here is its Python reference: the records on
the input topic, and on the output topic the predictions that the served model makes of them
(which the Flink job gives to 1e-4: test_replay_matches_reference.py). A second test of a refused
fine-tune, which the drift here does not bring, is driven directly."""
import os
import pathlib
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from npt_export import data as D
from npt_export.export import export, load
from npt_export.fixtures import write_drifting_csv
from npt_export.prequential import predictions
from npt_export.retrain import INPUT_TOPIC, PREDICTIONS_TOPIC, TopicFineTunes
from npt_export.store import CONTROL_TOPIC, latest, publish, read_manifest
from npt_export.train import TrainConfig, train
from nptstream.v1 import stream_pb2 as spb

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROWS, CHANGE, TRAIN_ROWS = 2400, 900, 300


def free_port_pair() -> int:
    """A port whose next one is free too (the broker's controller listens there)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as t:
            try:
                t.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    folder, port = tmp_path_factory.mktemp("kafka"), free_port_pair()
    subprocess.run([str(ROOT / "deploy" / "kafka.sh"), "start", str(folder), str(port)], check=True, timeout=300)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ROOT / "deploy" / "kafka.sh"), "stop", str(folder)], timeout=120)


def lines_of(process) -> queue.Queue:
    out = queue.Queue()
    threading.Thread(target=lambda: [out.put(line) for line in process.stdout], daemon=True).start()
    return out


def wait_for(lines: queue.Queue, text: str, seconds: float, seen: list) -> str:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r} within {seconds} s; it printed:\n" + "".join(seen))


@dataclass
class Served:
    """A model trained on the drifting stream's first concept, exported, and the stream."""
    folder: str
    rows: list
    table: D.Table
    schema: D.Schema
    predicted: np.ndarray


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    folder = tmp_path_factory.mktemp("served")
    data = str(folder / "stream.csv")
    write_drifting_csv(data, ROWS, CHANGE)
    tc = TrainConfig(csv=data, target="target", rows=f"0:{TRAIN_ROWS}", out=str(folder / "model"), steps=200, batch=4,
                     eval_every=50, p_relabel=0.0, p_drift=0.0, threads=1)
    checkpoint = train(tc, dict(window=128, embed_dim=8, abd_layers=1, aba_layers=1, heads=2), quiet=True)
    export(checkpoint, tc.out)
    model, schema, _ = load(checkpoint)
    header, rows = D.read_csv(data)
    table = D.encode(schema, header, rows)
    return Served(tc.out, rows, table, schema, predictions(model, table))


def created(broker: str, *topics: str):
    admin = AdminClient({"bootstrap.servers": broker})
    for f in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        f.result(30)


def record(m: Served, i: int) -> bytes:
    """Row i of the stream as the job's input record."""
    return spb.Record(key="k", id=str(i), numeric={"a": float(m.rows[i][0]), "b": float(m.rows[i][1])},
                      label_class=m.schema.classes[int(m.table.y[i])]).SerializeToString()


def test_a_drift_in_the_predictions_is_retrained_tested_published_and_swapped(broker, served, tmp_path):
    store = str(tmp_path / "store")
    version = publish(served.folder, store)
    predicted, table, schema = served.predicted, served.table, served.schema
    assert (predicted == table.y)[TRAIN_ROWS:CHANGE].mean() > 0.85, "the served model knows the first concept"
    assert (predicted == table.y)[CHANGE + 300:].mean() < 0.5, "and does not follow the second through its context"

    created(broker, INPUT_TOPIC, PREDICTIONS_TOPIC, CONTROL_TOPIC)
    follower = subprocess.Popen(
        [sys.executable, "-m", "npt_export.retrain", "--bootstrap", broker, "--store", store, "--on-drift",
         "--steps", "100", "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    printed = []
    try:
        lines = lines_of(follower)
        wait_for(lines, f"following {PREDICTIONS_TOPIC}", 120, printed)

        producer = Producer({"bootstrap.servers": broker})
        for i in range(TRAIN_ROWS, ROWS):
            producer.produce(INPUT_TOPIC, record(served, i), key=b"k")
            producer.produce(PREDICTIONS_TOPIC, spb.Prediction(key="k", id=str(i), predicted_class=schema.classes[predicted[i]],
                                                               model_version=version, label_class=schema.classes[int(table.y[i])]
                                                               ).SerializeToString(), key=b"k")
        assert producer.flush(30) == 0

        detected = wait_for(lines, "drift detected at row", 120, printed)
        assert int(detected.rsplit(" ", 1)[1]) >= CHANGE - TRAIN_ROWS, "no drift before the change"
        wait_for(lines, "serving from row", 900, printed)
        published = wait_for(lines, "published", 120, printed)
    finally:
        follower.terminate()    # SIGTERM, as a service is stopped (a SIGINT may be ignored in a background CI job)
        follower.wait(60)
        print("".join(printed))     # what it told its user: shown by pytest -rP or on a failure

    new = published.split("published ", 1)[1].split(" ", 1)[0]
    assert new != version and latest(store) == new
    assert [a.name for a in read_manifest(os.path.join(store, new)).features] == ["a", "b"]
    assert os.path.isfile(os.path.join(store, new, "checkpoint.pt")), "the drift's next fine-tune starts from it"
    control = Consumer({"bootstrap.servers": broker, "group.id": "test", "auto.offset.reset": "earliest"})
    control.subscribe([CONTROL_TOPIC])
    try:
        msg = None
        for _ in range(30):
            msg = control.poll(1.0)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None and spb.ModelSwap.FromString(msg.value()).model_version == new, "".join(printed)
    finally:
        control.close()
    assert follower.returncode == 0, "".join(printed)


def test_a_fine_tunes_second_test_reads_the_topics_newer_records_and_keeps_its_first_tests_outcomes(broker, served, tmp_path):
    """What `retrain --on-drift` does where a refused fine-tune is tested again (`TopicFineTunes`):
    its first test on the newest records when it was due, its second on those and the ones since."""
    topic = "records-second-test"
    created(broker, topic)
    store = str(tmp_path / "store")
    tunes = TopicFineTunes(broker, topic, store, publish(served.folder, store), str(tmp_path / "work"), steps=20, threads=1)
    producer = Producer({"bootstrap.servers": broker})

    def sent(rows: range) -> int:
        for i in rows:
            producer.produce(topic, record(served, i), key=b"k")
        assert producer.flush(30) == 0
        return rows.stop - TRAIN_ROWS        # the follower's row count: records since the served model's training rows

    begin = CHANGE + 100 - TRAIN_ROWS
    end = sent(range(TRAIN_ROWS, CHANGE + 500))
    first = tunes.tune(begin, end)
    assert (first.begin, first.end) == (begin, end) and begin < first.held_out < end
    assert len(first.tuned_ok) == len(first.served_ok) == end - first.held_out
    again = sent(range(CHANGE + 500, CHANGE + 700))
    second = tunes.retest(first, again)
    assert (second.checkpoint, second.begin, second.held_out, second.end) == (first.checkpoint, begin, first.held_out, again)
    n = len(first.tuned_ok)
    assert len(second.tuned_ok) == again - first.held_out
    assert (second.tuned_ok[:n] == first.tuned_ok).all() and (second.served_ok[:n] == first.served_ok).all(), \
        "the first test's rows keep their outcomes: the same records, each with the context the job had"
    # The served model's outcomes are the replay's, row for row (its context is full from the fine-tune's first rows on).
    rows = slice(TRAIN_ROWS + first.held_out, TRAIN_ROWS + again)
    assert (second.served_ok == (served.predicted == served.table.y)[rows]).all()
