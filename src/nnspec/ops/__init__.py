"""The op registry: every primitive op, each defined once in its family module.

The registry is an explicit list (no import side effects, no scanning of globals);
the schema's op section, `docs/ops.md` and the codegen macros are checked against it.
"""

from __future__ import annotations

from nnspec.ops import binary, elementwise, linalg, losses, reduce, shape
from nnspec.ops.base import OpDef

FAMILIES = (elementwise, binary, linalg, reduce, shape, losses)

REGISTRY: dict[str, OpDef] = {op.name: op for family in FAMILIES for op in family.OPS}

LOSSES = tuple(op.name for op in losses.OPS)


def get(name: str) -> OpDef:
    """The definition of primitive op `name` (KeyError if there is none)."""
    return REGISTRY[name]


__all__ = ["LOSSES", "REGISTRY", "OpDef", "get"]
