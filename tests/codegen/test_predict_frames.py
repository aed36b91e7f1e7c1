"""A warm batch-1 compiled ``predict`` of a 3-layer MLP: its Python calls, counted.

The module's predict on "auto" and small work calls ``_predict`` directly (no
``_thread_count`` frame), ``_predict`` looks its workspace up inline (``_workspace``
only on a miss), the biases are rank-matched views made at import and ``_softmax``
reduces one row to scalars. Counted with ``sys.setprofile`` (Python frames, and C
functions or methods; NumPy's ufunc calls are no profiled calls); the bounds are
today's counts, so one frame or method call more fails.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.codegen import load_source


def mlp(dtype: str) -> nnspec.Graph:
    return nnspec.load(
        {
            "nnspec": "1",
            "dtype": dtype,
            "inputs": {"x": {"shape": ["batch", 6]}},
            "nodes": [
                {"id": "h1", "op": "dense", "units": 5, "activation": "relu"},
                {"id": "h2", "op": "dense", "units": 4, "activation": "relu"},
                {"id": "out", "op": "dense", "units": 3, "activation": "softmax"},
            ],
        }
    )


def profiled(call: Any, *args: Any) -> tuple[list[str], list[str]]:
    """(Python functions entered, C functions called) by one warm ``call(*args)``."""
    call(*args)  # warm: the workspace
    frames: list[str] = []
    builtins: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            frames.append(frame.f_code.co_name)
        elif event == "c_call" and arg is not sys.setprofile:
            builtins.append(getattr(arg, "__qualname__", repr(arg)))

    sys.setprofile(profile)
    try:
        call(*args)
    finally:
        sys.setprofile(None)
    return frames, builtins


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_batch_1_predict_is_three_frames_and_three_method_calls(dtype: str) -> None:
    graph = mlp(dtype)
    module = load_source(nnspec.compile(graph, self_test=False), f"frames_{dtype}")
    x = np.zeros((1, 6), dtype)
    frames, builtins = profiled(module.predict, x)
    assert frames == ["predict", "_predict", "_softmax"], frames
    # the workspace's dict lookup, softmax's two row reductions
    assert len(builtins) <= 3, builtins


def test_a_workspace_miss_still_makes_the_buffers() -> None:
    module = load_source(nnspec.compile(mlp("float32"), self_test=False), "frames_miss")
    for rows in (1, 3, 1, 9):  # new sizes miss, known ones hit
        x = np.linspace(-1, 1, 6 * rows, dtype=np.float32).reshape(rows, 6)
        first, again = module.predict(x), module.predict(x)
        assert first.shape == (rows, 3)
        assert first.tobytes() == again.tobytes()
        assert first is not again  # every call returns a fresh array
