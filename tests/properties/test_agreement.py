"""Property: the compiled module computes bitwise what the interpreter computes.

Random documents (every primitive op and the composite layers, float32 and
float64, broadcasting, symbolic batch dims) from `nnspec.testing.documents`, with
their loss node as an extra output so the losses are compared too.

No tolerance is needed: every op's template is the textual twin of its forward
(same NumPy calls, order and dtypes), and the compiler's optimisations (pruning,
folding constant params with the op's own forward, ``out=`` buffers) do not change
a single rounding.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.testing import documents, inputs_for


@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_compiled_outputs_equal_the_interpreter(data: st.DataObject, dtype: str) -> None:
    doc = data.draw(documents(dtype=dtype, with_loss=True))
    doc["outputs"] = [*doc["outputs"], "loss"]
    doc["training"]["output"] = doc["outputs"][0]
    graph = nnspec.load(doc)
    inputs = data.draw(inputs_for(graph))
    module = load_source(compile(graph, self_test=False))
    with np.errstate(all="ignore"):
        want = Model(graph).run(inputs)
        got = module.run(inputs)
    assert set(got) == set(want)
    for name, value in want.items():
        value, have = np.asarray(value), np.asarray(got[name])
        assert have.dtype == value.dtype and have.shape == value.shape, name
        assert np.array_equal(have, value, equal_nan=True), name
