"""Retrain from the stream: the last N labeled records on the job's input topic, decoded with the
generated protobuf classes, train a model with the layout and architecture of the version it will
replace (fine-tuned from its weights where the store has its checkpoint), and the new version is
published into the store (deploy/README.md, "Model lifecycle").

    python -m npt_export.retrain --bootstrap HOST:PORT --store STORE [--topic npt-records] [--last 20000]

Swap to it with `python -m npt_export.store swap` (or `bin/npt-stream swap`). With `--on-drift` it
runs on beside the job instead: it follows the job's predictions, and on a drift retrains, tests
and swaps by itself (`npt_export.drift`).
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

from npt_export import data as D
from npt_export.drift import FIRST_ROWS, MAX_ROWS, FineTune, RetrainsOnDrift, held_out_share, held_out_start, predictions_from
from npt_export.export import export, load
from npt_export.model import BIDIRECTIONAL, CAUSAL, CLASSIFICATION, REGRESSION
from npt_export.store import CONTROL_TOPIC, StoreError, publish, read_manifest, swap, version_dir
from npt_export.train import CHECKPOINT_FILE, TrainConfig, run_shape, train
from nptstream.v1 import manifest_pb2 as mpb
from nptstream.v1 import stream_pb2 as spb

INPUT_TOPIC = "npt-records"     # NptOptions.TOPIC_IN's default
PREDICTIONS_TOPIC = "npt-predictions"    # NptOptions.TOPIC_OUT's default
# Fine-tuning steps of a retrain on drift: the policy bench/README.md measures.
DRIFT_STEPS = 200
KEY_COLUMN = "_key"


def read_labeled(bootstrap: str, topic: str, last: int, since_ms: int | None = None, idle_s: float = 5.0) -> list[spb.Record]:
    """The last `last` labeled Records of `topic` (committed ones; with `since_ms`, among those of
    Kafka timestamp since then), in event-time order. Bytes that are not a Record are skipped: the
    job has answered them with dead letters."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"npt-retrain-{os.getpid()}",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    try:
        meta = consumer.list_topics(topic, timeout=30)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            raise StoreError(f"topic {topic} does not exist on {bootstrap}: name the job's input topic (--topic)")
        ends, start = {}, []
        since = {}
        if since_ms is not None:
            asked = [TopicPartition(topic, p, since_ms) for p in meta.topics[topic].partitions]
            since = {tp.partition: tp.offset for tp in consumer.offsets_for_times(asked, timeout=30)}
        for p in meta.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            first = max(low, high - last)
            if p in since:
                # -1: no record since then in this partition.
                first = high if since[p] < 0 else max(first, since[p])
            if high > first:
                ends[p] = high
                start.append(TopicPartition(topic, p, first))
        consumer.assign(start)
        found, idle_since = [], time.time()
        while ends and time.time() - idle_since < idle_s:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            idle_since = time.time()
            end = ends.get(msg.partition())
            if end is None or msg.offset() >= end:
                continue    # a record that arrived after the read began
            if msg.offset() == end - 1:
                del ends[msg.partition()]
            try:
                record = spb.Record.FromString(msg.value() or b"")
            except Exception:   # protobuf's DecodeError: not a Record
                continue
            if record.WhichOneof("label") is not None:
                found.append((record.event_time_ms, msg.partition(), msg.offset(), record))
    finally:
        consumer.close()
    found.sort(key=lambda t: t[:3])
    return [r for *_, r in found[-last:]]


def layout_of(m: mpb.Manifest) -> D.Schema:
    """A manifest's features, vocabularies and target, as the schema that training keeps."""
    features = [D.Attribute(a.name, "numeric" if a.kind == mpb.Attribute.NUMERIC else "categorical",
                            categories=list(a.categories), mean=a.mean, std=a.std) for a in m.features]
    task = CLASSIFICATION if m.target.task == mpb.Target.CLASSIFICATION else REGRESSION
    return D.Schema(features, m.target.name, task, classes=list(m.target.classes))


def architecture_of(m: mpb.Manifest) -> dict:
    """The architecture arguments of train() that a manifest records; the rest keep their defaults."""
    return dict(attention=CAUSAL if m.context.attention == mpb.Context.CAUSAL else BIDIRECTIONAL,
                window=m.context.max_window, recency=m.context.recency,
                distance_attention=m.architecture.distance_attention, feature_kernel=m.architecture.feature_kernel,
                embed_dim=m.architecture.embed_dim,
                abd_layers=m.architecture.abd_layers, aba_layers=m.architecture.aba_layers, heads=m.architecture.heads,
                kv_heads=m.architecture.kv_heads)   # 0 in older manifests: as many as heads


def write_csv(records: list[spb.Record], layout: D.Schema, path: str) -> bool:
    """The records as a training CSV in the layout's columns; returns whether it needs a key column."""
    keyed = len({r.key for r in records}) > 1
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(([KEY_COLUMN] if keyed else []) + [a.name for a in layout.features] + [layout.target])
        for r in records:
            row = [r.key] if keyed else []
            for a in layout.features:
                if a.kind == "numeric":
                    v = r.numeric.get(a.name, math.nan)
                    row.append("" if math.isnan(v) else repr(v))
                else:
                    row.append(r.categorical.get(a.name, ""))
            row.append(r.label_class if r.WhichOneof("label") == "label_class" else repr(r.label_value))
            w.writerow(row)
    return keyed


def checkpoint_of(version_folder: str) -> str:
    """A store version's checkpoint.pt, which retraining starts from; "" where it has none."""
    path = os.path.join(version_folder, CHECKPOINT_FILE)
    return path if os.path.isfile(path) else ""


def fine_tune(records: list[spb.Record], base_dir: str, out: str, steps: int, seed: int, threads: int,
              val_frac: float = TrainConfig.val_frac, quiet: bool = True) -> tuple[str, str]:
    """Trains on the records (in OUT/records.csv) with the layout and architecture of the store's
    version in base_dir, from its weights where it has its checkpoint. Returns (checkpoint, CSV)."""
    base_manifest = read_manifest(base_dir)
    init = checkpoint_of(base_dir)
    layout = layout_of(base_manifest)
    os.makedirs(out, exist_ok=True)
    data = os.path.join(out, "records.csv")
    keyed = write_csv(records, layout, data)
    arch = architecture_of(base_manifest)
    tc = TrainConfig(csv=data, target=layout.target, key=KEY_COLUMN if keyed else None, out=os.path.join(out, "model"),
                     steps=steps, seed=seed, threads=threads, init=init, val_frac=val_frac, **run_shape(arch))
    return train(tc, arch, quiet=quiet, layout=layout), data


def retrain(bootstrap: str, topic: str, store: str, last: int, base: str = "latest", steps: int = TrainConfig.steps,
            seed: int = TrainConfig.seed, threads: int = TrainConfig.threads, since_ms: int | None = None, quiet: bool = False) -> str:
    """Trains on the topic's last `last` labeled records with the layout of `base` and publishes the
    result into `store` (LATEST then names it). Returns the new version."""
    base_dir = version_dir(store, base)
    base_manifest = read_manifest(base_dir)
    records = read_labeled(bootstrap, topic, last, since_ms)
    if len(records) < 2 * base_manifest.context.max_window:
        raise StoreError(f"{topic} has {len(records)} labeled records, fewer than twice the window "
                         f"({base_manifest.context.max_window}): retrain once more have arrived")
    with tempfile.TemporaryDirectory(prefix="npt-retrain-") as tmp:
        checkpoint = fine_tune(records, base_dir, tmp, steps, seed, threads, quiet=quiet)[0]
        out = os.path.join(tmp, "model")
        export(checkpoint, out)
        version = publish(out, store)
    if not quiet:
        how = f"fine-tuned {base_manifest.model_version}" if checkpoint_of(base_dir) else "trained from scratch"
        print(f"retrained ({how}) on the last {len(records)} labeled records of {topic}: published {version} to {store}")
    return version


def behind(consumer) -> int:
    """Messages on the consumer's partitions that it has not read yet (as of its last fetch)."""
    from confluent_kafka import TopicPartition
    lag = 0
    for tp in consumer.position(consumer.assignment()):
        high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), cached=True)[1]
        lag += max(0, high - tp.offset) if tp.offset >= 0 and high >= 0 else 0
    return lag


class TopicFineTunes:
    """The fine-tunes and second tests of `retrain --on-drift`, on the input topic's newest labeled
    records (RetrainsOnDrift's `fine_tune` and `retest`): each starts from, and faces, the store's
    version `base`, and works in `folder`."""

    def __init__(self, bootstrap: str, topic: str, store: str, base: str, folder: str,
                 steps: int = DRIFT_STEPS, seed: int = TrainConfig.seed, threads: int = TrainConfig.threads):
        self.bootstrap, self.topic, self.store, self.base, self.folder = bootstrap, topic, store, base, folder
        self.steps, self.seed, self.threads = steps, seed, threads

    def tune(self, begin: int, end: int) -> FineTune:
        shutil.rmtree(os.path.join(self.folder, "tune"), ignore_errors=True)    # the last one: published or refused
        base_dir = version_dir(self.store, self.base)
        served_checkpoint = checkpoint_of(base_dir)
        if not served_checkpoint:
            raise StoreError(f"{self.store}'s {self.base} has no {CHECKPOINT_FILE}, which fine-tunes start from: "
                             f"publish the model folder that train wrote (it holds one)")
        records = read_labeled(self.bootstrap, self.topic, end - begin)
        checkpoint, data = fine_tune(records, base_dir, os.path.join(self.folder, "tune"), self.steps, self.seed,
                                     self.threads, val_frac=held_out_share(len(records)))
        return self.tested(checkpoint, served_checkpoint, data, end, end - len(records) + held_out_start(len(records)))

    def retest(self, refused: FineTune, end: int) -> FineTune:
        base_dir = version_dir(self.store, self.base)
        data = os.path.join(self.folder, "tune", "retest.csv")
        write_csv(read_labeled(self.bootstrap, self.topic, end - refused.begin), layout_of(read_manifest(base_dir)), data)
        return self.tested(refused.checkpoint, checkpoint_of(base_dir), data, end, refused.held_out)

    @staticmethod
    def tested(checkpoint: str, served_checkpoint: str, data: str, end: int, held_out: int) -> FineTune:
        """The fine-tune and the served version on the records of `data` (the newest up to row
        `end`) from row `held_out` on, each key's context as the job had it."""
        model, schema, _ = load(checkpoint)
        header, rows = D.read_csv(data)
        # Keyed as the records are (a second test's may hold keys that the fine-tune's did not).
        table = D.encode(replace(schema, key=KEY_COLUMN if KEY_COLUMN in header else None), header, rows)
        first = end - len(rows)
        y = table.y[held_out - first:].astype(np.int64)
        tuned_ok = predictions_from(model, table, held_out - first) == y
        served_ok = predictions_from(load(served_checkpoint)[0], table, held_out - first) == y
        return FineTune(checkpoint, first, end, held_out, tuned_ok, served_ok)


def retrain_on_drift(bootstrap: str, topic: str, predictions_topic: str, control_topic: str, store: str,
                     steps: int = DRIFT_STEPS, seed: int = TrainConfig.seed, threads: int = TrainConfig.threads):
    """Follows the job's predictions from now on, and retrains on drift by itself (`npt_export.drift`):
    each fine-tune is on the input topic's labeled records since the drift, from the served
    version's weights, and one that passes its test is published into `store` and swapped in
    through `control_topic`. Runs until interrupted."""
    from confluent_kafka import OFFSET_END, Consumer, TopicPartition

    def say(line: str):
        print(f"{time.strftime('%H:%M:%S')} retrain --on-drift: {line}", flush=True)

    start = read_manifest(version_dir(store, "latest"))
    if start.target.task != mpb.Target.CLASSIFICATION:
        raise StoreError(f"{store}'s {start.model_version} is a regression model: --on-drift follows a classifier's "
                         f"errors; retrain a regression model by hand (without --on-drift)")
    # The version serving (as the predictions say); the fine-tunes' `base` is the same, except
    # between a swap's request and the job's next checkpoint.
    serving = start.model_version

    with tempfile.TemporaryDirectory(prefix="npt-retrain-on-drift-") as tmp:
        tunes = TopicFineTunes(bootstrap, topic, store, serving, tmp, steps, seed, threads)
        loop = RetrainsOnDrift(FIRST_ROWS, tunes.tune, tunes.retest, say=say)
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"npt-retrain-on-drift-{os.getpid()}",
                             "enable.auto.commit": False, "isolation.level": "read_committed"})
        try:
            meta = consumer.list_topics(predictions_topic, timeout=30)
            if predictions_topic not in meta.topics or meta.topics[predictions_topic].error is not None:
                raise StoreError(f"topic {predictions_topic} does not exist on {bootstrap}: name the job's "
                                 f"kafka.topic.out (--predictions)")
            consumer.assign([TopicPartition(predictions_topic, p, OFFSET_END) for p in meta.topics[predictions_topic].partitions])
            say(f"following {predictions_topic}; {serving} serves; rows are its labeled predictions from now on")
            while True:
                msg = consumer.poll(1.0)
                # A fine-tune trains on the input topic's newest records: it waits until this reader has
                # (nearly) caught up with the job, so that they are the rows since the drift, not later ones.
                rows = loop.due()
                if rows and (msg is None or behind(consumer) <= rows // 10):
                    tune = loop.retrain()
                    if tune:
                        # Exported beside its checkpoint, which the version then holds: the next fine-tune starts from it.
                        out = os.path.dirname(tune.checkpoint)
                        export(tune.checkpoint, out)
                        tunes.base = version = publish(out, store)
                        swap(bootstrap, control_topic, version)
                        say(f"published {version} to {store} and asked the job on {control_topic} to serve it")
                if msg is None or msg.error() is not None:
                    continue
                try:
                    prediction = spb.Prediction.FromString(msg.value() or b"")
                except Exception:   # protobuf's DecodeError: not a Prediction, so no row
                    continue
                if prediction.WhichOneof("label") != "label_class":
                    continue
                if prediction.model_version != serving:
                    serving = tunes.base = prediction.model_version
                    loop.restart()
                    say(f"{prediction.model_version} serves from row {loop.seen}")
                loop.observe(prediction.predicted_class == prediction.label_class)
        finally:
            consumer.close()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m npt_export.retrain", description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", required=True, help="the job's kafka.bootstrap")
    p.add_argument("--topic", default=INPUT_TOPIC, help="the job's kafka.topic.in")
    p.add_argument("--store", required=True, help="the job's model.store (local or file://)")
    p.add_argument("--last", type=int, help=f"labeled records to train on, the newest (default {MAX_ROWS})")
    p.add_argument("--since-ms", type=int, help="only records whose Kafka timestamp is at or after this epoch millisecond")
    p.add_argument("--base", help="the version whose layout and architecture the new one keeps (default latest)")
    p.add_argument("--on-drift", action="store_true",
                   help="run on beside the job: on each drift in its predictions retrain, test and swap by itself")
    p.add_argument("--predictions", default=PREDICTIONS_TOPIC, help="with --on-drift: the job's kafka.topic.out")
    p.add_argument("--control", default=CONTROL_TOPIC, help="with --on-drift: the job's kafka.topic.control")
    p.add_argument("--steps", type=int, help=f"training steps (default {TrainConfig.steps}; {DRIFT_STEPS} with --on-drift)")
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--threads", type=int, default=TrainConfig.threads)
    a = p.parse_args(argv)
    # Stopped as a service is (SIGTERM): the consumer closes and the temporary folder goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if a.on_drift:
            chosen = [f"--{n.replace('_', '-')}" for n in ("last", "since_ms", "base") if getattr(a, n) is not None]
            if chosen:
                raise StoreError(f"{', '.join(chosen)} with --on-drift: it trains on the rows since each drift, from "
                                 f"the version serving; drop {' and '.join(chosen)}")
            retrain_on_drift(a.bootstrap, a.topic, a.predictions, a.control, a.store, a.steps or DRIFT_STEPS, a.seed, a.threads)
        else:
            retrain(a.bootstrap, a.topic, a.store, a.last or MAX_ROWS, a.base or "latest", a.steps or TrainConfig.steps,
                    a.seed, a.threads, a.since_ms)
    except (StoreError, D.DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
