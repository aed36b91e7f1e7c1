"""Random inputs in their domain (`nnspec.sampling`): which inputs the graph shows must be
positive, and ``nnspec check`` / ONNX verification agreeing on models that take an
input's log, square root, fractional power or reciprocal (standard-normal inputs made
them report DISAGREES on NaN)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.onnx.verify import scaled_error
from nnspec.sampling import POSITIVE, draw, positive_values

HALF = {"shape": [1], "value": [0.5], "trainable": False}


def _doc(nodes: list, inputs=("x",), params=None, training=True) -> dict:
    doc = {
        "nnspec": "1",
        "dtype": "float64",
        "inputs": {name: {"shape": ["batch", 3]} for name in inputs},
        "params": params or {},
        "nodes": nodes,
    }
    if training:  # z = y · scale, whose gradient is sum(y): NaN if y is
        doc["params"] = {**doc["params"], "scale": {"shape": [1], "init": "ones"}}
        doc["nodes"] = [
            *nodes,
            {"id": "z", "op": "mul", "inputs": [nodes[-1]["id"], "scale"]},
            {"id": "loss", "op": "sum", "inputs": ["z"]},
        ]
        doc["outputs"] = ["z"]
        doc["training"] = {"loss": {"node": "loss"}}
    return doc


W = {"w": {"shape": [3], "init": "normal"}}
CASES = {
    "log": (_doc([{"id": "y", "op": "log", "inputs": ["x"]}]), {"x"}),
    "sqrt": (_doc([{"id": "y", "op": "sqrt", "inputs": ["x"]}]), {"x"}),
    "pow, fractional": (
        _doc([{"id": "y", "op": "pow", "inputs": ["x", "h"]}], params={"h": HALF}),
        {"x"},
    ),
    "div by an input": (_doc([{"id": "y", "op": "div", "inputs": ["a", "b"]}], ("a", "b")), {"b"}),
    "reshape, then log": (
        _doc(
            [
                {"id": "r", "op": "reshape", "inputs": ["x"], "shape": [-1, 1]},
                {"id": "y", "op": "log", "inputs": ["r"]},
            ]
        ),
        {"x"},
    ),
    "transpose, then sqrt": (
        _doc(
            [
                {"id": "t", "op": "transpose", "inputs": ["x"]},
                {"id": "y", "op": "sqrt", "inputs": ["t"]},
            ]
        ),
        {"x"},
    ),
    "a sum of two inputs, then log": (
        _doc(
            [
                {"id": "s", "op": "add", "inputs": ["a", "b"]},
                {"id": "y", "op": "log", "inputs": ["s"]},
            ],
            ("a", "b"),
        ),
        {"a", "b"},
    ),
    "sqrt of sqrt": (
        _doc(
            [
                {"id": "s", "op": "sqrt", "inputs": ["x"]},
                {"id": "y", "op": "sqrt", "inputs": ["s"]},
            ]
        ),
        {"x"},
    ),
    "one of two uses is a log": (
        _doc(
            [
                {"id": "l", "op": "log", "inputs": ["x"]},
                {"id": "r", "op": "relu", "inputs": ["x"]},
                {"id": "y", "op": "add", "inputs": ["l", "r"]},
            ]
        ),
        {"x"},
    ),
    "exp, then log: no need": (
        _doc(
            [
                {"id": "e", "op": "exp", "inputs": ["x"]},
                {"id": "y", "op": "log", "inputs": ["e"]},
            ]
        ),
        set(),
    ),
    "a product, then log: not shown": (
        _doc(
            [
                {"id": "m", "op": "mul", "inputs": ["x", "w"]},
                {"id": "y", "op": "softplus", "inputs": ["m"]},
            ],
            params=W,
        ),
        set(),
    ),
    "tanh only": (_doc([{"id": "y", "op": "tanh", "inputs": ["x"]}]), set()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_positive_inputs_are_those_the_graph_shows(name: str) -> None:
    doc, expected = CASES[name]
    graph = nnspec.load(json.dumps(doc))
    assert positive_values(graph) & {i.name for i in graph.inputs} == expected


def test_draw_keeps_the_normal_stream_for_other_inputs() -> None:
    """An input that need not be positive gets exactly the draw it got before."""
    a = draw(np.random.default_rng(3), (4, 2), "float32", positive=False)
    b = np.random.default_rng(3).normal(0.0, 1.0, (4, 2)).astype("float32")
    np.testing.assert_array_equal(a, b)
    p = draw(np.random.default_rng(3), (1000,), "float64", positive=True)
    assert p.min() >= POSITIVE[0] and p.max() <= POSITIVE[1]


@pytest.mark.parametrize("name", [n for n, (_, need) in CASES.items() if need])
def test_check_agrees_on_models_that_need_positive_inputs(
    tmp_path: Path, capsys, name: str
) -> None:
    doc, _ = CASES[name]
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    code = main(["check", str(tmp_path / "doc.json"), "--batch", "5"])
    out = capsys.readouterr().out
    assert code == 0 and "DISAGREES" not in out, out
    assert "gradient scale" in out


@pytest.mark.parametrize(
    ("got", "want", "error"),
    [
        ([np.nan, 1.0], [np.nan, 1.0], 0.0),
        ([np.inf, -np.inf], [np.inf, -np.inf], 0.0),
        ([np.nan, 1.0], [0.0, 1.0], np.inf),
        ([0.0, 1.0], [np.nan, 1.0], np.inf),
        ([np.inf], [-np.inf], np.inf),
        ([np.inf], [1e300], np.inf),
        ([np.nan, 3.0], [np.nan, 1.0], 2.0),  # scaled by the largest finite |want|: 1
        ([np.inf, 4.5], [np.inf, 4.0], 0.5 / 4.0),
        ([1.0], [1.0 + 1e-9], 1e-9),
        ([], [], 0.0),
    ],
)
def test_scaled_error_counts_nan_and_equal_infinities_as_agreement(got, want, error) -> None:
    value = scaled_error(np.array(got, np.float64), np.array(want, np.float64))
    assert value == pytest.approx(error, rel=1e-6) if np.isfinite(error) else value == error


def test_scaled_error_of_different_shapes_is_infinite() -> None:
    assert scaled_error(np.zeros(2), np.zeros(3)) == np.inf


ONNX_CASES = {
    "Log": [("Log", ["x"], ["y"])],
    "Sqrt": [("Sqrt", ["x"], ["y"])],
    "Pow half": [("Pow", ["x", "half"], ["y"])],
    "Reciprocal by Div": [("Div", ["one", "x"], ["y"])],
    "Reshape, then Log": [("Reshape", ["x", "flat"], ["r"]), ("Log", ["r"], ["y"])],
    "Add, then Sqrt": [("Add", ["x", "one"], ["s"]), ("Sqrt", ["s"], ["y"])],
}


@pytest.mark.parametrize("name", list(ONNX_CASES))
def test_check_of_an_onnx_model_that_logs_an_input_agrees(tmp_path: Path, capsys, name) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    constants = {
        "half": np.array([0.5], np.float32),
        "one": np.array([1.0], np.float32),
        "flat": np.array([-1], np.int64),
    }
    nodes = [helper.make_node(op, ins, outs) for op, ins, outs in ONNX_CASES[name]]
    used = {i for _, ins, _ in ONNX_CASES[name] for i in ins}
    out_shape = [None] if name.startswith("Reshape") else ["N", 3]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(v, k) for k, v in constants.items() if k in used],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    code = main(["check", str(tmp_path / "m.onnx")])
    captured = capsys.readouterr()
    assert code == 0 and "DISAGREES" not in captured.out, captured
    assert "interpreter vs onnxruntime" in captured.out
