"""Tools for testing nnspec documents: hypothesis strategies and gradient checks.

`documents()` draws random valid documents, `inputs_for(graph)` draws inputs for
a graph, `finite_differences` and `check_gradients` compare reverse-mode gradients
with central differences, `assert_same_gradients` holds a module compiled with
``train=True`` to the interpreter's gradients bit for bit. See docs/testing.md.
Importing this package needs hypothesis (in nnspec's ``test`` extra).
"""

from nnspec.testing.gradcheck import (
    assert_same_gradients,
    check_gradients,
    finite_differences,
    kink_distance,
    relative_error,
)
from nnspec.testing.strategies import documents, inputs_for

__all__ = [
    "assert_same_gradients",
    "check_gradients",
    "documents",
    "finite_differences",
    "inputs_for",
    "kink_distance",
    "relative_error",
]
