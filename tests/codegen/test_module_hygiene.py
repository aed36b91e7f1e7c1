"""What a reviewer, a formatter and a shell see of a compiled module: the header
records the compile options (and ``--check`` uses them), the Python floor is stated
and checked, a missing weights file is one line naming it, several outputs on stdout
are one CSV, and a closed pipe ends quietly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
XOR = ROOT / "examples" / "xor.json"
THREE_OUTPUTS = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "nodes": [
        {"id": "h", "op": "dense", "units": 2, "activation": "tanh"},
        {"id": "p", "op": "sigmoid", "inputs": ["h"]},
        {"id": "s", "op": "sum", "inputs": ["h"], "axis": 1},
    ],
    "outputs": ["h", "p", "s"],
}


def _python(*args: str, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False, **kwargs
    )


@pytest.mark.parametrize(
    "options",
    [[], ["--train"], ["--weights-file"], ["--no-self-test", "--train", "--weights-file"]],
)
def test_header_records_the_options_and_check_uses_them(
    options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "m.py"
    assert main(["compile", str(XOR), "-o", str(module), *options]) == 0
    text = module.read_text(encoding="utf-8")
    order = [o for o in ("--weights-file", "--no-self-test", "--train") if o in options]
    assert f"# Compile options: {' '.join(order) or '(none)'}\n" in text
    assert f"COMPILE_OPTIONS = {tuple(order)!r}".replace("'", '"') in text
    assert "# Requires Python >= 3.10 and NumPy.\n" in text
    capsys.readouterr()
    assert main(["compile", str(XOR), "-o", str(module), "--check"]) == 0
    assert main(["compile", str(XOR), "-o", str(module), "--check", *options]) == (0)
    other = ["--train"] if "--train" not in options else ["--no-self-test"]
    if set(other) <= set(options):
        return
    assert main(["compile", str(XOR), "-o", str(module), "--check", *other]) == 1
    err = capsys.readouterr().err
    assert f"m.py was compiled with {' '.join(order) or 'no options'}, not {other[0]}" in err


def test_check_still_finds_a_stale_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "m.py"
    assert main(["compile", str(XOR), "-o", str(module), "--train"]) == 0
    module.write_text(module.read_text("utf-8").replace("NAME = ", "NAME = 'x' or "), "utf-8")
    assert main(["compile", str(XOR), "-o", str(module), "--check"]) == 1
    assert "is out of date" in capsys.readouterr().err


def test_python_floor_is_checked_at_import(tmp_path: Path) -> None:
    assert main(["compile", str(XOR), "-o", str(tmp_path / "m.py")]) == 0
    older = "import sys, runpy; sys.hexversion = 0x030912F0; runpy.run_path('m.py')"
    done = _python("-c", older, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ImportError: this module, compiled by nnspec, needs Python 3.10 or newer"
    )
    assert _python("m.py", "--self-test", cwd=tmp_path).returncode == 0


def test_missing_weights_file_is_one_line(tmp_path: Path) -> None:
    assert main(["compile", str(XOR), "-o", str(tmp_path / "m.py"), "--weights-file"]) == 0
    (tmp_path / "m.weights.npz").unlink()
    message = (
        "cannot read m.weights.npz, the weights file of this module: "
        "No such file or directory (it belongs in the module's folder)"
    )
    done = _python("m.py", "--self-test", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, f"error: {message}\n")
    done = _python("-c", "import m", cwd=tmp_path)
    assert done.stderr.strip().splitlines()[-1] == f"ImportError: {message}"
    assert "Traceback" in done.stderr and "_load_weights" not in done.stderr


def test_several_outputs_on_stdout_are_one_csv(tmp_path: Path) -> None:
    (tmp_path / "three.json").write_text(json.dumps(THREE_OUTPUTS), encoding="utf-8")
    assert main(["compile", str(tmp_path / "three.json"), "-o", str(tmp_path / "m.py")]) == 0
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    done = _python("m.py", "x.npy", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header == "h_0,h_1,p_0,p_1,s" and len(rows) == 5
    table = np.loadtxt(done.stdout.splitlines(), delimiter=",", skiprows=1)
    h = table[:, :2]
    np.testing.assert_allclose(table[:, 2:4], 1 / (1 + np.exp(-h)), rtol=1e-6)
    np.testing.assert_allclose(table[:, 4], h.sum(axis=1), rtol=1e-6, atol=1e-7)
    # with -o, one file per output as before
    assert _python("m.py", "x.npy", "-o", "out.csv", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.glob("out.*.csv")) == [
        "out.h.csv",
        "out.p.csv",
        "out.s.csv",
    ]


def test_outputs_with_different_row_counts_ask_for_a_file(tmp_path: Path) -> None:
    doc = {
        **THREE_OUTPUTS,
        "nodes": [*THREE_OUTPUTS["nodes"], {"id": "t", "op": "sum", "inputs": ["s"]}],
    }
    doc["outputs"] = ["s", "t"]
    (tmp_path / "d.json").write_text(json.dumps(doc), encoding="utf-8")
    assert main(["compile", str(tmp_path / "d.json"), "-o", str(tmp_path / "m.py")]) == 0
    np.save(tmp_path / "x.npy", np.ones((3, 2), dtype=np.float32))
    done = _python("m.py", "x.npy", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "error: outputs with different row counts (s: 3, t: 1); give -o FILE\n"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    assert main(["compile", str(XOR), "-o", str(tmp_path / "m.py")]) == 0
    np.save(tmp_path / "x.npy", np.zeros((200_000, 2), dtype=np.float32))
    reader = subprocess.Popen(
        [sys.executable, "m.py", "x.npy"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()  # what `| head -1` does
    err = reader.stderr.read()
    assert reader.wait(timeout=60) == 0
    assert first.startswith(b"prob") and err == b""
