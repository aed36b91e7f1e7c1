"""Tools for testing nnspec documents: hypothesis strategies and gradient checks.

`documents()` draws random valid documents, `inputs_for(graph)` draws inputs for
a graph, `finite_differences` and `check_gradients` compare reverse-mode gradients
with central differences, `assert_same_gradients` holds a module compiled with
``train=True`` to the interpreter's gradients bit for bit. See docs/testing.md.

The strategies need hypothesis (in nnspec's ``test`` extra) and are imported on
first use, so the gradient checks, which ``nnspec check`` uses, need only NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnspec.lazy import lazy_attribute
from nnspec.testing.gradcheck import (
    assert_same_gradients,
    check_gradients,
    finite_differences,
    kink_distance,
    relative_error,
)

if TYPE_CHECKING:
    from nnspec.testing.strategies import documents, inputs_for


_LAZY = {  # hypothesis is imported only when the strategies are used
    "documents": ("nnspec.testing.strategies", "documents"),
    "inputs_for": ("nnspec.testing.strategies", "inputs_for"),
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


__all__ = [
    "assert_same_gradients",
    "check_gradients",
    "documents",
    "finite_differences",
    "inputs_for",
    "kink_distance",
    "relative_error",
]
