"""A warm training step allocates little, per thread, and stays bitwise equal to the
compiled module: the step workspace (`nnspec.buffers`, ``step=True``), the reverse
pass letting go of cotangents, per-thread optimizer scratch and cross-entropy's kept
one-hot and e^(x - max). Memory is measured with tracemalloc, never timed."""

from __future__ import annotations

import threading
import tracemalloc
from typing import Any

import numpy as np
import pytest

import nnspec
from benchmarks import mlp
from nnspec.buffers import buffer_plan
from nnspec.codegen import load_source
from nnspec.interpreter import Model, threads
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep, train

STEPS = 200  # steps per thread in the two-thread test


def _step(
    graph: Any = None, params: Any = None, optimizer: Any = None, threads: int | None = None
) -> TrainStep:
    if graph is None:
        graph, params = mlp.graph_and_params(train=True)
    model = Model(graph, params, threads=threads)
    return TrainStep(model, optimizer or make_optimizer(graph.training.optimizer))


def _peak(step: TrainStep, feed: dict[str, np.ndarray], steps: int = 2) -> int:
    """Peak bytes traced over `steps` warm steps (after two that make the buffers, and
    once the BLAS libraries are found: the auto thread rule may first look for them in
    any later step, and importing threadpoolctl then is no step's allocation)."""
    threads._blas_libraries()
    for _ in range(2):
        step(feed)
    tracemalloc.start()
    try:
        for _ in range(steps):
            step(feed)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("batch", [128, 1024])
def test_warm_step_peak_is_bounded_by_a_few_activations(batch: int) -> None:
    # The benchmark MLP (784-256-128-10): the widest activation is [batch, 256] float32.
    # Before the step workspace and the cotangents' release a warm step peaked at
    # 0.87 MB (batch 128) and 6.67 MB (1024), 6.6x that activation; with them, at about
    # two of them (a cotangent and its ReLU VJP's product). Now those cotangents live
    # in step buffers and the ReLU VJP writes over its own (`cotangent_buffers`): the
    # largest array left is that VJP's boolean mask, a quarter of the widest (0.07 MB
    # and 0.30 MB measured).
    x, labels = mlp.data(batch)
    widest = batch * 256 * 4
    peak = _peak(_step(), {"x": x, "label": labels})
    assert peak <= 0.3 * widest + 64 * 1024, (peak, widest)


def test_warm_forward_pass_of_a_step_allocates_no_activation() -> None:
    # Every activation of the step's forward pass lives in the per-thread workspace,
    # also those the reverse pass reads (a predict plan must allocate those).
    step = _step()
    x, labels = mlp.data(256)
    model, plan = step.model, step.plan
    for _ in range(2):
        plan.run(model.environment(plan, {"x": x, "label": labels}, False))
    tracemalloc.start()
    try:
        plan.run(model.environment(plan, {"x": x, "label": labels}, False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 256 * 128 * 4, peak  # less than the narrowest hidden activation


def test_step_mode_puts_kept_values_in_the_workspace() -> None:
    graph, _ = mlp.graph_and_params(train=True)
    nodes = list(graph.nodes)
    kept = {"h1.add", "h1", "h2.add", "h2", "out", "loss"}  # what the VJPs read, the roots
    predict = buffer_plan(nodes, kept)
    step = buffer_plan(nodes, kept, step=True, params=[p.name for p in graph.params])
    assert predict.workspace == ()  # each product is read back, or written over by one
    assert step.workspace == ("h1.matmul", "h1", "h2.matmul", "h2", "out.matmul")
    assert step.into == predict.into  # nothing a VJP reads is written over


def test_returned_environment_lives_until_the_next_step_of_the_thread() -> None:
    step = _step()
    x, labels = mlp.data(64)
    slot = step.plan.out_slots[0]
    _, env = step({"x": x, "label": labels})
    first = env[slot].copy()
    _, again = step({"x": x, "label": labels})
    # the documented lifetime: the next step wrote the same memory
    assert np.shares_memory(env[slot], again[slot])
    assert not np.array_equal(first, again[slot])  # the params moved in between
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(step({"x": x, "label": labels})[1]))
    thread.start()
    thread.join()
    assert not np.shares_memory(other[0][slot], again[slot])  # another thread's own


def test_train_metrics_read_each_batch_before_the_next_step() -> None:
    # train's per-batch accuracy must use each step's logits before the next step
    # overwrites them: replay the same steps, copying the outputs as they come.
    graph, params = mlp.graph_and_params(train=True, sizes=(6, 5, 4, 3))
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    history = train(
        Model(graph, params), X, y, epochs=1, batch_size=8, metrics=["accuracy"], quiet=True
    )
    replay = _step(graph, params)
    order = np.random.default_rng(graph.training.seed).permutation(40)
    outs, rows = [], []
    for start in range(0, 40, 8):
        pick = order[start : start + 8]
        _, env = replay({"x": X[pick], "label": y[pick]})
        outs.append(env[replay.plan.out_slots[0]].copy())
        rows.append(y[pick])
    hits = sum(int((o.argmax(-1) == r).sum()) for o, r in zip(outs, rows, strict=True))
    assert history.metrics["accuracy"] == [hits / 40]


def _compiled(graph: Any, params: Any) -> Any:
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    return module, module.init_state()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_steps_of_changing_batch_size_equal_the_compiled_module(optimizer: str) -> None:
    sizes = (12, 16, 8, 5)
    graph, params = mlp.graph_and_params(train=True, sizes=sizes)
    step = _step(graph, params, make_optimizer({"name": optimizer, "learning_rate": 0.01}))
    spec = nnspec.load(
        {**mlp.document(train=True, sizes=sizes)}
        | {
            "training": {
                **mlp.document(train=True, sizes=sizes)["training"],
                "optimizer": {"name": optimizer, "learning_rate": 0.01},
            }
        }
    )
    module, state = _compiled(spec, params)
    for k, batch in enumerate([7, 7, 3, 16, 1, 7, 3]):
        x, labels = mlp.data(batch, sizes, seed=k)
        loss, _ = step({"x": x, "label": labels})
        compiled = module.train_step({"x": x, "label": labels}, state)
        assert np.float32(loss).tobytes() == np.float32(compiled).tobytes(), k
        for name, value in step.model.params.items():
            assert value.tobytes() == module.PARAMS[name].tobytes(), (k, name)


def test_two_threads_with_two_steps_sharing_a_plan_and_an_optimizer() -> None:
    # Two models stepped on two threads at once, sharing what can be shared: the
    # plan (its workspaces, its gradient buffers) and one stateless SGD optimizer
    # (its scratch). Each must end bitwise where it ends when stepped alone. With
    # the scratch shared by the threads (as it was) this failed 5 runs in 5: the
    # ufuncs on these 131k-element params release the GIL, so the updates interleave.
    sizes = (256, 512, 256, 4)
    graph, params = mlp.graph_and_params(train=True, sizes=sizes)
    feeds = [mlp.data(96, sizes, seed=s) for s in (1, 2)]
    sgd = {"name": "sgd", "learning_rate": 0.05}
    alone = []
    for x, labels in feeds:
        solo = _step(graph, params, make_optimizer(sgd), threads=1)
        for _ in range(STEPS):
            solo({"x": x, "label": labels})
        alone.append({k: v.copy() for k, v in solo.model.params.items()})
    shared = make_optimizer(sgd)
    first = _step(graph, params, shared, threads=1)  # one BLAS thread: more interleaving
    second = TrainStep(Model(graph, params, threads=1), shared, first.plan)
    gate = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(step: TrainStep, x: np.ndarray, labels: np.ndarray) -> None:
        try:
            for _ in range(STEPS):
                gate.wait()
                step({"x": x, "label": labels})
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            gate.abort()

    threads = [
        threading.Thread(target=run, args=(s, *f))
        for s, f in zip((first, second), feeds, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for step, expected in zip((first, second), alone, strict=True):
        for name, value in step.model.params.items():
            assert value.tobytes() == expected[name].tobytes(), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_cross_entropy_equals_the_plain_rules(dtype: Any) -> None:
    from nnspec.ops.losses import _ce_vjp, _ce_vjp_kept, cross_entropy, cross_entropy_kept

    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((9, 5)) * 4).astype(dtype)
    labels = rng.integers(0, 5, 9)
    loss, kept = cross_entropy_kept(logits, labels, from_logits=True)
    assert kept is not None
    assert loss.tobytes() == cross_entropy(logits, labels, from_logits=True).tobytes()
    dy = np.asarray(1.5, dtype)
    plain = _ce_vjp(dy, logits, labels, out=loss, from_logits=True)[0]
    assert _ce_vjp_kept(dy, logits, labels, kept, out=loss, from_logits=True)[0].tobytes() == (
        plain.tobytes()
    )
    # probabilities or one-hot targets keep nothing and fall back to the plain rules
    onehot = np.eye(5, dtype=dtype)[labels]
    assert cross_entropy_kept(logits, onehot, from_logits=True)[1] is None
    assert cross_entropy_kept(np.abs(logits), labels)[1] is None
