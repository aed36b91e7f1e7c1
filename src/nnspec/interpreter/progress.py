"""The training progress bar, on standard error, for terminals only.

A thin layer over `tqdm`, the ecosystem's standard bar: it fits the line to the
terminal's width (re-read on every redraw, so resizing works), and redraws at most
every `MIN_INTERVAL` seconds however fast the epochs run, so a 20 000-epoch run writes
a few kilobytes, not megabytes. Whether to draw at all is the caller's decision
(`train` draws only on a terminal and never when asked to be quiet).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from tqdm import tqdm

MIN_INTERVAL = 0.1  # seconds between redraws


def format_values(values: Mapping[str, float]) -> str:
    """``loss 0.1234 accuracy 0.98``: the values a bar or a result line shows."""
    return " ".join(f"{k} {v:.4g}" for k, v in values.items())


class Progress:
    """``epoch 12/300 |####      | [00:01<00:20, loss 0.1234 accuracy 0.98]`` in place.

    `ncols` fixes the width (for tests); by default tqdm follows the terminal. `what`
    names the steps counted (``nnspec run --dask`` counts ``partitions``).
    """

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        ncols: int | None = None,
        *,
        what: str = "epoch",
    ):
        self._bar = tqdm(
            total=total,
            desc=what,
            unit=what,
            file=stream or sys.stderr,
            ncols=ncols,
            dynamic_ncols=ncols is None,
            mininterval=MIN_INTERVAL,
            leave=True,
            # tqdm writes the postfix as ", loss …", which reads well after the times.
            bar_format="{desc} {n_fmt}/{total_fmt} |{bar}| [{elapsed}<{remaining}{postfix}]",
        )

    def update(self, epoch: int, values: Mapping[str, float] | None = None) -> None:
        """Record that `epoch` (step) is complete with these values; redraws only when due."""
        if values:
            # refresh=False: the postfix is shown at the next throttled redraw, not now.
            self._bar.set_postfix_str(format_values(values), refresh=False)
        self._bar.update(epoch - self._bar.n)

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._bar.close()
