"""Every array the interpreter or a compiled module returns is the caller's own: an
output that is an input, a param, a folded constant, or a view (reshape, transpose) of
one of those or of another output, comes back as a copy
(`nnspec.autodiff.borrowed_values`), so writing into it changes neither the caller's
input, nor the model, nor another output."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.autodiff import borrowed_values
from nnspec.codegen import compile, load_source

DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 6]}},
    "params": {
        "W": {"shape": [6, 2], "init": "normal"},
        "C": {"shape": [2, 3], "value": [[1, 2, 3], [4, 5, 6]], "trainable": False},
    },
    "nodes": [
        {"id": "r", "op": "reshape", "inputs": ["x"], "shape": [-1, 2, 3]},
        {"id": "t", "op": "transpose", "inputs": ["x"], "perm": [1, 0]},
        {"id": "rt", "op": "reshape", "inputs": ["t"], "shape": [-1]},
        {"id": "i", "op": "identity", "inputs": ["x"]},
        {"id": "wt", "op": "transpose", "inputs": ["W"], "perm": [1, 0]},
        {"id": "ct", "op": "transpose", "inputs": ["C"], "perm": [1, 0]},
        {"id": "h", "op": "matmul", "inputs": ["x", "W"]},
        {"id": "hr", "op": "reshape", "inputs": ["h"], "shape": [-1]},
    ],
    "outputs": ["x", "r", "t", "rt", "i", "wt", "ct", "h", "hr"],
}
GRAPH = nnspec.load(DOC)


def _engines():
    model = nnspec.Model(GRAPH)
    module = load_source(compile(GRAPH, dict(model.params)))
    return {"interpreter": model.run, "compiled": module.run}


def test_the_borrowed_values_are_inputs_params_and_views_of_them() -> None:
    # hr is a view of the output h: copied, so the two outputs never share memory
    assert borrowed_values(GRAPH) == {"x", "W", "C", "r", "t", "rt", "wt", "ct", "hr"}
    assert {"h", "hr"} <= borrowed_values(GRAPH, ["h"])  # a folded constant and its view


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_no_output_shares_memory_with_the_input_or_the_model(engine: str) -> None:
    run = _engines()[engine]
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    kept = x.copy()
    first = run({"x": x})
    for name, array in first.items():
        assert not np.shares_memory(array, x), name
        for other_name, other in first.items():
            if other_name != name:
                assert not np.shares_memory(array, other), (name, other_name)
        array[...] = -7  # the caller owns it
    np.testing.assert_array_equal(x, kept)
    again = run({"x": x})
    for name in ("wt", "ct", "h"):
        assert not np.all(again[name] == -7), name  # the model was not changed


def test_a_param_asked_for_by_name_is_a_copy() -> None:
    model = nnspec.Model(GRAPH)
    got = model.run({"x": np.zeros((1, 6), np.float32)}, outputs=("W", "C"))
    got["W"][...] = 0
    assert not np.shares_memory(got["W"], model.params["W"])
    assert np.any(model.params["W"] != 0)


def test_both_engines_return_the_same_values() -> None:
    engines = _engines()
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 6)
    a, b = (engines[e]({"x": x}) for e in ("interpreter", "compiled"))
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
