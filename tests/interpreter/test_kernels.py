"""The interpreter's buffer-aware twins compute exactly what the op definitions compute.

`nnspec.interpreter.kernels` rewrites a few steps to write into memory the plan
owns; these tests are what keeps each twin bitwise equal to its registry rule.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnspec import buffers
from nnspec.buffers import Workspace
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
        got = kernels.INPLACE[name](*copies, out=copies[0])
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
def test_a_product_into_its_workspace_buffer_equals_the_forward(name, dtype, n) -> None:
    forward = REGISTRY[name].forward
    assert forward is np.matmul
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal((n, 6)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    plan = Workspace(("p",), (("batch", 3),), (np.dtype(dtype).name,), ("batch",))
    workspaces = kernels.Workspaces(plan)
    buffers = workspaces((n,))
    assert workspaces((n,)) is buffers  # one lookup per call, the same buffers
    assert buffers[0].shape == (n, 3) and buffers[0].dtype == dtype
    got = forward(a, b, out=buffers[0])
    assert got is buffers[0]
    assert got.tobytes() == np.matmul(a, b).tobytes()


def test_workspaces_are_per_thread_and_bounded() -> None:
    workspaces = kernels.Workspaces(Workspace(("p",), (("n", 2),), ("float32",), ("n",)))
    mine = workspaces((1,))
    theirs: list[list[np.ndarray]] = []
    worker = threading.Thread(target=lambda: theirs.append(workspaces((1,))))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and theirs[0][0] is not mine[0]
    for n in range(2, 2 + kernels.MAX_WORKSPACES):
        workspaces((n,))
    assert workspaces((1,)) is not mine  # started afresh after MAX_WORKSPACES sizes


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


INTO = sorted(name for name, op in REGISTRY.items() if op.vjp_into is not None)


def test_the_ops_with_a_vjp_into_their_cotangent() -> None:
    assert INTO == ["relu", "tanh"]


@pytest.mark.parametrize("name", INTO)
@given(data=st.data(), dtype=FLOATS)
def test_a_vjp_written_over_its_cotangent_equals_the_registry_vjp(name, data, dtype) -> None:
    op = REGISTRY[name]
    x = data.draw(_values(dtype, (3, 4)))
    dy = data.draw(_values(dtype, (3, 4)))
    y = op.forward(x)
    (want,) = op.vjp(dy.copy(), x, out=y)
    assert op.vjp_into is not None
    (got,) = op.vjp_into(dy, x, out=y)
    assert got is dy  # written over the cotangent it was handed
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_a_workspace_provider_hands_out_this_threads_last_fetched_buffer() -> None:
    space = Workspace(nodes=(), shapes=(("n", 3),), dtypes=("float32",), symbols=("n",))
    workspaces = kernels.Workspaces(space)
    buffer = workspaces.provider(0)
    mine = workspaces((2,))[0]
    assert buffer(np.dtype("float32")) is mine
    seen = []
    worker = threading.Thread(target=lambda: seen.append((workspaces((5,))[0], buffer(np.float32))))
    worker.start()
    worker.join()
    assert seen[0][0] is seen[0][1] and seen[0][0].shape == (5, 3)
    assert buffer(np.dtype("float32")) is mine  # another thread's fetch is its own
    other = buffer(np.dtype("float64"))  # another dtype than planned: an array of its own
    assert other is not mine and other.dtype == np.float64 and other.shape == (2, 3)
