"""docs/errors.md is generated from CODES and the corpus; it must not go stale."""

from __future__ import annotations

import re
from pathlib import Path

from nnspec.cli import errors_doc
from nnspec.errors import CODES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
CORPUS = Path(__file__).parent / "invalid"


def test_errors_doc_is_fresh() -> None:
    assert errors_doc.main(["--check", "--corpus", str(CORPUS), "--output", str(DOC)]) == 0, (
        "docs/errors.md is stale: run python -m nnspec.cli.errors_doc from the repository root"
    )


def test_every_code_has_a_stable_anchor_and_a_fix() -> None:
    text = DOC.read_text(encoding="utf-8")
    anchors = re.findall(r'<a id="(nn\d{3})"></a>', text)
    assert anchors == [code.lower() for code in CODES]
    assert all(info.fix.strip() for info in CODES.values())


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "errors.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert errors_doc.main(["--check", "--corpus", str(CORPUS), "--output", str(stale)]) == 1
