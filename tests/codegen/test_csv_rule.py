"""One CSV rule in two places: `nnspec.datasets` (what ``nnspec run``/``train`` read)
and the compiled module's ``_csv_input`` (it may import only NumPy, so it has its
own copy). Both get the same files; they must accept the same ones with the same
numbers and columns and refuse the others with the same message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.codegen import compile, load_source
from nnspec.datasets import DataError, load_arrays
from nnspec.spec.load import load

DOC = """{"nnspec": "1", "inputs": {"x": {"shape": ["batch", 2]}},
          "nodes": [{"id": "y", "op": "relu"}]}"""

ACCEPTED = {
    "header": "x_0,x_1\n1,2\n3,4\n",
    "other names": "a,b\n1,2\n3,4\n",
    "no header": "1,2\n3,4\n",
    "no header, one row": "1,2\n",
    "no header, signs and exponents": "-1.5e3,+.5\n2.,-0\n",
    "no header, nan and inf": "nan,-inf\nInfinity,NaN\n",
    "no header, spaces and quotes": ' 1 , "2"\n3,4\n',
    "no header, CRLF and trailing blank lines": "1,2\r\n3,4\r\n\r\n\r\n",
    "byte-order mark": "\ufeffa,b\n1,2\n",
    "byte-order mark, no header": "\ufeff1,2\n3,4\n",
    "header only": "a,b\n",
    "quoted names": '"a","b"\n1,2\n',
    "a name like a word for a number": "nan_,inf_\n1,2\n",
    "a newline inside a quoted name": 'a,"b\nc"\n1,2\n',
    "the input's columns among others": "x_0,x_1,y\n1,2,3\n4,5,6\n",
    "the input's columns out of order": "x_1,y,x_0\n1,2,3\n4,5,6\n",
    "the input's columns, ten of them": ",".join(f"x_{i}" for i in range(10))
    + "\n"
    + ",".join(map(str, range(10)))
    + "\n",
    "a column named as the input": "y,x\n1,2\n3,4\n",
    "names that only look like the input's": "xx_0,x_01\n1,2\n",
    "indices in other digits are names": "x_\u0660,x_\u0661\n1,2\n",
    "non-ASCII names": "\u00e4,\u00f6\n1,2\n",
    "dotless-i words are names": "\u0131nf,\u0131nf\u0131n\u0131ty\n1,2\n",
    "a no-break space inside a name": "a\u00a0,b\n1,2\n",
    "tabs around numbers": "\t1\t,2\n3, 4\t\n",
    "a tab inside a quoted name": '"a\tb",c\n1,2\n',
}
REFUSED = {
    "empty": "",
    "blank first line": "\n1,2\n",
    "mixed first row": "x,1\n1,2\n",
    "mixed first row, number first": "1,x\n1,2\n",
    "empty column name": "a,\n1,2\n",
    "a name twice": "a,a\n1,2\n",
    "no header, an empty cell": "1,\n3,4\n",
    "no header, a word further down": "1,2\n3,x\n",
    "no header, a short row": "1,2\n3\n",
    "no header, a long row": "1,2\n3,4,5\n",
    "no header, a blank line between rows": "1,2\n\n3,4\n",
    "underscores in a number": "a,b\n1_000,2\n",
    "hexadecimal": "0x10,2\n",
    "a blank cell after a header": "a,b\n1,  \n",
    "a line after a multi-line cell": 'a,"b\nc"\n1,x\n',
    "unclosed quote": 'a,b\n"1,2\n',
    "not UTF-8": b"a,b\n\xff,1\n",
    "a NUL in a number of line 1": "1\x00,2\n",
    "a NUL in a name": "a\x00,b\n1,2\n",
    "a NUL before an empty name": "\x00,\n1,2\n",
    "a NUL in a later number": "a,b\n1,2\x00\n",
    "a NUL alone": "a,b\n\x00,2\n",
    "a NUL in a quoted cell": 'a,b\n"1\x00",2\n',
    "a start-of-heading character": "\x01,2\n",
    "an escape sequence": "a,b\n\x1b[31m1,2\n",
    "a vertical tab": "a,b\n1,\x0b2\n",
    "a form feed in line 1": "\x0c1,2\n",
    "a unit separator": "a,b\n1\x1f,2\n",
    "DEL": "a,b\n1,\x7f\n",
    "a C1 control character": "a,b\n1,2\x85\n",
    "Arabic-Indic digits in line 1": "\u0661,\u0662\n\u0663,\u0664\n",
    "an Arabic-Indic digit beside an ASCII one in line 1": "\u0661,2\n",
    "full-width digits": "\uff11,\uff12\n",
    "a full-width digit after a name": "x,\uff11\n",
    "Arabic-Indic digits further down": "a,b\n1,\u0662\n",
    "Devanagari digits": "a,b\n\u0967,2\n",
    "digits of two scripts in one number": "a,b\n1\u0662,3\n",
    "an exponent in other digits": "a,b\n1e\u0663,2\n",
    "a signed number in other digits": "a,b\n-\u0661.5,2\n",
    "a dotless-i inf as a number": "a,b\n\u0131nf,2\n",
    "a dotted capital I inf as a number": "a,b\n\u0130NF,2\n",
    "a no-break space after a number": "a,b\n1\u00a0,2\n",
    "an ideographic space before a number": "\u30001,2\n",
    "the input as one column and as indexed ones": "x,x_0\n1,2\n",
    "a gap in the input's columns": "x_0,x_2\n1,2\n",
    "the input's columns not from 0": "x_1,x_2\n1,2\n",
}


@pytest.fixture(scope="module")
def module():
    return load_source(compile(load(DOC)))


def _both(tmp_path: Path, module, content: str | bytes):
    path = tmp_path / "data.csv"
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    results = []
    for read in (
        lambda: load_arrays(path, inputs=["x"], ranks={"x": 2})["x"],
        lambda: module._csv_input(str(path), data, "x", 2),
    ):
        try:
            results.append(read())
        except (DataError, ValueError) as exc:
            results.append(str(exc))
    return results


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_both_readers_accept_the_same_numbers(tmp_path, module, name):
    ours, compiled = _both(tmp_path, module, ACCEPTED[name])
    assert isinstance(ours, np.ndarray), ours
    assert isinstance(compiled, np.ndarray), compiled
    assert ours.dtype == compiled.dtype == np.float64
    np.testing.assert_array_equal(ours, compiled)
    assert ours.ndim == 2 and ours.shape == compiled.shape


@pytest.mark.parametrize("name", list(REFUSED))
def test_both_readers_refuse_with_the_same_message(tmp_path, module, name):
    ours, compiled = _both(tmp_path, module, REFUSED[name])
    assert isinstance(ours, str), f"nnspec.datasets accepted it: {ours}"
    assert ours == compiled
    assert ours.startswith(f"{tmp_path / 'data.csv'}: ")


def test_the_module_and_run_agree_on_a_header_less_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.json").write_text(DOC)
    (tmp_path / "m.py").write_text(compile(load(DOC)))
    (tmp_path / "bare.csv").write_text("1,-2\n-3,4\n")
    assert main(["run", "doc.json", "-i", "bare.csv", "-o", "run.npy"]) == 0
    subprocess.run(
        [sys.executable, "m.py", "bare.csv", "-o", "module.npy"], check=True, timeout=120
    )
    np.testing.assert_array_equal(np.load("run.npy"), np.load("module.npy"))
    np.testing.assert_array_equal(np.load("run.npy"), [[1, 0], [0, 4]])


def test_the_module_names_file_and_line_on_the_command_line(tmp_path):
    (tmp_path / "m.py").write_text(compile(load(DOC)))
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    done = subprocess.run(
        [sys.executable, "m.py", "bad.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "error: bad.csv: line 2, column 2: 'x' is not a number; use plain decimal numbers\n"
    )


LABELS = """{"nnspec": "1", "inputs": {"x": {"shape": ["batch"]}},
             "nodes": [{"id": "y", "op": "relu"}]}"""


@pytest.mark.parametrize(
    ("text", "refused"),
    [("3\n-1\n", False), ("x\n3\n-1\n", False), ("3,1\n-1,2\n", True)],
)
def test_a_1d_input_takes_one_column_in_both(tmp_path, monkeypatch, text, refused):
    """A [batch] input reads a single column; two columns are refused by both, not
    flattened into a batch twice as long."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.json").write_text(LABELS)
    (tmp_path / "m.py").write_text(compile(load(LABELS)))
    (tmp_path / "in.csv").write_text(text)
    code = main(["run", "doc.json", "-i", "in.csv", "-o", "run.npy"])
    module = subprocess.run(
        [sys.executable, "m.py", "in.csv", "-o", "module.npy"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if refused:
        assert code == 2 and module.returncode == 1
        assert "expected shape" in module.stderr and "got (2, 2)" in module.stderr
        assert not (tmp_path / "run.npy").exists() and not (tmp_path / "module.npy").exists()
        return
    assert code == 0 and module.returncode == 0, module.stderr
    np.testing.assert_array_equal(np.load("run.npy"), np.load("module.npy"))
    assert np.load("module.npy").tolist() == [3.0, 0.0]


TWO_INPUTS = """{"nnspec": "1",
  "inputs": {"a": {"shape": ["batch", 2]}, "b": {"shape": ["batch", 1]}},
  "nodes": [{"id": "s", "op": "sub", "inputs": ["a", "b"]}]}"""

# (document, file, expected output or None when both refuse); the module gets the
# file once per input, as its command line wants one file per input.
SAME_FILES = [
    (DOC, "x_0,x_1,y\n1,-2,3\n-4,5,6\n", [[1, 0], [0, 5]]),
    (DOC, "y,x_1,x_0\n3,-2,1\n6,5,-4\n", [[1, 0], [0, 5]]),
    (DOC, "x_0,x_1\n1,-2\n", [[1, 0]]),
    (DOC, "a,b\n1,-2\n", [[1, 0]]),
    (DOC, "1,-2\n", [[1, 0]]),
    (DOC, "x_0,x_1,x_2\n1,2,3\n", None),  # three columns for a [batch, 2] input
    (DOC, "x_0,x_2,y\n1,2,3\n", None),  # a gap
    (DOC, "x,x_0,x_1\n1,2,3\n", None),  # ambiguous
    (DOC, "x_0,x_1,y\n1,2,\u0663\n", None),  # a digit of another script, in y
    (DOC, "x_0,x_1\n1,2\x00\n", None),  # a NUL
    (LABELS, "x,y\n3,1\n-1,2\n", [3, 0]),
    (LABELS, "y,x_0\n1,3\n2,-1\n", [3, 0]),
    (LABELS, "y,z\n1,3\n2,-1\n", None),  # two columns, neither the input's
    (TWO_INPUTS, "b,a_1,a_0\n1,2,3\n0,-1,5\n", [[2, 1], [5, -1]]),
    (TWO_INPUTS, "a_0,a_1,b,label\n3,2,1,0\n5,-1,0,1\n", [[2, 1], [5, -1]]),
    (TWO_INPUTS, "a_0,a_1\n3,2\n", None),  # no column for b
]


@pytest.mark.parametrize(("doc", "text", "expected"), SAME_FILES)
def test_the_module_picks_the_columns_nnspec_run_picks(tmp_path, monkeypatch, doc, text, expected):
    """A compiled module run as a program follows `nnspec run`'s column rule: on the same
    file, the same result or a refusal by both."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.json").write_text(doc)
    (tmp_path / "m.py").write_text(compile(load(doc)))
    (tmp_path / "in.csv").write_text(text)
    code = main(["run", "doc.json", "-i", "in.csv", "-o", "run.npy"])
    inputs = len(load(doc).inputs)
    module = subprocess.run(
        [sys.executable, "m.py", *["in.csv"] * inputs, "-o", "module.npy"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if expected is None:
        assert (code, module.returncode) == (2, 1), module.stderr
        assert module.stderr.startswith("error: ") and "Traceback" not in module.stderr
        assert not (tmp_path / "run.npy").exists() and not (tmp_path / "module.npy").exists()
        return
    assert (code, module.returncode) == (0, 0), module.stderr
    np.testing.assert_array_equal(np.load("run.npy"), np.load("module.npy"))
    np.testing.assert_array_equal(np.load("module.npy"), expected)
