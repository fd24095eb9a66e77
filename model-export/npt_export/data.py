"""CSV in, model-ready arrays out: the schema (feature kinds, vocabularies, standardisation
constants, the target), inferred from the training rows only, and the encoded table.

Every problem with the input is a DataError whose message is one line naming the bad input and
the fix; the CLIs print it as `error: ...` and exit 2.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace

import numpy as np

from npt_export.model import CLASSIFICATION, REGRESSION

MISSING = {"", "na", "nan", "null", "none", "?"}
MAX_CLASSES = 20        # an integer target with at most this many values is a class label
MIN_STD = 1e-8          # a column with a smaller std is constant: it is standardised with std 1


def standardising_rows(run_rows: int) -> int:
    """The first rows whose statistics standardise a run of the prior (its first quarter, at least
    16), and so a key's served by a prior model untrained on its stream (NPTConfig.standardise_rows)."""
    return max(16, run_rows // 4)


class DataError(Exception):
    """Bad input data or arguments; the message is a single line for the user."""


@dataclass
class Attribute:
    name: str
    kind: str                                  # "numeric" or "categorical"
    categories: list[str] = field(default_factory=list)
    mean: float = 0.0
    std: float = 1.0


@dataclass
class Schema:
    features: list[Attribute]
    target: str
    task: str
    classes: list[str] = field(default_factory=list)
    y_mean: float = 0.0
    y_std: float = 1.0
    key: str | None = None

    @property
    def numeric(self) -> list[Attribute]:
        return [a for a in self.features if a.kind == "numeric"]

    @property
    def categorical(self) -> list[Attribute]:
        return [a for a in self.features if a.kind == "categorical"]


@dataclass
class Table:
    """Encoded rows: num [N,Fn] float32 (NaN = missing), cat [N,Fc] int64 (0 = unknown),
    y [N] float32 (class index or raw value; NaN = unlabeled), keys [N] (None without a key column)."""
    num: np.ndarray
    cat: np.ndarray
    y: np.ndarray
    keys: list[str] | None

    def __len__(self):
        return len(self.y)


def read_csv(path: str) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    if not rows:
        raise DataError(f"{path} is empty; expected a header line and data rows")
    header = [h.strip() for h in rows[0]]
    if any(_is_number(h) for h in header) or len(set(header)) != len(header) or "" in header:
        raise DataError(f"{path}: the first line {rows[0][:6]} is not a header of distinct column names; add one")
    data = rows[1:]
    for i, r in enumerate(data):
        if len(r) != len(header):
            raise DataError(f"{path}: row {i + 1} has {len(r)} values but the header has {len(header)} columns; fix the row")
    if not data:
        raise DataError(f"{path} has a header but no data rows")
    return header, data


def parse_range(spec: str | None, n: int) -> tuple[int, int]:
    """'a:b' (either side may be empty) -> [a, b) within the n data rows."""
    if not spec:
        return 0, n
    try:
        a, b = spec.split(":")
        begin, end = int(a) if a else 0, int(b) if b else n
    except ValueError:
        raise DataError(f"--rows {spec!r} is not BEGIN:END (e.g. 0:9062)") from None
    if not 0 <= begin < end <= n:
        raise DataError(f"--rows {spec} is outside the {n} data rows; use BEGIN:END with 0 <= BEGIN < END <= {n}")
    return begin, end


def infer_schema(header, rows, target: str, key: str | None = None, task: str = "auto",
                 categorical: tuple[str, ...] = ()) -> Schema:
    """Columns whose values all parse as numbers are numeric, others categorical (or named in
    `categorical`). `rows` are the training rows: the constants come from them only."""
    if target not in header:
        raise DataError(f"target column {target!r} is not in the CSV; its columns are {', '.join(header)}")
    if key is not None and key not in header:
        raise DataError(f"key column {key!r} is not in the CSV; its columns are {', '.join(header)}")
    features = []
    for c, name in enumerate(header):
        if name in (target, key):
            continue
        values = [r[c].strip() for r in rows]
        if name not in categorical and _numeric_column(values):
            xs = np.array([_to_float(v) if _is_number(v) or v.lower() in MISSING else math.nan
                           for v in values], dtype=np.float64)
            xs = xs[~np.isnan(xs)]
            mean = float(xs.mean()) if len(xs) else 0.0
            std = float(xs.std()) if len(xs) > 1 else 1.0
            features.append(Attribute(name, "numeric", mean=mean, std=std if std > MIN_STD else 1.0))
        else:
            vocab = sorted({v for v in values if v.lower() not in MISSING})
            features.append(Attribute(name, "categorical", categories=vocab))
    # Graph order: numeric features fill *_num, categorical ones *_cat.
    features = [a for a in features if a.kind == "numeric"] + [a for a in features if a.kind == "categorical"]
    c = header.index(target)
    ys = [r[c].strip() for r in rows if r[c].strip().lower() not in MISSING]
    if not ys:
        raise DataError(f"target column {target!r} has no values in the training rows")
    if task == "auto":
        numeric = all(_is_number(v) for v in ys)
        ints = numeric and all(float(v).is_integer() for v in ys)
        task = REGRESSION if numeric and not (ints and len(set(ys)) <= MAX_CLASSES) else CLASSIFICATION
    if task == CLASSIFICATION:
        classes = sorted(set(ys), key=lambda v: (float(v), v) if _is_number(v) else (math.inf, v))
        if len(classes) < 2:
            raise DataError(f"target column {target!r} has a single class {classes[0]!r}; classification needs two or more")
        return Schema(features, target, CLASSIFICATION, classes=classes, key=key)
    if not all(_is_number(v) for v in ys):
        bad = next(v for v in ys if not _is_number(v))
        raise DataError(f"target column {target!r} has the non-numeric value {bad!r}; regression needs numbers")
    yv = np.array([float(v) for v in ys])
    std = float(yv.std())
    return Schema(features, target, REGRESSION, y_mean=float(yv.mean()), y_std=std if std > MIN_STD else 1.0, key=key)


def read_schema(path: str) -> Schema:
    """A stream's schema from a JSON file, without any of its rows (a prior model served untrained):
    {"features": [{"name": "x", "kind": "numeric"}, {"name": "day", "kind": "categorical",
    "categories": ["mon", ...]}], "target": "class", "classes": ["up", "down"], "key": "meter"}
    ("key" optional). Numeric features take the graph order: numeric first, as infer_schema's."""
    import json
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the schema file {path}: {e}") from None
    where = f"schema file {path}"
    if not isinstance(spec, dict) or not isinstance(spec.get("features"), list) or not spec["features"]:
        raise DataError(f'{where}: give "features", a list of {{"name", "kind"}} objects')
    features = []
    for a in spec["features"]:
        kind = a.get("kind", "numeric") if isinstance(a, dict) else None
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or kind not in ("numeric", "categorical"):
            raise DataError(f'{where}: feature {a!r} needs a "name" and a "kind" of numeric or categorical')
        features.append(Attribute(a["name"], kind, categories=[str(c) for c in a.get("categories", [])]))
    names = [a.name for a in features]
    if len(set(names)) < len(names):
        raise DataError(f"{where}: feature names repeat in {names}")
    classes = [str(c) for c in spec.get("classes", [])]
    if not isinstance(spec.get("target"), str) or len(set(classes)) < 2 or len(set(classes)) < len(classes):
        raise DataError(f'{where}: give "target", the label\'s name, and "classes", two or more distinct class names')
    features = [a for a in features if a.kind == "numeric"] + [a for a in features if a.kind == "categorical"]
    return Schema(features, spec["target"], CLASSIFICATION, classes=classes, key=spec.get("key"))


def unstandardised(schema: Schema) -> Schema:
    """`schema` with the graph's constants at mean 0 and std 1: a model standardised per key."""
    return replace(schema, features=[replace(a, mean=0.0, std=1.0) for a in schema.features])


def keep_layout(schema: Schema, layout: Schema) -> Schema:
    """`schema`, inferred from new rows, with the features, vocabularies and classes of `layout` (the
    model it replaces): a retrained model then reads the rows the serving one stored. The
    standardisation constants stay the new rows'."""
    inferred = {a.name: a for a in schema.features}
    features = []
    for a in layout.features:
        b = inferred.get(a.name)
        if b is None:
            raise DataError(f"feature {a.name!r} of the serving model is not in the new rows; retrain on records that have it")
        if a.kind == "categorical":
            features.append(Attribute(a.name, "categorical", categories=list(a.categories)))
        elif b.kind == "numeric":
            features.append(b)
        else:
            raise DataError(f"feature {a.name!r} is numeric in the serving model but not a number in the new rows")
    extra = sorted(set(inferred) - {a.name for a in layout.features})
    if extra:
        raise DataError(f"the new rows have features {extra} that the serving model has not; a retrained model keeps its features")
    if schema.task != layout.task:
        raise DataError(f"the new rows' target is {schema.task}, the serving model's {layout.task}")
    return replace(schema, features=features, classes=list(layout.classes))


def encode(schema: Schema, header, rows, first_row: int = 0) -> Table:
    """Rows -> Table. `first_row` is the index of rows[0] among the data rows, for error messages."""
    col = {h: i for i, h in enumerate(header)}
    for a in schema.features:
        if a.name not in col:
            raise DataError(f"feature column {a.name!r} is missing from the CSV; its columns are {', '.join(header)}")
    num = np.full((len(rows), len(schema.numeric)), np.nan, dtype=np.float32)
    cat = np.zeros((len(rows), len(schema.categorical)), dtype=np.int64)
    for j, a in enumerate(schema.numeric):
        c = col[a.name]
        for i, r in enumerate(rows):
            v = r[c].strip()
            if v.lower() in MISSING:
                continue
            try:
                num[i, j] = float(v)
            except ValueError:
                raise DataError(f"column {a.name!r} is numeric but data row {first_row + i} has {v!r}; "
                                f"fix the value or declare the column categorical") from None
    for j, a in enumerate(schema.categorical):
        c = col[a.name]
        index = {v: k + 1 for k, v in enumerate(a.categories)}
        for i, r in enumerate(rows):
            cat[i, j] = index.get(r[c].strip(), 0)
    c = col[schema.target]
    y = np.full(len(rows), np.nan, dtype=np.float32)
    classes = {v: k for k, v in enumerate(schema.classes)}
    for i, r in enumerate(rows):
        v = r[c].strip()
        if v.lower() in MISSING:
            continue
        if schema.task == CLASSIFICATION:
            if v not in classes:
                # A class first seen after the training rows can't be predicted; treat it as unlabeled.
                continue
            y[i] = classes[v]
        else:
            try:
                y[i] = float(v)
            except ValueError:
                raise DataError(f"target column {schema.target!r} is numeric but data row {first_row + i} has {v!r}") from None
    keys = [r[col[schema.key]] for r in rows] if schema.key else None
    return Table(num, cat, y, keys)


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _to_float(v: str) -> float:
    return math.nan if v.lower() in MISSING else float(v)


def _numeric_column(values) -> bool:
    """Mostly numbers: numeric (a stray word is then an error naming its row, not a silent
    switch of the whole column to categorical)."""
    present = [v for v in values if v.lower() not in MISSING]
    return bool(present) and sum(_is_number(v) for v in present) > len(present) / 2
