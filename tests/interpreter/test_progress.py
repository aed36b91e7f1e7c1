"""The training progress bar: fits the width, throttles redraws, stays off non-terminals."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import make, save_arrays
from nnspec.interpreter.progress import Progress
from nnspec.interpreter.train import train

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, to watch what the bar draws."""

    def isatty(self) -> bool:
        return True


def screen_lines(text: str) -> list[str]:
    """What the terminal shows line by line: every carriage return starts over."""
    return [part for line in text.split("\n") for part in line.split("\r") if part]


@pytest.mark.parametrize("columns", [40, 80, 120])
def test_every_redraw_fits_the_terminal_width(columns: int) -> None:
    stream = Terminal()
    bar = Progress(300, stream, ncols=columns)
    long_values = {"loss": 0.123456, "accuracy": 0.98, "val_loss": 0.25, "val_accuracy": 0.875}
    for epoch in range(1, 301):
        bar.update(epoch, long_values)
    bar.close()
    lines = screen_lines(stream.getvalue())
    assert lines and all(len(line) <= columns for line in lines)
    assert stream.getvalue().count("\n") == 1  # one screen line, ended once
    assert lines[-1].startswith("epoch 300/300")


def test_redraws_are_throttled() -> None:
    stream = Terminal()
    bar = Progress(20_000, stream, ncols=80)
    for epoch in range(1, 20_001):
        bar.update(epoch, {"loss": 1.0 / epoch})
    bar.close()
    # 20 000 unthrottled redraws of ~80 characters would be 1.6 MB.
    assert len(stream.getvalue()) < 20_000
    assert re.search(r"epoch 20000/20000 .*loss 5e-05", screen_lines(stream.getvalue())[-1])


def test_the_bar_shows_the_last_values() -> None:
    stream = Terminal()
    bar = Progress(3, stream, ncols=100)
    for epoch, loss in enumerate([0.5, 0.25, 0.125], start=1):
        bar.update(epoch, {"loss": loss, "accuracy": epoch / 4})
    bar.close()
    assert "loss 0.125 accuracy 0.75" in screen_lines(stream.getvalue())[-1]


def test_train_draws_only_when_asked_or_on_a_terminal(capsys: pytest.CaptureFixture) -> None:
    data = make("xor", 32, seed=0)
    graph = nnspec.load(EXAMPLES / "xor.json")
    train(graph, data.x, data.y, epochs=3)  # pytest's stderr is no terminal
    assert capsys.readouterr().err == ""
    train(graph, data.x, data.y, epochs=3, quiet=True)
    assert capsys.readouterr().err == ""
    train(graph, data.x, data.y, epochs=3, quiet=False)
    assert "epoch 3/3" in capsys.readouterr().err


def test_cli_quiet_hides_the_bar_not_the_result_and_silent_hides_both(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = make("xor", 32, seed=0)
    save_arrays(tmp_path / "xor.npz", {"x": data.x, "y": data.y})
    common = ["train", str(EXAMPLES / "xor.json"), "--data", str(tmp_path / "xor.npz")]
    assert main([*common, "-o", str(tmp_path / "a.json"), "--epochs", "2", "-q"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert re.fullmatch(r"nnspec train: 2 epoch\(s\), loss \S+, accuracy \S+; wrote .*\n", err)
    assert main([*common, "-o", str(tmp_path / "b.json"), "--epochs", "2", "--silent"]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "b.json").exists()
