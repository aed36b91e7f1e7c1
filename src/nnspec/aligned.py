"""Arrays that start on a cache-line boundary, for the memory both engines keep.

NumPy places an array where its allocator puts it: 16-byte aligned, at an offset
modulo 64 that changes with the array's size and with what was allocated before.
OpenBLAS and NumPy's SIMD loops run faster on operands that start on a 64-byte
boundary (a cache line, one AVX-512 vector): measured here, a batch-1 product by
a [784, 256] weight takes a third longer when the weight starts 16 bytes past one,
batch 128 about 5 % longer (docs/performance.md, "Where the memory lies"). So the
arrays an engine keeps across calls (params, workspaces, gradient and optimizer
buffers) are made here, and a compiled module makes its own the same way
(``_empty`` in its template). Placement changes speed, not results: NumPy's loops
give the same bits at any offset (`tests/test_aligned.py`), as did OpenBLAS's
products in every case tried, and both engines place their arrays alike anyway.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ALIGNMENT = 64
"""Bytes: one cache line on x86-64 and most ARM cores, and one AVX-512 register."""


def empty(shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-order array of `shape` and `dtype` starting on an
    `ALIGNMENT`-byte boundary (a view into a slightly larger byte buffer)."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    kind = np.dtype(dtype)
    size = math.prod(dims) * kind.itemsize
    raw = np.empty(size + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + size].view(kind).reshape(dims)


def empty_like(array: np.ndarray, dtype: Any = None) -> np.ndarray:
    """`empty` of `array`'s shape, in its dtype unless `dtype` is given, and in its
    memory order as ``np.empty_like`` (Fortran order stays Fortran order: a sum over
    the buffer then adds in the same order as one over `array`)."""
    kind = array.dtype if dtype is None else dtype
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        return empty(array.shape[::-1], kind).T
    return empty(array.shape, kind)


def zeros_like(array: np.ndarray) -> np.ndarray:
    """`empty_like(array)` filled with zeros."""
    out = empty_like(array)
    out.fill(0)
    return out


def copy(array: Any, dtype: Any = None) -> np.ndarray:
    """An aligned C-order copy of `array`, cast to `dtype` when given (as ``np.array(
    array, dtype=dtype, copy=True, order="C")``, which rounds the same way)."""
    source = np.asarray(array)
    out = empty(source.shape, source.dtype.newbyteorder("=") if dtype is None else dtype)
    out[...] = source
    return out
