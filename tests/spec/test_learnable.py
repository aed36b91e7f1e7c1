"""NN905: a warning, in validate and before train's first epoch, when nothing can learn."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import make, save_arrays
from nnspec.interpreter.train import train
from nnspec.spec.learnable import NothingToLearnWarning, learning_problems

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def doc(nodes: list, params: dict | None = None, training: dict | None = None) -> dict:
    document = {
        "nnspec": "1",
        "name": "t",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": nodes,
        "training": training or {"target": {"name": "y", "shape": ["batch", 1]}, "loss": "mse"},
    }
    if params:
        document["params"] = params
    return document


def codes(document: dict) -> list[str]:
    return [p.code for p in learning_problems(nnspec.load(document))]


FROZEN = {"W": {"value": [[1.0], [2.0]], "trainable": False}}


@pytest.mark.parametrize(
    ("nodes", "params", "expected"),
    [
        # every param frozen
        ([{"op": "matmul", "inputs": ["x", "W"]}], FROZEN, ["NN905"]),
        # a sign output layer cuts the only path to both layers' params
        (
            [
                {"id": "h", "op": "dense", "units": 3, "activation": "tanh"},
                {"id": "o", "op": "dense", "units": 1, "activation": "sign"},
            ],
            None,
            ["NN905"],
        ),
        # a sign hidden layer leaves the output layer trainable
        (
            [
                {"id": "h", "op": "dense", "units": 3, "activation": "sign"},
                {"id": "o", "op": "dense", "units": 1},
            ],
            None,
            [],
        ),
        # a second, differentiable branch around the sign reaches the params
        (
            [
                {"id": "z", "op": "dense", "units": 1},
                {"id": "s", "op": "sign", "inputs": ["z"]},
                {"id": "t", "op": "tanh", "inputs": ["z"]},
                {"id": "o", "op": "add", "inputs": ["s", "t"]},
            ],
            None,
            [],
        ),
        # both branches cut
        (
            [
                {"id": "z", "op": "dense", "units": 1},
                {"id": "s", "op": "sign", "inputs": ["z"]},
                {"id": "u", "op": "sign", "inputs": ["z"]},
                {"id": "o", "op": "mul", "inputs": ["s", "u"]},
            ],
            None,
            ["NN905"],
        ),
    ],
)
def test_nothing_to_learn_is_found(nodes: list, params: dict | None, expected: list) -> None:
    assert codes(doc(nodes, params)) == expected


def test_the_message_names_the_cutting_layers_and_the_params() -> None:
    nodes = [
        {"id": "h", "op": "dense", "units": 3, "activation": "tanh"},
        {"id": "o", "op": "dense", "units": 1, "activation": "sign"},
    ]
    (problem,) = learning_problems(nnspec.load(doc(nodes)))
    assert problem.severity == "warning" and problem.pointer == "/training"
    assert "(h.W, h.b, o.W, o.b) is cut by ops without a useful gradient at o (sign)" in (
        problem.message
    )


def test_an_explicit_loss_node_is_followed() -> None:
    document = json.loads((EXAMPLES / "explicit_graph.json").read_text())
    assert codes(document) == []
    document["nodes"][2] = {"id": "h", "op": "sign", "inputs": ["z1"]}  # was leaky_relu
    # the output layer (W2, b2) still learns through the loss node
    assert codes(document) == []
    for name in document["params"]:
        document["params"][name]["trainable"] = False
    assert codes(document) == ["NN905"]


def test_no_training_section_and_the_examples_do_not_warn() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        assert learning_problems(nnspec.load(path)) == [], path.name


def test_train_warns_before_the_first_epoch() -> None:
    graph = nnspec.load(doc([{"op": "matmul", "inputs": ["x", "W"]}], FROZEN))
    data = make("xor", 8)
    with pytest.warns(NothingToLearnWarning, match="NN905 nothing can learn"):
        history = train(graph, data.x, data.y, epochs=2)
    assert history.loss[0] == history.loss[1]  # indeed constant
    with warnings.catch_warnings():
        warnings.simplefilter("error", NothingToLearnWarning)
        with pytest.raises(NothingToLearnWarning):
            train(graph, np.full((8, 2), np.nan), data.y, epochs=2)  # before the data check


def test_cli_validate_and_train_report_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "frozen.json"
    path.write_text(json.dumps(doc([{"op": "matmul", "inputs": ["x", "W"]}], FROZEN)))
    assert main(["validate", str(path)]) == 0
    assert "warning NN905 nothing can learn" in capsys.readouterr().out
    data = make("xor", 8)
    save_arrays(tmp_path / "d.npz", {"x": data.x, "y": data.y})
    train_args = ["train", str(path), "--data", str(tmp_path / "d.npz"), "--epochs", "2"]
    assert main([*train_args, "-o", str(tmp_path / "o.json"), "-q"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("nnspec train: warning NN905 nothing can learn: no param")
    assert lines[1].startswith("nnspec train: 2 epoch(s)") and len(lines) == 2
    assert main([*train_args, "-o", str(tmp_path / "p.json"), "--silent"]) == 0
    assert capsys.readouterr().err == ""
    ignored = json.loads(path.read_text()) | {"x-nnspec": {"ignore": ["NN905"]}}
    path.write_text(json.dumps(ignored))
    assert main(["validate", str(path)]) == 0
    assert "NN905" not in capsys.readouterr().out
