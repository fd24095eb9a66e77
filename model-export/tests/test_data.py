import subprocess
import sys

import pytest

from npt_export import data as D


def write(tmp_path, text):
    p = tmp_path / "d.csv"
    p.write_text(text)
    return str(p)


def schema_of(path, target="target"):
    header, rows = D.read_csv(path)
    schema = D.infer_schema(header, rows, target)
    return schema, D.encode(schema, header, rows)


def test_infers_kinds_vocabulary_and_constants(tmp_path):
    schema, table = schema_of(write(tmp_path, "a,b,target\n1,x,0\n3,y,1\n,x,1\n"))
    assert [(f.name, f.kind) for f in schema.features] == [("a", "numeric"), ("b", "categorical")]
    assert schema.features[0].mean == 2.0 and schema.features[1].categories == ["x", "y"]
    assert schema.task == "classification" and schema.classes == ["0", "1"]
    assert table.cat[:, 0].tolist() == [1, 2, 1] and table.y.tolist() == [0, 1, 1]


@pytest.mark.parametrize("text, message", [
    ("1,2,3\n4,5,6\n", "is not a header"),
    ("a,b,target\n1,2,0\n1,2\n", "row 2 has 2 values but the header has 3 columns"),
    ("a,b,label\n1,2,0\n", "target column 'target' is not in the CSV; its columns are a, b, label"),
    ("a,b,target\n1,2,0\n2,3,1\nabc,4,0\n", "column 'a' is numeric but data row 2 has 'abc'"),
])
def test_bad_csv_is_one_clear_line(tmp_path, text, message):
    with pytest.raises(D.DataError) as e:
        schema_of(write(tmp_path, text))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_cli_prints_one_error_line_and_exits_2(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n")
    r = subprocess.run([sys.executable, "-m", "npt_export.train", "--csv", path, "--target", "target",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: target column 'target' is not in the CSV; its columns are a, b, label"]


def test_bad_row_range(tmp_path):
    with pytest.raises(D.DataError, match="outside the 3 data rows"):
        D.parse_range("0:10", 3)
