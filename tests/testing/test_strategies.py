"""nnspec.testing: generated documents are valid, inputs fit them, helpers are right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.interpreter import Model
from nnspec.ops import LOSSES, REGISTRY
from nnspec.testing import documents, finite_differences, inputs_for, relative_error
from nnspec.testing.strategies import COMPOSITES


@given(documents())
def test_load_accepts_every_generated_document(doc):
    graph = nnspec.load(doc)
    assert graph.dtype == doc["dtype"]


@given(st.data())
def test_generated_documents_run_to_finite_values(data):
    doc = data.draw(documents(with_loss=data.draw(st.booleans())))
    model = Model(nnspec.load(doc))
    inputs = data.draw(inputs_for(model.graph))
    for value in model.run(inputs).values():
        assert np.all(np.isfinite(value))
        assert value.dtype == doc["dtype"]


@given(documents(with_loss=True, dtype="float32"))
def test_with_loss_gives_a_scalar_training_loss(doc):
    graph = nnspec.load(doc)
    assert graph.training.loss_node == "loss"
    assert graph.node("loss").type.shape == ()


@given(documents(differentiable_only=True))
def test_differentiable_only_leaves_out_steps(doc):
    assert not any(n.op == "sign" for n in nnspec.load(doc).nodes)


@pytest.mark.parametrize("op", sorted(set(REGISTRY) - set(LOSSES)) + list(COMPOSITES))
@given(data=st.data())
def test_every_op_can_be_generated(op, data):
    doc = data.draw(documents(ops=[op], max_nodes=2))
    assert any(node["op"] == op for node in doc["nodes"])
    nnspec.load(doc)


def test_ops_option_rejects_losses_and_unknown_names():
    with pytest.raises(ValueError, match="documents"):
        documents(ops=["mse"]).example()
    with pytest.raises(ValueError, match="documents"):
        documents(ops=["nope"]).example()


@given(st.data())
def test_inputs_for_respects_batch_and_label_ranges(data):
    doc = data.draw(documents(with_loss=True, dtype="float64"))
    graph = nnspec.load(doc)
    inputs = data.draw(inputs_for(graph, batch=3))
    for feed in graph.inputs:
        array = inputs[feed.name]
        assert array.dtype == feed.type.dtype
        if feed.type.shape and feed.type.shape[0] == "batch":
            assert array.shape[0] == 3
    loss = graph.node("loss")
    if loss.op == "cross_entropy" and not graph.types()["target"].is_float:
        classes = graph.types()[loss.inputs[0]].shape[-1]
        assert inputs["target"].min() >= 0 and inputs["target"].max() < classes


def test_finite_differences_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    numeric = finite_differences(lambda v: np.sum(np.sin(v) * v), x)
    np.testing.assert_allclose(numeric, np.cos(x) * x + np.sin(x), rtol=1e-8)
    assert x[0, 0] == 0.5  # the caller's array is not touched


def test_relative_error_has_a_floor():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2]), 1e-3) == pytest.approx(
        0.2 / 2.2
    )
    assert relative_error(np.array([1e-12]), np.array([0.0]), 1e-3) == pytest.approx(1e-9)


def test_gradient_checks_import_without_hypothesis():
    # `nnspec check` uses them, and hypothesis is only in the test extra.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'hypothesis':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from nnspec.testing import check_gradients\n"
        "import nnspec.cli.check\n"
        "try:\n"
        "    from nnspec.testing import documents\n"
        "except ImportError:\n"
        "    print('strategies need hypothesis')\n"
    )
    src = str(Path(nnspec.__file__).parents[1])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": src}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "strategies need hypothesis\n"
