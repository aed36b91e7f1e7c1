"""docs/onnx.md's table of onnx's node test cases is fresh (python -m dev.regen onnx)."""

from __future__ import annotations

from dev import regen


def test_backend_table_is_fresh() -> None:
    assert regen.stale(["onnx"]) == [], "run: python -m dev.regen onnx"
