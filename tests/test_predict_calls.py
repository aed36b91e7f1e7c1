"""What a warm predict costs in Python, in both engines: counted frames, never timed.

A batch-1 predict spends most of its time outside the matrix products in Python
calls and NumPy's per-call overhead. These tests count the Python frames of nnspec's
own code (the compiled module, the interpreter's package and its plan function) in
one warm call: a fixed handful per call, none per node, so a deeper network costs
no more Python than a shallow one. (NumPy's own helper frames are not counted.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.codegen import load_source
from nnspec.interpreter import Model

PACKAGE = str(Path(nnspec.__file__).parent)


def _stack(depth: int, activation: str) -> nnspec.Graph:
    layers = [{"op": "dense", "units": 8, "activation": activation} for _ in range(depth)]
    return nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 8]}},
            "nodes": [*layers, {"op": "dense", "units": 3, "activation": "softmax"}],
        }
    )


def _own_frames(call: Callable[[], Any], files: tuple[str, ...]) -> list[str]:
    """Names of the Python functions from `files` (prefixes) one `call` enters."""
    call()  # warm: plans, workspaces, sampled thread counts
    seen: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(files):
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return seen


def _engine(name: str, graph: nnspec.Graph) -> tuple[Callable[..., Any], tuple[str, ...]]:
    if name == "compiled":
        module = load_source(nnspec.compile(graph, self_test=False), f"calls_{id(graph)}")
        return module.predict, (module.__file__ or "<nnspec module>",)
    return Model(graph).predict, (PACKAGE, "<nnspec plan>")


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_python_calls_per_predict_do_not_grow_with_depth(
    engine: str, batch: int, activation: str
) -> None:
    # tanh is a bare ufunc, relu the ufunc np.maximum with a typed zero
    # (`OpDef.ufunc_zero`): their steps are NumPy calls (an op whose forward is
    # Python, such as sigmoid, has its own frame in both engines)
    x = np.linspace(-1, 1, 8 * batch, dtype=np.float32).reshape(batch, 8)
    counts = []
    for depth in (1, 4):
        predict, files = _engine(engine, _stack(depth, activation))
        counts.append(len(_own_frames(lambda p=predict: p(x), files)))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_a_warm_batch_1_predict_enters_a_handful_of_python_functions(engine: str) -> None:
    predict, files = _engine(engine, _stack(2, "tanh"))
    x = np.zeros((1, 8), np.float32)
    frames = _own_frames(lambda: predict(x), files)
    # compiled: predict, _thread_count, _predict, _workspace, _softmax; interpreter:
    # predict, run, environment, the input check, the thread choice, the plan
    # function (and its wrapper), its workspace, softmax
    assert len(frames) <= {"compiled": 6, "interpreter": 14}[engine], frames


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_with_a_typed_zero_is_bitwise_np_maximum_with_0_0(engine: str, dtype: str) -> None:
    # the typed zero changes no bit: signed zeros, NaN, infinities, subnormals keep
    # what np.maximum(x, 0.0) gives, in the model's dtype
    graph = nnspec.load(
        {
            "nnspec": "1",
            "dtype": dtype,
            "inputs": {"x": {"shape": ["batch", 4]}},
            "nodes": [{"op": "relu"}, {"op": "relu"}, {"op": "neg"}],
        }
    )
    predict, _ = _engine(engine, graph)
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([[-0.0, 0.0, np.nan, -np.inf], [np.inf, tiny, -tiny, -2.5]], dtype)
    expected = np.negative(np.maximum(np.maximum(x, 0.0), 0.0))
    for _ in range(2):  # cold and warm
        got = predict(x)
        assert got.dtype == np.dtype(dtype)
        assert got.tobytes() == expected.tobytes(), (got, expected)
