"""The buffer plan (`nnspec.buffers`) and what both engines make of it.

Counted, never timed: which results each engine writes in place or into its
workspace, what a call allocates once the workspace is warm (tracemalloc sees NumPy's
allocations), and that every call still returns arrays of the caller's own.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.buffers import buffer_plan
from nnspec.codegen import load_source
from nnspec.interpreter import Model

HIDDEN = 64


def _mlp(activation: str = "relu") -> nnspec.Graph:
    return nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 32]}},
            "nodes": [
                {"id": "h1", "op": "dense", "units": HIDDEN, "activation": activation},
                {"id": "h2", "op": "dense", "units": HIDDEN, "activation": activation},
                {"id": "out", "op": "dense", "units": 4, "activation": "softmax"},
            ],
        }
    )


def test_a_dense_stack_writes_each_layer_into_its_product() -> None:
    graph = _mlp()
    plan = buffer_plan(graph.nodes, graph.outputs)
    assert plan.workspace == ("h1.matmul", "h2.matmul", "out.matmul")
    assert plan.into == {
        "h1.add": "h1.matmul",
        "h1": "h1.add",
        "h2.add": "h2.matmul",
        "h2": "h2.add",
        "out.add": "out.matmul",
    }


def test_outputs_and_values_read_later_are_never_reused() -> None:
    graph = _mlp()
    plan = buffer_plan(graph.nodes, {"h1", *graph.outputs})
    assert "h1" not in plan.into.values()  # h1 must survive: nothing writes over it
    assert "h1.matmul" not in plan.workspace  # ... nor over the memory it was written into
    assert "h2.matmul" in plan.workspace


def test_a_value_with_a_view_reader_is_not_owned() -> None:
    graph = nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": [4, 4]}},
            "params": {"W": {"shape": [4, 4], "init": "ones"}},
            "nodes": [
                {"id": "p", "op": "matmul", "inputs": ["x", "W"]},
                {"id": "t", "op": "transpose", "inputs": ["p"]},
                {"id": "r", "op": "relu", "inputs": ["p"]},
                {"id": "s", "op": "add", "inputs": ["r", "t"]},
            ],
            "outputs": ["s"],
        }
    )
    plan = buffer_plan(graph.nodes, graph.outputs)
    assert "r" not in plan.into  # t is a view of p: writing over p would change t
    assert plan.workspace == ()


def _engines(graph: nnspec.Graph) -> dict[str, Callable[[np.ndarray], Any]]:
    module = load_source(nnspec.compile(graph, self_test=False))
    model = Model(graph, threads=1)
    return {"compiled": module.predict, "interpreter": model.predict}


def _allocated(call: Callable[[], Any]) -> int:
    """Peak bytes NumPy allocates during `call` (beyond what was allocated before)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_a_warm_call_allocates_its_outputs_not_its_products(engine: str) -> None:
    graph = _mlp()
    predict = _engines(graph)[engine]
    batch = 512
    x = np.random.default_rng(0).standard_normal((batch, 32)).astype(np.float32)
    first = predict(x)
    hidden = batch * HIDDEN * 4  # bytes of one hidden layer's values
    assert _allocated(lambda: predict(x)) < hidden  # the output ([512, 4]) and row sums only
    second = predict(x)
    assert second is not first and not np.shares_memory(first, second)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_the_workspace_is_per_thread_and_per_batch_size(engine: str) -> None:
    graph = _mlp("tanh")
    predict = _engines(graph)[engine]
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((n, 32)).astype(np.float32) for n in (1, 7, 300, 7)]
    want = [predict(x).copy() for x in xs]
    got: dict[int, list[np.ndarray]] = {}

    def work(k: int) -> None:
        got[k] = [predict(x) for x in xs for _ in range(20)][::20]

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for results in got.values():
        assert all(a.tobytes() == b.tobytes() for a, b in zip(results, want, strict=True))


def test_both_engines_agree_bitwise_with_a_warm_workspace() -> None:
    graph = _mlp()
    engines = _engines(graph)
    rng = np.random.default_rng(2)
    for n in (1, 3, 64, 3):
        x = rng.standard_normal((n, 32)).astype(np.float32)
        a, b = (engines[k](x) for k in ("compiled", "interpreter"))
        assert a.tobytes() == b.tobytes()
