"""The TensorFlow Playground's set-up: ``nnspec init playground`` and docs/playground.md."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import make
from nnspec.ops import REGISTRY
from nnspec.tools.templates import DATA, KINDS, template_text

PAGE = Path(__file__).resolve().parents[2] / "docs" / "playground.md"


def test_init_playground_writes_the_default_set_up_that_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("matplotlib")  # its x-train writes the plots
    monkeypatch.chdir(tmp_path)
    assert "playground" in KINDS
    assert main(["init", "playground", "-o", "playground.json"]) == 0
    assert f"nnspec data {' '.join(DATA['playground'])}" in capsys.readouterr().err
    document = json.loads(Path("playground.json").read_text())
    graph = nnspec.load(document)
    hidden = [n for n in document["nodes"] if n["id"].startswith("hidden")]
    assert [(n["units"], n["activation"]) for n in hidden] == [(4, "tanh"), (2, "tanh")]
    assert graph.training is not None and graph.training.batch_size == 10
    assert graph.training.optimizer["learning_rate"] == 0.03
    for key in ("x-data", "x-train"):
        words = shlex.split(document[key])
        assert main(words[1:]) == 0
    err = capsys.readouterr().err
    values = dict(
        v.split(" ") for v in re.search(r"epoch\(s\), (.*); wrote", err).group(1).split(", ")
    )
    assert float(values["val_accuracy"]) >= 0.95
    assert Path("plots/history.png").is_file() and Path("plots/boundary.png").is_file()


def test_the_page_names_every_control_with_ops_that_exist() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for control in (
        "circle",
        "spiral",
        "multi_gaussian",
        "noise",
        "batch size",
        "X1²",
        "X1·X2",
        "sin X1",
        "six",
        "regression",
        "--validation-split",
    ):
        assert control in page, control
    for op in re.findall(r'"op": "(\w+)"', page):
        assert op in REGISTRY or op == "dense", op


def test_the_all_features_document_validates_and_trains() -> None:
    (block,) = re.findall(r"```json\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    document = json.loads(block)
    graph = nnspec.load(document)
    assert [p.code for p in nnspec.validate(document)] == []
    assert len([n for n in document["nodes"] if n["op"] == "dense"]) == 7  # six hidden + out
    data = make("spiral", 60, seed=0)
    history = nnspec.train(graph, data.x, data.y, epochs=2, validation_split=0.5)
    assert len(history.val_loss) == 2
    first = history.model.run({"x": data.x}, outputs=("features",))["features"]
    assert first.shape == (60, 7)
    x1, x2 = data.x[:, 0], data.x[:, 1]
    expected = [x1, x2, x1 * x1, x2 * x2, x1 * x2]
    for k, column in enumerate(expected):
        assert (first[:, k] == column).all()
    assert template_text("playground")
