"""The tool commands end to end: summary, graph, data, init, plot; exit codes and files."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.datasets import load_arrays

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
XOR = str(EXAMPLES / "xor.json")


def test_summary_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", XOR]) == 0
    assert "hidden  dense (3 primitives)  f32[batch,8]      24  x" in capsys.readouterr().out
    assert main(["summary", XOR, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"]["total"] == 33 and summary["weight_bytes"]["total"] == 132


def test_invalid_and_unreadable_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "nope"}]}')
    for command in ("summary", "graph"):
        assert main([command, str(bad)]) == 1
        err = capsys.readouterr().err
        assert "bad.json:1:" in err and "Traceback" not in err
        assert main([command, str(tmp_path / "missing.json")]) == 2
        assert "cannot read" in capsys.readouterr().err


def test_graph_text_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", XOR]) == 0
    assert capsys.readouterr().out.startswith("digraph nnspec {")
    assert main(["graph", XOR, "--collapse", "-o", str(tmp_path / "x.mmd")]) == 0
    text = (tmp_path / "x.mmd").read_text()
    assert "flowchart TB" in text and "subgraph" not in text
    assert main(["graph", XOR, "-o", str(tmp_path / "x.dot")]) == 0
    assert "subgraph cluster_c0" in (tmp_path / "x.dot").read_text()
    assert main(["graph", XOR, "-o", str(tmp_path / "x.txt")]) == 2


def test_graph_image_without_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["graph", XOR, "-o", str(tmp_path / "x.svg")]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "x.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_graph_renders_png_and_svg(tmp_path: Path) -> None:
    assert main(["graph", XOR, "-o", str(tmp_path / "x.png")]) == 0
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["graph", XOR, "-o", str(tmp_path / "x.svg")]) == 0
    assert b"<svg" in (tmp_path / "x.svg").read_bytes()


def test_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "--list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("circle ")
    out = tmp_path / "s.npz"
    assert (
        main(["data", "spiral", "--n", "30", "--noise", "0.1", "--seed", "3", "-o", str(out)]) == 0
    )
    arrays = load_arrays(out, inputs=["x"], targets=["y"])
    assert arrays["x"].shape == (30, 2) and arrays["y"].shape == (30, 1)
    assert main(["data", "xor", "--labels", "-o", str(tmp_path / "l.csv")]) == 0
    labels = load_arrays(tmp_path / "l.csv", inputs=["x"], targets=["y"])["y"]
    assert labels.shape == (200,) and set(np.unique(labels)) == {0.0, 1.0}
    capsys.readouterr()
    assert main(["data", "spirl", "-o", str(out)]) == 2
    assert "did you mean 'spiral'" in capsys.readouterr().err
    assert main(["data", "plane", "--labels", "-o", str(out)]) == 2
    assert main(["data", "xor", "-o", str(tmp_path / "x.txt")]) == 2
    assert main(["data", "xor"]) == 2


def test_init_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.json"
    assert main(["init", "mlp", "-o", str(out)]) == 0
    assert "nnspec data circle" in capsys.readouterr().err
    assert main(["validate", str(out)]) == 0
    out.write_text("mine")
    assert main(["init", "linear", "-o", str(out)]) == 2
    assert out.read_text() == "mine"
    assert main(["init", "linear", "-o", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["name"] == "linear"
    with pytest.raises(SystemExit) as exit_info:
        main(["init", "cnn", "-o", str(out)])
    assert exit_info.value.code == 2


def test_plot_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"loss": [0.7, 0.3], "metrics": {"accuracy": [0.6, 0.9]}}))
    assert main(["plot", "history", str(history), "-o", str(tmp_path / "loss.png")]) == 0
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    data = tmp_path / "xor.npz"
    assert main(["data", "xor", "--n", "40", "-o", str(data)]) == 0
    png = tmp_path / "b.png"
    assert main(["plot", "boundary", XOR, "--data", str(data), "-o", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    mlp = str(EXAMPLES / "mlp.json")
    assert main(["plot", "boundary", mlp, "--data", str(data), "-o", str(png)]) == 2
    assert "one input of shape [batch, 2]" in capsys.readouterr().err
    history.write_text("[1, 2]")
    assert main(["plot", "history", str(history), "-o", str(png)]) == 2
    assert main(["plot", "history", str(history), "-o", str(tmp_path / "x.jpg")]) == 2


def test_plot_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"loss": [0.7, 0.3]}))
    assert main(["plot", "history", str(history), "-o", str(tmp_path / "loss.png")]) == 2
    err = capsys.readouterr().err
    assert "nnspec[plot]" in err and "Traceback" not in err
