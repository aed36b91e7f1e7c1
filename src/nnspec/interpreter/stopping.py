"""Early stopping, Keras's habit: stop when a monitored value stops improving.

`train` asks `EarlyStopping.update` after each epoch; it keeps the best value, the
epoch it came from and (with `restore_best`) a copy of the params at that epoch,
and says when `patience` epochs in a row brought no improvement of more than
`min_delta`. Losses and errors improve downwards, accuracy upwards. Bad settings
raise `SettingError` naming ``early_stopping`` (``training.early_stopping`` when they
come from the document; the command line names its own options).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnspec.optimizers import SettingError

HIGHER_IS_BETTER = ("accuracy",)
"""Metrics (and their ``val_`` twins) that improve upwards; everything else downwards."""


@dataclass
class EarlyStopping:
    """Settings and running state of early stopping (see the module docstring)."""

    monitor: str | None = None  # None: val_loss with validation data, else loss
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    best: float = field(default=math.nan, init=False)
    best_epoch: int = field(default=0, init=False)
    best_params: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)
    _waited: int = field(default=0, init=False, repr=False)
    setting: str = field(default="early_stopping", repr=False)  # how errors name these settings

    def __post_init__(self) -> None:
        if isinstance(self.patience, bool) or not isinstance(self.patience, int):
            self._bad(f"patience must be a whole number of epochs, got {self.patience!r}")
        if self.patience < 0:
            self._bad(f"patience must be >= 0, got {self.patience}")
        if isinstance(self.min_delta, bool) or not (
            isinstance(self.min_delta, int | float) and self.min_delta >= 0
        ):
            self._bad(f"min_delta must be a number >= 0, got {self.min_delta!r}")
        if not isinstance(self.restore_best, bool):
            self._bad(f"restore_best must be true or false, got {self.restore_best!r}")
        if self.monitor is not None and not isinstance(self.monitor, str):
            self._bad(f"monitor must be the name of a loss or metric, got {self.monitor!r}")

    def _bad(self, message: str) -> None:
        raise SettingError(self.setting, f"{{setting}}: {message}")

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any] | EarlyStopping, setting: str = "early_stopping"
    ) -> EarlyStopping:
        """From ``{"monitor": ..., "patience": ..., "min_delta": ..., "restore_best": ...}``
        (or a copy of an `EarlyStopping`, without its running state)."""
        if isinstance(settings, EarlyStopping):
            s = settings
            return cls(s.monitor, s.patience, s.min_delta, s.restore_best, setting=setting)
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise SettingError(
                setting,
                f"{{setting}}: unknown setting(s) {', '.join(sorted(unknown))}; use "
                f"{', '.join(SETTINGS)}",
            )
        return cls(**settings, setting=setting)

    def watching(self, default: str) -> EarlyStopping:
        """These settings with `default` as the monitor when none was chosen."""
        if self.monitor is None:
            self.monitor = default
        return self

    @property
    def higher_is_better(self) -> bool:
        return (self.monitor or "loss").removeprefix("val_") in HIGHER_IS_BETTER

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


SETTINGS = ("monitor", "patience", "min_delta", "restore_best")
"""The settings of early stopping, as the document's ``early_stopping`` section spells them."""
