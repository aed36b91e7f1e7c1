"""A compiled module reads CSV inputs as strictly as `nnspec run` does, and every error
names the file, the line and the column, in `nnspec run`'s words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nnspec
from nnspec.codegen import compile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CASES = [
    (
        "x_0,x_1\n1,2\n3\n",
        "line 3 has 1 cell(s) but the header has 2 column(s); give every row one value per column",
    ),
    (
        "1,2\n3,4,5\n",
        "line 2 has 3 cell(s) but line 1 has 2 column(s); give every row one value per column",
    ),
    (
        "x_0,x_1\n1,\n",
        "line 2, column 2 is empty; fill in a number (missing values are not allowed)",
    ),
    ("x_0,x_1\n1,abc\n", "line 2, column 2: 'abc' is not a number; use plain decimal numbers"),
    ("x_0,x_1\n1,1_000\n", "line 2, column 2: '1_000' is not a number; use plain decimal numbers"),
    (
        "x_0,x_1\n1,\u0661\n",
        "line 2, column 2: '\u0661' is not a number; use plain decimal numbers",
    ),
    ("1,2\n\n3,4\n", "line 2 is blank; remove blank lines between rows"),
    ("x_0,x_1\n", "holds no rows of numbers"),
    ("", "holds no rows of numbers"),
]


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("module") / "xor.py"
    path.write_text(compile(nnspec.load(EXAMPLES / "xor.json")))
    return path


def _run(module: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(module), str(data)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("text", "message"), CASES)
def test_csv_errors_name_file_line_and_column(module, tmp_path: Path, text, message) -> None:
    data = tmp_path / "in.csv"
    data.write_text(text, encoding="utf-8")
    done = _run(module, data)
    assert (done.returncode, done.stderr) == (1, f"error: {data}: {message}\n")


def test_a_file_that_is_not_utf8_is_named(module, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes(b"x_0,x_1\n1,\xff\n")
    done = _run(module, data)
    assert done.stderr == f"error: {data}: byte 10 is not UTF-8; save it as UTF-8\n"


def test_good_csv_with_and_without_header_and_a_trailing_blank_line(module, tmp_path) -> None:
    outputs = []
    for text in ("x_0,x_1\n1,2\n-0.5,3e-1\n", "1,2\n-0.5,3e-1\n\n"):
        data = tmp_path / "in.csv"
        data.write_text(text)
        done = _run(module, data)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].startswith("prob_0\n")


@pytest.mark.parametrize(("text", "message"), [c for c in CASES if c[0].startswith("x_0")][2:4])
def test_nnspec_run_says_the_same(tmp_path: Path, text: str, message: str) -> None:
    data = tmp_path / "in.csv"
    data.write_text(text)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnspec",
            "run",
            str(EXAMPLES / "xor.json"),
            "-i",
            str(data),
            "-o",
            str(tmp_path / "out.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert message.replace("column 2", "column 2 ('x_1')") in done.stderr
