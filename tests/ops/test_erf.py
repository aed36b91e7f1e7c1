"""erf (NumPy has none) against math.erf: within 8 float64 ulp everywhere, exact limits."""

from __future__ import annotations

import math

import numpy as np

from nnspec.codegen import load_source, render
from nnspec.ops.elementwise import erf

POINTS = np.concatenate(
    [
        np.linspace(-7.0, 7.0, 20001),
        np.geomspace(1e-300, 1e-2, 400),
        -np.geomspace(1e-300, 1e-2, 400),
        np.nextafter(2.0, [0.0, 4.0]),  # both sides of the switch between the two methods
        [0.0, 5.9, 6.0, 6.1, 30.0],
    ]
)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(float).tiny))


def test_erf_is_within_8_ulp_of_math_erf() -> None:
    want = np.array([math.erf(v) for v in POINTS])
    assert _ulps(erf(POINTS), want).max() <= 8


def test_erf_limits_sign_and_dtype() -> None:
    values = erf(np.array([np.inf, -np.inf, np.nan, -0.0]))
    assert values[0] == 1.0 and values[1] == -1.0 and np.isnan(values[2])
    assert math.copysign(1.0, values[3]) == -1.0
    single = np.linspace(-4, 4, 1001, dtype=np.float32)
    assert erf(single).dtype == np.float32
    want = np.array([math.erf(float(v)) for v in single]).astype(np.float32)
    assert np.array_equal(erf(single), want)  # float64 accuracy rounds to the same float32


def test_the_generated_helper_is_the_same_function() -> None:
    module = load_source("import numpy as np\n" + render.helper("erf"))
    assert np.array_equal(module._erf(POINTS), erf(POINTS))
