"""The reverse pass's cotangent plan (`nnspec.buffers.cotangent_buffers`): which
cotangents a training step writes into its workspace, and which VJPs write over their
own, in both engines — planned once, checked here by the plan itself, by identity
and with tracemalloc (never timed), and by the bits the two engines compute."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.autodiff import gradient_plan
from nnspec.buffers import cotangent_buffers
from nnspec.codegen import load_source
from nnspec.interpreter import Model, forward
from nnspec.interpreter.backward import REVERSE_SOURCE
from nnspec.interpreter.forward import MAX_INLINE_ARGS
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep
from nnspec.ops import REGISTRY

SGD = {"name": "sgd", "learning_rate": 0.1}


def _graph(nodes: list[dict], params: dict, loss: str = "loss") -> nnspec.Graph:
    return nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 6]}},
            "params": params,
            "nodes": nodes,
            "training": {"loss": {"node": loss}, "optimizer": SGD},
        }
    )


def _plan(graph: nnspec.Graph, symbols: tuple[str, ...] = ("batch",)) -> Any:
    reverse = gradient_plan(graph, "loss", [p.name for p in graph.params])
    return cotangent_buffers(reverse, graph.types(), symbols)


W = {"shape": [6, 6], "init": "glorot_uniform"}


def _dense(activation: str) -> nnspec.Graph:
    return nnspec.load(
        {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 6]}},
            "nodes": [
                {"id": "h1", "op": "dense", "units": 8, "activation": "relu"},
                {"id": "h2", "op": "dense", "units": 8, "activation": activation},
                {"id": "out", "op": "dense", "units": 3},
            ],
            "training": {
                "target": {"name": "label", "shape": ["batch"], "dtype": "int64"},
                "loss": {"op": "cross_entropy", "from_logits": True},
                "optimizer": SGD,
            },
        }
    )


def test_a_dense_stack_buffers_each_hidden_cotangent_and_its_activation_vjp_reuses_it() -> None:
    plan = _plan(_dense("tanh"))
    assert plan.steps == {("out.matmul", 0): "h2", ("h2.matmul", 0): "h1"}
    assert list(plan.steps) == [("out.matmul", 0), ("h2.matmul", 0)]  # in step order
    assert plan.into == {"h1", "h2"}


def test_an_activation_without_an_into_form_keeps_allocating() -> None:
    plan = _plan(_dense("sigmoid"))
    assert plan.into == {"h1"}  # sigmoid has no vjp_into; its cotangent is still buffered
    assert set(plan.steps.values()) == {"h1", "h2"}


def test_a_cotangent_without_a_fixed_size_gets_no_step_buffer() -> None:
    plan = _plan(_dense("relu"), symbols=())  # 'batch' is not among the feeds' sizes
    assert plan.steps == {} and plan.into == {"h1", "h2"}


def test_fan_out_buffers_only_the_first_contribution() -> None:
    graph = _graph(
        [
            {"id": "a", "op": "matmul", "inputs": ["x", "w"]},
            {"id": "r", "op": "relu", "inputs": ["a"]},
            {"id": "b", "op": "matmul", "inputs": ["r", "v"]},
            {"id": "c", "op": "matmul", "inputs": ["r", "u"]},  # r read twice
            {"id": "s", "op": "add", "inputs": ["b", "c"]},
            {"id": "loss", "op": "sum", "inputs": ["s"]},
        ],
        {"w": W, "v": W, "u": W},
    )
    plan = _plan(graph)
    # c's VJP runs first (reverse order) and makes r's cotangent; b's is added to it
    assert plan.steps == {("c", 0): "r"}
    assert plan.into == {"r"}  # the sum of the two is a fresh array: still owned


def test_a_cotangent_an_add_shares_is_never_written_over() -> None:
    graph = _graph(
        [
            {"id": "a", "op": "matmul", "inputs": ["x", "w"]},
            {"id": "r", "op": "relu", "inputs": ["a"]},
            {"id": "t", "op": "tanh", "inputs": ["a"]},
            {"id": "s", "op": "add", "inputs": ["r", "t"]},  # hands one dy to r and t
            {"id": "loss", "op": "sum", "inputs": ["s"]},
        ],
        {"w": W},
    )
    plan = _plan(graph)
    assert plan.into == set() and plan.steps == {}
    _agree(graph, {"x": np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6)})


def _agree(graph: nnspec.Graph, feed: dict[str, np.ndarray], steps: int = 3) -> None:
    """Both engines take `steps` SGD steps from the same weights: the same bits."""
    model = Model(graph, threads=1)
    step = TrainStep(model, make_optimizer(graph.training.optimizer), threads=1)
    module = load_source(nnspec.compile(graph, model.params, self_test=False, train=True))
    state = module.init_state()
    for _ in range(steps):
        loss, _ = step(feed)
        assert module.train_step(feed, state, threads=1) == float(loss)
    for name, value in model.params.items():
        assert value.tobytes() == module.PARAMS[name].tobytes(), name


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("rows", [1, 5, 5, 64])  # 5 twice: a warm step of the same size
def test_both_engines_follow_the_plan_to_the_same_bits(activation: str, rows: int) -> None:
    rng = np.random.default_rng(rows)
    feed = {"x": rng.normal(size=(rows, 6)).astype(np.float32), "label": rng.integers(0, 3, rows)}
    _agree(_dense(activation), feed)


def test_a_warm_interpreter_step_writes_each_cotangent_into_the_same_buffer() -> None:
    graph = _dense("relu")
    model = Model(graph)
    step = TrainStep(model, make_optimizer(SGD))
    plan = step.plan
    assert plan.workspaces is not None
    feed = {"x": np.ones((4, 6), np.float32), "label": np.zeros(4, np.int64)}
    step(feed)
    before = [b.__array_interface__["data"][0] for b in plan.workspaces((4,))]
    cotangents = plan.workspaces((4,))[-2:]  # after the forward values' buffers
    assert [c.shape for c in cotangents] == [(4, 8), (4, 8)]
    marks = [c.copy() for c in cotangents]
    step({"x": np.full((4, 6), 2, np.float32), "label": np.ones(4, np.int64)})
    after = [b.__array_interface__["data"][0] for b in plan.workspaces((4,))]
    assert before == after  # the same memory, step after step
    assert any(not np.array_equal(m, c) for m, c in zip(marks, cotangents, strict=True))


def test_a_failing_vjp_names_its_node_and_stage() -> None:
    graph = _dense("relu")
    model = Model(graph)
    plan = model.gradient_plan()
    env = model.environment(plan, {"x": np.ones((2, 6)), "label": np.zeros(2, np.int64)})
    plan.run(env)
    env[model.layout.slots["h2.W"]] = np.ones((3, 3), np.float32)  # past every check
    cotangents: list[Any] = [None] * len(env)
    cotangents[plan.loss_slot] = np.ones((), np.float32)
    with pytest.raises(ValueError, match=r"node 'h2\.matmul' \(matmul.*\), gradient: ") as info:
        plan.reverse(env, cotangents)
    frames = []
    tb = info.value.__cause__.__traceback__ if info.value.__cause__ else None
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert REVERSE_SOURCE in frames


def test_a_wide_step_sums_every_input_through_its_tuple() -> None:
    count = MAX_INLINE_ARGS * 2 + 1
    graph = nnspec.load(
        {
            "nnspec": "1",
            "inputs": {f"x{k}": {"shape": ["batch", 1]} for k in range(3)},
            "params": {"w": {"shape": [1, 1], "init": "ones"}},
            "nodes": [
                {"id": "a", "op": "matmul", "inputs": ["x0", "w"]},
                {"id": "c", "op": "concat", "axis": 1, "inputs": ["a", "x1", "x2"] * (count // 3)},
                {"id": "loss", "op": "sum", "inputs": ["c"]},
            ],
            "training": {"loss": {"node": "loss"}, "optimizer": SGD},
        }
    )
    feed = {f"x{k}": np.full((2, 1), k + 1, np.float32) for k in range(3)}
    _, grads = Model(graph).gradients(feed, wrt_inputs=True)
    times = count // 3
    assert np.array_equal(grads["w"], np.full((1, 1), 2.0 * times))  # a's rows: x0 = 1
    assert np.array_equal(grads["x1"], np.full((2, 1), float(times)))
    assert np.array_equal(grads["x0"], np.full((2, 1), float(times)))  # through w = 1


def _reverse_by_hand(model: Model, plan: Any, feed: dict[str, np.ndarray]) -> dict[str, Any]:
    """The plan's forward, then its reverse pass, called directly; gradients by param."""
    env = model.environment(plan, feed)
    plan.run(env)
    return _reverse_only(model, plan, env)


def _reverse_only(model: Model, plan: Any, env: list[Any]) -> dict[str, Any]:
    cotangents: list[Any] = [None] * len(env)
    cotangents[plan.loss_slot] = np.ones((), np.float32)
    plan.reverse(env, cotangents)
    return {name: cotangents[slot].copy() for name, slot in plan.wrt}


def _feed(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(rows, 6)).astype(np.float32), "label": rng.integers(0, 3, rows)}


def test_the_interpreter_binds_exactly_what_the_plan_says() -> None:
    graph = _dense("tanh")
    model = Model(graph)
    plan = model.gradient_plan()
    planned = _plan(graph)
    written_over = {s[4].id for s in plan.backward if s[0] is REGISTRY[s[4].op].vjp_into}
    assert written_over == planned.into
    assert plan.workspaces is not None
    env = model.environment(plan, _feed(4))
    plan.run(env)
    stepped = plan.workspaces((4,))[-len(planned.steps) :]
    for buffer in stepped:
        buffer.fill(np.nan)
    _reverse_only(model, plan, env)
    assert all(np.isfinite(b).all() for b in stepped)  # each written by the reverse pass


def test_a_reverse_pass_fetches_its_own_workspace_by_its_environments_sizes() -> None:
    model = Model(_dense("relu"))
    plan = model.gradient_plan()
    want = {n: _reverse_by_hand(model, plan, _feed(n, n)) for n in (4, 5)}
    small, large = model.environment(plan, _feed(4, 4)), model.environment(plan, _feed(5, 5))
    plan.run(small)
    plan.run(large)  # this thread's latest workspace is now the 5-row one
    for name, value in _reverse_only(model, plan, small).items():
        assert value.tobytes() == want[4][name].tobytes(), name
    found: list[Any] = []  # a thread that never ran a forward pass of this plan
    worker = threading.Thread(target=lambda: found.append(_reverse_only(model, plan, large)))
    worker.start()
    worker.join()
    for name, value in found[0].items():
        assert value.tobytes() == want[5][name].tobytes(), name


def test_a_plan_compiled_in_parts_runs_and_names_its_failures_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = _dense("tanh")
    whole = Model(graph, threads=1)
    want_loss, want = whole.gradients(_feed(3))
    monkeypatch.setattr(forward, "PART_STEPS", 2)  # 10 forward and 9 reverse steps
    parted = Model(graph, whole.params, threads=1)
    loss, grads = parted.gradients(_feed(3))
    assert float(loss) == float(want_loss)
    for name, value in want.items():
        assert grads[name].tobytes() == value.tobytes(), name
    plan = parted.gradient_plan()
    env = parted.environment(plan, _feed(2))
    plan.run(env)
    env[parted.layout.slots["h2.W"]] = np.ones((3, 3), np.float32)  # a step of part 3
    with pytest.raises(ValueError, match=r"node 'h2\.matmul' \(matmul.*\), gradient: "):
        _reverse_only(parted, plan, env)
    env = parted.environment(plan, _feed(2))
    env[parted.layout.slots["out.W"]] = np.ones((3, 3), np.float32)
    with pytest.raises(ValueError, match=r"node 'out\.matmul' \(matmul.*\), forward: "):
        plan.run(env)


@pytest.mark.parametrize("stage", ["forward", "gradient"])
def test_a_failed_pass_lets_go_of_its_arrays_without_the_collector(stage: str) -> None:
    import gc
    import weakref

    model = Model(_dense("relu"))
    plan = model.gradient_plan()
    env = model.environment(plan, _feed(2))
    held = np.ones((3, 3), np.float32)
    watch = weakref.ref(held)
    if stage == "gradient":
        plan.run(env)
    env[model.layout.slots["h2.W"]] = held  # past every check: h2's product fails
    del held
    gc.disable()
    try:
        with pytest.raises(ValueError, match=f"'h2.matmul'.*{stage}"):
            _reverse_only(model, plan, env) if stage == "gradient" else plan.run(env)
        env.clear()
        assert watch() is None  # freed by reference counts alone: no cycle holds it
    finally:
        gc.enable()
