"""Early stopping, Keras's habit: stop when a monitored value stops improving.

`train` asks `EarlyStopping.update` after each epoch; it keeps the best value, the
epoch it came from and (with `restore_best`) a copy of the params at that epoch,
and says when `patience` epochs in a row brought no improvement of more than
`min_delta`. Losses and errors improve downwards, accuracy upwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnspec.arguments import number, whole

HIGHER_IS_BETTER = ("accuracy",)
"""Metrics (and their ``val_`` twins) that improve upwards; everything else downwards."""


@dataclass
class EarlyStopping:
    """Settings and running state of early stopping (see the module docstring)."""

    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    best: float = field(default=math.nan, init=False)
    best_epoch: int = field(default=0, init=False)
    best_params: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)
    _waited: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.patience = whole("patience", self.patience, 0)
        self.min_delta = number("min_delta", self.min_delta, 0.0)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | EarlyStopping) -> EarlyStopping:
        """From ``{"monitor": ..., "patience": ..., "min_delta": ..., "restore_best": ...}``."""
        if isinstance(settings, EarlyStopping):
            s = settings
            return cls(s.monitor, s.patience, s.min_delta, s.restore_best)
        unknown = set(settings) - {"monitor", "patience", "min_delta", "restore_best"}
        if unknown:
            raise ValueError(
                f"unknown early_stopping setting(s) {', '.join(sorted(unknown))}; use monitor, "
                "patience, min_delta, restore_best"
            )
        return cls(**settings)

    @property
    def higher_is_better(self) -> bool:
        return self.monitor.removeprefix("val_") in HIGHER_IS_BETTER

    def update(self, epoch: int, value: float, params: Mapping[str, np.ndarray]) -> bool:
        """Record the monitored `value` of `epoch`; True when training should stop."""
        gain = value - self.best if self.higher_is_better else self.best - value
        if math.isnan(self.best) or gain > self.min_delta:
            self.best, self.best_epoch, self._waited = value, epoch, 0
            if self.restore_best:
                self.best_params = {k: v.copy() for k, v in params.items()}
            return False
        self._waited += 1
        return self._waited >= self.patience
