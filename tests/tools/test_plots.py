"""Plots render real PNGs (when matplotlib is installed) and fail cleanly without it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nnspec.datasets import make
from nnspec.spec.load import load
from nnspec.tools.plots import (
    PlotUnavailable,
    boundary_input,
    history_series,
    plot_history,
    write_training_plots,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HISTORY = {"epochs": [1, 2, 3], "loss": [0.7, 0.4, 0.2], "metrics": {"accuracy": [0.5, 0.8, 0.9]}}


def check_png(path: Path) -> None:
    """A valid PNG of the documented size that is not a blank canvas."""
    image_module = pytest.importorskip("matplotlib.image")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image_module.imread(path)
    assert pixels.shape[:2] == (480, 640)
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) > 20


def test_history_series_reads_loss_metrics_and_extra_curves() -> None:
    epochs, curves = history_series({**HISTORY, "val_loss": [0.8, 0.5, 0.3], "note": "x"})
    assert epochs == [1.0, 2.0, 3.0]
    assert set(curves) == {"loss", "val_loss", "accuracy"}
    assert history_series({"loss": [1, 0.5]})[0] == [1.0, 2.0]
    with pytest.raises(ValueError, match="no 'loss'"):
        history_series({"epochs": [1]})


def test_boundary_needs_one_two_column_input() -> None:
    assert boundary_input(load(EXAMPLES / "xor.json")) == "x"
    with pytest.raises(ValueError, match=r"one input of shape \[batch, 2\]"):
        boundary_input(load(EXAMPLES / "mlp.json"))


def test_history_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    check_png(plot_history(HISTORY, tmp_path / "loss.png"))


@pytest.mark.parametrize("example", ["xor", "softmax_classifier", "linear_regression"])
def test_write_training_plots(tmp_path: Path, example: str) -> None:
    pytest.importorskip("matplotlib")
    from nnspec.interpreter import Model

    model = Model(load(EXAMPLES / f"{example}.json"))
    written = write_training_plots(HISTORY, model, {}, tmp_path / "plots")
    if example != "xor":  # these take 4 and 3 inputs: no boundary to draw
        assert [p.name for p in written] == ["history.png"]
        return
    data = make("xor", 50)
    written = write_training_plots(HISTORY, model, {"x": data.x, "y": data.y}, tmp_path)
    assert [p.name for p in written] == ["history.png", "boundary.png"]
    for path in written:
        check_png(path)


def test_softmax_and_regression_boundaries(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from nnspec.interpreter import Model
    from nnspec.tools.plots import plot_boundary
    from nnspec.tools.templates import template_text

    for kind, data in (("softmax", make("gaussians", 40)), ("linear", make("plane", 40))):
        model = Model(load(template_text(kind)))
        check_png(plot_boundary(model, data.x, data.y, tmp_path / f"{kind}.png"))


def test_without_matplotlib_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PlotUnavailable, match=r"nnspec\[plot\]"):
        plot_history(HISTORY, tmp_path / "loss.png")
    assert not (tmp_path / "loss.png").exists()


def test_history_written_by_nnspec_train_is_read(tmp_path: Path) -> None:
    from nnspec.tools.plots import history_series

    rows = {
        "epochs": 2,
        "stopped": None,
        "history": [
            {"epoch": 1, "loss": 0.7, "accuracy": 0.5},
            {"epoch": 2, "loss": 0.4, "accuracy": 0.75},
        ],
    }
    epochs, curves = history_series(rows)
    assert epochs == [1.0, 2.0]
    assert curves == {"loss": [0.7, 0.4], "accuracy": [0.5, 0.75]}
