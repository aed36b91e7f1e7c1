"""Numbers on command lines (nnspec's options and a compiled module's) are plain numbers
in the digits 0-9, as in CSV files and JSON: Python's int() and float() also take other
scripts' digits ("٣", "１"), underscores ("1_0") and more, which nnspec refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.codegen import compile, load_source

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOT_PLAIN = ["\u0663", "\uff13", "1_0", "\u0661\u0660", "3\u00a0", "\u00b3", "0x3", "3.0"]
NOT_PLAIN_REAL = ["\uff11e-3", "1_0", "0.\u0661", "\u0665", "1e\u0662", "0x1p-3", "\u0131nf"]


@pytest.fixture
def xor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xor.json").write_text((EXAMPLES / "xor.json").read_text())
    return tmp_path


def _usage_error(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    assert caught.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("text", NOT_PLAIN)
@pytest.mark.parametrize(
    "args",
    [
        ["data", "xor", "-o", "d.npz", "--n"],
        ["check", "xor.json", "--batch"],
        ["check", "xor.json", "--seed"],
        ["validate", "xor.json", "--max-nodes"],
    ],
    ids=lambda a: a[-1],
)
def test_whole_numbers_take_only_the_digits_0_to_9(xor, capsys, args, text) -> None:
    last = _usage_error(capsys, *args, text)
    assert f"argument {args[-1]}: expected a " in last and repr(text) in last
    assert sorted(p.name for p in xor.iterdir()) == ["xor.json"]


@pytest.mark.parametrize("text", NOT_PLAIN_REAL)
def test_real_numbers_take_only_the_digits_0_to_9(xor, capsys, text) -> None:
    (xor / "d.npz").write_bytes(b"")  # never read: the option is refused first
    last = _usage_error(capsys, "train", "xor.json", "-d", "d.npz", "-o", "o.json", "--lr", text)
    assert last == f"nnspec train: error: argument --lr: expected a number, got {text!r}"


@pytest.mark.parametrize("text", ["3", " 3 ", "+3", "03"])
def test_plain_whole_numbers_still_work(xor, capsys, text) -> None:
    assert main(["check", "xor.json", "--batch", text]) == 0
    assert "DISAGREES" not in capsys.readouterr().out


@pytest.mark.parametrize("text", ["0.5", "+.5", "5e-1", " 0.5", "5E-1"])
def test_plain_real_numbers_still_work(xor, text) -> None:
    assert main(["data", "xor", "-o", "d.npz", "--n", "8"]) == 0
    args = ["train", "xor.json", "-d", "d.npz", "-o", "o.json", "--epochs", "1", "-q"]
    assert main([*args, "--lr", text]) == 0


@pytest.fixture(scope="module")
def module():
    return load_source(compile(nnspec.load(EXAMPLES / "xor.json"), train=True))


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_a_compiled_modules_threads_take_only_the_digits_0_to_9(module, tmp_path, capsys, text):
    np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(SystemExit):
        module.main(["--threads", text, str(tmp_path / "x.npy")])
    assert f"expected a whole number 1 to 1024, got {text!r}" in capsys.readouterr().err


@pytest.mark.parametrize("text", NOT_PLAIN_REAL)
def test_a_compiled_modules_learning_rate_takes_only_the_digits_0_to_9(
    module, tmp_path, capsys, text
):
    with pytest.raises(SystemExit):
        module.main(["--train", "d.npz", "-o", "w.npz", "--learning-rate", text])
    assert f"expected a finite number above 0, got {text!r}" in capsys.readouterr().err
