"""`evaluate`: a model's training loss and metrics on data, without training.

Keras's ``model.evaluate``: the same data rules as `train` (one array or a dict by
input name, plus the target), the document's metrics by default, and the loss as the
mean over every example (batches weighted by size, exactly as an epoch of `train`
reports it). `Model.evaluate` and ``nnspec evaluate`` call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnspec.arguments import optional, whole
from nnspec.interpreter.metrics import METRICS, Evaluator
from nnspec.interpreter.model import Model
from nnspec.interpreter.train import target_name, training_arrays, training_section


def evaluate(
    model: Model,
    X: Any,
    y: Any = None,
    *,
    metrics: Sequence[str] | None = None,
    batch_size: int | None = None,
) -> dict[str, float]:
    """``{"loss": ..., <metric>: ...}`` of `model` on `X` and target `y`.

    Raises ValueError for a graph without a training loss, an unknown metric, or data
    that does not fit the graph (the message names the input).
    """
    batch_size = optional(whole, "batch_size", batch_size, 1)
    training = training_section(model)
    feeds = model.gradient_plan(outputs=(training.output,)).feeds
    target = target_name(model, feeds)
    wanted = tuple(training.metrics if metrics is None else metrics)
    for name in wanted:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; use {', '.join(METRICS)}")
        if target is None:
            raise ValueError(f"metric {name!r} needs a training target, and this loss has none")
    data = training_arrays(model, feeds, target, X, y)
    return Evaluator(model, wanted, target)(data, batch_size)
