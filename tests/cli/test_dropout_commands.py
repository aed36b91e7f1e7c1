"""Dropout end to end through the command line: validate, check, summary, train, and a
compiled ``--train`` module training with the same masks as ``nnspec train``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main

DOC = {
    "nnspec": "1",
    "name": "thinned",
    "inputs": {"x": {"shape": ["batch", 4]}},
    "nodes": [
        {"id": "h", "op": "dense", "units": 12, "activation": "tanh"},
        {"id": "d", "op": "dropout", "rate": 0.3},
        {"id": "p", "op": "dense", "units": 1},
    ],
    "training": {
        "target": {"name": "y", "shape": ["batch", 1]},
        "loss": "mse",
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "epochs": 4,
        "batch_size": 8,
        "seed": 1,
    },
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "d.json").write_text(json.dumps(DOC), encoding="utf-8")
    x = np.random.default_rng(0).uniform(-1, 1, size=(30, 4)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=x[:, :1] * x[:, 1:2])
    return tmp_path


def test_validate_check_and_summary(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = str(folder / "d.json")
    assert main(["validate", doc]) == 0
    assert main(["check", doc]) == 0  # compiled == interpreter; gradients == differences
    capsys.readouterr()
    assert main(["summary", doc]) == 0
    assert re.search(r"^d +dropout +f32\[batch,12\] +0 +h$", capsys.readouterr().out, re.M)


def test_a_rate_of_one_is_refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = json.loads(json.dumps(DOC))
    bad["nodes"][1]["rate"] = 1
    path = folder / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert "/nodes/1/rate" in capsys.readouterr().out


def test_compiled_train_equals_nnspec_train(folder: Path) -> None:
    doc, data = str(folder / "d.json"), str(folder / "data.npz")
    history = folder / "h.json"
    out = str(folder / "t.json")
    code = main(["train", doc, "--data", data, "-o", out, "-q", "--history", str(history)])
    assert code == 0
    want = [row["loss"] for row in json.loads(history.read_text())["history"]]
    assert main(["compile", doc, "--train", "-o", str(folder / "m.py")]) == 0
    done = subprocess.run(
        [sys.executable, "m.py", "--train", "data.npz", "-o", "w.npz"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    got = [float(v) for v in re.findall(r"^epoch \d+: loss (\S+)$", done.stdout, re.M)]
    assert got == want and len(got) == 4
