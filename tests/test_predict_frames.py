"""A warm batch-1 predict of a 3-layer MLP in both engines: its Python calls, counted
(never timed).

`Model.predict`'s direct path (one exact input, small work on "auto") runs the plan
function with no `run` / `environment` / input-check / thread-choice frames; a compiled
module's predict on "auto" and small work calls ``_predict`` directly (no
``_thread_count`` frame), and ``_predict`` looks its workspace up inline
(``_workspace`` only on a miss). In both the biases are read as rank-matched views and
softmax of one row reduces to scalars. Counted with ``sys.setprofile``: Python frames
entered and C functions / methods called (NumPy's ufuncs themselves, one per step,
are no profiled calls). The bounds are today's counts; a frame or a method call more
per predict fails the test.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.codegen import load_source
from nnspec.interpreter import Model


def mlp(dtype: str = "float32") -> nnspec.Graph:
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
    call(*args)  # warm: plans, workspaces
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
def test_a_batch_1_predict_is_four_frames_and_four_method_calls(dtype: str) -> None:
    model = Model(mlp(dtype))
    x = np.zeros((1, 6), dtype)
    frames, builtins = profiled(model.predict, x)
    # predict, the plan's function (it catches its own failures: no wrapper), the
    # workspace lookup, softmax
    assert frames == ["predict", "run", "__call__", "softmax"], frames
    # the environment's copy, the workspace's dict lookup, softmax's two row reductions
    assert len(builtins) <= 4, builtins


def test_the_direct_path_is_what_run_returns() -> None:
    model = Model(mlp("float64"))
    x = np.linspace(-3, 3, 12).reshape(2, 6)
    assert model.predict(x).tobytes() == model.run({"x": x})["out"].tobytes()
    # inputs the direct path does not take go the checked way, with its errors
    assert model.predict(x.tolist()).tobytes() == model.predict(x).tobytes()
    assert model.predict(x, threads=1).tobytes() == model.predict(x).tobytes()
    with pytest.raises(ValueError, match="expected shape"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="expected shape"):
        model.predict(np.zeros((2, 6, 1)))


def test_a_deeper_batch_1_predict_enters_no_more_frames() -> None:
    x = np.zeros((1, 6), np.float32)
    counts = []
    for depth in (1, 5):
        layers = [{"op": "dense", "units": 6, "activation": "relu"} for _ in range(depth)]
        graph = nnspec.load(
            {
                "nnspec": "1",
                "inputs": {"x": {"shape": ["batch", 6]}},
                "nodes": [*layers, {"op": "dense", "units": 3, "activation": "softmax"}],
            }
        )
        model = Model(graph)
        frames, builtins = profiled(model.predict, x)
        counts.append((len(frames), len(builtins)))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_compiled_batch_1_predict_is_three_frames_and_three_method_calls(dtype: str) -> None:
    graph = mlp(dtype)
    module = load_source(nnspec.compile(graph, self_test=False), f"frames_{dtype}")
    x = np.zeros((1, 6), dtype)
    frames, builtins = profiled(module.predict, x)
    assert frames == ["predict", "_predict", "_softmax"], frames
    # the workspace's dict lookup, softmax's two row reductions
    assert len(builtins) <= 3, builtins


def test_a_compiled_workspace_miss_still_makes_the_buffers() -> None:
    module = load_source(nnspec.compile(mlp("float32"), self_test=False), "frames_miss")
    for rows in (1, 3, 1, 9):  # new sizes miss, known ones hit
        x = np.linspace(-1, 1, 6 * rows, dtype=np.float32).reshape(rows, 6)
        first, again = module.predict(x), module.predict(x)
        assert first.shape == (rows, 3)
        assert first.tobytes() == again.tobytes()
        assert first is not again  # every call returns a fresh array


def test_a_param_replaced_on_another_thread_is_seen_whole() -> None:
    # b is read through its rank-matched (1, 4) view by `a` and as itself by `s`: a
    # predict must see the old b in both or the new b in both (0.0 or 3.0 here). With
    # the two slots written one after the other, about 6 % of calls saw a mix.
    graph = nnspec.load(
        {
            "nnspec": "1",
            "dtype": "float64",
            "inputs": {"x": {"shape": ["batch", 4]}},
            "params": {"b": {"shape": [4], "init": "zeros"}},
            "nodes": [
                {"id": "a", "op": "add", "inputs": ["x", "b"]},
                {"id": "s", "op": "add", "inputs": ["b", "b"]},
                {"id": "o", "op": "add", "inputs": ["a", "s"]},
            ],
            "outputs": ["o"],
        }
    )
    model = Model(graph)
    x = np.zeros((1, 4))
    stop = threading.Event()

    def replace() -> None:
        values, k = (np.zeros(4), np.ones(4)), 0
        while not stop.is_set():
            model.params["b"] = values[k % 2]
            k += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    writer = threading.Thread(target=replace)
    writer.start()
    try:
        seen = {float(model.predict(x)[0, 0]) for _ in range(20_000)}
    finally:
        stop.set()
        writer.join()
        sys.setswitchinterval(interval)
    assert seen <= {0.0, 3.0}, seen
