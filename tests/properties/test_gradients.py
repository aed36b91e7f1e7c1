"""Property: reverse-mode gradients equal central finite differences on random graphs.

Documents come from `nnspec.testing.documents` in float64 with a loss node and
no step functions; examples whose values lie within `MARGIN` of a kink (relu at
0, a max tie, ...) are skipped, because finite differences straddle the kink.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

import nnspec
from nnspec.interpreter import Model
from nnspec.testing import check_gradients, documents, inputs_for, kink_distance

MARGIN = 1e-3
TOLERANCE = 1e-6


@given(st.data())
def test_gradients_match_finite_differences(data):
    doc = data.draw(documents(with_loss=True, differentiable_only=True, dtype="float64"))
    model = Model(nnspec.load(doc))
    inputs = data.draw(inputs_for(model.graph))
    assume(kink_distance(model, inputs) > MARGIN)
    assert check_gradients(model, inputs, wrt_inputs=True) < TOLERANCE


@given(st.data())
def test_gradients_through_dropout_match_finite_differences(data):
    """With dropout drawn often: the training loss's gradient, its mask held fixed."""
    ops = ("dropout", "dense", "tanh", "add", "mul", "matmul", "sum", "square")
    doc = data.draw(documents(ops=ops, with_loss=True, dtype="float64"))
    model = Model(nnspec.load(doc))
    inputs = data.draw(inputs_for(model.graph))
    assume(kink_distance(model, inputs) > MARGIN)
    assert check_gradients(model, inputs, wrt_inputs=True) < TOLERANCE
