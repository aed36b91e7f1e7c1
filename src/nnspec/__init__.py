"""nnspec: neural networks as JSON computation graphs.

The public entry points are re-exported here lazily so that ``import nnspec`` stays
cheap (the CLI and generated-code checks import it often).
"""

from __future__ import annotations

from nnspec.lazy import lazy_attribute

TYPE_CHECKING = False  # typing itself is not imported: the CLI's start-up stays short
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load": ("nnspec.spec.load", "load"),
    "validate": ("nnspec.spec.load", "validate"),
    "Graph": ("nnspec.ir", "Graph"),
    "SpecError": ("nnspec.errors", "SpecError"),
    "Problem": ("nnspec.errors", "Problem"),
    "compile": ("nnspec.codegen", "compile"),
    "Model": ("nnspec.interpreter.model", "Model"),
    "train": ("nnspec.interpreter.train", "train"),
    "evaluate": ("nnspec.interpreter.evaluate", "evaluate"),
    "save": ("nnspec.interpreter.save", "save"),
    # ONNX interop (docs/onnx.md); onnx itself is imported only when these run
    "from_onnx": ("nnspec.onnx.importer", "from_onnx"),
    "to_onnx": ("nnspec.onnx.exporter", "to_onnx"),
    "from_sklearn": ("nnspec.onnx.sklearn", "from_sklearn"),
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


__all__ = ["__version__", *_LAZY]
