"""Plots of training: loss/metric curves and Playground-style decision boundaries.

matplotlib is the optional extra ``nnspec[plot]`` and is imported only inside these
functions; without it they raise `PlotUnavailable` (an ImportError) whose message
says what to install. Figures are drawn on a bare `Figure` (no pyplot, so no GUI
backend and no global state) and written atomically as PNG.

`write_training_plots` is what ``nnspec train --plot DIR`` calls at the end.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from nnspec.fileio import write_atomic
from nnspec.ir import Graph

SIZE = (6.4, 4.8)  # inches; at DPI this is 640 × 480 pixels
DPI = 100
GRID = 200  # boundary resolution: GRID × GRID model evaluations
INSTALL = "plots need matplotlib: install the extra with pip install 'nnspec[plot]'"


class PlotUnavailable(ImportError):
    """matplotlib is not installed; the message says how to get it."""


def _figure(ncols: int = 1) -> tuple[Any, list[Any]]:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailable(INSTALL) from exc
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.subplots(1, ncols, squeeze=False)[0]
    return figure, list(axes)


def _save(figure: Any, path: str | os.PathLike) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    write_atomic(path, buffer.getvalue())
    return Path(path)


# --------------------------------------------------------------------------- history


def history_series(history: Mapping[str, Any]) -> tuple[list[float], dict[str, list[float]]]:
    """(epochs, named curves) from a training history.

    Reads ``loss`` and every list in ``metrics``; any other top-level list of numbers
    as long as ``loss`` (``val_loss`` …) is a curve too. ``epochs`` defaults to 1..n.
    """
    history = _columns(history)
    loss = history.get("loss")
    if not _numbers(loss):
        raise ValueError("the history has no 'loss' list; is it the JSON written by nnspec train?")
    curves: dict[str, list[float]] = {}
    for key, value in history.items():
        if key != "epochs" and _numbers(value) and len(value) == len(loss):
            curves[key] = [float(v) for v in value]
    metrics = history.get("metrics")
    for key, value in (metrics if isinstance(metrics, Mapping) else {}).items():
        if _numbers(value):
            curves[key] = [float(v) for v in value]
    epochs = history.get("epochs")
    if not _numbers(epochs) or len(epochs) != len(loss):
        epochs = list(range(1, len(loss) + 1))
    return [float(e) for e in epochs], curves


def _columns(history: Mapping[str, Any]) -> Mapping[str, Any]:
    """`nnspec train --history` writes rows (``{"history": [{"epoch", "loss", ...}]}``);
    turn them into the column form ``{"epochs": [...], "loss": [...], "metrics": {...}}``."""
    rows = history.get("history")
    if not (isinstance(rows, list) and rows and all(isinstance(r, Mapping) for r in rows)):
        return history
    keys = [k for k in rows[0] if k not in ("epoch", "loss")]
    return {
        "epochs": [r.get("epoch") for r in rows],
        "loss": [r.get("loss") for r in rows],
        "metrics": {k: [r.get(k) for r in rows] for k in keys},
    }


def _numbers(value: object) -> TypeGuard[Sequence[float]]:
    """A non-empty list of real numbers (JSON booleans excluded)."""
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def plot_history(history: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Loss curves on the left, metric curves (if any) on the right, as a PNG."""
    epochs, curves = history_series(history)
    losses = {k: v for k, v in curves.items() if "loss" in k}
    metrics = {k: v for k, v in curves.items() if k not in losses}
    figure, axes = _figure(2 if metrics else 1)
    for ax, group, ylabel in zip(axes, (losses, metrics), ("loss", "metric"), strict=False):
        for name, values in group.items():
            ax.plot(epochs[: len(values)], values, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    if min(min(values) for values in losses.values()) > 0:
        axes[0].set_yscale("log")  # losses fall over orders of magnitude
    return _save(figure, path)


# --------------------------------------------------------------------------- boundary


def boundary_input(graph: Graph) -> str:
    """The name of the one input of shape [batch, 2] that a boundary plot varies."""
    inputs = graph.inputs
    if len(inputs) == 1 and inputs[0].type.rank == 2 and inputs[0].type.shape[1] == 2:
        return inputs[0].name
    shapes = ", ".join(f"{i.name} {i.type}" for i in inputs)
    raise ValueError(
        f"a boundary plot needs a model with one input of shape [batch, 2]; this one has {shapes}"
    )


def _task(graph: Graph) -> tuple[str, bool]:
    """("classification" or "regression", outputs are logits), read off the training loss."""
    training = graph.training
    if training is None or training.loss_node is None:
        return "regression", False
    loss = graph.node(training.loss_node)
    kind = "regression" if loss.op == "mse" else "classification"
    # The document's own loss spec says what the output is: the checker may apply a
    # cross-entropy to the logits behind a sigmoid output (see format.md, Training).
    spec = loss.attr if "node" in training.loss else training.loss
    return kind, bool(spec.get("from_logits", False))


def plot_boundary(
    model: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    path: str | os.PathLike,
) -> Path:
    """The model's output over the plane around the points `x` [n, 2], as a PNG.

    Like the TensorFlow Playground: classification shows the probability of class 1
    (or, for K > 1 outputs, the winning class) as coloured regions with the 0.5
    contour; regression shows the output as a coloured surface. Points are drawn on
    top, coloured by `y` on the same scale when given. `model` is an
    `nnspec.interpreter.Model`.
    """
    graph: Graph = model.graph
    name = boundary_input(graph)
    x = np.asarray(x, dtype=np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-6)
    g1, g2 = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID),
    )
    points = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(graph.inputs[0].type.dtype)
    out = np.asarray(next(iter(model.run({name: points}).values())), dtype=np.float64)
    out = out.reshape(len(points), -1)
    task, logits = _task(graph)
    figure, (ax,) = _figure()
    if task == "classification" and out.shape[1] > 1:
        surface = out.argmax(axis=1).reshape(g1.shape)
        levels = np.arange(out.shape[1] + 1) - 0.5
        shown = ax.contourf(g1, g2, surface, levels=levels, cmap="tab10", alpha=0.35)
        label = "class"
    elif task == "classification":
        prob = 1 / (1 + np.exp(-out[:, 0])) if logits else out[:, 0]
        surface = prob.reshape(g1.shape)
        shown = ax.contourf(g1, g2, surface, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.8)
        ax.contour(g1, g2, surface, levels=[0.5], colors="black", linewidths=1)
        label = "P(class 1)"
    else:
        surface = out[:, 0].reshape(g1.shape)
        shown = ax.contourf(g1, g2, surface, levels=20, cmap="RdBu", alpha=0.8)
        label = "output"
    figure.colorbar(shown, ax=ax, label=label)
    colours = None if y is None else np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    if colours is not None and colours.shape[1] > 1:  # one-hot targets
        colours = colours.argmax(axis=1)
    ax.scatter(  # points share the surface's colour scale, so a point matches its region
        x[:, 0],
        x[:, 1],
        c="black" if colours is None else colours.ravel(),
        cmap=None if colours is None else shown.cmap,
        norm=None if colours is None else shown.norm,
        edgecolors="white",
        linewidths=0.6,
        s=18,
    )
    ax.set_xlabel(f"{name}[0]")
    ax.set_ylabel(f"{name}[1]")
    ax.set_title(graph.name)
    return _save(figure, path)


# --------------------------------------------------------------------------- training


def write_training_plots(
    history: Mapping[str, Any],
    model: Any,
    data: Mapping[str, np.ndarray],
    folder: str | os.PathLike,
) -> list[Path]:
    """Write ``history.png`` and, for a model with one [batch, 2] input found in `data`,
    ``boundary.png`` into `folder` (created if needed); return the paths written.

    `history` is the training history (``{"loss": [...], "metrics": {...}, ...}``),
    `model` the trained `nnspec.interpreter.Model`, `data` the arrays by name as fed
    to training (the graph input, and the training target if present).
    Raises `PlotUnavailable` without matplotlib.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_history(history, out / "history.png")]
    graph: Graph = model.graph
    try:
        name = boundary_input(graph)
    except ValueError:
        return written
    if name not in data:
        return written
    targets = graph.training.targets if graph.training is not None else ()
    y = next((data[t.name] for t in targets if t.name in data), None)
    written.append(plot_boundary(model, data[name], y, out / "boundary.png"))
    return written
