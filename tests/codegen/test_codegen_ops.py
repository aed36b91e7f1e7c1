"""One row per op: the compiled module computes exactly what the interpreter computes.

Each op gets a tiny document of its own; outputs are compared bitwise (NaN equal to
NaN, since pow/log/sqrt of random data produce some), in float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.codegen.render import check_families
from nnspec.interpreter import Model
from nnspec.ops import REGISTRY


def _inputs_and_node(name: str) -> tuple[dict, dict]:
    op = REGISTRY[name]
    node = {"id": "y", "op": name, **op.example}
    if op.family in ("elementwise",):
        return {"x": {"shape": ["batch", 3]}}, {**node, "inputs": ["x"]}
    if op.family == "binary":
        return {"a": {"shape": ["batch", 3]}, "b": {"shape": [3]}}, {**node, "inputs": ["a", "b"]}
    if op.family == "linalg":
        return {"a": {"shape": ["batch", 3]}, "b": {"shape": [3, 2]}}, {
            **node,
            "inputs": ["a", "b"],
        }
    if op.family == "reduce":
        return {"x": {"shape": ["batch", 3, 2]}}, {**node, "inputs": ["x"]}
    if name == "concat":
        shapes = {"a": {"shape": ["batch", 3]}, "b": {"shape": ["batch", 2]}}
        return shapes, {**node, "inputs": ["a", "b"]}
    if op.family == "shape":
        return {"x": {"shape": ["batch", 3, 2]}}, {**node, "inputs": ["x"]}
    labels = {"shape": ["batch"], "dtype": "int64"} if name == "cross_entropy" else None
    shapes = {"p": {"shape": ["batch", 3]}, "t": labels or {"shape": ["batch", 3]}}
    return shapes, {**node, "inputs": ["p", "t"]}


def document(name: str, dtype: str) -> dict:
    inputs, node = _inputs_and_node(name)
    return {"nnspec": "1", "name": name, "dtype": dtype, "inputs": inputs, "nodes": [node]}


def feed(graph: nnspec.Graph, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for inp in graph.inputs:
        shape = tuple(d if isinstance(d, int) else 4 for d in inp.type.shape)
        if inp.type.is_float:
            arrays[inp.name] = rng.uniform(-2, 2, shape).astype(inp.type.dtype)
        else:
            arrays[inp.name] = rng.integers(0, 3, shape).astype(inp.type.dtype)
    return arrays


def assert_bitwise(got: np.ndarray, want: np.ndarray) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True), np.max(np.abs(got - want))


def test_every_op_has_a_macro() -> None:
    assert check_families() == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_agrees_bitwise(name: str, dtype: str) -> None:
    graph = nnspec.load(document(name, dtype))
    module = load_source(compile(graph, self_test=False))
    inputs = feed(graph)
    with np.errstate(all="ignore"):
        want = Model(graph).run(inputs)["y"]
        got = module.run(inputs)["y"]
    assert_bitwise(got, want)


def test_constant_params_are_folded_and_stay_bitwise_equal() -> None:
    doc = {
        "nnspec": "1",
        "name": "folded",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "params": {"c": {"value": [0.5, -1.5], "trainable": False}},
        "nodes": [
            {"id": "e", "op": "exp", "inputs": ["c"]},
            {"id": "y", "op": "mul", "inputs": ["x", "e"]},
        ],
    }
    graph = nnspec.load(doc)
    source = compile(graph)
    assert "(folded)" in source and "np.exp" not in source.split("def predict")[1]
    inputs = feed(graph)
    assert_bitwise(load_source(source).run(inputs)["y"], Model(graph).run(inputs)["y"])
