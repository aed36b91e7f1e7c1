"""Lazy re-exports for the packages' ``__init__`` modules (PEP 562 ``__getattr__``).

A public name is imported the first time it is used, so ``import nnspec`` stays cheap
for the CLI and optional extras (onnx, dask, hypothesis) are imported only by the
code that needs them. Below every layer: it imports nothing of nnspec.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported: the CLI's start-up stays short
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def lazy_attribute(package: str, table: Mapping[str, tuple[str, str]], name: str) -> Any:
    """`name` of `package` from ``table[name] = (module, attribute)``, imported now;
    AttributeError (what Python expects of ``__getattr__``) for any other name."""
    try:
        module_name, attr = table[name]
    except KeyError:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    import importlib

    return getattr(importlib.import_module(module_name), attr)
