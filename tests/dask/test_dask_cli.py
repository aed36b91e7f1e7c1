"""`nnspec run --dask`: every refusal before a cluster starts, and one run on a local cluster.

The refusals need no cluster: they are decided from the options and the file names,
and leave every file as it was. The last test lets the command start (and stop) its
own local cluster and scores CSV, .npy and .npz partitions.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.datasets import load_arrays

pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "nodes": [{"id": "y", "op": "dense", "units": 1, "activation": "tanh"}],
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model.json").write_text(json.dumps(DOC))
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(0)
    np.save(tmp_path / "in" / "b.npy", rng.standard_normal((7, 2)))
    np.savez(tmp_path / "in" / "c.npz", x=rng.standard_normal((5, 2)))
    rows = rng.standard_normal((4, 2))
    text = "x_0,x_1\n" + "".join(f"{a!r},{b!r}\n" for a, b in rows.tolist())
    (tmp_path / "in" / "a.csv").write_text(text)
    os.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> int:
    return main(["run", "model.json", *args])


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "in", "-o", "out", "--scheduler", "tcp://h:1"], "go with --dask"),
        (["-i", "in", "-o", "out", "--workers", "2"], "go with --dask"),
        (
            ["-i", "in", "-o", "out", "--dask", "--scheduler", "tcp://h:1", "--workers", "1"],
            "not both",
        ),
        (["-i", "in/*.parquet", "-o", "out", "--dask"], "no data file matches"),
        (["-i", "missing.csv", "-o", "out", "--dask"], "file not found"),
        (["-i", "model.json", "-o", "out", "--dask"], "use .parquet, .csv, .npy or .npz"),
        (["-i", "in", "-o", "model.json", "--dask"], "-o names a folder"),
        (["-i", "in/*", "-o", "in", "--dask"], "is one of the inputs"),
        (["-i", "in", "-o", "out", "--dask", "--scheduler", "nonsense://x"], "cannot connect"),
    ],
)
def test_refusals_leave_everything_as_it_was(folder, capsys, args, message) -> None:
    before = snapshot(folder)
    scheduler = dask.config.get("scheduler", None)
    assert run(*args) == 2
    # a refused (or failed) connection leaves Dask's global settings as they were
    assert dask.config.get("scheduler", None) == scheduler
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert snapshot(folder) == before
    assert not (folder / "out").exists()


@pytest.mark.parametrize("workers", ["0", "-1", "two", "", "10001"])
def test_workers_must_be_a_positive_integer(folder, capsys, workers) -> None:
    with pytest.raises(SystemExit) as caught:
        run("-i", "in", "-o", "out", "--dask", "--workers", workers)
    assert caught.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_an_existing_output_file_is_never_overwritten(folder, capsys) -> None:
    (folder / "out").mkdir()
    (folder / "out" / "b.npy").write_bytes(b"earlier results")
    assert run("-i", "in", "-o", "out", "--dask") == 2
    assert "out/b.npy exists" in capsys.readouterr().err
    assert (folder / "out" / "b.npy").read_bytes() == b"earlier results"


def test_two_inputs_with_one_name_would_collide(folder, capsys) -> None:
    (folder / "more").mkdir()
    (folder / "more" / "a.csv").write_text((folder / "in" / "a.csv").read_text())
    assert run("-i", "*/a.csv", "-o", "out", "--dask") == 2
    assert "same file name" in capsys.readouterr().err


def test_fifos_are_not_partitions_and_an_empty_folder_matches_nothing(folder, capsys) -> None:
    os.mkfifo(folder / "in" / "d.csv")
    assert run("-i", "in/*.csv", "-o", "out", "--dask") == 2
    assert "in/d.csv: not a regular file" in capsys.readouterr().err
    (folder / "in" / "d.csv").unlink()
    (folder / "in" / "e.csv").mkdir()  # a folder given itself is a folder of partitions
    assert run("-i", "in/e.csv", "-o", "out", "--dask") == 2
    assert "in/e.csv: no data file matches" in capsys.readouterr().err


def test_a_graph_that_mixes_rows_is_refused(folder, capsys) -> None:
    doc = {**DOC, "nodes": [{"op": "softmax", "axis": 0}]}
    (folder / "model.json").write_text(json.dumps(doc))
    assert run("-i", "in", "-o", "out", "--dask") == 2
    assert "mixes rows" in capsys.readouterr().err


def test_a_local_cluster_scores_csv_npy_and_npz_like_nnspec_run(folder, capfd) -> None:
    assert run("-i", "in", "-o", "out", "--dask", "--workers", "1") == 0
    assert capfd.readouterr().err == ""  # no log lines or warnings from the cluster
    assert sorted(os.listdir(folder / "out")) == ["a.csv", "b.npy", "c.npz"]
    for name in ("a.csv", "b.npy", "c.npz"):
        assert run("-i", f"in/{name}", "-o", f"single-{name}") == 0
        want = load_arrays(folder / f"single-{name}", inputs=["y"])["y"]
        got = load_arrays(folder / "out" / name, inputs=["y"])["y"]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


class _Terminal(io.StringIO):
    """Text written to a stream that says it is a terminal (as stderr is, interactively)."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_counts_partitions_with_the_trainers_tqdm_bar() -> None:
    from nnspec.cli.scale import _progress

    stream = _Terminal()
    with _progress(stream) as show:
        assert show is not None
        show(1, 4)
        show(4, 4)
    text = stream.getvalue()
    assert "partitions 4/4 |" in text and text.endswith("\n")  # tqdm's bar, line ended
    assert "[#" not in text  # not the hand-drawn bar it replaced


def test_no_progress_bar_off_a_terminal() -> None:
    from nnspec.cli.scale import _progress

    stream = io.StringIO()
    with _progress(stream) as show:
        assert show is None
    assert stream.getvalue() == ""


def test_nothing_imports_dask_until_a_cluster_or_collection_is_used() -> None:
    """The core, the CLI's parser and nnspec.dask's own modules load without Dask."""
    import subprocess
    import sys

    code = (
        "import sys, nnspec, nnspec.interpreter.train, nnspec.dask.scorer, nnspec.dask.lazy,"
        " nnspec.dask.files, nnspec.dask.stream, nnspec.cli.scale;"
        " from nnspec.cli.main import build_parser; build_parser();"
        " heavy = ('dask', 'distributed', 'pyarrow', 'pandas');"
        " print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
