"""Training metrics, accumulated over the mini-batches of an epoch.

Each metric maps (prediction, target, from_logits) to (sum, count) for one
batch, so an epoch's value is sum(sums) / sum(counts) whatever the batch sizes.
"""

from __future__ import annotations

from collections.abc import Callable

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
