"""`nnspec.typecheck`: a graph's types re-derived from its ops' rules, with located errors
for hand-built or transformed graphs (`Graph.with_dtype`), and read-only graph data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given

import nnspec
from nnspec.interpreter import Model
from nnspec.ir import Graph, Input, Node, Param, TensorType
from nnspec.testing import documents
from nnspec.typecheck import GraphTypeError, problems_of, typecheck

F32 = "float32"


def _graph(*nodes: Node, params: tuple[Param, ...] = (), outputs=("y",)) -> Graph:
    x = Input("x", TensorType(("batch", 3), F32), "/inputs/x")
    return Graph("hand", F32, (x,), params, tuple(nodes), tuple(outputs))


W = Param("W", TensorType((3, 2), F32), value=np.zeros((3, 2), np.float32))
GOOD = Node("y", "matmul", ("x", "W"), (), TensorType(("batch", 2), F32), "/nodes/0")


def test_a_good_hand_built_graph_typechecks_and_runs() -> None:
    graph = typecheck(_graph(GOOD, params=(W,)))
    assert Model(graph).predict(np.ones((4, 3), np.float32)).shape == (4, 2)


@pytest.mark.parametrize(
    ("graph", "needle"),
    [
        (
            _graph(replace(GOOD, type=TensorType(("batch", 3), F32)), params=(W,)),
            "gives f32[batch,2]",
        ),
        (_graph(replace(GOOD, op="nope"), params=(W,)), "unknown op 'nope'"),
        (_graph(replace(GOOD, inputs=("x", "V")), params=(W,)), "before it is bound"),
        (_graph(replace(GOOD, inputs=("x",)), params=(W,)), "takes 2 inputs, got 1"),
        (_graph(GOOD, params=(W, W)), "param 'W' is bound twice"),
        (_graph(GOOD, params=(replace(W, value=np.zeros((2, 2), np.float32)),)), "value is"),
        (_graph(GOOD, params=(replace(W, init={"name": "zeros"}),)), "exactly one of"),
        (_graph(GOOD, params=(W,), outputs=("z",)), "output 'z'"),
        (_graph(replace(GOOD, attrs=(("axis", 1),)), params=(W,)), "no attribute 'axis'"),
    ],
)
def test_each_kind_of_mistake_is_named_with_its_node_and_pointer(graph, needle) -> None:
    problems = problems_of(graph)
    assert any(needle in p for p in problems), problems
    with pytest.raises(GraphTypeError, match="does not typecheck"):
        typecheck(graph)


def test_model_and_compile_reject_a_bad_hand_built_graph_clearly() -> None:
    bad = _graph(replace(GOOD, type=TensorType(("batch", 5), F32)), params=(W,))
    with pytest.raises(GraphTypeError, match=r"node 'y' \(/nodes/0\)"):
        Model(bad)
    with pytest.raises(GraphTypeError):
        nnspec.compile(bad)


def test_graph_data_is_read_only() -> None:
    value = np.ones((3, 2), np.float32)
    graph = _graph(GOOD, params=(replace(W, value=value),))
    with pytest.raises(ValueError):
        graph.params[0].value[0, 0] = 5.0
    meta = Graph("m", F32, (), (), (), (), meta={"x-a": 1}).meta
    with pytest.raises(TypeError):
        meta["x-a"] = 2  # type: ignore[index]


def test_read_only_graphs_pickle_and_stay_read_only() -> None:
    import pickle

    graph = _graph(GOOD, params=(W,))
    graph = replace(graph, meta={"x-a": [1]})
    back = pickle.loads(pickle.dumps(graph))
    assert dict(back.meta) == {"x-a": [1]} and not back.params[0].value.flags.writeable
    with pytest.raises(TypeError):
        back.meta["x-b"] = 1  # type: ignore[index]


@given(documents(with_loss=True, max_nodes=6))
def test_the_float64_twin_of_any_graph_typechecks(doc: dict) -> None:
    graph = nnspec.load({**doc, "dtype": "float32"} if "dtype" not in doc else doc)
    wide = typecheck(graph.with_dtype("float64"))
    assert wide.dtype == "float64"
    assert all(t.dtype != "float32" for t in wide.types().values())
    assert [n.id for n in wide.nodes] == [n.id for n in graph.nodes]
