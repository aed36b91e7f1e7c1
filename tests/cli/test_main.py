"""The command-line entry point: exit codes and no tracebacks for files it cannot write."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnspec.cli.main import COMMANDS, main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "args",
    [
        ["compile", str(EXAMPLES / "xor.json"), "-o", "missing/model.py"],
        ["schema", "-o", "missing/schema.json"],
        ["graph", str(EXAMPLES / "xor.json"), "-o", "missing/graph.dot"],
    ],
)
def test_an_output_in_a_missing_folder_is_exit_2_with_the_path(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "Traceback" not in err


def test_train_checks_the_history_path_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "xor", "-o", "xor.npz", "--n", "40"]) == 0
    args = ["train", str(EXAMPLES / "xor.json"), "--data", "xor.npz", "--out", "out.json"]
    assert main([*args, "--history", "missing/h.json", "-q"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    for name in COMMANDS:
        assert name in err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
