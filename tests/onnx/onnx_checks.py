"""Shared checks of the ONNX tests: an imported model against onnxruntime, both ways."""

from __future__ import annotations

from collections.abc import Sequence

import nnspec
from nnspec.onnx import Imported, to_onnx
from nnspec.onnx.verify import verify


def assert_agrees(
    model_bytes: bytes, imported: Imported, onnx_outputs: Sequence[str] | None = None
) -> None:
    """Import → validate → run (interpreter and compiled) == onnxruntime on the source
    model, and the export of the imported graph == onnxruntime again."""
    problems = [p for p in nnspec.validate(imported.document) if p.is_error]
    assert problems == []
    graph = nnspec.load(imported.document)
    rows = verify(model_bytes, graph, imported.weights, onnx_outputs=onnx_outputs)
    assert rows and all(r.ok for r in rows), rows
    exported = to_onnx(graph, imported.weights)
    rows = verify(exported, graph, imported.weights)
    assert rows and all(r.ok for r in rows), rows
