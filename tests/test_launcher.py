"""bin/npt-stream, the launcher: its help, a replay through it from another directory, and a
wrong command, each as a user types them."""
import os
import pathlib
import subprocess

from npt_export.fixtures import DATA_FILE

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "bin" / "npt-stream"


def run(*args, cwd):
    return subprocess.run([str(LAUNCHER), *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})


def test_help_lists_every_command(tmp_path):
    done = run("help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("train", "export", "publish", "retrain", "swap", "replay", "run", "submit", "upgrade", "demo", "produce",
                    "consume"):
        assert f"\n  {command} " in done.stdout, command


def test_a_replay_from_another_directory_with_relative_paths(tmp_path):
    model = ROOT / "build" / "fixtures" / "causal-cls"
    (tmp_path / "data.csv").write_bytes((model / DATA_FILE).read_bytes())
    done = run("replay", "--csv", "data.csv", "--key", "key", "--model.dir", str(model), "--out", "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "replay: 600 records, 600 scored, 0 dead letters" in done.stdout
    assert (tmp_path / "out.csv").read_text().count("\n") == 601


def test_an_unknown_command_is_one_line_and_the_usage(tmp_path):
    done = run("predict", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("npt-stream: unknown command 'predict'\nusage: bin/npt-stream COMMAND")
