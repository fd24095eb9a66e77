"""The model store: exported models as version folders, a LATEST pointer, and swap requests to a
running job (deploy/README.md, "Model lifecycle").

    python -m npt_export.store publish MODEL_DIR STORE [--no-latest]
    python -m npt_export.store swap --bootstrap HOST:PORT [--topic T] (VERSION | --latest STORE)

STORE/VERSION/ holds model.onnx, manifest.pb, manifest.json and golden.pb (and checkpoint.pt where
the model folder has it, for retraining to fine-tune from); STORE/LATEST names the
newest published version. A version folder is written whole or not at all (a staging folder, then
one rename), and never changed after: rolling back is a swap to an older version. Publishing
writes local or file:// stores; copy a folder to s3:// or hdfs:// with that system's own tools.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from npt_export.export import GOLDEN_FILE, MANIFEST_FILE, MANIFEST_JSON_FILE, MODEL_FILE
from npt_export.train import CHECKPOINT_FILE
from nptstream.v1 import manifest_pb2 as mpb

LATEST = "LATEST"
CONTROL_TOPIC = "npt-model-control"     # NptOptions.TOPIC_CONTROL's default
STORED_FILES = (MODEL_FILE, MANIFEST_FILE, MANIFEST_JSON_FILE, GOLDEN_FILE)
# Published too where the model folder has it: retraining fine-tunes from it. The job never reads it.
OPTIONAL_FILES = (CHECKPOINT_FILE,)


class StoreError(Exception):
    """A problem with a store or a model folder; the message is one line for the user."""


def local_path(store: str) -> str:
    if store.startswith("file://"):
        return store[len("file://"):]
    if "://" in store:
        raise StoreError(f"{store}: publishing writes local or file:// stores; copy the version folder with that system's tools")
    return store


def read_manifest(model_dir: str) -> mpb.Manifest:
    path = os.path.join(model_dir, MANIFEST_FILE)
    if not os.path.isfile(path):
        raise StoreError(f"{model_dir} has no {MANIFEST_FILE}: point at a folder exported by model-export")
    with open(path, "rb") as f:
        return mpb.Manifest.FromString(f.read())


def publish(model_dir: str, store: str, latest: bool = True) -> str:
    """Copies the model of `model_dir` into STORE/VERSION (once: a version is never rewritten) and,
    with `latest`, points LATEST at it. Returns the version."""
    version = read_manifest(model_dir).model_version
    root = local_path(store)
    os.makedirs(root, exist_ok=True)
    target = os.path.join(root, version)
    if not os.path.isdir(target):
        staging = tempfile.mkdtemp(prefix=f".{version}.part-", dir=root)
        try:
            for name in STORED_FILES:
                shutil.copy2(os.path.join(model_dir, name), os.path.join(staging, name))
            for name in OPTIONAL_FILES:
                if os.path.isfile(os.path.join(model_dir, name)):
                    shutil.copy2(os.path.join(model_dir, name), os.path.join(staging, name))
            os.rename(staging, target)
        except FileNotFoundError as e:
            raise StoreError(f"{model_dir} lacks {os.path.basename(e.filename)}: publish a whole exported model folder") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if latest:
        pointer = os.path.join(root, f".{LATEST}.part-{os.getpid()}")
        with open(pointer, "w") as f:
            f.write(version + "\n")
        os.replace(pointer, os.path.join(root, LATEST))
    return version


def latest(store: str) -> str:
    path = os.path.join(local_path(store), LATEST)
    if not os.path.isfile(path):
        raise StoreError(f"{store} has no {LATEST}: publish a model first")
    with open(path) as f:
        return f.read().strip()


def version_dir(store: str, version: str) -> str:
    """The folder of `version` ("latest" = the one LATEST names) in a local store."""
    version = latest(store) if version == "latest" else version
    folder = os.path.join(local_path(store), version)
    if not os.path.isfile(os.path.join(folder, MANIFEST_FILE)):
        raise StoreError(f"version {version} is not in {store}: publish it first")
    return folder


def swap(bootstrap: str, topic: str, version: str):
    """Asks the job that reads `topic` to serve `version` from its next checkpoint on."""
    from confluent_kafka import Producer
    from nptstream.v1 import stream_pb2 as spb
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, spb.ModelSwap(model_version=version).SerializeToString())
    if producer.flush(30) != 0:
        raise StoreError(f"kafka.bootstrap={bootstrap}: the swap request was not delivered to {topic} within 30 s")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m npt_export.store", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish", help="copy an exported model folder into a store")
    pub.add_argument("model_dir")
    pub.add_argument("store")
    pub.add_argument("--latest", action=argparse.BooleanOptionalAction, default=True, help="point LATEST at it (default)")
    sw = sub.add_parser("swap", help="ask a running job to serve another version")
    sw.add_argument("--bootstrap", required=True)
    sw.add_argument("--topic", default=CONTROL_TOPIC)
    which = sw.add_mutually_exclusive_group(required=True)
    which.add_argument("version", nargs="?")
    which.add_argument("--latest", metavar="STORE", help="the version that STORE's LATEST names")
    a = p.parse_args(argv)
    try:
        if a.command == "publish":
            print(f"published {publish(a.model_dir, a.store, a.latest)} to {a.store}")
        else:
            version = a.version or latest(a.latest)
            swap(a.bootstrap, a.topic, version)
            print(f"asked the job on {a.topic} to serve {version}")
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
