"""A training step's buffers keep every value's memory layout, so the interpreter stays
bitwise equal to the compiled module whatever layout the caller's arrays have.

``np.tanh(v, out=buf)`` computes the values ``np.tanh(v)`` computes, but lays them out
C-ordered where the allocated result follows a Fortran-ordered or transposed `v`; a
later sum or product then adds in another order. So only results whose operands are
C-ordered whatever the caller passes get a step buffer (`nnspec.buffers.c_ordered`).
These graphs failed before that rule: a transposed product under tanh, and a
Fortran-ordered input (``df.to_numpy()``, ``X.T``) under sub and tanh; sizes of 64
and more, where NumPy's sums and the BLAS take layout-dependent paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.buffers import buffer_plan, c_ordered
from nnspec.codegen import load_source
from nnspec.interpreter import Model
from nnspec.interpreter.init import initial_values
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep, train

SGD = {"name": "sgd", "learning_rate": 0.01}

TRANSPOSED = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 64]}},
    "params": {"W": {"shape": [64, 64], "init": "glorot_uniform"}},
    "nodes": [
        {"id": "h", "op": "matmul", "inputs": ["x", "W"]},
        {"id": "t", "op": "transpose", "inputs": ["h"]},
        {"id": "r", "op": "tanh", "inputs": ["t"]},
        {"id": "s", "op": "sum", "inputs": ["r"], "axis": 0},
    ],
    "outputs": ["s"],
    "training": {"target": {"shape": ["batch"]}, "loss": "mse", "optimizer": SGD},
}

SHIFTED_INPUT = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 64]}},
    "params": {
        "W": {"shape": [64, 1], "init": "glorot_uniform"},
        "m": {"shape": [64], "init": {"name": "constant", "value": 0.3}},
    },
    "nodes": [
        {"id": "c", "op": "sub", "inputs": ["x", "m"]},
        {"id": "r", "op": "tanh", "inputs": ["c"]},
        {"id": "h", "op": "matmul", "inputs": ["r", "W"]},
    ],
    "outputs": ["h"],
    "training": {"target": {"shape": ["batch", 1]}, "loss": "mse", "optimizer": SGD},
}


HEADS = {  # an attention-style head split: a product of rank 4 over a transposed value
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 4, 8, 64]}},
    "params": {"W": {"shape": [64, 64], "init": "glorot_uniform"}},
    "nodes": [
        {"id": "xt", "op": "transpose", "inputs": ["x"], "perm": [1, 0, 2, 3]},
        {"id": "h", "op": "matmul", "inputs": ["xt", "W"]},
        {"id": "f", "op": "reshape", "inputs": ["h"], "shape": [4, -1]},
        {"id": "r", "op": "tanh", "inputs": ["h"]},
        {"id": "s1", "op": "sum", "inputs": ["r"], "axis": [0, 2, 3]},
        {"id": "s2", "op": "sum", "inputs": ["f"], "axis": 0},
        {"id": "s2r", "op": "reshape", "inputs": ["s2"], "shape": [-1, 512]},
        {"id": "s3", "op": "sum", "inputs": ["s2r"], "axis": 1},
        {"id": "s", "op": "add", "inputs": ["s1", "s3"]},
    ],
    "outputs": ["s"],
    "training": {"target": {"shape": ["batch"]}, "loss": "mse", "optimizer": SGD},
}


def test_a_batched_product_of_a_transposed_value_is_no_c_ordered_operand() -> None:
    # np.matmul lays a product with two batch axes out like its operand (here the
    # transposed x): its tanh, written into a C-ordered buffer, made W's gradient
    # round otherwise than the compiled module's at every step.
    graph = nnspec.load(HEADS)
    params = initial_values(graph)
    assert "h" not in c_ordered(list(graph.nodes), ["W"])
    step = TrainStep(Model(graph, params), make_optimizer(SGD))
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    state = module.init_state()
    for k in range(3):
        rng = np.random.default_rng(k)
        feed = {
            "x": (rng.standard_normal((50, 4, 8, 64)) * 0.01).astype(np.float32),
            "target": rng.standard_normal(50).astype(np.float32),
        }
        loss, _ = step(feed)
        assert _bits(np.float32(loss)) == _bits(np.float32(module.train_step(feed, state))), k
        assert _bits(step.model.params["W"]) == _bits(module.PARAMS["W"]), k


def _feeds(doc: dict[str, Any], rows: int, fortran: bool, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    target_shape = (rows,) if doc is TRANSPOSED else (rows, 1)
    return {
        "x": np.asfortranarray(x) if fortran else x,
        "target": rng.standard_normal(target_shape).astype(np.float32),
    }


def _bits(value: Any) -> bytes:
    return np.ascontiguousarray(value).tobytes()


@pytest.mark.parametrize("fortran", [False, True], ids=["C input", "Fortran input"])
@pytest.mark.parametrize("doc", [TRANSPOSED, SHIFTED_INPUT], ids=["transposed", "shifted"])
def test_steps_equal_the_compiled_module_whatever_the_layout(
    doc: dict[str, Any], fortran: bool
) -> None:
    graph = nnspec.load(doc)
    params = initial_values(graph)
    step = TrainStep(Model(graph, params), make_optimizer(SGD))
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    state = module.init_state()
    for k, rows in enumerate([200, 200, 96, 200]):
        feed = _feeds(doc, rows, fortran, seed=k)
        loss, _ = step(feed)
        assert _bits(np.float32(loss)) == _bits(np.float32(module.train_step(feed, state))), k
        for name, value in step.model.params.items():
            assert _bits(value) == _bits(module.PARAMS[name]), (k, name)


def test_gradients_of_a_fortran_input_equal_the_compiled_module() -> None:
    graph = nnspec.load(SHIFTED_INPUT)
    params = initial_values(graph)
    feed = _feeds(SHIFTED_INPUT, 300, fortran=True, seed=0)
    loss, grads = Model(graph, params).gradients(feed)
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    compiled_loss, compiled_grads = module.loss_and_gradients(feed)
    assert _bits(np.float32(loss)) == _bits(np.float32(compiled_loss))
    assert {k: _bits(v) for k, v in grads.items()} == {
        k: _bits(v) for k, v in compiled_grads.items()
    }


def test_full_batch_training_on_a_fortran_array_equals_fit() -> None:
    # one batch of all rows is a slice of the caller's array: still Fortran-ordered
    graph = nnspec.load(SHIFTED_INPUT)
    params = initial_values(graph)
    feed = _feeds(SHIFTED_INPUT, 300, fortran=True, seed=1)
    model = Model(graph, params)
    history = train(model, feed["x"], feed["target"], epochs=3, batch_size=300, seed=0, quiet=True)
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    fitted = module.fit(feed["x"], feed["target"], epochs=3, batch_size=300, seed=0)
    assert [_bits(np.float32(v)) for v in history.loss] == [_bits(np.float32(v)) for v in fitted]
    for name, value in model.params.items():
        assert _bits(value) == _bits(module.PARAMS[name]), name


def test_only_results_of_c_ordered_operands_get_step_buffers() -> None:
    shifted = nnspec.load(SHIFTED_INPUT)
    nodes = list(shifted.nodes)
    # x is the caller's (any layout): its difference and tanh are not known C-ordered
    assert c_ordered(nodes, ["W", "m"]) == {"W", "m", "h", "loss"}  # the loss: rank 0
    plan = buffer_plan(nodes, {"r", "h"}, step=True, params=["W", "m"])
    assert "c" not in plan.workspace and "r" not in plan.workspace
    transposed = nnspec.load(TRANSPOSED)
    nodes = list(transposed.nodes)
    assert c_ordered(nodes, ["W"]) == {"W", "h", "s", "loss"}  # s: rank 1, contiguous
    assert "r" not in buffer_plan(nodes, {"t", "r", "s"}, step=True, params=["W"]).workspace


def test_the_gradient_of_a_node_asked_for_beside_a_param_is_kept() -> None:
    # The reverse pass lets go of a node's cotangent once its VJP ran; a node the
    # caller asked the gradient of (Model.plan's wrt) keeps it: h2 once came back 0.
    from benchmarks import mlp

    graph, params = mlp.graph_and_params(train=True, sizes=(6, 5, 4, 3))
    model = Model(graph, params)
    x, labels = mlp.data(8, (6, 5, 4, 3))
    feed = {"x": x, "label": labels}
    both = model.plan((), graph.training.loss_node, ("h2", "h1.W"), training=True)
    _, grads, _ = model.loss_and_gradients(both, model.environment(both, feed))
    alone = model.plan((), graph.training.loss_node, ("h2",), training=True)
    _, only, _ = model.loss_and_gradients(alone, model.environment(alone, feed))
    assert np.abs(grads["h2"]).sum() > 0
    assert _bits(grads["h2"]) == _bits(only["h2"])


def test_training_keeps_no_activations_once_it_returns() -> None:
    # The step workspace holds every activation of the last batch size (up to eight
    # sizes per thread): 4096 rows of the benchmark MLP are about 13 MB of them. What
    # a finished `train` and `Model.gradients` keep is the plan and the gradient
    # buffers (the params' size, 1 MB here), not those.
    import gc
    import tracemalloc

    from benchmarks import mlp

    graph, params = mlp.graph_and_params(train=True)
    x, labels = mlp.data(4096)
    model = Model(graph, params)
    tracemalloc.start()
    try:
        train(model, x, labels, epochs=1, batch_size=4096, seed=0, quiet=True)
        model.gradients({"x": x, "label": labels})
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept < 3_000_000, kept
