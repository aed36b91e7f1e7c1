"""Property: schedules and L1/L2 penalties keep the two engines bitwise equal.

Random documents from `nnspec.testing.documents` get a random learning-rate schedule
and random regularizers on their trainable params; then the ``--train`` module's
`loss_and_gradients` equals `Model.gradients`, its `fit` equals `nnspec.train` (losses,
learning rates and weights), and the gradients, penalties included, match central
finite differences in float64.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.interpreter.train import TrainingError
from nnspec.optimizers import SCHEDULES
from nnspec.spec.learnable import NothingToLearnWarning
from nnspec.testing import assert_same_gradients, check_gradients, documents, inputs_for
from nnspec.testing.gradcheck import kink_distance

RATES = st.sampled_from([0.0, 1e-3, 0.05, 0.5])


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(list(SCHEDULES)))
    spec: dict[str, Any] = {"name": name, "warmup_epochs": draw(st.integers(0, 3))}
    if name == "step":
        spec.update(step_size=draw(st.integers(1, 3)), gamma=draw(st.sampled_from([0.1, 0.5])))
    elif name == "exponential":
        spec["gamma"] = draw(st.sampled_from([0.3, 0.9, 1.0]))
    elif name == "cosine":
        if draw(st.booleans()):
            spec["decay_epochs"] = draw(st.integers(1, 4))
        spec["min_learning_rate"] = draw(st.sampled_from([0.0, 1e-4]))
    return spec


@st.composite
def regularized(draw: st.DrawFn, dtype: str) -> tuple[Any, dict[str, Any]]:
    """(graph, its document) with a schedule and penalties on some trainable params."""
    doc = draw(documents(dtype=dtype, with_loss=True, differentiable_only=True))
    graph = nnspec.load(doc)
    names = [p.name for p in graph.params if p.trainable]
    chosen = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    doc["training"]["regularization"] = {
        name: {"l1": draw(RATES), "l2": draw(RATES)} for name in chosen
    }
    doc["training"]["schedule"] = draw(schedules())
    doc["training"]["epochs"] = draw(st.integers(1, 5))
    problems = [p for p in nnspec.validate(doc) if p.is_error]
    assume(not problems)  # e.g. a param the loss does not read cannot be regularized
    return nnspec.load(doc), doc


@settings(deadline=None, max_examples=40)
@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_penalties_and_schedules_are_bitwise_equal(data: st.DataObject, dtype: str) -> None:
    graph, _ = data.draw(regularized(dtype))
    inputs = data.draw(inputs_for(graph))
    module = load_source(compile(graph, self_test=False, train=True))
    assert_same_gradients(module, Model(graph), inputs)
    model = Model(graph)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", NothingToLearnWarning)
        try:
            history = nnspec.train(model, inputs, quiet=True)
        except TrainingError:
            return  # divergence is compared by tests/codegen/test_train.py
        except ValueError:  # e.g. inputs without a shared example axis: both refuse
            with pytest.raises(ValueError):
                module.fit(inputs)
            return
        got = module.fit(inputs)
    assert list(got) == history.loss
    assert got.learning_rate == history.learning_rate
    for name, value in module.PARAMS.items():  # the trainable ones
        assert np.array_equal(value, model.params[name], equal_nan=True), name


@settings(deadline=None, max_examples=40)
@given(st.data())
def test_penalty_gradients_match_finite_differences(data: st.DataObject) -> None:
    graph, _ = data.draw(regularized("float64"))
    inputs = data.draw(inputs_for(graph))
    model = Model(graph)
    with np.errstate(all="ignore"):
        assume(kink_distance(model, inputs) > 1e-3)
        # |w| has a kink at 0: L1 needs every regularized param away from it
        regs = graph.training.regularizers
        assume(all(np.min(np.abs(model.params[r.param])) > 1e-3 for r in regs if r.l1))
        loss, _ = model.gradients(inputs)
        assume(np.isfinite(loss) and abs(loss) < 1e6)
        assert check_gradients(model, inputs) < 1e-4
