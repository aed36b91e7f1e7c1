"""Training metrics, accumulated over the mini-batches of an epoch, and `Evaluator`.

Each metric maps (prediction, target, from_logits) to (sum, count) for one
batch, so an epoch's value is sum(sums) / sum(counts) whatever the batch sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray, bool], tuple[float, int]]


def accuracy(pred: np.ndarray, target: np.ndarray, from_logits: bool) -> tuple[float, int]:
    """Share of correct classes: argmax for several classes, a threshold for one."""
    if target.dtype.kind in "iu":  # integer labels against class scores
        hits = np.argmax(pred, axis=-1) == target
    elif pred.ndim and pred.shape[-1] > 1:  # one-hot targets
        hits = np.argmax(pred, axis=-1) == np.argmax(target, axis=-1)
    else:  # one probability (or logit) per example
        hits = (pred > (0.0 if from_logits else 0.5)) == (target > 0.5)
    return float(np.count_nonzero(hits)), hits.size


def mse(pred: np.ndarray, target: np.ndarray, from_logits: bool) -> tuple[float, int]:
    diff = pred - target
    return float(np.sum(diff * diff)), diff.size


def mae(pred: np.ndarray, target: np.ndarray, from_logits: bool) -> tuple[float, int]:
    diff = pred - target
    return float(np.sum(np.abs(diff))), diff.size


METRICS: dict[str, Metric] = {"accuracy": accuracy, "mse": mse, "mae": mae}


class Evaluator:
    """Loss and metrics of a model on checked data, without gradients.

    One forward plan computes the trained output and the loss node; batches are
    weighted by their size, as in training, so the loss is the mean over examples.
    The loss includes the L1/L2 penalties, as the training loss does (Keras's habit).
    Used for validation after each epoch and by `nnspec.interpreter.evaluate`.
    """

    def __init__(self, model: Any, metrics: Sequence[str], target: str | None):
        training = model.graph.training
        if training is None or training.loss_node is None:
            raise ValueError(f"graph {model.graph.name!r} has no training loss to evaluate")
        self.model = model
        self.metrics = tuple(metrics)
        self.target = target
        self.from_logits = bool(training.loss.get("from_logits", False))
        self.plan = model.plan((training.output, training.loss_node))

    def __call__(
        self, data: Mapping[str, np.ndarray], batch_size: int | None = None
    ) -> dict[str, float]:
        """``{"loss": ..., <metric>: ...}`` over every row of `data` (already checked)."""
        rows = len(next(iter(data.values())))
        batch = min(batch_size or rows, rows)
        out_slot, loss_slot = self.plan.out_slots
        loss_sum, sums = 0.0, {m: [0.0, 0] for m in self.metrics}
        for start in range(0, rows, batch):
            feed = {k: v[start : start + batch] for k, v in data.items()}
            env = self.plan.run(self.model.environment(self.plan, feed, False))
            loss = self.model.penalty.loss(env[loss_slot], self.model.params)
            loss_sum += float(loss) * min(batch, rows - start)
            for m in self.metrics:
                assert self.target is not None  # metrics need a target (train checks)
                s, n = METRICS[m](env[out_slot], feed[self.target], self.from_logits)
                sums[m][0] += s
                sums[m][1] += n
        return {"loss": loss_sum / rows, **{m: s / max(n, 1) for m, (s, n) in sums.items()}}
