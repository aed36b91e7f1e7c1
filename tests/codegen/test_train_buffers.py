"""The compiled training step's workspace (`_train_workspace`): reused, per thread, exact.

The module's `train_step` writes its forward products (and the bias adds and ReLUs
computed over them in place) and the cotangents its matrix products make into
buffers kept per thread and batch size. These tests check that a warm step no longer
allocates activation-sized arrays, that the results stay bitwise the interpreter's
across batch sizes, threads and regularizers, and relu's VJP (it reads its output's
mask) on the values where a mask could differ: signed zeros, NaN, infinities.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
from typing import Any

import numpy as np
import pytest

import nnspec
from benchmarks import mlp
from nnspec.codegen import load_source
from nnspec.interpreter import Model
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep
from nnspec.ops import REGISTRY

FEATURES, HIDDEN = 32, 256


def _document(
    dtype: str = "float32", optimizer: dict | None = None, regularizer: dict | None = None
) -> dict:
    first: dict[str, Any] = {"id": "h1", "op": "dense", "units": HIDDEN, "activation": "relu"}
    if regularizer:
        first["regularizer"] = regularizer
    return {
        "nnspec": "1",
        "dtype": dtype,
        "inputs": {"x": {"shape": ["batch", FEATURES]}},
        "nodes": [
            first,
            {"id": "h2", "op": "dense", "units": HIDDEN // 2, "activation": "relu"},
            {"id": "out", "op": "dense", "units": 10},
        ],
        "training": {
            "target": {"name": "label", "shape": ["batch"], "dtype": "int64"},
            "loss": {"op": "cross_entropy", "from_logits": True},
            "optimizer": optimizer or {"name": "sgd", "learning_rate": 0.05},
        },
    }


def _batch(rows: int, seed: int = 0, dtype: str = "float32") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(rows, FEATURES)).astype(dtype),
        "label": rng.integers(0, 10, rows),
    }


def _engines(doc: dict) -> tuple[Model, TrainStep, Any]:
    graph = nnspec.load(doc)
    model = Model(graph, threads=1)
    step = TrainStep(model, make_optimizer(graph.training.optimizer), threads=1)
    module = load_source(nnspec.compile(graph, self_test=False, train=True))
    return model, step, module


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("rows", [128, 512])
def test_a_warm_step_allocates_less_than_one_activation(rows: int, peak_bytes: Any) -> None:
    """Before the workspace a step allocated every product and ReLU output afresh (each
    rows x HIDDEN floats, several of them); now only small arrays and the bool ReLU
    masks (a quarter of one activation each) are new."""
    _, _, module = _engines(_document())
    feed, state = _batch(rows), module.init_state()
    for _ in range(2):  # the first step makes the buffers
        module.train_step(feed, state, threads=1)
    activation = rows * HIDDEN * 4
    peak = peak_bytes(lambda: module.train_step(feed, state, threads=1))
    assert peak < activation, (rows, peak, activation)


def test_the_training_forward_writes_into_the_workspace_and_relu_in_place() -> None:
    source = nnspec.compile(nnspec.load(_document()), self_test=False, train=True)
    hot = source.split("def _gradients(", 1)[1].split("\ndef ", 1)[0]
    assert "_tw = _train_workspace(x.shape[0])" in hot
    assert "h1_matmul = np.matmul(x, H1_W, out=_tw[0])" in hot
    assert "h1 = np.maximum(h1_add, _ZERO_float32, out=h1_add)" in hot  # relu in place
    assert "d_h1 = np.matmul(d_h2_matmul, H2_W.T, out=_tw[" in hot
    assert source.isascii()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("optimizer", "regularizer"),
    [({"name": "sgd", "learning_rate": 0.05}, None), ({"name": "adam"}, {"l1": 0.01, "l2": 0.02})],
    ids=["sgd", "adam-l1-l2"],
)
def test_steps_stay_bitwise_the_interpreter_s_across_batch_sizes(
    dtype: str, optimizer: dict, regularizer: dict | None
) -> None:
    """Several steps, batch sizes alternating (a second size gets buffers of its own,
    the first size's are found again): losses and params equal the interpreter's."""
    model, step, module = _engines(_document(dtype, optimizer, regularizer))
    state = module.init_state()
    for k, rows in enumerate([8, 5, 8, 5, 1, 8]):
        feed = _batch(rows, k, dtype)
        expected, _ = step(feed)
        loss = module.train_step(feed, state, threads=1)
        assert _same_bits(np.asarray(loss, dtype), np.asarray(expected)), (k, loss, expected)
        for name, value in model.params.items():
            assert _same_bits(module.PARAMS[name], value), (k, name)


def test_penalty_buffers_stay_apart_from_gradient_and_step_buffers() -> None:
    """A regularized param's gradient lands in its gradient buffer, then the penalty
    writes gradient + penalty terms into its own buffer: no buffer is both (an earlier
    design keyed them alike), and none shares memory with the step's workspace."""
    model, _, module = _engines(_document(regularizer={"l1": 0.01, "l2": 0.02}))
    feed = _batch(6, 3)
    _, grads = module._gradients(module._train_inputs(feed))
    held = module._TRAIN_BUFFERS.held
    gradient, penalty = held[("gradient", "h1.W")][0], held[("penalty", "h1.W")]
    assert grads["h1.W"] is penalty[0] and not np.shares_memory(gradient, penalty[0])
    workspace = [b for bs in module._TRAIN_WORKSPACES.held.values() for b in bs]
    arrays = [a for bs in held.values() for a in bs] + workspace
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)
    _, expected = model.gradients(feed)
    again = module.loss_and_gradients(feed)[1]
    for name, value in expected.items():
        assert _same_bits(again[name], value), name


def test_two_threads_stepping_at_once_each_get_their_own_buffers() -> None:
    """Two threads computing gradients of equal-sized batches at once (the same
    workspace key): shared buffers would mix one thread's activations into the other's
    gradients. Each result must equal the same call made alone."""
    _, _, module = _engines(_document())
    feeds = [_batch(64, 10), _batch(64, 11)]
    alone = [module.loss_and_gradients(feed) for feed in feeds]
    start = threading.Barrier(2)
    wrong: list[tuple[int, int, str]] = []

    def work(k: int) -> None:
        start.wait()
        for turn in range(40):
            loss, grads = module.loss_and_gradients(feeds[k])
            if loss != alone[k][0]:
                wrong.append((k, turn, "loss"))
            wrong.extend(
                (k, turn, name)
                for name, value in grads.items()
                if not _same_bits(value, alone[k][1][name])
            )

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, wrong[:5]


def test_two_module_states_stepped_in_two_threads_match_the_interpreter() -> None:
    """Two loaded modules (two states, two PARAMS) trained at once in two threads."""
    docs = [_document(), _document(optimizer={"name": "adam"})]
    engines = [_engines(doc) for doc in docs]
    wrong: list[str] = []
    start = threading.Barrier(2)

    def work(k: int) -> None:
        model, step, module = engines[k]
        state = module.init_state()
        start.wait()
        for turn in range(10):
            feed = _batch(32 + 8 * (turn % 2), turn + 100 * k)
            expected, _ = step(feed)
            loss = module.train_step(feed, state, threads=1)
            if loss != float(expected):
                wrong.append(f"{k}: step {turn} loss")
        for name, value in model.params.items():
            if not _same_bits(module.PARAMS[name], value):
                wrong.append(f"{k}: {name}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, wrong


SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 2.5, -2.5, 1e-310]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_vjp_reads_the_output_mask_with_the_input_s_gradient(dtype: str) -> None:
    """(relu(x) > 0) == (x > 0) for every x: np.maximum keeps NaN (NaN > 0 is False)
    and gives a signed zero for a zero. So the gradient is bitwise what it was when
    the VJP read the input, for finite and non-finite cotangents alike."""
    relu = REGISTRY["relu"]
    assert relu.vjp_reads_out and relu.vjp_reads == "shapes"
    with np.errstate(all="ignore"):
        x = np.array(SPECIAL, dtype)
        y = relu.forward(x)
        assert np.array_equal(y > 0, x > 0)
        for cotangent in (1.5, -0.0, np.nan, np.inf):
            dy = np.full_like(x, cotangent)
            (dx,) = relu.vjp(dy, x, out=y)
            assert _same_bits(dx, dy * (x > 0)), cotangent


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_module_s_relu_gradient_on_special_values_is_the_interpreter_s(dtype: str) -> None:
    graph = nnspec.load(
        {
            "nnspec": "1",
            "dtype": dtype,
            "inputs": {"x": {"shape": ["batch", len(SPECIAL)]}},
            "params": {"w": {"shape": [len(SPECIAL)], "value": [1.0] * len(SPECIAL)}},
            "nodes": [
                {"id": "h", "op": "mul", "inputs": ["x", "w"]},
                {"id": "y", "op": "relu", "inputs": ["h"]},
                {"id": "loss", "op": "sum", "inputs": ["y"]},
            ],
            "training": {"loss": {"node": "loss"}},
        }
    )
    module = load_source(nnspec.compile(graph, self_test=False, train=True))
    feed = {"x": np.array([SPECIAL, [-v for v in SPECIAL]], dtype)}
    with np.errstate(all="ignore"):
        expected = Model(graph).gradients(feed)[1]["w"]
        got = module.loss_and_gradients(feed)[1]["w"]
        x = feed["x"]
        by_formula = (np.ones_like(x) * (x > 0) * x).sum(axis=0)  # dy * mask, then * x
    assert _same_bits(got, expected)
    assert _same_bits(got, by_formula)


@pytest.mark.parametrize("first", ["tanh", "relu"])
def test_a_chain_of_vjps_over_a_scalar_equals_the_interpreter(first: str) -> None:
    # A 0-d cotangent is a NumPy scalar: no VJP may write into it (out= refuses one);
    # the module raised "return arrays must be of ArrayType" for mean -> tanh -> tanh.
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 4]}, "t": {"shape": []}},
        "params": {"W": {"shape": [4, 1], "init": "glorot_uniform"}},
        "nodes": [
            {"id": "h", "op": "matmul", "inputs": ["x", "W"]},
            {"id": "s", "op": "mean", "inputs": ["h"]},
            {"id": "a", "op": first, "inputs": ["s"]},
            {"id": "b", "op": "tanh", "inputs": ["a"]},
            {"id": "loss", "op": "mse", "inputs": ["b", "t"]},
        ],
        "training": {"loss": {"node": "loss"}, "optimizer": {"name": "sgd", "learning_rate": 0.1}},
    }
    model, _, module = _engines(doc)
    feed = {"x": np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), "t": np.float32(0.5)}
    loss, grads = model.gradients(feed)
    compiled_loss, compiled_grads = module.loss_and_gradients(feed)
    assert _same_bits(np.float32(loss), np.float32(compiled_loss))
    assert _same_bits(grads["W"], compiled_grads["W"])


def test_loss_and_gradients_and_fit_keep_no_activations_once_they_return() -> None:
    # A step's workspace holds every activation of its batch size (fit's validation
    # too: one of the held-out set's size). train_step keeps it for the next step;
    # loss_and_gradients and fit let go of it, as the interpreter's do.
    graph, params = mlp.graph_and_params(train=True)
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    x, labels = mlp.data(4096)
    tracemalloc.start()
    try:
        module.loss_and_gradients({"x": x, "label": labels})
        module.fit(x, labels, epochs=1, batch_size=1024, validation_split=0.25, seed=0)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept < 3_000_000, kept  # the gradient buffers (1 MB) and small things


@pytest.mark.parametrize(
    ("optimizer", "scratch"),
    [({"name": "sgd", "learning_rate": 0.05}, 0), ({"name": "momentum"}, 0), ({"name": "adam"}, 1)],
    ids=["sgd", "momentum", "adam"],
)
@pytest.mark.parametrize("regularizer", [None, {"l2": 0.01}], ids=["plain", "l2"])
def test_the_update_computes_in_the_gradient_buffers_it_owns(
    optimizer: dict, scratch: int, regularizer: dict | None
) -> None:
    """Every gradient of this network is a buffer of its param's own (planned, or its
    penalty's): both engines' updates write into them (`nnspec.inplace.reuse`), so they
    keep one scratch buffer per param fewer, and stay bitwise equal."""
    model, step, module = _engines(_document("float32", optimizer, regularizer))
    state = module.init_state()
    for k in range(3):
        feed = _batch(16, k)
        step(feed)
        module.train_step(feed, state, threads=1)
    for name, value in model.params.items():
        assert _same_bits(module.PARAMS[name], value), name
    envs = step.optimizer._local.envs  # the interpreter's per-param write environments
    assert set(envs) == {(name, True) for name in model.params}
    assert all(len(env[" scratch"]) == scratch for env in envs.values())
    held = module._TRAIN_BUFFERS.held
    updates = [key for key in held if key[0] == "update"]
    assert updates == ([("update", name, True) for name in module.PARAMS] if scratch else [])
    assert all(len(held[key]) == scratch for key in updates)


def test_gradients_the_step_does_not_own_are_only_read() -> None:
    """Copies (what `loss_and_gradients` returns) are the caller's: neither engine's
    update writes into them, and the params come out as from the step's own buffers."""
    doc = _document("float32", {"name": "momentum"})
    model, step, module = _engines(doc)
    feed = _batch(16)
    plan = step.plan
    _, grads, _ = model.loss_and_gradients(plan, model.environment(plan, feed))
    assert model.own_gradients(plan, grads) == set(model.params)
    copies = {name: grad.copy() for name, grad in grads.items()}
    assert model.own_gradients(plan, copies) == set()
    before = {name: grad.copy() for name, grad in copies.items()}
    step.optimizer.step(model.params, copies)
    assert all(_same_bits(copies[name], before[name]) for name in copies)
    _, module_grads = module.loss_and_gradients(feed)
    before = {name: grad.copy() for name, grad in module_grads.items()}
    assert not any(module._own_gradient(name, g) for name, g in module_grads.items())
    module._update(module_grads, module.init_state(), module._rate(None))
    assert all(_same_bits(module_grads[name], before[name]) for name in module_grads)
    for name, value in model.params.items():
        assert _same_bits(module.PARAMS[name], value), name
