"""``nnspec run -o -``: outputs on standard output, and header-less CSV inputs."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.codegen import compile
from nnspec.datasets import load_arrays
from nnspec.spec.load import load_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TWO_OUTPUTS = {
    "nnspec": "1",
    "name": "two",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "nodes": [
        {"id": "a", "op": "relu", "inputs": ["x"]},
        {"id": "s", "op": "sum", "inputs": ["x"], "axis": 1},
    ],
    "outputs": ["a", "s"],
}
POINTS = "x_0,x_1\n1,-2\n3,4\n0.5,-0.25\n"
RUN_SIGN = [sys.executable, "-m", "nnspec", "run", "sign.json", "-i", "points.csv"]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.json").write_text(json.dumps(TWO_OUTPUTS))
    (tmp_path / "sign.json").write_text((EXAMPLES / "sign_network.json").read_text())
    (tmp_path / "points.csv").write_text(POINTS)
    return tmp_path


def nnspec(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "nnspec", *args], capture_output=True, check=False, timeout=120
    )


def test_one_output_to_stdout_is_the_csv_file_it_would_write(work, capsysbinary):
    assert main(["run", "sign.json", "-i", "points.csv", "-o", "out.csv"]) == 0
    assert main(["run", "sign.json", "-i", "points.csv", "-o", "-"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == (work / "out.csv").read_bytes() and err == b""


@pytest.mark.parametrize("fmt", ["npy", "npz"])
def test_binary_formats_to_a_pipe_hold_the_arrays(work, capsysbinary, fmt):
    assert main(["run", "sign.json", "-i", "points.csv", "-o", f"out.{fmt}"]) == 0
    assert main(["run", "sign.json", "-i", "points.csv", "-o", "-", "--output-format", fmt]) == 0
    out = capsysbinary.readouterr().out
    assert out == (work / f"out.{fmt}").read_bytes()
    (work / f"piped.{fmt}").write_bytes(out)
    got = load_arrays(f"piped.{fmt}", inputs=["o"])["o"]
    np.testing.assert_array_equal(got, [[-1], [1], [-1]])


def test_several_outputs_are_one_table_like_the_compiled_modules(work, capsysbinary):
    assert main(["run", "two.json", "-i", "points.csv", "-o", "-"]) == 0
    text = capsysbinary.readouterr().out.decode()
    assert text.splitlines()[0] == "a_0,a_1,s"
    (work / "table.csv").write_text(text)
    back = load_arrays("table.csv", inputs=["a", "s"])
    np.testing.assert_array_equal(back["a"], [[1, 0], [3, 4], [0.5, 0]])
    np.testing.assert_array_equal(back["s"], [-1, 7, 0.25])
    (work / "two.py").write_text(compile(load_file(work / "two.json")[0]))
    module = subprocess.run(
        [sys.executable, "two.py", "points.csv"], capture_output=True, text=True, check=True
    )
    assert module.stdout.splitlines()[0] == text.splitlines()[0]
    np.testing.assert_array_equal(
        np.loadtxt(io.StringIO(module.stdout), delimiter=",", skiprows=1),
        np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["two.json", "-o", "-", "--output-format", "npy"],
            "--output-format npy writes one array, but the document has 2 outputs (a, s); "
            "use csv (one table) or npz",
        ),
        (
            ["sign.json", "-o", "out.npy", "--output-format", "npy"],
            "--output-format goes with -o - (standard output); a file's extension picks its format",
        ),
        (["sign.json", "-o", "out.txt"], "out.txt: use a .npz, .npy or .csv output file, or -"),
        (
            ["sign.json", "-o", "-", "--dask"],
            "--dask writes one file per input into a folder; give -o FOLDER",
        ),
    ],
)
def test_refusals_write_nothing(work, capsysbinary, args, message):
    assert main(["run", *args, "-i", "points.csv"]) == 2
    out, err = capsysbinary.readouterr()
    assert out == b"" and err.decode() == f"nnspec run: {message}\n"
    assert sorted(p.name for p in work.iterdir()) == ["points.csv", "sign.json", "two.json"]


class _TextOnly(io.TextIOBase):
    """A text stream with no binary layer, as a notebook's or a GUI's stdout can be."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


@pytest.mark.parametrize("stream", [io.StringIO, _TextOnly])
@pytest.mark.parametrize("doc", ["sign.json", "two.json"])
def test_csv_to_a_text_only_stdout_is_the_text_of_the_file(work, monkeypatch, stream, doc):
    assert main(["run", doc, "-i", "points.csv", "-o", "out.csv"]) == 0
    out = stream()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["run", doc, "-i", "points.csv", "-o", "-"]) == 0
    monkeypatch.undo()
    text = out.getvalue() if isinstance(out, io.StringIO) else "".join(out.parts)
    assert text == (work / "out.csv").read_text()


@pytest.mark.parametrize("stream", [io.StringIO, _TextOnly])
@pytest.mark.parametrize("fmt", ["npy", "npz"])
def test_binary_to_a_text_only_stdout_is_a_usage_error(work, monkeypatch, capsys, stream, fmt):
    out = stream()
    monkeypatch.setattr(sys, "stdout", out)
    code = main(["run", "sign.json", "-i", "points.csv", "-o", "-", "--output-format", fmt])
    monkeypatch.undo()
    assert code == 2
    assert (out.getvalue() if isinstance(out, io.StringIO) else "".join(out.parts)) == ""
    assert capsys.readouterr().err == (
        f"nnspec run: standard output takes only text here (it has no binary layer), and "
        f".{fmt} is binary; write a file (-o out.{fmt}) or use --output-format csv\n"
    )
    assert sorted(p.name for p in work.iterdir()) == ["points.csv", "sign.json", "two.json"]


def test_bad_output_format_is_a_usage_error(work, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "sign.json", "-i", "points.csv", "-o", "-", "--output-format", "parquet"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'parquet'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["npy", "npz"])
def test_binary_to_a_terminal_is_refused(work, fmt):
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*RUN_SIGN, "-o", "-", "--output-format", fmt],
            stdout=follower,
            stderr=subprocess.PIPE,
            check=False,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"nnspec run: standard output is a terminal, and .{fmt} is binary; redirect it "
        f"(> out.{fmt}) or pipe it, or use --output-format csv\n"
    )


def test_csv_to_a_terminal_is_fine(work):
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*RUN_SIGN, "-o", "-"],
            stdout=follower,
            stderr=subprocess.PIPE,
            check=False,
            timeout=120,
        )
        shown = os.read(leader, 4096).decode()
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 0 and done.stderr == b""
    assert shown.splitlines()[0] == "o_0"


def test_a_reader_that_stops_early_ends_the_run_quietly(work):
    rows = "\n".join(f"{i},{-i}" for i in range(100_000))
    (work / "many.csv").write_text(rows + "\n")
    done = subprocess.run(
        f"{sys.executable} -m nnspec run sign.json -i many.csv -o - | head -1",
        shell=True,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout == b"o_0\n"
    assert done.stderr == b""
    pipe = subprocess.run(
        f"{sys.executable} -m nnspec run sign.json -i many.csv -o - | head -1 >/dev/null; "
        "echo ${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert pipe.stdout == b"0\n" and pipe.stderr == b""


# ------------------------------------------------------------------ header-less CSV


def test_a_header_less_csv_is_the_single_input(work, capsysbinary):
    (work / "bare.csv").write_text("\n".join(POINTS.splitlines()[1:]) + "\n")
    assert main(["run", "sign.json", "-i", "points.csv", "-o", "-"]) == 0
    with_header = capsysbinary.readouterr().out
    assert main(["run", "sign.json", "-i", "bare.csv", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out == with_header


def test_a_header_less_csv_cannot_feed_two_inputs(work, capsys):
    doc = {
        "nnspec": "1",
        "inputs": {"a": {"shape": ["batch", 1]}, "b": {"shape": ["batch", 1]}},
        "nodes": [{"id": "s", "op": "add", "inputs": ["a", "b"]}],
    }
    (work / "pair.json").write_text(json.dumps(doc))
    (work / "bare.csv").write_text("1,2\n3,4\n")
    assert main(["run", "pair.json", "-i", "bare.csv", "-o", "-"]) == 2
    assert capsys.readouterr().err == (
        "nnspec run: bare.csv: has no header row (line 1 is numbers), so no column says "
        "which of 'a', 'b' it holds; add a header row naming the columns ('a_0', 'a_1', ...)\n"
    )


def test_train_with_a_header_less_csv_asks_for_names(work, capsys):
    (work / "xor.json").write_text((EXAMPLES / "xor.json").read_text())
    (work / "bare.csv").write_text("0,0,0\n0,1,1\n")
    code = main(["train", "xor.json", "--data", "bare.csv", "--target", "y", "--out", "o.json"])
    assert code == 2
    assert capsys.readouterr().err == (
        "nnspec train: bare.csv: has no header row (line 1 is numbers), so --target has "
        "no column names to pick; add a header row naming the columns\n"
    )
    assert not (work / "o.json").exists()
