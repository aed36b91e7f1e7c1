"""Distinct names for distinct things, and private names stay private (issue 10 §6).

Parsed from the source, like `test_layers.py`: an underscore name is private to its
module, so no other module imports it (`from m import _x`) or reaches into it
(`m._x`); a shared helper gets a public name in the module that owns it. And no two
top-level types in the package share a name (leading underscores ignored), so `Plan`
or `Step` always means one thing when read, grepped or shown in a traceback.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nnspec"
SOURCES = sorted(SRC.rglob("*.py"))


def _module(path: Path, root: Path) -> str:
    """The dotted module name of a source file under `root` (a package is its __init__)."""
    parts = ("nnspec", *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(path: Path, root: Path, node: ast.ImportFrom) -> str:
    """The module an ``import from`` names, with relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = _module(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(files: list[Path], root: Path = SRC) -> list[str]:
    """'file:line: name from module' for every private name taken from another module."""
    bad = []
    for path in files:
        here = _module(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: dict[str, str] = {}  # local name -> nnspec module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("nnspec.") and alias.asname:
                        modules[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(path, root, node)
                if not source.startswith("nnspec") or source == here:
                    continue
                for alias in node.names:
                    if _private(alias.name):
                        bad.append(
                            f"{path.relative_to(root)}:{node.lineno}: {alias.name} from {source}"
                        )
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
            ):
                where = modules[node.value.id]
                bad.append(f"{path.relative_to(root)}:{node.lineno}: {node.attr} from {where}")
    return bad


def _is_type_alias(node: ast.stmt) -> str | None:
    """The name a top-level ``Name = <type expression>`` binds, if it is CamelCase."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target = node.target
    else:
        return None
    if not isinstance(target, ast.Name):
        return None
    name = target.id.lstrip("_")
    return target.id if name[:1].isupper() and not name.isupper() else None


def shared_type_names(files: list[Path], root: Path = SRC) -> dict[str, list[str]]:
    """Type name (underscores stripped) -> 'file:line' of each top-level class or type
    alias defining it, for every name defined more than once."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in files:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            name = node.name if isinstance(node, ast.ClassDef) else _is_type_alias(node)
            if name is not None:
                where[name.lstrip("_")].append(f"{path.relative_to(root)}:{node.lineno}")
    return {name: places for name, places in sorted(where.items()) if len(places) > 1}


def test_no_private_name_crosses_a_module() -> None:
    assert private_imports(SOURCES) == []


def test_every_type_name_is_defined_once() -> None:
    assert shared_type_names(SOURCES) == {}


def _private_imports_in(tmp_path: Path, where: str, source: str) -> list[str]:
    path = tmp_path / where
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    return private_imports([path], tmp_path)


@pytest.mark.parametrize(
    "where, source",
    [
        ("codegen/train.py", "from nnspec.codegen.emit import _port\n"),
        ("codegen/train.py", "from .emit import EmitPlan, _port\n"),
        ("spec/check.py", "def f():\n    from nnspec.spec.builder import _Builder\n"),
        ("dask/columns.py", "from nnspec.datasets import csvio\nx = csvio._INDEXED\n"),
        ("dask/columns.py", "import nnspec.datasets.csvio as csvio\nx = csvio._INDEXED\n"),
        ("onnx/__init__.py", "from .exporter import _OnnxBuilder\n"),
    ],
)
def test_a_private_import_is_found(tmp_path: Path, where: str, source: str) -> None:
    assert len(_private_imports_in(tmp_path, where, source)) == 1


@pytest.mark.parametrize(
    "where, source",
    [
        ("codegen/train.py", "from nnspec.codegen.emit import EmitPlan, port_for\n"),
        ("codegen/train.py", "from __future__ import annotations\nimport numpy as np\n"),
        ("codegen/train.py", "from nnspec.codegen.train import _own\n"),  # itself
        ("cli/main.py", "def f(args):\n    return args._run\n"),  # not a module
        ("codegen/emit.py", "from nnspec import codegen\nx = codegen.__name__\n"),
    ],
)
def test_public_and_own_names_pass(tmp_path: Path, where: str, source: str) -> None:
    assert _private_imports_in(tmp_path, where, source) == []


def test_a_shared_type_name_is_found(tmp_path: Path) -> None:
    (tmp_path / "codegen").mkdir()
    (tmp_path / "interpreter").mkdir()
    (tmp_path / "codegen" / "emit.py").write_text("class Plan:\n    pass\n\n\nMAX = 3\n")
    (tmp_path / "interpreter" / "plan.py").write_text(
        "Plan = tuple[int, ...]\n\n\nclass _Step:\n    pass\n\n\nMAX = 4\n"
    )
    (tmp_path / "spec.py").write_text("class Step:\n    pass\n")
    files = sorted(tmp_path.rglob("*.py"))
    assert shared_type_names(files, tmp_path) == {
        "Plan": ["codegen/emit.py:1", "interpreter/plan.py:1"],
        "Step": ["interpreter/plan.py:4", "spec.py:1"],
    }
