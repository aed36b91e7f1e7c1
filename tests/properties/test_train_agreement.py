"""Property: the ``--train`` module's gradients are bitwise the interpreter's.

Random documents from `nnspec.testing.documents` (with a loss, no step functions)
in float32 and float64; `loss_and_gradients` of the compiled module is compared
with `Model.gradients`. No tolerance: every ``<op>_vjp`` macro is the textual twin
of the op's `vjp`, and fan-out is summed in the interpreter's order. Dropout's masks
agree at every training step and seed (`nnspec.autodiff.noise_generator`).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.testing import assert_same_gradients, documents, inputs_for


@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_compiled_gradients_equal_the_interpreter(data: st.DataObject, dtype: str) -> None:
    doc = data.draw(documents(dtype=dtype, with_loss=True, differentiable_only=True))
    graph = nnspec.load(doc)
    inputs = data.draw(inputs_for(graph))
    module = load_source(compile(graph, self_test=False, train=True))
    assert_same_gradients(module, Model(graph), inputs)


NOISY_OPS = ("dropout", "dense", "tanh", "add", "mul", "matmul", "sum", "concat")
"""Ops for graphs where dropout is common: the masks must agree at any step and seed."""


@given(
    st.data(),
    st.sampled_from(["float32", "float64"]),
    st.integers(0, 2**20),
    st.one_of(st.none(), st.integers(0, 2**32)),
)
def test_compiled_dropout_masks_equal_the_interpreters(
    data: st.DataObject, dtype: str, step: int, seed: int | None
) -> None:
    doc = data.draw(documents(ops=NOISY_OPS, dtype=dtype, with_loss=True))
    graph = nnspec.load(doc)
    inputs = data.draw(inputs_for(graph))
    module = load_source(compile(graph, self_test=False, train=True))
    model = Model(graph)
    if "_dropout_noise" in module.__dict__:
        want = model.gradients(inputs, step=step, seed=seed)
        got = module.loss_and_gradients(inputs, step=step, seed=seed)
        assert np.array_equal(got[0], want[0], equal_nan=True)
        for name, value in want[1].items():
            assert np.array_equal(got[1][name], value, equal_nan=True), name
    assert_same_gradients(module, model, inputs)
    with np.errstate(all="ignore"):  # inference: dropout is the identity in both
        want_out, got_out = model.run(inputs), module.run(inputs)
    for name, value in want_out.items():
        assert np.array_equal(got_out[name], value, equal_nan=True), name
