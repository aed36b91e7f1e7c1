"""Imports point down the pipeline only: a module may import its own subpackage and
the layers below it, never one above (parsed from the source, so it cannot drift)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nnspec"

# Lowest first. Names in one tuple are one layer and must not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("portable", "arguments", "aligned"),  # below everything: picklable exceptions, API
    # argument checks, cache-line-aligned arrays
    ("fileio", "errors", "examples", "lazy"),  # files, problems, shipped data, the
    # packages' lazy re-exports
    ("ir",),
    ("printer",),
    ("overview",),  # layers and the summary table of a Graph (Model.summary, nnspec summary)
    ("ops", "optimizers"),  # the op registry and the optimizer definitions (both data)
    ("autodiff", "typecheck", "regularizers", "inplace", "sampling"),  # on the IR: the
    # autodiff plan both engines render; types; the L1/L2 penalties (data); updates as
    # in-place writes; random inputs in their ops' domains
    ("buffers",),  # where both engines write: forward values, the reverse pass's gradients
    ("spec",),
    ("interpreter",),
    ("codegen",),
    ("datasets",),  # data files for commands; the engines never read files themselves
    ("testing", "tools", "onnx", "dask"),
    ("cli",),
    ("__main__",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _part(path: Path) -> str:
    """The top-level part of nnspec a source file belongs to."""
    first = path.relative_to(SRC).parts[0]
    return first.removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, nnspec part) for every absolute import of nnspec inside `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "nnspec":  # from nnspec import errors
                names = [f"nnspec.{alias.name}" for alias in node.names]
        found += [(node.lineno, n.split(".")[1]) for n in names if n.startswith("nnspec.")]
    return found


def upward_imports(files: list[Path]) -> list[str]:
    """'file:line: part imports part' for every import of a higher or sibling layer."""
    bad = []
    for path in files:
        part = _part(path)
        if part == "__init__":  # the package's lazy re-exports
            continue
        for line, target in _imports(path):
            if target == part or target not in RANK:
                continue
            if RANK[target] >= RANK[part]:
                bad.append(f"{path.relative_to(SRC)}:{line}: {part} imports {target}")
    return bad


SOURCES = sorted(SRC.rglob("*.py"))


def test_every_part_has_a_layer() -> None:
    parts = {_part(p) for p in SOURCES} - {"__init__"}
    assert parts <= set(RANK), f"add to LAYERS: {sorted(parts - set(RANK))}"


def test_imports_point_down_the_pipeline() -> None:
    assert upward_imports(SOURCES) == []


@pytest.mark.parametrize(
    "where, source",
    [
        ("tools/x.py", "from nnspec.cli.command import ExitCode\n"),
        ("ops/x.py", "def f():\n    from nnspec.spec import lower\n"),
        ("codegen/x.py", "import nnspec.datasets.files\n"),
        ("interpreter/x.py", "from nnspec import codegen\n"),
        ("tools/x.py", "from nnspec import testing\n"),  # siblings in one layer
    ],
)
def test_an_upward_import_is_found(tmp_path: Path, monkeypatch, where: str, source: str) -> None:
    monkeypatch.setattr(f"{__name__}.SRC", tmp_path)
    path = tmp_path / where
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    assert len(upward_imports([path])) == 1


def test_a_downward_import_passes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(f"{__name__}.SRC", tmp_path)
    path = tmp_path / "cli" / "x.py"
    path.parent.mkdir()
    path.write_text("from nnspec.fileio import write_atomic\nimport nnspec.spec.load\n")
    assert upward_imports([path]) == []
