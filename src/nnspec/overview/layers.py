"""Document-level layers of a `Graph`: the rows of ``summary`` and the clusters of ``graph``.

Lowering replaced each composite (dense, maxout) by primitives tagged with the
composite's id and op (`Node.origin`, `Node.origin_op`); grouping by the id gives
the layers back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnspec.ir import Graph, Node, Param, TensorType


@dataclass(frozen=True)
class Layer:
    """One row of a summary: an input, a target, a primitive node or a whole composite.

    `params` are the params this layer owns (or, for a param declared on its own,
    the first layer that reads it); `inputs` are the values it reads from outside.
    """

    id: str
    op: str
    kind: str  # "input", "target", "node" or "composite"
    type: TensorType
    nodes: tuple[Node, ...] = ()
    params: tuple[Param, ...] = ()
    inputs: tuple[str, ...] = ()
    pointer: str = ""  # where the layer is declared in the document

    @property
    def param_count(self) -> int:
        return sum(p.type.size() or 0 for p in self.params)


def layers(graph: Graph) -> list[Layer]:
    """Inputs and targets, then the document's nodes in graph order (composites collapsed)."""
    rows = [Layer(i.name, "input", "input", i.type, pointer=i.pointer) for i in graph.inputs]
    if graph.training is not None:
        targets = graph.training.targets
        rows += [Layer(t.name, "target", "target", t.type, pointer=t.pointer) for t in targets]
    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        groups.setdefault(node.origin or node.id, []).append(node)
    owned: dict[str, list[Param]] = {}  # layer id -> the params it declares
    for p in graph.params:
        if p.owner is not None:
            owned.setdefault(p.owner, []).append(p)
    free = {p.name: p for p in graph.params if p.owner is None}
    claimed: set[str] = set()
    for key, nodes in groups.items():
        rows.append(_layer(key, nodes, owned.get(key, []), free, claimed))
    return rows


def _layer(
    key: str,
    nodes: list[Node],
    owned: list[Param],
    free: Mapping[str, Param],
    claimed: set[str],
) -> Layer:
    inside = {n.id for n in nodes}
    inside.update(p.name for p in owned)
    reads = [name for n in nodes for name in n.inputs if name not in inside]
    shared = [free[name] for name in dict.fromkeys(reads) if name in free and name not in claimed]
    claimed.update(p.name for p in shared)
    outside = tuple(name for name in dict.fromkeys(reads) if name not in free)
    composite = nodes[0].origin is not None
    last = next((n for n in nodes if n.id == key), nodes[-1])
    return Layer(
        id=key,
        op=(last.origin_op or "composite") if composite else last.op,
        kind="composite" if composite else "node",
        type=last.type,
        nodes=tuple(nodes),
        params=tuple(owned + shared),
        inputs=outside,
        pointer=last.pointer,
    )


def document_value(document: Mapping[str, Any] | None, pointer: str) -> Any:
    """The value at RFC 6901 `pointer` in `document`, or None where it does not resolve."""
    value: Any = document
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
