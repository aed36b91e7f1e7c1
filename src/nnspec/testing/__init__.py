"""Tools for testing nnspec documents: hypothesis strategies and gradient checks.

`documents()` draws random valid documents, `inputs_for(graph)` draws inputs for
a graph, `finite_differences` and `check_gradients` compare reverse-mode gradients
with central differences. See docs/testing.md. Importing this package needs
hypothesis (in nnspec's ``test`` extra).
"""

from nnspec.testing.gradcheck import (
    check_gradients,
    finite_differences,
    kink_distance,
    relative_error,
)
from nnspec.testing.strategies import documents, inputs_for

__all__ = [
    "check_gradients",
    "documents",
    "finite_differences",
    "inputs_for",
    "kink_distance",
    "relative_error",
]
