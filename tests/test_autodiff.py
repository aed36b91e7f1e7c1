"""The autodiff plan (`nnspec.autodiff`): one set of reverse-mode decisions that both
engines render. Checked on hand-written graphs and on random ones."""

from __future__ import annotations

from hypothesis import given

import nnspec
from nnspec.autodiff import gradient_plan, needed_nodes, needed_values, training_roles
from nnspec.codegen import emit
from nnspec.codegen.train import train_plan
from nnspec.interpreter import Model
from nnspec.interpreter.init import initial_values
from nnspec.testing import documents

MLP = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 3]}},
    "nodes": [
        {"id": "h", "op": "dense", "units": 4, "activation": "tanh"},
        {"id": "s", "op": "sign", "inputs": ["h"]},
        {"id": "y", "op": "dense", "units": 1, "inputs": ["h"]},
        {"id": "unused", "op": "exp", "inputs": ["s"]},
    ],
    "outputs": ["y"],
    "training": {"target": {"shape": ["batch", 1]}, "loss": "mse"},
}


def test_the_plan_differentiates_what_the_loss_needs_in_reverse_order() -> None:
    graph = nnspec.load(MLP)
    loss = graph.training.loss_node
    plan = gradient_plan(graph, loss, [p.name for p in graph.params])
    order = [step.node.id for step in plan.steps]
    assert order == [loss, "y", "y.matmul", "h", "h.add", "h.matmul"]
    assert "unused" not in {n.id for n in plan.nodes} and "s" not in plan.flows
    first = plan.steps[-1]  # x @ h.W: the data input wants no gradient
    assert first.wants == (False, True)
    assert first.reads() == ("x",)  # db = x.T @ dy reads x, not W
    assert "h" in plan.read  # tanh's VJP reads its output
    assert "y.matmul" not in plan.read and "y.matmul" in plan.touched  # add: shapes only
    assert plan.sources == ("h.W", "h.b", "y.W", "y.b")


def test_sign_stops_the_gradient() -> None:
    doc = {
        **MLP,
        "nodes": [
            {"id": "h", "op": "dense", "units": 4, "activation": "sign"},
            {"id": "y", "op": "dense", "units": 1},
        ],
    }
    graph = nnspec.load(doc)
    plan = gradient_plan(graph, graph.training.loss_node, [p.name for p in graph.params])
    assert {s.node.id for s in plan.steps}.isdisjoint({"h", "h.add", "h.matmul"})
    assert plan.sources == ("h.W", "h.b", "y.W", "y.b")  # reached, but no gradient flows


def test_one_walk_for_what_outputs_need() -> None:
    graph = nnspec.load(MLP)
    assert [n.id for n in needed_nodes(graph, ["y"])] == ["h.matmul", "h.add", "h", "y.matmul", "y"]
    assert needed_values(graph.nodes, ["h"]) == {"h", "h.add", "h.matmul", "x", "h.W", "h.b"}
    assert Model(graph).layout.needed(["h"]) == needed_values(graph.nodes, ["h"])


def test_roles_of_the_training_feeds() -> None:
    graph = nnspec.load(MLP)
    assert training_roles(graph, ["x", "target"]) == (["x"], "target")


def _both_engines(doc: dict) -> tuple[list[str], list[str], list[str]]:
    graph = nnspec.load(doc)
    loss = graph.training.loss_node
    plan = gradient_plan(graph, loss, [p.name for p in graph.params if p.trainable])
    model = Model(graph)
    interpreter = model.gradient_plan()
    module = emit.plan(graph, initial_values(graph), loss=loss)
    code = train_plan(graph, module)
    by_ident = {ident: name for name, ident in module.idents.items()}
    return (
        [step.node.id for step in plan.steps],
        [step[4].id for step in interpreter.backward],
        [by_ident[step.out] for step in code.backward],
    )


@given(documents(with_loss=True, max_nodes=6))
def test_both_engines_render_the_one_plan(doc: dict) -> None:
    planned, interpreted, generated = _both_engines(doc)
    assert interpreted == planned
    assert generated == planned
