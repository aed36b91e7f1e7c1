"""Arrays that start on a cache-line boundary, for the memory both engines keep.

NumPy places an array where its allocator puts it: 16-byte aligned, at an offset
modulo 64 that changes with the array's size and with what was allocated before.
OpenBLAS and NumPy's SIMD loops run faster on operands that start on a 64-byte
boundary (a cache line, one AVX-512 vector): measured here, a batch-1 product by
a [784, 256] weight takes a third longer when the weight starts 16 bytes past one,
batch 128 about 5 % longer (docs/performance.md, "Where the memory lies"). So the
arrays an engine keeps across calls (params, workspaces, gradient and optimizer
buffers) are made here, and a compiled module makes its own the same way
(``_empty`` in its template), so the arrays both engines keep are placed alike.
Placement changed speed, not results, in every case tried: NumPy's loops give the
same bits at any offset (`tests/test_aligned.py`), and so did OpenBLAS's products
here; some BLAS libraries (MKL outside its reproducibility mode) document that
alignment may change the order of their sums.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, SupportsIndex

import numpy as np

ALIGNMENT = 64
"""Bytes: one cache line on x86-64 and most ARM cores, and one AVX-512 register."""


def empty(shape: SupportsIndex | Sequence[SupportsIndex], dtype: Any) -> np.ndarray:
    """An uninitialised C-order array of `shape` and `dtype` (in native byte order,
    `native`) starting on an `ALIGNMENT`-byte boundary (a view into a slightly larger
    byte buffer)."""
    if isinstance(shape, Sequence):
        dims = tuple(operator.index(d) for d in shape)
    else:  # one dimension: an int or a NumPy integer
        dims = (operator.index(shape),)
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimensions are not allowed, got shape {dims}")
    kind = native(dtype)
    if kind.hasobject:
        raise TypeError(f"aligned arrays hold numbers, not Python objects ({kind})")
    size = math.prod(dims) * kind.itemsize
    raw = np.empty(size + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + size].view(kind).reshape(dims)


def empty_like(array: np.ndarray, dtype: Any = None) -> np.ndarray:
    """`empty` of `array`'s shape, in its dtype unless `dtype` is given: Fortran order
    for a Fortran-ordered `array` (a sum over the buffer then adds in the same order
    as one over `array`), else C order."""
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
    """An aligned C-order copy of `array` in native byte order, cast to `dtype` when
    given: the values ``np.array(array, dtype=dtype, copy=True, order="C")`` holds,
    rounded the same way."""
    source = np.asarray(array, dtype=dtype)  # np.array's conversion, its errors included
    out = empty(source.shape, source.dtype)
    out[...] = source
    return out


def native(dtype: Any) -> np.dtype:
    """`dtype` in native byte order, as NumPy's own instance of it where there is one
    (``np.dtype("float32")``): fast paths test ``array.dtype is float32`` by identity,
    and ``newbyteorder`` returns an equal dtype that is another object."""
    kind = np.dtype(dtype).newbyteorder("=")
    found = np.dtype(kind.str)  # NumPy's own object for a built-in type
    return found if found == kind else kind
