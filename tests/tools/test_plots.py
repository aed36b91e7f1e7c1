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


def three_class_model(names: list[str] | None = None):
    """A 3-class softmax model over 2 inputs, with fixed weights (regions at 0°, 120°, 240°)."""
    from nnspec.interpreter import Model

    angles = np.deg2rad([0.0, 120.0, 240.0])
    document = {
        "nnspec": "1",
        "name": "three",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "params": {
            "p.W": {"value": np.stack([np.cos(angles), np.sin(angles)]).tolist()},
            "p.b": {"value": [0.0, 0.0, 0.0]},
        },
        "nodes": [{"id": "p", "op": "dense", "units": 3, "activation": "softmax"}],
        "training": {
            "target": {"name": "y", "shape": ["batch"], "dtype": "int64"},
            "loss": "cross_entropy",
        },
    }
    if names:
        document["x-class-names"] = names
    return Model(load(document)), document


def colorbar_ticks(figure) -> tuple[list[float], list[str]]:
    bar_axes = figure.axes[1]
    return list(bar_axes.get_yticks()), [t.get_text() for t in bar_axes.get_yticklabels()]


def test_k_class_colorbar_is_ticked_at_the_classes_with_their_names() -> None:
    pytest.importorskip("matplotlib")
    from nnspec.tools.plots import boundary_figure, document_class_names

    names = ["setosa", "versicolor", "virginica"]
    model, document = three_class_model(names)
    x = make("gaussians", 30).x
    ticks, labels = colorbar_ticks(boundary_figure(model, x, None, document_class_names(document)))
    assert ticks == [0.0, 1.0, 2.0]
    assert labels == names
    ticks, labels = colorbar_ticks(boundary_figure(model, x, np.arange(30) % 3))
    assert ticks == [0.0, 1.0, 2.0] and labels == ["0", "1", "2"]  # no names: the labels
    assert boundary_figure(model, x, None).axes[0].get_title() == "three: decision boundary"


def test_every_classifier_uses_the_same_class_colours() -> None:
    pytest.importorskip("matplotlib")
    from nnspec.interpreter import Model
    from nnspec.tools.plots import boundary_figure, class_colours
    from nnspec.tools.templates import template_text

    data = make("gaussians", 40)
    sigmoid = Model(load(template_text("logistic")))
    softmax = Model(load(template_text("softmax")))
    pictures = []
    for model in (sigmoid, softmax):
        figure = boundary_figure(model, data.x, data.y, ["blue team", "red team"])
        surface = figure.axes[0].collections[0]
        pictures.append(surface.cmap)
        ticks, labels = colorbar_ticks(figure)
        assert ticks == [0.0, 0.5, 1.0] and labels == ["blue team", "0.5", "red team"]
        assert figure.axes[1].get_ylabel() == "P(red team)"
    assert pictures[0](0.0) == pictures[1](0.0) and pictures[0](1.0) == pictures[1](1.0)
    three, _ = three_class_model()
    regions = boundary_figure(three, data.x, None).axes[0].collections[0].cmap
    colours = class_colours(3)
    from matplotlib.colors import to_rgba

    assert pictures[0](0.0) == to_rgba(colours[0]) and pictures[0](1.0) == to_rgba(colours[1])
    assert [to_rgba(c) for c in regions.colors] == [to_rgba(c) for c in colours]


def test_two_softmax_logits_and_one_sigmoid_logit_draw_the_same_picture(tmp_path: Path) -> None:
    image_module = pytest.importorskip("matplotlib.image")
    from nnspec.interpreter import Model
    from nnspec.tools.plots import plot_boundary

    def model(units: int, weights: list, bias: list):
        loss = "binary_cross_entropy" if units == 1 else "cross_entropy"
        target = {"shape": ["batch", 1]} if units == 1 else {"shape": ["batch"], "dtype": "int64"}
        return Model(
            load(
                {
                    "nnspec": "1",
                    "name": "m",
                    "inputs": {"x": {"shape": ["batch", 2]}},
                    "params": {"z.W": {"value": weights}, "z.b": {"value": bias}},
                    "nodes": [{"id": "z", "op": "dense", "units": units}],
                    "training": {"target": target, "loss": {"op": loss, "from_logits": True}},
                }
            )
        )

    one = model(1, [[1.0], [-2.0]], [0.5])
    two = model(2, [[0.0, 1.0], [0.0, -2.0]], [0.0, 0.5])
    x = make("xor", 20).x
    pixels = []
    for k, m in enumerate((one, two)):
        path = plot_boundary(m, x, None, tmp_path / f"{k}.png")
        pixels.append(image_module.imread(path))
    assert np.array_equal(pixels[0], pixels[1])


def test_history_figure_has_a_title_metric_named_axes_and_dashed_validation() -> None:
    pytest.importorskip("matplotlib")
    from nnspec.tools.plots import history_figure

    history = {
        "loss": [0.7, 0.4],
        "val_loss": [0.8, 0.5],
        "metrics": {"accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]},
    }
    figure = history_figure(history, "xor: training history")
    assert figure.get_suptitle() == "xor: training history"
    loss_axes, metric_axes = figure.axes
    assert loss_axes.get_ylabel() == "loss" and metric_axes.get_ylabel() == "accuracy"
    train_line, val_line = metric_axes.get_lines()
    assert (train_line.get_linestyle(), val_line.get_linestyle()) == ("-", "--")
    assert train_line.get_color() == val_line.get_color()
    two = history_figure({"loss": [1.0, 0.5], "metrics": {"mse": [1, 0.5], "mae": [1, 0.7]}})
    assert two.axes[1].get_ylabel() == "mse, mae"
    assert two.get_suptitle() == "training history"


def test_cli_boundary_takes_class_names(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import json

    from nnspec.cli.main import main
    from nnspec.datasets import save_arrays

    _, document = three_class_model(["a", "b", "c"])
    (tmp_path / "three.json").write_text(json.dumps(document))
    save_arrays(tmp_path / "pts.npz", {"x": make("gaussians", 30).x, "y": np.arange(30) % 3})
    for extra in ([], ["--classes", "p", "q", "r"]):
        out = tmp_path / f"b{len(extra)}.png"
        args = ["plot", "boundary", str(tmp_path / "three.json"), "--data"]
        assert main([*args, str(tmp_path / "pts.npz"), "-o", str(out), *extra]) == 0
        check_png(out)
