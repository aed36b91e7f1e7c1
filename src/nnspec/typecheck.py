"""`typecheck(graph)`: re-derive every type of a `Graph` from its ops' own rules.

Sits beside `nnspec.ir` (above `nnspec.ops`, whose shape rules it calls), in the
spirit of autodidax's ``typecheck_jaxpr``. `nnspec.spec` builds graphs that hold by
construction; this check is for everything else — hand-built or transformed graphs
(`Graph.with_dtype`, importers, tests) — so a bad one gets a clear error naming the
node and its JSON pointer instead of a `KeyError` deep inside an engine.

Checked: every name is bound once; nodes are in topological order (each input bound
before use); each node's op exists, takes that many inputs and only its own
attributes, and its shape rule gives exactly the node's type; params have fixed
shapes, a known dtype, exactly one of `init` / `value`, and a value of their type's
shape and dtype; outputs and the training output and loss name bound values, the
loss a scalar node.
"""

from __future__ import annotations

import weakref

import numpy as np

from nnspec.errors import ShapeError
from nnspec.ir import DTYPES, Graph, Node, TensorType
from nnspec.ops import REGISTRY
from nnspec.portable import Portable


class GraphTypeError(Portable, ValueError):
    """A `Graph` whose types do not follow from its ops; `problems` lists each one."""

    def __init__(self, graph: Graph, problems: list[str]):
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"graph {graph.name!r} does not typecheck:\n{listing}")
        self.problems = problems


_CHECKED: weakref.WeakSet[Graph] = weakref.WeakSet()


def typecheck(graph: Graph) -> Graph:
    """`graph` itself when it typechecks; raises `GraphTypeError` listing every problem."""
    problems = problems_of(graph)
    if problems:
        raise GraphTypeError(graph, problems)
    _CHECKED.add(graph)
    return graph


def ensure_typed(graph: Graph) -> Graph:
    """`typecheck`, skipped for a graph already checked (or built typed by `nnspec.spec`)."""
    if graph not in _CHECKED:
        typecheck(graph)
    return graph


def mark_typed(graph: Graph) -> Graph:
    """Record that `graph` is typed by construction (the checker's own output)."""
    _CHECKED.add(graph)
    return graph


def _where(node: Node) -> str:
    return f"node {node.id!r}" + (f" ({node.pointer})" if node.pointer else "")


def problems_of(graph: Graph) -> list[str]:
    """Every problem `typecheck` would report, in graph order."""
    problems: list[str] = []
    bound: dict[str, TensorType] = {}

    def bind(name: str, t: TensorType, what: str) -> None:
        if name in bound:
            problems.append(f"{what} {name!r} is bound twice")
        if t.dtype not in DTYPES:
            problems.append(f"{what} {name!r} has unknown dtype {t.dtype!r}")
        bound[name] = t

    for inp in graph.inputs:
        bind(inp.name, inp.type, "input")
    for target in graph.training.targets if graph.training else ():
        bind(target.name, target.type, "target")
    for p in graph.params:
        bind(p.name, p.type, "param")
        if not all(isinstance(d, int) for d in p.type.shape):
            problems.append(f"param {p.name!r} needs fixed dims, has {p.type}")
        if (p.value is None) == (p.init is None):
            problems.append(f"param {p.name!r} needs exactly one of init and value")
        if p.value is not None:
            value = np.asarray(p.value)
            if value.shape != p.type.shape or value.dtype != np.dtype(p.type.dtype):
                got = f"{value.dtype}{list(value.shape)}"
                problems.append(f"param {p.name!r}: value is {got}, its type says {p.type}")
    for node in graph.nodes:
        _check_node(node, bound, problems)
        bind(node.id, node.type, "node")
    for name in graph.outputs:
        if name not in bound or name in {p.name for p in graph.params}:
            problems.append(f"output {name!r} is not a node or input of the graph")
    training = graph.training
    if training is not None:
        if training.output not in bound:
            problems.append(f"training output {training.output!r} is not bound")
        loss = training.loss_node
        if loss is not None:
            ids = {n.id for n in graph.nodes}
            if loss not in ids:
                problems.append(f"training loss {loss!r} is not a node")
            elif bound[loss].rank != 0:
                problems.append(f"training loss {loss!r} is not a scalar: {bound[loss]}")
    return problems


def _check_node(node: Node, bound: dict[str, TensorType], problems: list[str]) -> None:
    op = REGISTRY.get(node.op)
    if op is None:
        problems.append(f"{_where(node)}: unknown op {node.op!r}")
        return
    unbound = [name for name in node.inputs if name not in bound]
    if unbound:
        names = ", ".join(repr(n) for n in unbound)
        problems.append(f"{_where(node)} reads {names} before it is bound (not topological)")
        return
    count = len(node.inputs)
    if (op.variadic and not count) or (not op.variadic and count != len(op.inputs)):
        want = "at least 1" if op.variadic else str(len(op.inputs))
        problems.append(f"{_where(node)}: {node.op} takes {want} inputs, got {len(node.inputs)}")
        return
    unknown = sorted(set(node.attr) - set(op.attrs))
    if unknown:
        problems.append(
            f"{_where(node)}: {node.op} has no attribute {', '.join(map(repr, unknown))}"
        )
        return
    try:
        derived = op.shape(tuple(bound[x] for x in node.inputs), **{**op.defaults(), **node.attr})
    except ShapeError as exc:
        problems.append(f"{_where(node)}: {exc.message}")
        return
    except (TypeError, ValueError) as exc:  # an attribute value the rule cannot use
        problems.append(f"{_where(node)}: {node.op} attributes {dict(node.attrs)}: {exc}")
        return
    if derived != node.type:
        problems.append(f"{_where(node)}: {node.op} gives {derived}, the node says {node.type}")
