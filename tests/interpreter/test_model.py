"""Model forward: results equal plain NumPy, plans are pruned, inputs are checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
import nnspec.codegen
from nnspec.interpreter import Model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> Model:
    return Model(nnspec.load(EXAMPLES / f"{name}.json"))


def test_xor_forward_is_the_lecture_formula():
    model = example("xor")
    p = model.params
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    hidden = np.tanh(x @ p["hidden.W"] + p["hidden.b"])
    expected = 1 / (1 + np.exp(-(hidden @ p["prob.W"] + p["prob.b"])))
    out = model.predict(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert model(x=x)["prob"].shape == (7, 1)


@pytest.mark.parametrize(
    "x1, x2", [(a, b) for a in np.linspace(-3, 3, 7) for b in np.linspace(-5, 7, 7)]
)
def test_sign_network_gives_the_lecture_outputs(x1, x2):
    h1 = np.sign(x2 - 2 * x1 - 2)
    h2 = np.sign(x2 + 3 * x1 - 4)
    o = np.sign(h2 - h1 - 1)
    out = example("sign_network").predict(np.array([[x1, x2]]))
    assert out[0, 0] == o


def test_run_any_node_prunes_the_rest():
    model = example("mlp")
    plan = model.plan(("h1",))
    assert len(plan.steps) == 3  # matmul, add, relu of h1 only
    x = np.ones((2, 64), np.float32)
    assert set(model.run({"x": x}, outputs=("h1",))) == {"h1"}


def test_inference_frees_intermediates_but_training_keeps_them():
    model = example("mlp")
    freed = {s for step in model.forward_plan.steps for s in step[3]}
    assert freed  # some intermediate values are dropped after their last use
    grad_plan = model.gradient_plan()
    kept_by_backward = {s for step in grad_plan.backward for s in step[1]}
    assert not kept_by_backward & {s for step in grad_plan.steps for s in step[3]}


def test_unknown_output_is_named():
    with pytest.raises(ValueError, match="unknown value 'h22'; did you mean 'h2'"):
        example("mlp").run({"x": np.ones((1, 64))}, outputs=("h22",))


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({}, "missing input 'x'"),
        ({"x": np.ones((3, 4))}, r"input 'x': expected shape \[batch, 64\], got \[3, 4\]"),
        ({"x": np.ones(64)}, r"rank 2.*rank 1"),
        ({"x": np.ones((1, 64)), "xx": 1}, "unknown input 'xx'; did you mean 'x'"),
        ({"x": np.array([["a"] * 64])}, "expected float32 numbers"),
        ({"x": np.full((1, 64), 2**30)}, "lose precision"),
    ],
)
def test_bad_inputs_raise_clear_errors(inputs, message):
    with pytest.raises(ValueError, match=message):
        example("mlp").run(inputs)


def test_symbolic_dims_must_agree_across_inputs():
    model = example("mlp")
    with pytest.raises(ValueError, match=r"'batch' is 4 .* but 3 in input 'x'"):
        model.gradients({"x": np.ones((3, 64)), "y": np.zeros(4, int)})


def test_float_data_is_cast_and_float_labels_become_integers():
    model = example("mlp")
    x = np.random.default_rng(1).normal(size=(3, 64))  # float64
    out = model.predict(x)
    assert out.dtype == np.float32
    loss_int, _ = model.gradients({"x": x, "y": np.array([1, 2, 3])})
    loss_float, _ = model.gradients({"x": x, "y": np.array([1.0, 2.0, 3.0])})
    assert loss_int == loss_float
    with pytest.raises(ValueError, match="fractions"):
        model.gradients({"x": x, "y": np.array([1.5, 2.0, 3.0])})


def test_params_are_checked_on_assignment():
    model = example("xor")
    model.params["prob.b"] = [2.0]
    assert model.params["prob.b"].dtype == np.float32
    assert model.predict(np.zeros((1, 2)))[0, 0] == pytest.approx(1 / (1 + np.exp(-2)), rel=1e-6)
    with pytest.raises(ValueError, match=r"expected shape \[1\], got \[2\]"):
        model.params["prob.b"] = [1.0, 2.0]
    with pytest.raises(KeyError):
        model.params["nope"] = 1.0
    with pytest.raises(TypeError):
        del model.params["prob.b"]


def test_params_given_at_construction_replace_initial_values():
    graph = nnspec.load(EXAMPLES / "xor.json")
    first = Model(graph)
    second = Model(graph, params={"prob.b": np.array([0.5])})
    assert second.params["prob.b"][0] == np.float32(0.5)
    np.testing.assert_array_equal(first.params["hidden.W"], second.params["hidden.W"])


def test_a_param_in_another_memory_order_is_stored_as_a_compiled_module_stores_it():
    # a Fortran-ordered weight made the BLAS (and the penalties' sums) round otherwise
    graph = nnspec.load(EXAMPLES / "mlp.json")
    module = nnspec.codegen.load_source(nnspec.compile(graph, train=True), "order_module")
    rng = np.random.default_rng(5)
    weights = {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in module.PARAMS.items()}
    given = {k: np.asfortranarray(v) for k, v in weights.items()}
    model = Model(graph, params=given)
    for name, value in weights.items():
        assert model.params[name].flags.c_contiguous
        module.PARAMS[name][...] = value
    model.params["h1.W"] = np.asfortranarray(weights["h1.W"])  # assignment, as construction
    assert model.params["h1.W"].flags.c_contiguous
    x = rng.standard_normal((9, 64)).astype(np.float32)
    assert model.predict(x).tobytes() == module.predict(x).tobytes()


def test_a_weights_file_in_fortran_order_loads_c_ordered(tmp_path):
    doc = json.loads((EXAMPLES / "mlp.json").read_text())
    values = Model(nnspec.load(doc)).params
    np.savez(tmp_path / "w.npz", **{k: np.asfortranarray(v) for k, v in values.items()})
    (tmp_path / "m.json").write_text(json.dumps({**doc, "weights": "w.npz"}))
    loaded = Model(nnspec.load(tmp_path / "m.json"))
    assert all(v.flags.c_contiguous for v in loaded.params.values())


def test_predict_needs_a_single_input_graph():
    with pytest.raises(ValueError, match="this graph has 2"):
        example("explicit_graph").predict(np.zeros((1, 2)))


def test_float64_graph_stays_float64():
    doc = {
        "nnspec": "1",
        "dtype": "float64",
        "inputs": {"x": {"shape": ["batch", 3]}},
        "nodes": [{"op": "dense", "units": 2, "activation": "softmax"}],
    }
    out = Model(nnspec.load(doc)).predict(np.ones((2, 3), np.float32))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_a_failing_step_names_its_node_and_pointer() -> None:
    """The one execution path (`forward.straight_line`) locates an op's failure: the same
    exception type, with the node id, op and JSON pointer in front of the message."""
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 3]}, "labels": {"shape": ["batch"], "dtype": "int64"}},
        "nodes": [
            {"id": "h", "op": "dense", "units": 3, "inputs": ["x"]},
            {"id": "ce", "op": "cross_entropy", "inputs": ["h", "labels"], "from_logits": True},
        ],
        "outputs": ["ce"],
        "training": {"loss": {"node": "ce"}},
    }
    model = Model(nnspec.load(doc))
    feed = {"x": np.ones((2, 3), np.float32), "labels": np.array([0, 7])}
    with pytest.raises(
        ValueError, match=r"node 'ce' \(cross_entropy, /nodes/1\), forward: .*label 7"
    ):
        model.run(feed)
    with pytest.raises(ValueError, match=r"node 'ce' \(cross_entropy, /nodes/1\)"):
        model.gradients(feed)


def test_a_long_plan_runs_the_same_loop() -> None:
    """No second path for big plans: 6000 steps run as one straight-line function too."""
    doc = {"nnspec": "1", "inputs": {"x": {"shape": [1, 2]}}, "nodes": [{"op": "neg"}] * 6000}
    model = Model(nnspec.load(doc))
    assert np.array_equal(model.predict(np.array([[1.0, -2.0]], np.float32)), [[1.0, -2.0]])
