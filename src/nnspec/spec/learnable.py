"""Can training change anything? A check on the built `Graph`, before any epoch runs.

A document trains for all its epochs at a constant loss when no param is trainable
(all ``"trainable": false``), or when every path from the loss back to the trainable
params passes through an op whose gradient is zero almost everywhere (``sign``) or
that has none. Both are legal documents — the lecture's sign network is one — so
this is warning NN905, reported by ``nnspec validate`` and by `train` before the
first epoch. The facts come from each op's `OpDef.gradient`.
"""

from __future__ import annotations

from nnspec.errors import Problem
from nnspec.ir import Graph
from nnspec.ops import get

CODE = "NN905"


class NothingToLearnWarning(UserWarning):
    """`train` issues this (message: the NN905 problem) before its first epoch."""


def learning_problems(graph: Graph) -> list[Problem]:
    """[] when the training loss can move some trainable param, else one NN905 warning."""
    training = graph.training
    if training is None:
        return []
    trainable = {p.name for p in graph.params if p.trainable}
    if not trainable:
        return [
            Problem(
                CODE,
                'nothing can learn: no param is trainable (every one has "trainable": false), '
                "so training keeps the loss constant",
                "/training",
            )
        ]
    reached, cuts = _gradient_reach(graph, training.loss_node or training.output)
    if reached & trainable:
        return []
    where = ", ".join(f"{node} ({op})" for node, op in cuts) or "the graph's wiring"
    return [
        Problem(
            CODE,
            f"nothing can learn: every path from the loss to the trainable params "
            f"({', '.join(sorted(trainable))}) is cut by ops without a useful gradient at "
            f"{where}, so training keeps the loss constant",
            "/training",
        )
    ]


def _gradient_reach(graph: Graph, loss: str) -> tuple[set[str], list[tuple[str, str]]]:
    """(names a nonzero gradient reaches from `loss`, the (node, op) pairs that cut it)."""
    nodes = {n.id: n for n in graph.nodes}
    reached: set[str] = set()
    cuts: dict[str, str] = {}
    stack = [loss]
    while stack:  # iterative: graphs may be deep
        name = stack.pop()
        if name in reached:
            continue
        reached.add(name)
        node = nodes.get(name)
        if node is None:
            continue  # an input or a param: a leaf
        if get(node.op).gradient != "exact":
            cuts[node.origin or node.id] = node.op  # a dense layer's sign: the layer's id
            continue
        stack.extend(node.inputs)
    return reached, sorted(cuts.items())
