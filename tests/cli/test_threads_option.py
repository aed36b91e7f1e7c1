"""``--threads N`` of ``nnspec train`` and ``nnspec run``: checked like every numeric option."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnspec.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRAIN = ["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--silent"]
RUN = ["run", "xor.json", "-i", "x.npy", "-o", "o.npy"]


@pytest.fixture
def work(xor_folder: Path) -> Path:
    return xor_folder


@pytest.mark.parametrize("command", [TRAIN, RUN])
@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", "", "1025", "1e3"])
def test_bad_thread_counts_are_usage_errors_before_anything_runs(work, capsys, command, value):
    with pytest.raises(SystemExit) as caught:
        main([*command, "--threads", value])
    assert caught.value.code == 2
    assert "error: argument --threads" in capsys.readouterr().err
    assert not (work / "o.json").exists() and not (work / "o.npy").exists()


@pytest.mark.parametrize("command, out", [(TRAIN, "o.json"), (RUN, "o.npy")])
@pytest.mark.parametrize("value", ["1", "2"])
def test_good_thread_counts_run(work, command, out, value):
    assert main([*command, "--threads", value]) == 0
    assert (work / out).exists()


def test_threads_does_not_go_with_dask(work, capsys):
    assert main([*RUN, "--dask", "--threads", "1"]) == 2
    assert "--threads is for the local run" in capsys.readouterr().err
