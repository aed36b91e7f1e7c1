"""Buffer-aware twins of a few op rules, chosen by `plan`; bitwise equal to the originals.

The ops in `nnspec.ops` allocate a fresh array for every result, which is what a
reader expects. The planner knows more: which intermediate values die at a step,
which never escape to the caller or the backward pass, and which inputs want no
gradient. With that it swaps a step's function for one of these twins:

- `INPLACE`: the same ufunc call with ``out=`` set to a dead input's own memory
  (``np.add(a, b, out=a)`` computes exactly ``np.add(a, b)``; only the
  destination differs, so no rounding changes);
- `buffered_matmul`: ``np.matmul(a, b, out=buf)`` into a buffer reused across
  calls (per thread, per shape) — the same BLAS call, minus the allocation;
- `matmul_vjp_a` / `matmul_vjp_b`: one half of the matmul VJP, when the other
  input wants no gradient (the data input of a first layer), using the very
  expression of ``ops.linalg``'s VJP for that half.

Each twin is checked at import against the registry's forward or VJP it copies
(`INPLACE` keeps only ufuncs the registry still uses; relu and the matmul VJP are
compared on sample data), so a changed op definition switches its twin off
rather than silently diverging.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from nnspec.ops import REGISTRY

# op name -> (the op's forward this twins, the same computation written to `out`)
_UFUNCS: dict[str, Any] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "neg": np.negative,
    "abs": np.abs,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "square": np.square,
    "tanh": np.tanh,
}


def _relu_forward_is_maximum() -> bool:
    """relu's forward is a lambda, ``np.maximum(x, 0.0)``; check it behaves so."""
    x = np.array([-1.5, -0.0, 0.0, 2.5, np.nan], dtype=np.float32)
    y = REGISTRY["relu"].forward(x)
    return y.dtype == x.dtype and np.array_equal(y, np.maximum(x, 0.0), equal_nan=True)


def _inplace_table() -> dict[str, Callable[..., Any]]:
    table: dict[str, Callable[..., Any]] = {
        name: ufunc for name, ufunc in _UFUNCS.items() if REGISTRY[name].forward is ufunc
    }
    if _relu_forward_is_maximum():
        table["relu"] = lambda x, out: np.maximum(x, 0.0, out=out)
    return table


INPLACE = _inplace_table()
"""op name -> ``fn(*xs, out=...)`` computing the op's forward into ``out``."""

FRESH = frozenset(
    {
        *INPLACE,
        "matmul",
        "identity",
        "sigmoid",
        "softplus",
        "gelu",
        "silu",
        "elu",
        "leaky_relu",
        "softmax",
        "log_softmax",
        "relu",
    }
)
"""Ops whose forward returns a new array that aliases none of its inputs (for
inputs of rank >= 1). Reshape and transpose return views, so they are not here."""


def inplace_step(name: str, ins: int, into: int) -> Callable[..., Any]:
    """A step function computing op `name` on `ins` inputs into input number `into`."""
    fn = INPLACE[name]
    if ins == 1:
        return lambda x: fn(x, out=x)
    if into == 0:
        return lambda a, b: fn(a, b, out=a)
    return lambda a, b: fn(a, b, out=b)


MATMUL_IS_NP = REGISTRY["matmul"].forward is np.matmul
"""`buffered_matmul` twins ``np.matmul``; off if the registry ever changes that."""

MAX_BUFFERS = 8
"""Buffers one matmul step keeps (per thread and shape) before starting afresh."""


def buffered_matmul() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``np.matmul`` into a result buffer kept per thread and per input shapes.

    Only used for values that never leave the plan (see `plan`), so a buffer is
    free again by the time its step runs next. Inputs have the plan's dtypes
    (feeds are cast on entry), so shapes alone pick the buffer.
    """
    buffers: dict[tuple, np.ndarray] = {}
    get_ident = threading.get_ident

    def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        key = (get_ident(), a.shape, b.shape, a.dtype, b.dtype)
        out = buffers.get(key)
        if out is None:
            if len(buffers) >= MAX_BUFFERS:  # many batch sizes: do not hoard memory
                buffers.clear()
            shape = (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
            out = buffers[key] = np.empty(shape, np.result_type(a.dtype, b.dtype))
        return np.matmul(a, b, out=out)

    return matmul


# The two halves of ops.linalg._matmul_vjp, written exactly as it writes them.
def matmul_vjp_a(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out: np.ndarray) -> tuple:
    return dy @ np.swapaxes(b, -1, -2), None


def matmul_vjp_b(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out: np.ndarray) -> tuple:
    return None, np.swapaxes(a, -1, -2) @ dy


def _matmul_vjp_is_the_pair() -> bool:
    """The halves above must stay the two results of the registry's matmul VJP."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((5, 4))
    dy = rng.standard_normal((3, 4))
    da, db = REGISTRY["matmul"].vjp(dy, a, b, out=a @ b)
    return np.array_equal(da, matmul_vjp_a(dy, a, b, out=dy)[0]) and np.array_equal(
        db, matmul_vjp_b(dy, a, b, out=dy)[1]
    )


SPLIT_MATMUL_VJP = _matmul_vjp_is_the_pair()


def softmax(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """``ops.reduce.softmax`` with its two temporaries reused: the same subtraction,
    exp, sum and division on the same array layout, so the same bits."""
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    return np.divide(e, e.sum(axis=axis, keepdims=True), out=e)


def _softmax_is_the_op() -> bool:
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = (rng.standard_normal((7, 33, 5)) * 30).astype(dtype)
        for axis in (-1, 0, 1):
            want = REGISTRY["softmax"].forward(x, axis=axis)
            got = softmax(x, axis=axis)
            if want.dtype != got.dtype or not np.array_equal(want, got):
                return False
    return True


SOFTMAX = softmax if _softmax_is_the_op() else None
"""The softmax twin, or None when it no longer matches the registry's forward."""
