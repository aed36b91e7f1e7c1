"""Property: the ``--train`` module's gradients are bitwise the interpreter's.

Random documents from `nnspec.testing.documents` (with a loss, no step functions)
in float32 and float64; `loss_and_gradients` of the compiled module is compared
with `Model.gradients`. No tolerance: every ``<op>_vjp`` macro is the textual twin
of the op's `vjp`, and fan-out is summed in the interpreter's order.
"""

from __future__ import annotations

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
