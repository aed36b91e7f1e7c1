"""A one-line progress bar for training, on standard error, for terminals only."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 24


class Progress:
    """Redraws ``epoch 12/300 [#####.....] loss 0.1234 accuracy 0.98`` in place."""

    def __init__(self, total: int, stream: TextIO | None = None):
        self.total = total
        self.stream = stream or sys.stderr

    def update(self, epoch: int, values: dict[str, float]) -> None:
        done = WIDTH * epoch // max(self.total, 1)
        bar = "#" * done + "." * (WIDTH - done)
        shown = " ".join(f"{k} {v:.4g}" for k, v in values.items())
        self.stream.write(f"\repoch {epoch}/{self.total} [{bar}] {shown}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
