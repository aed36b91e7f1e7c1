"""docs/errors.md is generated from CODES and the corpus; it must not go stale."""

from __future__ import annotations

import re
from pathlib import Path

from dev import errors_page
from nnspec.errors import CODES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
CORPUS = Path(__file__).parent / "invalid"


def test_errors_doc_is_fresh() -> None:
    assert DOC.read_text(encoding="utf-8") == errors_page.render(CORPUS), (
        "docs/errors.md is stale: run python -m dev.regen errors"
    )


def test_every_code_has_a_stable_anchor_and_a_fix() -> None:
    text = DOC.read_text(encoding="utf-8")
    anchors = re.findall(r'<a id="(nn\d{3})"></a>', text)
    assert anchors == [code.lower() for code in CODES]
    assert all(info.fix.strip() for info in CODES.values())


def test_the_generator_owns_docs_errors_md() -> None:
    assert list(errors_page.outputs()) == [DOC]
