"""Render ``schemas/nnspec-1.schema.json`` from `nnspec.spec.schema.build_schema`.

One of the generators run by ``python -m dev.regen``; the runtime package only
reads the file (`nnspec.spec.schema.shipped_schema_text`).
"""

from __future__ import annotations

from pathlib import Path

from nnspec.spec.schema import SCHEMA_FILE, render_schema

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / SCHEMA_FILE


def outputs() -> dict[Path, str]:
    """The file this generator owns and the text it must hold."""
    return {SCHEMA: render_schema()}
