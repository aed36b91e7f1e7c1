"""Training-only behaviour (`OpDef.training`, dropout): noise, its VJP and its stream.

The op table (`test_op_table.py`) checks the inference rules; here every op with a
training rule is checked in training mode: the noise's shape, dtype and statistics,
the training VJP against finite differences with the mask held fixed, and the
seeding of `nnspec.autodiff.noise_generator`.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.autodiff import NOISE_STREAM, noise_generator
from nnspec.ops import REGISTRY

NOISY = sorted(name for name, op in REGISTRY.items() if op.training is not None)
RATES = (0.0, 0.1, 0.5, 0.9)


def test_dropout_is_the_training_only_op() -> None:
    assert NOISY == ["dropout"]


@pytest.mark.parametrize("name", NOISY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 5)])
def test_noise_has_the_input_shape_and_dtype(name: str, dtype: str, shape: tuple) -> None:
    rule = REGISTRY[name].training
    assert rule is not None
    x = np.ones(shape, dtype=dtype)
    noise = rule.noise(x, noise_generator(0, 0, 0), rate=0.5)
    assert noise.shape == shape and noise.dtype == np.dtype(dtype)
    out = rule.apply(x, noise, rate=0.5)
    assert out.shape == shape and out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("rate", RATES)
def test_dropout_mask_keeps_one_minus_rate_and_scales_inverted(rate: float) -> None:
    """Kept values are x / (1 - rate), the rest 0; the kept share is ≈ 1 - rate and the
    mean of the noise ≈ 1, so the expected training output is the inference output."""
    rule = REGISTRY["dropout"].training
    assert rule is not None
    x = np.random.default_rng(5).normal(size=(400, 250))
    noise = rule.noise(x, noise_generator(11, 0, 0), rate=rate)
    kept = noise != 0
    assert set(np.unique(noise)) <= {0.0, 1.0 / (1.0 - rate)}
    n = x.size
    spread = 5 * np.sqrt(rate * (1 - rate) / n)  # five standard deviations of the share
    assert abs(kept.mean() - (1 - rate)) <= spread + 1e-12
    assert abs(noise.mean() - 1.0) <= spread / (1 - rate) + 1e-12
    out = rule.apply(x, noise, rate=rate)
    np.testing.assert_array_equal(out[kept], x[kept] * (1.0 / (1.0 - rate)))
    assert not np.any(out[~kept])


def test_rate_zero_keeps_everything() -> None:
    rule = REGISTRY["dropout"].training
    assert rule is not None
    x = np.random.default_rng(1).normal(size=(50, 20)).astype(np.float32)
    noise = rule.noise(x, noise_generator(3, 0, 9), rate=0.0)
    np.testing.assert_array_equal(rule.apply(x, noise, rate=0.0), x)


def test_the_mask_does_not_depend_on_the_dtype() -> None:
    """One float64 draw per value whatever x's dtype: the float64 twin drops the same values."""
    rule = REGISTRY["dropout"].training
    assert rule is not None
    x = np.ones((30, 30))
    a = rule.noise(x.astype(np.float32), noise_generator(2, 1, 4), rate=0.3)
    b = rule.noise(x, noise_generator(2, 1, 4), rate=0.3)
    np.testing.assert_array_equal(a != 0, b != 0)


@pytest.mark.parametrize("name", NOISY)
@pytest.mark.parametrize("rate", RATES)
def test_training_vjp_matches_finite_differences_with_a_fixed_mask(name: str, rate: float) -> None:
    rule = REGISTRY[name].training
    assert rule is not None
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 5))
    noise = rule.noise(x, noise_generator(1, 0, 0), rate=rate)
    out = rule.apply(x, noise, rate=rate)
    dy = rng.normal(size=out.shape)
    dx, dnoise = rule.vjp(dy, x, noise, out=out, rate=rate)
    assert dnoise is None, "the noise is no differentiable input"
    numeric = np.zeros_like(x)
    eps = 1e-6
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        diff = rule.apply(up, noise, rate=rate) - rule.apply(down, noise, rate=rate)
        numeric[index] = np.sum(dy * diff) / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", NOISY)
def test_training_vjp_keeps_float32(name: str) -> None:
    rule = REGISTRY[name].training
    assert rule is not None
    x = np.ones((3, 4), dtype=np.float32)
    noise = rule.noise(x, noise_generator(0, 0, 0), rate=0.5)
    dx, _ = rule.vjp(np.ones_like(x), x, noise, out=rule.apply(x, noise, rate=0.5), rate=0.5)
    assert dx.dtype == np.float32


def test_the_stream_is_one_fresh_generator_per_seed_source_and_step() -> None:
    """Equal words give equal draws; changing any word (or the stream tag) changes them."""
    draw = [noise_generator(*key).random(64) for key in [(5, 0, 0), (5, 0, 0)]]
    np.testing.assert_array_equal(*draw)
    base = noise_generator(5, 0, 0).random(64)
    others = [(6, 0, 0), (5, 1, 0), (5, 0, 1)]
    for key in others:
        assert not np.array_equal(noise_generator(*key).random(64), base), key
    # the shuffle's generator (the bare seed) is another stream
    assert not np.array_equal(np.random.default_rng(5).random(64), base)
    expected = np.random.default_rng([5, 0, 0, NOISE_STREAM]).random(64)
    np.testing.assert_array_equal(base, expected)
