"""Property: an update that writes into the gradients it owns changes no bits.

Both engines let the optimizer compute into a param's gradient once it has read it
(`nnspec.inplace.reuse`) when the gradient is a buffer of that param's own: its
planned gradient buffer or its penalty's. Were a gradient shared (one cotangent
given to two params, a VJP's view of another value), writing into it would change
another param's update. So on random documents, with a random optimizer and random
penalties, several steps of each engine's training step equal the same steps taken
with copies of the gradients (which the update never owns), bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.interpreter.inputs import prepare
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep
from nnspec.testing import documents, inputs_for
from nnspec.testing.strategies import COMPOSITES, PRIMITIVES

OPS = tuple(op for op in (*PRIMITIVES, *COMPOSITES) if op != "dropout")  # masks: per step
OPTIMIZERS = st.sampled_from(
    [{"name": "sgd", "learning_rate": 0.01}, {"name": "momentum"}, {"name": "adam"}]
)
RATES = st.sampled_from([0.0, 1e-3, 0.05])
STEPS = 3


@st.composite
def trained(draw: st.DrawFn) -> tuple[Any, dict[str, np.ndarray]]:
    """(graph with an optimizer and maybe penalties, a batch of its training inputs)."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    doc = draw(documents(ops=OPS, dtype=dtype, with_loss=True))
    doc["training"]["optimizer"] = draw(OPTIMIZERS)
    names = [p.name for p in nnspec.load(doc).params if p.trainable]
    assume(names)
    chosen = draw(st.lists(st.sampled_from(names), unique=True))
    doc["training"]["regularization"] = {n: {"l1": draw(RATES), "l2": draw(RATES)} for n in chosen}
    assume(not [p for p in nnspec.validate(doc) if p.is_error])
    graph = nnspec.load(doc)
    return graph, draw(inputs_for(graph))


def _same(a: Any, b: Any) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@given(trained())
def test_the_interpreter_s_steps_equal_steps_on_copied_gradients(case: Any) -> None:
    graph, inputs = case
    model, reference = Model(graph), Model(graph)
    step = TrainStep(model, make_optimizer(graph.training.optimizer))
    optimizer = make_optimizer(graph.training.optimizer)
    plan = reference.gradient_plan(outputs=(graph.training.output,))
    feed = prepare(plan.feeds, inputs, inputs)
    with np.errstate(all="ignore"):
        for k in range(STEPS):
            loss, _ = step(feed)
            env = reference.environment(plan, feed, False, (step.seed, k))
            expected, grads, _ = reference.loss_and_gradients(plan, env)
            assert _same(loss, expected), k
            if not np.isfinite(expected):
                break
            optimizer.step(reference.params, {n: g.copy() for n, g in grads.items()})
            for name, value in reference.params.items():
                assert _same(model.params[name], value), (k, name)


@given(trained())
def test_the_compiled_step_equals_steps_on_copied_gradients(case: Any) -> None:
    graph, inputs = case
    source = compile(graph, self_test=False, train=True)
    module, reference = load_source(source), load_source(source)
    state, reference_state = module.init_state(), reference.init_state()
    with np.errstate(all="ignore"):
        for k in range(STEPS):
            try:
                loss = module.train_step(inputs, state)
            except FloatingPointError:
                break
            expected, grads = reference.loss_and_gradients(inputs)  # copies
            assert _same(loss, expected), k
            reference._update(grads, reference_state, reference._rate(None))
            for name, value in reference.PARAMS.items():
                assert _same(module.PARAMS[name], value), (k, name)
