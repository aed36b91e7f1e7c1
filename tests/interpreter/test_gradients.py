"""Reverse mode: per-op gradient checks, fan-out, un-broadcasting, steps, dtypes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nnspec
from nnspec.interpreter import Model
from nnspec.interpreter.backward import unbroadcast
from nnspec.ops import LOSSES, REGISTRY
from nnspec.testing import check_gradients, documents, inputs_for, kink_distance
from nnspec.testing.strategies import COMPOSITES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMOOTH = sorted(op for op, d in REGISTRY.items() if d.gradient == "exact" and op not in LOSSES)


@pytest.mark.parametrize("op", SMOOTH + list(COMPOSITES))
@given(data=st.data())
def test_each_op_matches_finite_differences(op, data):
    doc = data.draw(documents(ops=[op], max_nodes=2, with_loss=True, dtype="float64"))
    model = Model(nnspec.load(doc))
    inputs = data.draw(inputs_for(model.graph))
    assume(kink_distance(model, inputs) > 1e-3)
    assert check_gradients(model, inputs, wrt_inputs=True) < 1e-6


def graph(nodes: list, params: dict, loss: str = "sum", **inputs) -> Model:
    doc = {
        "nnspec": "1",
        "dtype": "float64",
        "inputs": {k: {"shape": v} for k, v in (inputs or {"x": ["batch", 3]}).items()},
        "params": params,
        "nodes": [*nodes, {"id": "loss", "op": loss}],
        "training": {"loss": {"node": "loss"}},
    }
    return Model(nnspec.load(doc))


def test_fan_out_sums_gradients():
    # loss = sum(x*w + x*w) = 2 * sum(x*w): each use contributes once.
    model = graph(
        [{"id": "a", "op": "mul", "inputs": ["x", "w"]}, {"op": "add", "inputs": ["a", "a"]}],
        {"w": {"shape": [3], "init": "ones"}},
    )
    x = np.arange(6.0).reshape(2, 3)
    _, grads = model.gradients({"x": x})
    np.testing.assert_allclose(grads["w"], 2 * x.sum(axis=0))


def test_bias_gradient_is_summed_over_the_batch():
    model = graph([{"op": "add", "inputs": ["x", "b"]}], {"b": {"shape": [3], "init": "zeros"}})
    _, grads = model.gradients({"x": np.ones((5, 3))})
    np.testing.assert_array_equal(grads["b"], [5.0, 5.0, 5.0])


@pytest.mark.parametrize(
    "grad_shape, shape, expected",
    [
        ((4, 3), (3,), (3,)),
        ((4, 3), (1, 3), (1, 3)),
        ((2, 4, 3), (4, 1), (4, 1)),
        ((3,), (3,), (3,)),
    ],
)
def test_unbroadcast_sums_to_the_operand_shape(grad_shape, shape, expected):
    grad = np.ones(grad_shape)
    result = unbroadcast(grad, shape)
    assert result.shape == expected
    assert result.sum() == grad.sum()


def test_a_step_passes_no_gradient_and_its_params_get_zeros():
    model = graph(
        [{"id": "z", "op": "mul", "inputs": ["x", "w"]}, {"op": "sign", "inputs": ["z"]}],
        {"w": {"shape": [3], "init": "ones"}},
    )
    loss, grads = model.gradients({"x": np.ones((2, 3))})
    assert loss == 6.0
    np.testing.assert_array_equal(grads["w"], np.zeros(3))
    assert model.gradient_plan().backward == ()


def test_relu_at_zero_has_derivative_zero():
    model = graph([{"op": "relu", "inputs": ["x"]}], {}, x=[3])
    _, grads = model.gradients({"x": np.array([-1.0, 0.0, 2.0])}, wrt_inputs=True)
    np.testing.assert_array_equal(grads["x"], [0.0, 0.0, 1.0])


def test_max_ties_route_the_gradient_to_the_first():
    model = graph([{"op": "max", "inputs": ["x"], "axis": -1}], {}, x=[3])
    _, grads = model.gradients({"x": np.array([2.0, 2.0, 1.0])}, wrt_inputs=True)
    np.testing.assert_array_equal(grads["x"], [1.0, 0.0, 0.0])


def test_untrainable_params_and_labels_get_no_gradient():
    model = Model(nnspec.load(EXAMPLES / "mlp.json"))
    x = np.random.default_rng(0).normal(size=(4, 64))
    _, grads = model.gradients({"x": x, "y": np.arange(4)}, wrt_inputs=True)
    assert set(grads) == {*model.trainable, "x"}
    sign = Model(nnspec.load(EXAMPLES / "sign_network.json"))
    assert sign.trainable == ()


def test_float32_gradients_stay_float32():
    model = Model(nnspec.load(EXAMPLES / "explicit_graph.json"))
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    loss, grads = model.gradients({"x": x, "y": (x[:, :1] > 0).astype(np.float32)})
    assert np.isfinite(loss)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


def test_softmax_classifier_example_gradient_check_in_float64():
    text = (EXAMPLES / "softmax_classifier.json").read_text()
    model = Model(nnspec.load(text.replace('"inputs"', '"dtype": "float64", "inputs"', 1)))
    rng = np.random.default_rng(3)
    inputs = {"x": rng.normal(size=(5, 4)), "y": rng.integers(0, 3, 5)}
    assert check_gradients(model, inputs, wrt_inputs=True) < 1e-6
