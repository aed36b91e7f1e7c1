"""Property: a dense layer's activation attributes (the object form) mean the same in
every engine: they reach the lowered op, and compiled predict and ``--train`` gradients
are bitwise the interpreter's (finite differences: `test_gradients.py`, same strategies).

Documents are drawn from dense layers only, so most carry an activation object with
attribute values from the op's `OpDef.samples` (``{"op": "elu", "alpha": 0.5}``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.testing import assert_same_gradients, documents, inputs_for


def _dense_documents(dtype: str) -> st.SearchStrategy[dict]:
    return documents(ops=["dense"], dtype=dtype, with_loss=True, differentiable_only=True)


@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_activation_attributes_agree_in_both_engines(data: st.DataObject, dtype: str) -> None:
    doc = data.draw(_dense_documents(dtype))
    graph = nnspec.load(doc)
    for node in doc["nodes"]:  # the attributes written reach the lowered activation
        activation = node.get("activation")
        if isinstance(activation, dict):
            lowered = next(n for n in graph.nodes if n.id == node["id"])
            assert lowered.op == activation["op"]
            assert {k: lowered.attr[k] for k in activation if k != "op"} == {
                k: v for k, v in activation.items() if k != "op"
            }
    inputs = data.draw(inputs_for(graph))
    predict = load_source(compile(graph, self_test=False))
    with np.errstate(all="ignore"):
        want = Model(graph).run(inputs)
        got = predict.run(inputs)
    for name, value in want.items():
        assert np.array_equal(np.asarray(got[name]), np.asarray(value), equal_nan=True), name
    assert_same_gradients(
        load_source(compile(graph, self_test=False, train=True)), Model(graph), inputs
    )


def test_the_strategies_draw_the_object_form() -> None:
    seen: list[object] = []

    @given(_dense_documents("float64"))
    def collect(doc: dict) -> None:
        seen.extend(n.get("activation") for n in doc["nodes"] if n["op"] == "dense")

    collect()
    assert any(isinstance(a, dict) for a in seen)
    assert any(isinstance(a, str) for a in seen)
