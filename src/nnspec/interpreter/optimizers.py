"""Optimizers: update params in place from gradients, one step per mini-batch.

Sits after `Model.loss_and_gradients` in the training loop (`train`). Updates
are in place, so the model's planned environment sees them without copying, and
they keep the params' dtype (the learning rate is a Python float, which NumPy
treats as a weak scalar: float32 stays float32).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np

DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 0.01},
    "momentum": {"learning_rate": 0.01, "momentum": 0.9},
    "adam": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


class SGD:
    """The lecture's rule: w <- w − α·dL/dw."""

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate

    def step(
        self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]
    ) -> None:
        for name, grad in grads.items():
            params[name] -= self.learning_rate * grad


class Momentum:
    """Heavy ball: v <- μ·v − α·g; w <- w + v."""

    def __init__(self, learning_rate: float, momentum: float):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocity: dict[str, np.ndarray] = {}

    def step(
        self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]
    ) -> None:
        for name, grad in grads.items():
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(params[name])
            v *= self.momentum
            v -= self.learning_rate * grad
            params[name] += v


class Adam:
    """Adam (Kingma & Ba) with bias-corrected first and second moments."""

    def __init__(self, learning_rate: float, beta1: float, beta2: float, epsilon: float):
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(
        self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]
    ) -> None:
        self.t += 1
        # Fold both bias corrections into one step size (the paper's efficient form).
        alpha = self.learning_rate * (1 - self.beta2**self.t) ** 0.5 / (1 - self.beta1**self.t)
        for name, grad in grads.items():
            if name not in self.m:
                self.m[name] = np.zeros_like(params[name])
                self.v[name] = np.zeros_like(params[name])
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * (grad * grad)
            params[name] -= alpha * m / (np.sqrt(v) + self.epsilon)


def make_optimizer(
    spec: Mapping[str, Any], learning_rate: float | None = None
) -> SGD | Momentum | Adam:
    """An optimizer from a document's ``optimizer`` section; `learning_rate` overrides it."""
    name = spec.get("name", "sgd")
    if name not in DEFAULTS:
        raise ValueError(f"unknown optimizer {name!r}; use one of {', '.join(DEFAULTS)}")
    settings = {**DEFAULTS[name], **{k: v for k, v in spec.items() if k in DEFAULTS[name]}}
    if learning_rate is not None:
        settings["learning_rate"] = learning_rate
    settings = {k: float(v) for k, v in settings.items()}
    return {"sgd": SGD, "momentum": Momentum, "adam": Adam}[name](**settings)
