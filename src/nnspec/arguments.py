"""Checks of the numbers passed to nnspec's public Python functions (below every layer).

The document's schema and the command line already refuse a count that is not a
whole number (``"batch_size": 2.0``, ``--batch-size 2.0``); the Python entry points
(`Model`, `train`, `evaluate`, the data sets, `nnspec.dask`) apply the same rule
here, so ``train(model, X, y, batch_size=2.0)`` fails at once with an error naming
the parameter instead of deep inside NumPy or, worse, after an hour of training:

- a whole number is a Python ``int`` or a NumPy integer; ``bool`` and every float,
  also an integer-valued one such as ``2.0``, are a `TypeError` (one spelling per
  value, as in the schema; see docs/format.md);
- a number is an ``int``, ``float`` or NumPy real other than ``bool``, and finite;
- a value outside its range is a `ValueError` that names the range.

`rule` reads the same range from a JSON Schema fragment (``type``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``), so settings whose range
the schema states (optimizer settings) are checked by that very statement.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Mapping
from typing import Any

SEED_MAX = 2**32 - 1
"""Seeds: what NumPy's generators accept on every platform (``--seed`` too)."""


def whole(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as an ``int`` when it is a whole number in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = f"; write {int(value)}" if _integral_float(value) else ""
        raise TypeError(f"{name} must be a whole number (an int), got {value!r}{hint}")
    checked = operator.index(value)
    _in_range(name, checked, minimum, maximum)
    return checked


def seed(name: str, value: Any) -> int:
    """A seed: a whole number from 0 to `SEED_MAX`."""
    return whole(name, value, 0, SEED_MAX)


def number(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
) -> float:
    """`value` as a ``float`` when it is a finite real in the range; `above` and
    `below` are exclusive bounds, `minimum` and `maximum` inclusive ones."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    checked = float(value)
    if not math.isfinite(checked):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    _in_range(name, checked, minimum, maximum, above, below)
    return checked


def rule(name: str, value: Any, schema: Mapping[str, Any]) -> int | float:
    """`value` checked against a JSON Schema number or integer fragment."""
    bounds = {
        "minimum": schema.get("minimum"),
        "maximum": schema.get("maximum"),
    }
    if schema.get("type") == "integer":
        return whole(name, value, **bounds)
    return number(
        name,
        value,
        **bounds,
        above=schema.get("exclusiveMinimum"),
        below=schema.get("exclusiveMaximum"),
    )


def optional(check: Any, name: str, value: Any, *bounds: Any, **options: Any) -> Any:
    """None when `value` is None (the caller's default applies), else ``check(...)``."""
    return None if value is None else check(name, value, *bounds, **options)


def _integral_float(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and (math.isfinite(float(value)) and float(value).is_integer())
    )


def _in_range(
    name: str,
    value: float,
    minimum: float | None,
    maximum: float | None,
    above: float | None = None,
    below: float | None = None,
) -> None:
    low_ok = (minimum is None or value >= minimum) and (above is None or value > above)
    high_ok = (maximum is None or value <= maximum) and (below is None or value < below)
    if low_ok and high_ok:
        return
    parts = []
    if minimum is not None:
        parts.append(f"at least {minimum:,}" if isinstance(minimum, int) else f">= {minimum:g}")
    if above is not None:
        parts.append(f"above {above:g}")
    if maximum is not None:
        parts.append(f"at most {maximum:,}" if isinstance(maximum, int) else f"<= {maximum:g}")
    if below is not None:
        parts.append(f"below {below:g}")
    raise ValueError(f"{name} must be {' and '.join(parts)}, got {value!r}")
