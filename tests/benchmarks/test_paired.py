"""benchmarks/paired.py: the sign-test interval of a median of per-round ratios.

Exact binomial arithmetic on made-up ratios; no timings.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.exists(), reason="benchmarks/ is not shipped here")


@pytest.fixture(scope="module")
def paired() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("paired")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize(
    ("n", "k", "covered"),
    [
        (5, 1, 1 - 2 / 32),  # the full range, below 95 %
        (6, 1, 1 - 2 / 64),
        (7, 1, 1 - 2 / 128),
        (9, 2, 1 - 2 * 10 / 512),
        (15, 4, 1 - 2 * (1 + 15 + 105 + 455) / 2**15),
        (21, 6, 1 - 2 * sum(math.comb(21, j) for j in range(6)) / 2**21),
    ],
)
def test_the_interval_is_the_widest_k_that_still_covers_95_percent(
    paired: Any, n: int, k: int, covered: float
) -> None:
    assert paired.order_statistic(n) == k
    assert paired.coverage(n, k) == pytest.approx(covered)
    if k + 1 <= (n + 1) // 2:
        assert paired.coverage(n, k + 1) < paired.CONFIDENCE


def test_an_interval_of_fifteen_rounds(paired: Any) -> None:
    values = [0.7, 1.3, 1.02, 1.05, 1.04, 1.08, 0.99, 1.06, 1.03, 1.07, 1.01, 1.1, 1.2, 1.09, 1.0]
    found = paired.interval(values)
    ordered = sorted(values)
    assert (found.low, found.median, found.high) == (ordered[3], ordered[7], ordered[11])
    assert found.rounds == 15 and found.above == 12
    # the 4th smallest is 1.01: above 1, where the full range (0.70-1.30) holds it
    assert found.side == "above"
    assert found.text() == "median 1.05, 96 % interval 1.01–1.09, above 1 in 12 of 15 rounds"


@pytest.mark.parametrize(
    ("values", "limit", "side"),
    [
        ([1.0] * 7, 1.0, "below"),  # at the goal is meeting it
        ([1.01] * 7, 1.0, "above"),
        ([0.9, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0], 1.0, "undecided"),
        ([1.2] * 7, 1.15, "above"),
        ([1.2] * 5, 1.15, "undecided"),  # five rounds cannot reach 95 %
    ],
)
def test_a_side_is_claimed_only_for_the_whole_interval(
    paired: Any, values: list[float], limit: float, side: str
) -> None:
    assert paired.interval(values, limit).side == side


def test_ratios_pair_round_by_round(paired: Any) -> None:
    assert paired.ratios([2.0, 3.0], [1.0, 2.0], 0.5) == [4.0, 3.0]
    with pytest.raises(ValueError, match="as many samples"):
        paired.ratios([1.0], [1.0, 2.0])
    assert paired.interval([]) is None
