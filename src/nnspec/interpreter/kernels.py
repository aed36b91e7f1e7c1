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

`tests/interpreter/test_kernels.py` proves each twin bitwise equal to the registry
rule it copies, so changing an op definition without its twin fails the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

# op name -> the NumPy ufunc that is the op's forward (checked by tests)
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


INPLACE: dict[str, Callable[..., Any]] = {
    **_UFUNCS,
    "relu": lambda x, out: np.maximum(x, 0.0, out=out),
}
"""op name -> ``fn(*xs, out=...)`` computing the op's forward into ``out``
(tests/interpreter/test_kernels.py proves each equals the registry's forward)."""

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
