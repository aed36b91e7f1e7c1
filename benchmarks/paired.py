"""Paired rounds: what the per-round ratios of two contenders let a verdict claim.

`harness.measure` times every contender once per round, so sample i of contender A
and sample i of B come from the same round; ``A_i / B_i`` is one paired observation,
and a slow spell of the machine that hits the whole round cancels in it. What does
not cancel is the noise of single samples, which on this shared machine is skewed
and bursty (one sample caught by another process's burst), so no normal model fits.
The statistic is the median of the paired ratios; its interval is the sign test's,
free of any model: the k-th smallest and the k-th largest ratio, for the largest k
with ``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``. It covers the true median
ratio with at least `confidence` (its exact coverage is kept), assuming only that
the rounds are independent. A claim "at most 1" is made when the whole interval is
at or below 1, "above 1" when the whole interval is above it; otherwise the run
cannot tell, and says so. Fewer than 6 rounds cannot reach 95 % (the widest
interval, smallest to largest ratio, covers ``1 - 2 / 2^n``), so they decide nothing.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

CONFIDENCE = 0.95
"""The least coverage an interval needs before a verdict rests on it."""


@dataclass(frozen=True)
class Interval:
    """The median of `rounds` paired ratios and its sign-test interval [low, high]."""

    median: float
    low: float
    high: float
    coverage: float
    rounds: int
    limit: float
    """What the ratios are judged against: 1 for "as fast as the goal"."""
    above: int
    """Rounds whose ratio is above `limit`."""

    @property
    def side(self) -> str:
        """ "below" (the whole interval at or below `limit`), "above" (the whole interval
        above it), or "undecided" (it holds `limit`, or covers less than `CONFIDENCE`)."""
        if self.coverage < CONFIDENCE:
            return "undecided"
        if self.high <= self.limit:
            return "below"
        if self.low > self.limit:
            return "above"
        return "undecided"

    def text(self) -> str:
        """``median 1.05, 97 % interval 1.02–1.09, above 1 in 19 of 21 rounds``."""
        bound = f"{self.limit:g}"
        return (
            f"median {self.median:.2f}, {math.floor(self.coverage * 100)} % interval "
            f"{self.low:.2f}–{self.high:.2f}, above {bound} in {self.above} of "
            f"{self.rounds} rounds"
        )


def ratios(own: list[float], other: list[float], scale: float = 1.0) -> list[float]:
    """``own_i / (other_i · scale)`` round by round (the two timed in the same rounds)."""
    if len(own) != len(other):
        raise ValueError(f"paired rounds need as many samples: {len(own)} vs {len(other)}")
    return [a / (b * scale) for a, b in zip(own, other, strict=True)]


def interval(values: list[float], limit: float = 1.0) -> Interval | None:
    """The median of `values` and its sign-test interval (None for no values)."""
    n = len(values)
    if not n:
        return None
    ordered = sorted(values)
    k = order_statistic(n)
    return Interval(
        median=statistics.median(ordered),
        low=ordered[k - 1],
        high=ordered[n - k],
        coverage=coverage(n, k),
        rounds=n,
        limit=limit,
        above=sum(v > limit for v in values),
    )


def order_statistic(n: int, confidence: float = CONFIDENCE) -> int:
    """The largest k (at least 1) whose interval [x_(k), x_(n+1-k)] covers the median
    of `n` values with at least `confidence`; 1 when even the full range does not."""
    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(n, k + 1) >= confidence:
        k += 1
    return k


def coverage(n: int, k: int) -> float:
    """P(x_(k) <= median <= x_(n+1-k)) = 1 - 2·P(Binomial(n, 1/2) < k)."""
    tail = sum(math.comb(n, j) for j in range(k)) / 2**n
    return max(0.0, 1.0 - 2.0 * tail)
