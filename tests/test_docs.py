"""The reference docs stay true: their JSON examples validate, generated pages are fresh."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nnspec
from nnspec.ops import REGISTRY
from nnspec.spec.lower import COMPOSITES

DOCS = Path(__file__).resolve().parents[1] / "docs"
JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.S)


def _blocks(page: str) -> list[str]:
    return JSON_BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("index", range(len(_blocks("format.md"))))
def test_format_examples_validate(index: int) -> None:
    doc = json.loads(_blocks("format.md")[index])
    errors = [p for p in nnspec.validate(doc) if p.is_error]
    assert errors == []


def test_every_op_and_composite_is_documented() -> None:
    page = (DOCS / "ops.md").read_text(encoding="utf-8")
    for name in [*REGISTRY, *COMPOSITES]:
        assert f"`{name}`" in page


PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
RUNNABLE = ("interpreter.md", "training.md")


@pytest.mark.parametrize("page", RUNNABLE)
def test_python_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python block runs as written (its own process), from a copy of the
    repository's examples, so the files a block writes land in a temporary folder."""
    shutil.copytree(DOCS.parent / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    blocks = PYTHON_BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        run = subprocess.run(
            [sys.executable, "-c", block], capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, f"{page}:\n{block}\n{run.stderr}"
