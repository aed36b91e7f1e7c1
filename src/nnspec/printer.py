"""The one canonical text form of a `Graph` (grammar in `nnspec.ir`'s docstring).

Used by ``nnspec summary``, golden tests and error messages, so a graph reads the
same everywhere::

    graph xor(x: f32[batch,2], target: f32[batch,1]) {
      param hidden.W: f32[2,8]
      hidden.matmul: f32[batch,8] = matmul(x, hidden.W)
      loss: f32[] = binary_cross_entropy(prob, target) {from_logits=false}
      return prob
    }

Inputs come first, then the training targets (they are inputs of the loss), then
params and nodes in graph order. Attributes are sorted by name, values written as
compact JSON. A name that is not a plain identifier (dots and dashes allowed) is
written as a JSON string, so control characters and quotes can never break a line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from nnspec.ir import Graph, Node, Param, TensorType

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def format_name(name: str) -> str:
    """`name` as is when it is a plain identifier, otherwise a JSON string literal."""
    return name if _PLAIN_NAME.fullmatch(name) else json.dumps(name)


def format_type(type_: TensorType) -> str:
    """``f32[batch,8]``: short dtype, dims with ``?`` for unknown."""
    return str(type_)


def format_value(value: Any) -> str:
    """An attribute value as compact JSON (frozen tuples print as lists)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def format_attrs(attrs: Iterable[tuple[str, Any]]) -> str:
    """``{axis=-1, keepdims=false}``, sorted by name; empty string when there are none."""
    items = sorted(attrs)
    if not items:
        return ""
    return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in items) + "}"


def format_node(node: Node) -> str:
    """``id: type = op(inputs) {attrs}``."""
    args = ", ".join(format_name(name) for name in node.inputs)
    attrs = format_attrs(node.attrs)
    tail = f" {attrs}" if attrs else ""
    return f"{format_name(node.id)}: {format_type(node.type)} = {node.op}({args}){tail}"


def format_param(param: Param) -> str:
    """``param name: type``, with ``const`` for a non-trainable param."""
    const = "" if param.trainable else " const"
    return f"param {format_name(param.name)}: {format_type(param.type)}{const}"


def format_graph(graph: Graph) -> str:
    """The whole graph, one line per value, ending with a newline."""
    arguments = list(graph.inputs)
    if graph.training is not None:
        arguments += graph.training.targets
    signature = ", ".join(f"{format_name(i.name)}: {format_type(i.type)}" for i in arguments)
    lines = [f"graph {format_name(graph.name or 'graph')}({signature}) {{"]
    lines += [f"  {format_param(p)}" for p in graph.params]
    lines += [f"  {format_node(n)}" for n in graph.nodes]
    lines.append("  return " + ", ".join(format_name(o) for o in graph.outputs))
    lines.append("}")
    return "\n".join(lines) + "\n"
