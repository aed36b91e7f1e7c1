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
VALIDATION = "val_"  # prefix of validation curves in a history
CLASS_COLOURS = ("#f59322", "#0877bd")  # the Playground's orange (class 0) and blue (class 1)
CLASS_NAMES_KEY = "x-class-names"  # a document's names of its classes, in label order


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


def history_figure(history: Mapping[str, Any], title: str | None = None) -> Any:
    """The figure `plot_history` saves: losses left, metrics right, validation dashed.

    Each validation curve (``val_<name>``) shares its training curve's colour, so a
    pair reads as one quantity on two data sets.
    """
    epochs, curves = history_series(history)
    losses = {k: v for k, v in curves.items() if k.endswith("loss")}
    metrics = {k: v for k, v in curves.items() if k not in losses}
    figure, axes = _figure(2 if metrics else 1)
    for ax, group in zip(axes, (losses, metrics), strict=False):
        colours: dict[str, Any] = {}
        for name, values in group.items():
            base = name.removeprefix(VALIDATION)
            line = ax.plot(
                epochs[: len(values)],
                values,
                label=name,
                linestyle="--" if name.startswith(VALIDATION) else "-",
                color=colours.get(base),
            )[0]
            colours.setdefault(base, line.get_color())
        ax.set_xlabel("epoch")
        ax.set_ylabel(", ".join(dict.fromkeys(k.removeprefix(VALIDATION) for k in group)))
        ax.grid(alpha=0.3)
        ax.legend()
    if min(min(values) for values in losses.values()) > 0:
        axes[0].set_yscale("log")  # losses fall over orders of magnitude
    figure.suptitle(title or "training history")
    return figure


def plot_history(
    history: Mapping[str, Any], path: str | os.PathLike, title: str | None = None
) -> Path:
    """Loss curves on the left, metric curves (if any) on the right, as a PNG.

    Axis labels name the quantities; `title` defaults to "training history".
    """
    return _save(history_figure(history, title), path)


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


def class_colours(count: int) -> list[Any]:
    """The colour of each class, the same for every classifier: the Playground's
    orange and blue for classes 0 and 1, then matplotlib's tab10 for more."""
    from matplotlib import colormaps

    if count > 10:
        return [colormaps["tab20"](k % 20) for k in range(count)]  # colours repeat past 20
    extra = [colormaps["tab10"](k) for k in range(2, 10)]  # past tab10's own blue/orange
    return [*CLASS_COLOURS, *extra][:count]


def class_names(names: Sequence[str] | None, count: int) -> list[str]:
    """`names` when it names each of `count` classes, else ``0``, ``1``, ..."""
    if names is not None and len(names) == count:
        return [str(n) for n in names]
    return [str(k) for k in range(count)]


def boundary_figure(
    model: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    classes: Sequence[str] | None = None,
) -> Any:
    """The figure `plot_boundary` saves; see there."""
    from matplotlib.colors import BoundaryNorm, Colormap, LinearSegmentedColormap, ListedColormap

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
    count = max(out.shape[1], 2)
    names = class_names(classes, count)
    colours = class_colours(count)
    points_colour: np.ndarray | None = None
    if y is not None:
        points_colour = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
        if points_colour.shape[1] > 1:  # one-hot targets
            points_colour = points_colour.argmax(axis=1)
        points_colour = points_colour.ravel()
    if task == "classification" and count == 2:
        # One output (a probability or logit of class 1) or two softmax scores: both show
        # P(class 1) on the same two-colour scale, so equal models give equal pictures.
        score = out[:, -1] if out.shape[1] == 2 else out[:, 0]
        if out.shape[1] == 2 and logits:
            score = out[:, 1] - out[:, 0]  # the softmax of two logits is a sigmoid of this
        prob = 1 / (1 + np.exp(-score)) if logits else score
        surface = prob.reshape(g1.shape)
        cmap: Colormap = LinearSegmentedColormap.from_list(
            "nnspec_binary", [colours[0], "#f7f7f7", colours[1]]
        )
        shown = ax.contourf(g1, g2, surface, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.8)
        ax.contour(g1, g2, surface, levels=[0.5], colors="black", linewidths=1)
        bar = figure.colorbar(shown, ax=ax, label=f"P({names[1]})")
        bar.set_ticks([0.0, 0.5, 1.0], labels=[names[0], "0.5", names[1]])
        scatter = {"cmap": cmap, "norm": shown.norm}
    elif task == "classification":
        surface = out.argmax(axis=1).reshape(g1.shape)
        cmap = ListedColormap(colours, name="nnspec_classes")
        norm = BoundaryNorm(np.arange(count + 1) - 0.5, count)
        shown = ax.contourf(
            g1, g2, surface, levels=np.arange(count + 1) - 0.5, cmap=cmap, norm=norm, alpha=0.35
        )
        bar = figure.colorbar(shown, ax=ax, label="class")
        bar.set_ticks(np.arange(count), labels=names)  # at the classes, not the boundaries
        scatter = {"cmap": cmap, "norm": norm}
    else:
        surface = out[:, 0].reshape(g1.shape)
        shown = ax.contourf(g1, g2, surface, levels=20, cmap="RdBu", alpha=0.8)
        figure.colorbar(shown, ax=ax, label="output")
        scatter = {"cmap": shown.cmap, "norm": shown.norm}
    ax.scatter(  # points share the surface's colour scale, so a point matches its region
        x[:, 0],
        x[:, 1],
        c="black" if points_colour is None else points_colour,
        **({} if points_colour is None else scatter),
        edgecolors="white",
        linewidths=0.6,
        s=18,
    )
    ax.set_xlabel(f"{name}[0]")
    ax.set_ylabel(f"{name}[1]")
    kind = "decision boundary" if task == "classification" else "regression surface"
    ax.set_title(f"{graph.name}: {kind}")
    return figure


def plot_boundary(
    model: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    path: str | os.PathLike,
    classes: Sequence[str] | None = None,
) -> Path:
    """The model's output over the plane around the points `x` [n, 2], as a PNG.

    Like the TensorFlow Playground: a two-class model (one sigmoid output or two softmax
    scores) shows the probability of class 1 with the 0.5 contour; K > 2 classes show the
    winning class, the colorbar ticked at each class and labelled with `classes` (the
    document's ``x-class-names``) when given; regression shows the output as a surface.
    Every classifier uses the same class colours. Points are drawn on top, coloured by
    `y` on the same scale when given. `model` is an `nnspec.interpreter.Model`.
    """
    return _save(boundary_figure(model, x, y, classes), path)


def document_class_names(document: Mapping[str, Any]) -> list[str] | None:
    """The document's ``x-class-names`` (a list of strings), if it has one."""
    names = document.get(CLASS_NAMES_KEY)
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        return names
    return None


# --------------------------------------------------------------------------- training


def write_training_plots(
    history: Mapping[str, Any],
    model: Any,
    data: Mapping[str, np.ndarray],
    folder: str | os.PathLike,
    classes: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``history.png`` and, for a model with one [batch, 2] input found in `data`,
    ``boundary.png`` into `folder` (created if needed); return the paths written.

    `history` is the training history (``{"loss": [...], "metrics": {...}, ...}``),
    `model` the trained `nnspec.interpreter.Model`, `data` the arrays by name as fed
    to training (the graph input, and the training target if present), `classes` the
    class names for the boundary's colorbar (see `document_class_names`).
    Raises `PlotUnavailable` without matplotlib.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    graph: Graph = model.graph
    written = [plot_history(history, out / "history.png", f"{graph.name}: training history")]
    try:
        name = boundary_input(graph)
    except ValueError:
        return written
    if name not in data:
        return written
    targets = graph.training.targets if graph.training is not None else ()
    y = next((data[t.name] for t in targets if t.name in data), None)
    written.append(plot_boundary(model, data[name], y, out / "boundary.png", classes))
    return written
