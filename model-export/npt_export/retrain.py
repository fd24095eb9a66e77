"""Retrain from the stream: the last N labeled records on the job's input topic, decoded with the
generated protobuf classes, train a model with the layout and architecture of the version it will
replace (fine-tuned from its weights where the store has its checkpoint), and the new version is
published into the store (deploy/README.md, "Model lifecycle").

    python -m npt_export.retrain --bootstrap HOST:PORT --store STORE [--topic npt-records] [--last 20000]

Swap to it with `python -m npt_export.store swap` (or `bin/npt-stream swap`).
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import tempfile
import time

from npt_export import data as D
from npt_export.export import export
from npt_export.model import BIDIRECTIONAL, CAUSAL, CLASSIFICATION, REGRESSION
from npt_export.store import StoreError, publish, read_manifest, version_dir
from npt_export.train import CHECKPOINT_FILE, TrainConfig, run_shape, train
from nptstream.v1 import manifest_pb2 as mpb
from nptstream.v1 import stream_pb2 as spb

INPUT_TOPIC = "npt-records"     # NptOptions.TOPIC_IN's default
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


def retrain(bootstrap: str, topic: str, store: str, last: int, base: str = "latest", steps: int = TrainConfig.steps,
            seed: int = TrainConfig.seed, threads: int = TrainConfig.threads, since_ms: int | None = None, quiet: bool = False) -> str:
    """Trains on the topic's last `last` labeled records with the layout of `base` and publishes the
    result into `store` (LATEST then names it). Returns the new version."""
    base_dir = version_dir(store, base)
    base_manifest = read_manifest(base_dir)
    init = os.path.join(base_dir, CHECKPOINT_FILE)
    init = init if os.path.isfile(init) else ""
    layout = layout_of(base_manifest)
    records = read_labeled(bootstrap, topic, last, since_ms)
    if len(records) < 2 * base_manifest.context.max_window:
        raise StoreError(f"{topic} has {len(records)} labeled records, fewer than twice the window "
                         f"({base_manifest.context.max_window}): retrain once more have arrived")
    with tempfile.TemporaryDirectory(prefix="npt-retrain-") as tmp:
        data = os.path.join(tmp, "records.csv")
        keyed = write_csv(records, layout, data)
        out = os.path.join(tmp, "model")
        arch = architecture_of(base_manifest)
        tc = TrainConfig(csv=data, target=layout.target, key=KEY_COLUMN if keyed else None, out=out, steps=steps,
                         seed=seed, threads=threads, init=init, **run_shape(arch))
        export(train(tc, arch, quiet=quiet, layout=layout), out)
        version = publish(out, store)
    if not quiet:
        how = f"fine-tuned {base_manifest.model_version}" if init else "trained from scratch"
        print(f"retrained ({how}) on the last {len(records)} labeled records of {topic}: published {version} to {store}")
    return version


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m npt_export.retrain", description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", required=True, help="the job's kafka.bootstrap")
    p.add_argument("--topic", default=INPUT_TOPIC, help="the job's kafka.topic.in")
    p.add_argument("--store", required=True, help="the job's model.store (local or file://)")
    p.add_argument("--last", type=int, default=20_000, help="labeled records to train on, the newest")
    p.add_argument("--since-ms", type=int, help="only records whose Kafka timestamp is at or after this epoch millisecond")
    p.add_argument("--base", default="latest", help="the version whose layout and architecture the new one keeps")
    p.add_argument("--steps", type=int, default=TrainConfig.steps)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--threads", type=int, default=TrainConfig.threads)
    a = p.parse_args(argv)
    try:
        retrain(a.bootstrap, a.topic, a.store, a.last, a.base, a.steps, a.seed, a.threads, a.since_ms)
    except (StoreError, D.DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
