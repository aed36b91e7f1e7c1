"""Starting documents for ``nnspec init KIND``: one commented JSON file per kind.

Each template explains itself through ``description`` and ``x-`` keys (JSON has no
comments), validates as is, and names its inputs ``x`` and target ``y`` so that
the `nnspec data` set in `DATA` trains it without renaming anything.
"""

from __future__ import annotations

from importlib import resources

KINDS: tuple[str, ...] = ("linear", "logistic", "softmax", "mlp", "maxout", "playground")
"""The kinds ``nnspec init`` knows, simplest first."""

DATA: dict[str, tuple[str, ...]] = {
    "linear": ("plane",),
    "logistic": ("gaussians",),
    "softmax": ("gaussians", "--labels"),
    "mlp": ("circle",),
    "maxout": ("xor",),
    "playground": ("circle", "--n", "500"),
}
"""The ``nnspec data`` arguments that make a matching data set for each kind."""


def template_text(kind: str) -> str:
    """The JSON text of the starting document for `kind` (one of `KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return resources.files(__name__).joinpath(f"{kind}.json").read_text(encoding="utf-8")
