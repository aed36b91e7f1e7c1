"""A dense layer's activation attributes end to end through the CLI: validate, train,
compile --train (the compiled trainer gives the interpreter's weights), summary, graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.codegen import load_source
from nnspec.datasets import make, save_arrays

DOCUMENT = {
    "nnspec": "1",
    "name": "slopes",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "nodes": [
        {"id": "h", "op": "dense", "units": 6, "activation": {"op": "leaky_relu", "alpha": 0.2}},
        {"id": "g", "op": "dense", "units": 4, "activation": {"op": "elu", "alpha": 0.5}},
        {"id": "prob", "op": "dense", "units": 1, "activation": "sigmoid"},
    ],
    "training": {
        "target": {"name": "y", "shape": ["batch", 1]},
        "loss": "binary_cross_entropy",
        "optimizer": {"name": "adam", "learning_rate": 0.05},
        "epochs": 5,
        "batch_size": 16,
        "seed": 3,
    },
}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slopes.json").write_text(json.dumps(DOCUMENT))
    data = make("xor", 64, seed=0)
    save_arrays(tmp_path / "xor.npz", {"x": data.x, "y": data.y})
    return tmp_path


def test_the_attributes_reach_the_lowered_ops() -> None:
    graph = nnspec.load(DOCUMENT)
    ops = {n.id: (n.op, n.attr) for n in graph.nodes if n.origin in ("h", "g")}
    assert ops["h"] == ("leaky_relu", {"alpha": 0.2})
    assert ops["g"] == ("elu", {"alpha": 0.5})


def test_train_and_the_compiled_trainer_agree(work: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "slopes.json"]) == 0
    assert main(["train", "slopes.json", "--data", "xor.npz", "-q", "-o", "trained.json"]) == 0
    assert main(["compile", "slopes.json", "--train", "-o", "slopes.py"]) == 0
    trained = nnspec.load(work / "trained.json")
    assert json.loads((work / "trained.json").read_text())["nodes"] == DOCUMENT["nodes"]
    module = load_source((work / "slopes.py").read_text())
    data = np.load(work / "xor.npz")
    module.fit(data["x"], data["y"])
    for p in trained.params:
        assert np.array_equal(module.PARAMS[p.name], p.value), p.name


def test_summary_and_graph_show_the_layers(work: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["summary", "slopes.json"]) == 0
    table = capsys.readouterr().out
    assert [line.split()[:2] for line in table.splitlines() if line.startswith(("h ", "g "))] == [
        ["h", "dense"],
        ["g", "dense"],
    ]
    assert main(["graph", "slopes.json", "--format", "mermaid"]) == 0
    drawing = capsys.readouterr().out
    assert "leaky_relu" in drawing and "elu" in drawing
