"""``python -m dev.regen``: every derived file is fresh, and --check notices a stale one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dev import regen

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["schema", "ops"])
def test_derived_files_are_fresh(name: str) -> None:
    # errors and commands have their own freshness tests (tests/spec, tests/dev).
    assert regen.stale([name]) == [], f"run: python -m dev.regen {name}"


def test_every_generator_owns_files_in_the_repository() -> None:
    files = regen.expected(["schema", "ops", "errors"])
    assert {p.relative_to(ROOT).as_posix() for p in files} == {
        "schemas/nnspec-1.schema.json",
        "docs/ops.md",
        "docs/errors.md",
    }


def test_check_reports_a_stale_file_and_writes_nothing(monkeypatch, capsys) -> None:
    page = ROOT / "docs" / "ops.md"
    before = page.read_bytes()
    monkeypatch.setattr("dev.ops_page.render", lambda: "# something else\n")
    assert regen.main(["--check", "ops"]) == 1
    assert "docs/ops.md is stale" in capsys.readouterr().err
    assert page.read_bytes() == before


def test_unknown_generator_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        regen.main(["--check", "nope"])
    assert caught.value.code == 2
    assert "unknown generator 'nope'" in capsys.readouterr().err


def test_the_entry_point_runs_from_the_repository_root() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dev.regen", "--check", "schema", "ops"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_the_runtime_package_holds_no_generator() -> None:
    src = ROOT / "src" / "nnspec"
    for gone in ("ops/docs.py", "cli/errors_doc.py", "tools/docgen.py", "tools/docpages.py"):
        assert not (src / gone).exists()
    assert "def main" not in (src / "spec" / "schema.py").read_text(encoding="utf-8")


def test_one_run_reaches_the_fixed_point(monkeypatch, tmp_path: Path) -> None:
    # A later generator reads what an earlier one writes (the command pages run
    # `nnspec schema`, which reads the schema file): each renders after the ones before
    # it have written, so a second run changes nothing.
    import types

    source, page = tmp_path / "schema.json", tmp_path / "page.md"
    source.write_text("old\n")
    first = types.ModuleType("dev._first")
    first.outputs = lambda: {source: "new\n"}  # type: ignore[attr-defined]
    second = types.ModuleType("dev._second")
    second.outputs = lambda: {page: f"quotes {source.read_text()}"}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dev._first", first)
    monkeypatch.setitem(sys.modules, "dev._second", second)
    monkeypatch.setattr(regen, "GENERATORS", {"first": "dev._first", "second": "dev._second"})
    assert regen.main([]) == 0
    assert page.read_text() == "quotes new\n"
    assert regen.main(["--check"]) == 0
