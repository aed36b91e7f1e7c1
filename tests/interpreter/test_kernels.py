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
    if name in ("log", "sqrt", "pow"):
        xs[0] = np.abs(xs[0]) + 0.5  # stay in the op's domain
    with np.errstate(all="ignore"):
        want = op.forward(*xs)
        copies = [x.copy() for x in xs]
        got = kernels.inplace_step(name, len(xs), 0)(*copies)
    assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()  # bitwise: -0.0 and NaN payloads too
    assert got is copies[0]  # written into the dead input's memory


@pytest.mark.parametrize("name", sorted(kernels.FRESH))
def test_fresh_ops_never_alias_their_inputs(name) -> None:
    op = REGISTRY[name]
    xs = [np.linspace(0.5, 2.0, 12).reshape(3, 4) for _ in op.inputs]
    if name == "matmul":
        xs[1] = xs[1].T.copy()
    y = op.forward(*xs, **op.example)
    assert all(not np.shares_memory(y, x) for x in xs)


@given(dtype=FLOATS, n=st.integers(1, 5))
def test_buffered_matmul_equals_np_matmul_and_reuses_its_buffer(dtype, n) -> None:
    assert REGISTRY["matmul"].forward is np.matmul
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal((n, 6)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    matmul = kernels.buffered_matmul()
    first = matmul(a, b)
    assert first.tobytes() == np.matmul(a, b).tobytes()
    assert matmul(a, b) is first


@given(dtype=FLOATS)
def test_matmul_vjp_halves_are_the_registry_vjp(dtype) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    dy = rng.standard_normal((4, 3)).astype(dtype)
    da, db = REGISTRY["matmul"].vjp(dy, a, b, out=a @ b)
    assert kernels.matmul_vjp_a(dy, a, b, out=dy)[0].tobytes() == da.tobytes()
    assert kernels.matmul_vjp_b(dy, a, b, out=dy)[1].tobytes() == db.tobytes()
