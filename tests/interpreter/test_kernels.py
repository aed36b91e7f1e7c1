"""The interpreter's buffer-aware twins compute exactly what the op definitions compute.

`nnspec.interpreter.kernels` rewrites a few steps to write into memory the plan
owns; these tests are what keeps each twin bitwise equal to its registry rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnspec import buffers
from nnspec.interpreter import kernels
from nnspec.ops import REGISTRY

FLOATS = st.sampled_from([np.float32, np.float64])


def _values(dtype, shape):
    return arrays(dtype, shape, elements=st.floats(-50, 50, width=32))


@pytest.mark.parametrize("name", sorted(kernels.INPLACE))
@given(data=st.data(), dtype=FLOATS)
def test_inplace_twin_equals_the_op(name, data, dtype) -> None:
    op = REGISTRY[name]
    xs = [data.draw(_values(dtype, (3, 4))) for _ in op.inputs]
    if op.domain_of(0) == "positive":
        xs[0] = np.abs(xs[0]) + 0.5  # stay in the op's domain
    with np.errstate(all="ignore"):
        want = op.forward(*xs)
        copies = [x.copy() for x in xs]
        got = kernels.inplace_step(name, len(xs), 0)(*copies)
    assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()  # bitwise: -0.0 and NaN payloads too
    assert got is copies[0]  # written into the dead input's memory


@pytest.mark.parametrize("name", sorted(buffers.FRESH))
def test_fresh_ops_never_alias_their_inputs(name) -> None:
    op = REGISTRY[name]
    xs = [np.linspace(0.5, 2.0, 12).reshape(3, 4) for _ in op.inputs]
    if name == "matmul":
        xs[1] = xs[1].T.copy()
    y = op.forward(*xs, **op.example)
    assert all(not np.shares_memory(y, x) for x in xs)


BUFFERED = sorted(name for name, op in REGISTRY.items() if op.reuse_buffer)
HALVED = sorted(name for name, op in REGISTRY.items() if op.vjp_halves)


def test_the_engine_facts_cover_the_ops_they_were_written_for() -> None:
    assert BUFFERED == ["matmul"] and HALVED == ["matmul"]
    assert {"sign", "relu", "add", "tanh"} <= set(kernels.INPLACE)


@pytest.mark.parametrize("name", BUFFERED)
@given(dtype=FLOATS, n=st.integers(1, 5))
def test_buffered_step_equals_the_forward_and_reuses_its_buffer(name, dtype, n) -> None:
    forward = REGISTRY[name].forward
    assert forward is np.matmul
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal((n, 6)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    matmul = kernels.buffered(forward)
    first = matmul(a, b)
    assert first.tobytes() == np.matmul(a, b).tobytes()
    assert matmul(a, b) is first
    assert matmul(a, b).tobytes() == np.matmul(a, b).tobytes()


@pytest.mark.parametrize("name", HALVED)
@given(dtype=FLOATS)
def test_vjp_halves_are_the_registry_vjp(name, dtype) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    dy = rng.standard_normal((4, 3)).astype(dtype)
    op = REGISTRY[name]
    full = op.vjp(dy, a, b, out=a @ b)
    for k, half in enumerate(op.vjp_halves):
        got = half(dy, a, b, out=dy)
        assert got[k].tobytes() == full[k].tobytes()
        assert all(g is None for j, g in enumerate(got) if j != k)
