"""The README's first command: `nnspec demo` runs every stage and agrees with itself."""

from __future__ import annotations

import re

from nnspec.cli.main import main


def test_demo_trains_compiles_and_agrees(capsys) -> None:
    assert main(["demo", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1. validate  xor.json: valid" in out
    accuracy = float(re.search(r"accuracy on 400 new points ([\d.]+)%", out).group(1))
    assert accuracy >= 97.0
    assert "imports only NumPy" in out
    assert out.rstrip().endswith("bit-identical")


def test_demo_epochs_option_is_honoured(capsys) -> None:
    assert main(["demo", "--quiet", "--epochs", "3"]) == 0
    assert "3 epochs on 400 XOR points" in capsys.readouterr().out
