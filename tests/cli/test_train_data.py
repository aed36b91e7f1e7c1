"""Data for ``nnspec train``: integer labels by ``--target COL``, CSV layouts read
whichever way the header spells them, and hints that name command-line options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import DataError, load_arrays, make, save_arrays
from nnspec.tools.templates import template_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "softmax.json").write_text(template_text("softmax"))
    (tmp_path / "xor.json").write_text((EXAMPLES / "xor.json").read_text())
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_target_column_feeds_integer_labels(work: Path, capsys: pytest.CaptureFixture) -> None:
    data = make("gaussians", 60, seed=1)
    # A table with its own column names, as a user's CSV has them.
    rows = "\n".join(
        f"{a!r},{b!r},{int(c)}" for (a, b), c in zip(data.x.tolist(), data.labels(), strict=True)
    )
    write(work / "table.csv", "width,height,species\n" + rows + "\n")
    args = ["train", "softmax.json", "--data", "table.csv", "--target", "species", "-o", "o.json"]
    assert main([*args, "--epochs", "40", "-q"]) == 0, capsys.readouterr().err
    assert "accuracy 1" in capsys.readouterr().err
    trained = nnspec.load(work / "o.json")
    labels = np.argmax(next(iter(nnspec.Model(trained).run({"x": data.x}).values())), axis=1)
    assert np.array_equal(labels, data.labels())


@pytest.mark.parametrize("header", ["y", "y_0"])
@pytest.mark.parametrize("document", ["softmax.json", "xor.json"])
def test_a_one_column_target_is_read_either_way(work: Path, header: str, document: str) -> None:
    # softmax's target is [batch] int64, xor's is [batch, 1] float: both read "y" and "y_0".
    data = make("xor", 40, seed=0)
    pairs = zip(data.x.tolist(), data.labels(), strict=True)
    text = "".join(f"{a!r},{b!r},{int(c)}\n" for (a, b), c in pairs)
    write(work / "d.csv", f"x_0,x_1,{header}\n{text}")
    assert main(["train", document, "--data", "d.csv", "-o", "o.json", "--epochs", "2"]) == 0


def test_ranks_settle_the_layout_of_one_column(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,t\n1,2,0\n3,4,1\n")
    flat = load_arrays(path, inputs=["x"], targets=["t"], target_columns=["t"], ranks={"t": 1})
    assert flat["t"].shape == (2,) and flat["x"].shape == (2, 2)
    column = load_arrays(path, inputs=["x"], targets=["t"], target_columns=["t"])
    assert column["t"].shape == (2, 1)  # without a declared rank, picked columns stay 2-D
    named = load_arrays(path, inputs=["a"], targets=["t"], ranks={"a": 2, "t": 2})
    assert named["a"].shape == (2, 1) and named["t"].shape == (2, 1)
    wide = load_arrays(path, inputs=["x"], targets=["t"], input_columns=["a", "b"], ranks={"x": 1})
    assert wide["x"].shape == (2, 2)  # two columns never squeeze into a vector


def test_hints_use_the_callers_spelling(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b\n1,2\n")
    cli = {"target_columns": "--target", "input_columns": "--input-columns"}
    with pytest.raises(DataError, match=r"or choose them with --target$"):
        load_arrays(path, inputs=["a"], targets=["label"], spelling=cli)
    with pytest.raises(DataError, match=r"--target names 'c', which is not a column"):
        load_arrays(path, inputs=["x"], targets=["y"], target_columns=["c"], spelling=cli)
    with pytest.raises(DataError, match=r"target_columns names 'c'"):
        load_arrays(path, inputs=["x"], targets=["y"], target_columns=["c"])
    npz = tmp_path / "d.npz"
    save_arrays(npz, {"x": np.zeros((2, 2))})
    with pytest.raises(DataError, match=r"--target and --input-columns apply only to \.csv"):
        load_arrays(npz, inputs=["x"], targets=["y"], target_columns=["c"], spelling=cli)


def test_cli_hints_name_cli_options(work: Path, capsys: pytest.CaptureFixture) -> None:
    write(work / "d.csv", "f1,f2,cls\n1,2,0\n3,4,1\n")
    assert main(["train", "softmax.json", "--data", "d.csv", "-o", "o.json"]) == 2
    err = capsys.readouterr().err
    assert "has no column for 'x'" in err and "choose them with --input-columns" in err
    write(work / "e.csv", "x_0,x_1,cls\n1,2,0\n3,4,1\n")
    assert main(["train", "softmax.json", "--data", "e.csv", "-o", "o.json"]) == 2
    err += capsys.readouterr().err
    assert "has no column for 'y'" in err and "choose them with --target" in err
    assert "target_columns" not in err and "input_columns" not in err
    bad = ["train", "softmax.json", "--data", "d.csv", "-o", "o.json", "--target", "klass"]
    assert main(bad) == 2
    assert "--target names 'klass', which is not a column (known: 'cls', 'f1', 'f2')" in (
        capsys.readouterr().err
    )
    picked = ["--input-columns", "f1", "f2", "--target", "cls", "--epochs", "1"]
    assert main(["train", "softmax.json", "--data", "d.csv", "-o", "o.json", *picked]) == 0
