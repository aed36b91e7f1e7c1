"""The reverse pass's buffer plan (`nnspec.buffers.gradient_buffers`) and a warm
training step in both engines: counted with tracemalloc and object identity, never
timed. A warm step allocates no gradient-sized arrays: each param's gradient lands
in a buffer of its own, and the update writes into the params, their state and
scratch buffers made on the first step."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.autodiff import gradient_plan
from nnspec.buffers import gradient_buffers
from nnspec.codegen import load_source
from nnspec.interpreter import Model
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep

WIDE = 400  # params far larger than a one-row batch's values
OPTIMIZERS = [
    {"name": "sgd", "learning_rate": 0.1},
    {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9},
    {"name": "momentum"},
    {"name": "adam"},
]


def _document(optimizer: dict, regularizer: dict | None = None) -> dict:
    first: dict[str, Any] = {"id": "h1", "op": "dense", "units": WIDE, "activation": "relu"}
    if regularizer:
        first["regularizer"] = regularizer
    return {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", WIDE]}},
        "nodes": [
            first,
            {"id": "h2", "op": "dense", "units": WIDE, "activation": "tanh"},
            {"id": "out", "op": "dense", "units": 3},
        ],
        "training": {
            "target": {"name": "label", "shape": ["batch"], "dtype": "int64"},
            "loss": {"op": "cross_entropy", "from_logits": True},
            "optimizer": optimizer,
        },
    }


def _batch(rows: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(rows, WIDE)).astype(np.float32),
        "label": rng.integers(0, 3, rows),
    }


def _steppers(doc: dict) -> dict[str, tuple[Callable[[dict], Any], Callable[[], dict]]]:
    """Per engine: (one training step on a batch, that step's gradients by param)."""
    graph = nnspec.load(doc)
    model = Model(graph, threads=1)
    step = TrainStep(model, make_optimizer(graph.training.optimizer), threads=1)
    module = load_source(nnspec.compile(graph, self_test=False, train=True))
    state = module.init_state()

    def interpreter_grads(feed: dict) -> dict:
        env = model.environment(step.plan, feed, False, (0, 0))
        return model.loss_and_gradients(step.plan, env)[1]

    return {
        "interpreter": (step, interpreter_grads),
        "compiled": (
            lambda feed: module.train_step(feed, state, threads=1),
            lambda feed: module._gradients(module._train_inputs(feed))[1],
        ),
    }


def test_the_plan_gives_each_dense_param_a_buffer_written_by_its_own_step() -> None:
    graph = nnspec.load(_document({"name": "sgd"}))
    params = [p.name for p in graph.params]
    plan = gradient_buffers(gradient_plan(graph, "loss", params), graph.types())
    assert sorted(plan.product.values()) == ["h1.W", "h2.W", "out.W"]
    assert sorted(plan.summed.values()) == ["h1.b", "h2.b", "out.b"]
    # W is a matmul's second input; its bias the add's second
    assert {k for (_, k) in plan.product} == {1} and {k for (_, k) in plan.summed} == {1}


def _graph(nodes: list[dict], params: dict) -> nnspec.Graph:
    return nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 4]}},
            "params": params,
            "nodes": nodes,
            "training": {"loss": {"node": "loss"}},
        }
    )


def test_a_param_reached_twice_or_through_a_stretched_axis_keeps_fresh_arrays() -> None:
    w = {"shape": [4, 4], "init": "normal"}
    graph = _graph(
        [
            {"id": "a", "op": "matmul", "inputs": ["x", "w"]},
            {"id": "b", "op": "matmul", "inputs": ["a", "w"]},  # w twice: fan-out
            {"id": "c", "op": "add", "inputs": ["b", "s"]},  # s: [1, 4], stretched axis 0
            {"id": "d", "op": "add", "inputs": ["c", "u"]},  # u: [4], leading axis summed
            {"id": "loss", "op": "sum", "inputs": ["d"]},
        ],
        {
            "w": w,
            "s": {"shape": [1, 4], "init": "normal"},
            "u": {"shape": [4], "init": "normal"},
        },
    )
    plan = gradient_buffers(gradient_plan(graph, "loss", ["w", "s", "u"]), graph.types())
    assert plan.product == {}
    assert plan.summed == {("d", 1): "u"}


def test_params_an_add_hands_one_array_get_no_buffer_and_stay_correct() -> None:
    """add's VJP gives dy to both inputs: neither param owns it, so no one writes it."""
    graph = _graph(
        [
            {"id": "a", "op": "add", "inputs": ["p", "q"]},
            {"id": "b", "op": "mul", "inputs": ["x", "a"]},
            {"id": "loss", "op": "sum", "inputs": ["b"]},
        ],
        {"p": {"shape": [4], "init": "normal"}, "q": {"shape": [4], "init": "normal"}},
    )
    plan = gradient_buffers(gradient_plan(graph, "loss", ["p", "q"]), graph.types())
    assert plan.product == {}
    model = Model(graph)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    _, grads = model.gradients({"x": x})
    assert np.array_equal(grads["p"], x.sum(axis=0)) and np.array_equal(grads["q"], grads["p"])
    before = {k: v.copy() for k, v in model.params.items()}
    opt = make_optimizer({"name": "sgd", "learning_rate": 0.5})
    step = TrainStep(model, opt)
    step({"x": x})
    for name in ("p", "q"):  # both moved by their own (equal) gradient, once
        assert np.array_equal(model.params[name], before[name] - np.float32(0.5) * grads[name])


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: "-".join(map(str, o.values())))
def test_a_warm_step_allocates_no_gradient_sized_arrays(
    engine: str, optimizer: dict, peak_bytes: Any
) -> None:
    step, _ = _steppers(_document(optimizer, {"l1": 0.01, "l2": 0.01}))[engine]
    feed = _batch()
    step(feed)  # the first step makes the buffers
    step(feed)
    gradient = WIDE * WIDE * 4  # bytes of one weight matrix's gradient
    # A fresh gradient (or lr * g, or a penalty term) would be one such array at least.
    # (L1/L2's penalty *value* still reads |w| and w*w as new arrays: below that size.)
    peak = peak_bytes(lambda: step(feed))
    assert peak < gradient, (engine, peak)


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_every_param_gradient_is_the_same_buffer_at_every_step(engine: str) -> None:
    _, grads_of = _steppers(_document({"name": "sgd"}))[engine]
    first = grads_of(_batch(2, 1))
    again = grads_of(_batch(2, 2))
    assert set(first) == set(again) and len(first) == 6
    for name in first:
        assert again[name] is first[name], name  # written in place, not allocated


def test_gradients_handed_to_callers_are_their_own() -> None:
    """`Model.gradients` and the module's `loss_and_gradients` copy out of the buffers."""
    graph = nnspec.load(_document({"name": "sgd"}, {"l2": 0.5}))
    model = Model(graph)
    module = load_source(nnspec.compile(graph, self_test=False, train=True))
    for gradients in (model.gradients, module.loss_and_gradients):
        _, first = gradients(_batch(2, 1))
        kept = {k: v.copy() for k, v in first.items()}
        _, second = gradients(_batch(2, 2))
        for name, value in first.items():
            assert np.array_equal(value, kept[name]), name
            assert value is not second[name] and value.flags.writeable


def test_buffers_are_per_thread() -> None:
    graph = nnspec.load(_document({"name": "sgd"}))
    model = Model(graph)
    plan = model.gradient_plan()
    seen: dict[str, dict] = {}

    def grads(label: str) -> None:
        env = model.environment(plan, _batch(2, 3), False, (0, 0))
        seen[label] = model.loss_and_gradients(plan, env)[1]

    grads("main")
    worker = threading.Thread(target=grads, args=("worker",))
    worker.start()
    worker.join()
    for name, value in seen["main"].items():
        assert value is not seen["worker"][name], name
        assert np.array_equal(value, seen["worker"][name]), name


def test_a_weight_behind_a_batched_product_is_summed_into_its_buffer() -> None:
    """x of rank 3: W's VJP product has a batch axis, so the sum (not the product)
    writes W's buffer, in both engines, bitwise alike."""
    graph = nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 2, 4]}},
            "nodes": [
                {"id": "h", "op": "dense", "units": 3, "activation": "tanh"},
                {"id": "loss", "op": "mean", "inputs": ["h"]},
            ],
            "training": {"loss": {"node": "loss"}},
        }
    )
    plan = gradient_buffers(gradient_plan(graph, "loss", ["h.W", "h.b"]), graph.types())
    assert plan.product == {} and sorted(plan.summed.values()) == ["h.W", "h.b"]
    module = load_source(nnspec.compile(graph, self_test=False, train=True))
    x = np.random.default_rng(0).normal(size=(3, 2, 4)).astype(np.float32)
    want_loss, want = Model(graph).gradients({"x": x})
    for _ in range(2):  # warm buffers too
        got_loss, got = module.loss_and_gradients({"x": x})
        assert got_loss == want_loss
        for name, value in want.items():
            assert np.array_equal(got[name], value), name
