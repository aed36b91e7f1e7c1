"""Buffer-aware twins of a few op rules, chosen by `plan`; bitwise equal to the originals.

The ops in `nnspec.ops` allocate a fresh array for every result, which is what a
reader expects. The buffer plan (`nnspec.buffers`, shared with the code generator)
knows more: which intermediate values die at a step and which never escape to the
caller or the backward pass; the autodiff plan knows which inputs want no gradient.
With that `plan` swaps a step's function for one of these twins, each chosen by a
fact on the op's `OpDef` (the tables below are derived from the registry):

- `INPLACE` (`OpDef.inplace`): the same ufunc call with ``out=`` set to a dead
  input's own memory (``np.add(a, b, out=a)`` computes exactly ``np.add(a, b)``;
  only the destination differs, so no rounding changes);
- `buffered` (`OpDef.reuse_buffer`): ``forward(a, b, out=buf)`` into a buffer
  reused across calls (per thread, per shape) — the same BLAS call, minus the
  allocation;
- `OpDef.vjp_halves`: one half of a VJP, when the other input wants no gradient
  (the data input of a first layer).

`tests/interpreter/test_kernels.py` proves each twin bitwise equal to the registry
rule it copies, so changing an op definition without its twin fails the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from nnspec.ops import REGISTRY

INPLACE: dict[str, Callable[..., Any]] = {
    name: op.inplace for name, op in REGISTRY.items() if op.inplace is not None
}
"""op name -> ``fn(*xs, out=...)`` computing the op's forward into ``out``
(tests/interpreter/test_kernels.py proves each equals the registry's forward)."""


def inplace_step(name: str, ins: int, into: int) -> Callable[..., Any]:
    """A step function computing op `name` on `ins` inputs into input number `into`."""
    fn = INPLACE[name]
    if ins == 1:
        return lambda x: fn(x, out=x)
    if into == 0:
        return lambda a, b: fn(a, b, out=a)
    return lambda a, b: fn(a, b, out=b)


MAX_BUFFERS = 8
"""Buffers one buffered step keeps (per thread and shape) before starting afresh."""


def buffered(forward: Callable[..., np.ndarray]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``forward`` (such as ``np.matmul``) into a result buffer kept per thread and input shapes.

    Only used for values that never leave the plan (see `plan`), so a buffer is
    free again by the time its step runs next. Inputs have the plan's dtypes
    (feeds are cast on entry), so shapes alone pick the buffer. The first call for
    a key allocates the result as NumPy does and keeps it as the buffer.
    """
    buffers: dict[tuple, np.ndarray] = {}
    get_ident = threading.get_ident

    def step(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        key = (get_ident(), a.shape, b.shape, a.dtype, b.dtype)
        out = buffers.get(key)
        if out is None:
            if len(buffers) >= MAX_BUFFERS:  # many batch sizes: do not hoard memory
                buffers.clear()
            out = buffers[key] = forward(a, b)
            return out
        return forward(a, b, out=out)

    return step
