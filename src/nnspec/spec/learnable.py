"""Can training change anything? A check on the built `Graph`, before any epoch runs.

A document trains for all its epochs at a constant loss when no param is trainable
(all ``"trainable": false``), or when every path from the loss back to the trainable
params passes through an op whose gradient is zero almost everywhere (``sign``) or
that has none. Both are legal documents — the lecture's sign network is one — so
this is warning NN905, reported by ``nnspec validate`` and by `train` before the
first epoch. The facts come from each op's `OpDef.gradient`.

Warning NN906 is the same kind of honesty for the training section's own settings: an
early-stopping monitor the document's training never records (train refuses it unless
the caller supplies the metric or validation data) and a warm-up that outlasts the run.
"""

from __future__ import annotations

from nnspec.errors import Problem
from nnspec.ir import Graph
from nnspec.ops import get

CODE = "NN905"
SETTINGS_CODE = "NN906"


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


def setting_problems(graph: Graph) -> list[Problem]:
    """NN906 warnings for training settings that cannot act with the document alone."""
    training = graph.training
    if training is None:
        return []
    problems = []
    monitor = (training.early_stopping or {}).get("monitor")
    recorded = ["loss", *training.metrics]
    if training.validation_split is not None:
        recorded += [f"val_{name}" for name in recorded]
    if monitor is not None and monitor not in recorded:
        base = monitor.removeprefix("val_")
        needs = []
        if monitor.startswith("val_") and training.validation_split is None:
            needs.append("validation data (--validation, --validation-split)")
        if base not in recorded:
            needs.append("the metric (training.metrics, or metrics= in Python)")
        problems.append(
            Problem(
                SETTINGS_CODE,
                f"early stopping monitors {monitor!r}, which this training does not record "
                f"({', '.join(recorded)}): training stops with an error unless it is given "
                + " and ".join(needs),
                "/training/early_stopping/monitor",
            )
        )
    warmup = (training.schedule or {}).get("warmup_epochs", 0)
    if warmup >= training.epochs:
        problems.append(
            Problem(
                SETTINGS_CODE,
                f"the schedule's warm-up ({warmup} epochs) lasts the whole run "
                f"({training.epochs} epochs): the learning rate never reaches its set value",
                "/training/schedule/warmup_epochs",
            )
        )
    return problems


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
