"""Shared helpers of the CLI tests: the official SARIF 2.1.0 schema (vendored in
``sarif/`` with its licence notice) as a validator, ``nnspec validate`` as a function
returning (exit code, stdout, stderr), a scratch working folder, and one holding the
xor example with data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nnspec.cli.main import main
from nnspec.datasets import make, save_arrays

SARIF_SCHEMA = Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def assert_valid_sarif() -> Callable[[Any], None]:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )

    def check(log: Any) -> None:
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
        )

    return check


@pytest.fixture
def validate(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``validate(*args)``: run ``nnspec validate ARGS``; (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["validate", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty scratch folder as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def xor_folder(cwd: Path) -> Path:
    """The working directory with xor.json, 32 rows of its data (xor.npz: x and y) and
    the inputs alone (x.npy)."""
    (cwd / "xor.json").write_text((EXAMPLES / "xor.json").read_text())
    data = make("xor", 32, seed=0)
    save_arrays(cwd / "xor.npz", {"x": data.x, "y": data.y})
    save_arrays(cwd / "x.npy", {"x": data.x})
    return cwd
