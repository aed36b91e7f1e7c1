"""ONNX interop, a stage at each edge of the pipeline (see docs/onnx.md).

`from_onnx` imports an ONNX model as an nnspec *document*, so an imported model
goes through the same checks, errors and code generator as a written one;
`to_onnx` exports a checked `Graph`; `from_sklearn` reads a fitted scikit-learn
MLP directly. Everything here imports `onnx` (and onnxruntime, for verification)
lazily: the core and every compiled module never need them.
"""

from __future__ import annotations

from typing import Any

from nnspec.lazy import lazy_attribute

_LAZY = {
    "from_onnx": ("nnspec.onnx.importer", "from_onnx"),
    "Imported": ("nnspec.onnx.importer", "Imported"),
    "to_onnx": ("nnspec.onnx.exporter", "to_onnx"),
    "from_sklearn": ("nnspec.onnx.sklearn", "from_sklearn"),
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


__all__ = list(_LAZY)
