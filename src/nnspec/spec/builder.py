"""Shared state of the semantic checker (`check.py`) and its helpers.

`check.build_graph` creates one `GraphBuilder` per document; `params.py` and
`training.py` add params, nodes and problems to it as the check proceeds. `WiredNode`
is a document node after wiring (an id and explicit inputs), before typing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from nnspec.errors import Problem
from nnspec.ir import Node, Param, TensorType
from nnspec.ops import REGISTRY
from nnspec.spec.limits import Limits
from nnspec.spec.lower import CheckedLayer


@dataclass
class WiredNode:
    """A document node with its resolved id and input names."""

    index: int
    id: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any]
    pointer: str


@dataclass
class GraphBuilder:
    doc: Mapping[str, Any]
    base_dir: Path | None
    limits: Limits
    problems: list[Problem] = field(default_factory=list)
    types: dict[str, TensorType | None] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    # typed document nodes in order: primitives as nodes, composites checked (`lower` input)
    checked: list[Node | tuple[CheckedLayer, TensorType]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)  # the graph's, after lowering
    used: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)  # params already reported as broken

    def error(self, code: str, message: str, pointer: str) -> None:
        self.problems.append(Problem(code, message, pointer))

    @property
    def dtype(self) -> str:
        return self.doc.get("dtype", "float32")


def tensor_type(spec: Mapping[str, Any], default_dtype: str) -> TensorType:
    return TensorType(tuple(spec["shape"]), spec.get("dtype", default_dtype))


@cache
def attr_defaults(op_name: str) -> Mapping[str, Any]:
    """An op's attribute defaults, computed once per op (read-only: callers copy)."""
    return MappingProxyType(REGISTRY[op_name].defaults())
