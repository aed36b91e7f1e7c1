"""A compiled module's CSV input of no rows (a header alone) gives what `nnspec run`
gives, an output of no rows, not NumPy's reshape error; the CSV rule itself is tested
in test_csv_rule.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nnspec
from nnspec.codegen import compile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_header_only_csv_gives_an_output_of_no_rows_like_nnspec_run(tmp_path: Path) -> None:
    module = tmp_path / "xor.py"
    module.write_text(compile(nnspec.load(EXAMPLES / "xor.json")))
    data = tmp_path / "in.csv"
    data.write_text("x_0,x_1\n")
    by_module = subprocess.run(
        [sys.executable, str(module), str(data)], capture_output=True, text=True, timeout=120
    )
    assert (by_module.returncode, by_module.stdout, by_module.stderr) == (0, "prob_0\n", "")
    out = tmp_path / "out.csv"
    command = ["run", str(EXAMPLES / "xor.json"), "-i", str(data), "-o", str(out)]
    by_run = subprocess.run(
        [sys.executable, "-m", "nnspec", *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert by_run.returncode == 0, by_run.stderr
    assert out.read_text() == by_module.stdout
