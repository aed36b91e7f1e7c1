"""Summary rows and totals: composites collapsed, params counted once, memory in bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnspec.cli.main import main
from nnspec.interpreter.model import Model
from nnspec.overview.table import format_summary, human_bytes, summarize
from nnspec.spec.load import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _summary(name: str) -> dict:
    path = EXAMPLES / f"{name}.json"
    return summarize(load(path))


def test_composites_are_one_row_with_their_primitives() -> None:
    rows = {row["id"]: row for row in _summary("maxout")["layers"]}
    assert list(rows) == ["x", "y", "hidden", "prob", "loss"]
    assert rows["hidden"]["op"] == "maxout" and rows["hidden"]["primitives"] == 4
    assert rows["hidden"]["params"] == 2 * 24 + 24
    assert rows["hidden"]["output"] == "f32[batch,8]"
    assert rows["prob"]["inputs"] == ["hidden"]
    assert rows["loss"]["inputs"] == ["prob.add", "y"]


def test_totals_split_trainable_and_constants() -> None:
    summary = _summary("sign_network")
    assert summary["params"] == {"total": 9, "trainable": 0, "non_trainable": 9}
    assert summary["weight_bytes"] == {"total": 36, "trainable": 0, "non_trainable": 36}


def test_free_params_are_counted_by_their_first_reader() -> None:
    summary = _summary("explicit_graph")
    rows = {row["id"]: row["params"] for row in summary["layers"]}
    assert rows["xw"] == 8 and rows["z1"] == 4 and rows["h"] == 0
    assert sum(rows.values()) == summary["params"]["total"] == 17


def test_text_table() -> None:
    text = format_summary(_summary("mlp"))
    assert "h1      dense (3 primitives)  f32[batch,64]   4,160  x" in text
    assert "total params:         6,570 (25.7 KiB)" in text
    assert text.endswith("outputs: logits\n")


def test_hostile_name_and_description_stay_on_their_lines() -> None:
    graph = load(
        {
            "nnspec": "1",
            "name": "a\nb",
            "description": "line\nbreak\x1b[2J",
            "inputs": {"x": {"shape": ["batch", 2]}},
            "nodes": [{"id": "y", "op": "dense", "units": 1}],
        }
    )
    lines = format_summary(summarize(graph)).splitlines()
    assert lines[0] == 'model "a\\nb" (float32)'
    assert lines[1] == "line break [2J"


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1024, 1536, 5 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 GiB",
    ]


def test_model_summary_is_the_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Model.summary() prints, byte for byte, what `nnspec summary` prints, for every example."""
    for path in sorted(EXAMPLES.glob("*.json")):
        assert main(["summary", str(path)]) == 0
        cli = capsys.readouterr().out
        model = Model(load(path))
        assert model.summary() is None
        assert capsys.readouterr().out == cli, path.name
        assert model.summary(print_fn=None) == cli
        lines: list[str] = []
        model.summary(print_fn=lines.append)
        assert lines == [cli.rstrip("\n")]
