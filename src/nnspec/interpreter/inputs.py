"""Checking the arrays a caller feeds a model against the graph's declared inputs.

Runs at the edge of every public `Model` call, before the planned steps. The rule
for dtypes (documented in docs/interpreter.md):

- a float input accepts any float array, cast to the declared dtype (float64 data
  into a float32 model is rounded, which is the precision the model computes in);
  integer and bool arrays are accepted when every value is exactly representable
  (|v| <= 2**24 for float32, 2**53 for float64);
- an integer input (class labels) accepts integer arrays whose values fit the
  declared dtype, and float arrays whose values are all whole numbers (labels read
  from a CSV file arrive as floats);
- anything else (complex, strings, objects) is an error.

Shapes: the rank must match, a fixed dim must equal the declared size, ``null``
matches any size, and a symbol such as ``"batch"`` takes the size it first meets
and must have it in every other input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nnspec.errors import did_you_mean
from nnspec.ir import Dim, Input, TensorType

EXACT_INT = {"float32": 2**24, "float64": 2**53}


def prepare(
    feeds: Iterable[Input], given: Mapping[str, Any], known: Iterable[str]
) -> dict[str, np.ndarray]:
    """The arrays for `feeds`, checked and cast; raises ValueError naming the input.

    `known` lists every name the model accepts, so a misspelt key gets a hint
    instead of being silently ignored.
    """
    known = known if isinstance(known, (set, frozenset, dict)) else set(known)
    for name in given:
        if name not in known:
            raise ValueError(f"unknown input {name!r}{did_you_mean(name, known)}")
    symbols: dict[str, tuple[int, str]] = {}
    arrays = {}
    for feed in feeds:
        if feed.name not in given:
            raise ValueError(
                f"missing input {feed.name!r} ({feed.type}); pass it by name"
                f" (given: {', '.join(map(repr, given)) or 'nothing'})"
            )
        array = cast(feed.name, given[feed.name], feed.type.dtype)
        check_shape(feed.name, array.shape, feed.type, symbols)
        arrays[feed.name] = array
    return arrays


def exact_check(feeds: Sequence[Input]) -> Callable[[Mapping[str, Any]], bool]:
    """A test that `prepare` would hand every given array back unchanged, so a call may
    skip it: exactly the `feeds` by name, each an exact ``np.ndarray`` whose dtype is
    the declared one's very object, of the declared rank, with every fixed dim, and
    every symbolic dim equal to its first occurrence (the compiled module's fast path,
    `codegen.emit.fast_check`). Anything else takes `prepare`, and its errors."""
    table = [
        (
            f.name,
            np.dtype(f.type.dtype),
            f.type.rank,
            tuple((axis, d) for axis, d in enumerate(f.type.shape) if isinstance(d, int)),
            tuple((axis, d) for axis, d in enumerate(f.type.shape) if isinstance(d, str)),
        )
        for f in feeds
    ]
    count = len(table)

    def exact(given: Mapping[str, Any]) -> bool:
        if len(given) != count:
            return False
        sizes: dict[str, int] = {}
        for name, dtype, rank, fixed, symbols in table:
            array = given.get(name)
            if type(array) is not np.ndarray or array.dtype is not dtype or array.ndim != rank:
                return False
            shape = array.shape
            for axis, size in fixed:
                if shape[axis] != size:
                    return False
            for axis, symbol in symbols:
                if sizes.setdefault(symbol, shape[axis]) != shape[axis]:
                    return False
        return True

    return exact


def cast(name: str, value: Any, dtype: str) -> np.ndarray:
    """`value` as an array of `dtype`, following the module's dtype rule."""
    array = np.asarray(value)
    if array.dtype == dtype:
        return array
    kind = array.dtype.kind
    if dtype in EXACT_INT:
        if kind == "f":
            return array.astype(dtype)
        if kind in "iub":
            limit = EXACT_INT[dtype]
            if array.size and kind != "b" and np.abs(array).max() > limit:
                raise ValueError(
                    f"input {name!r}: integer values beyond ±{limit} lose precision in {dtype}; "
                    "scale the data or convert it to floats yourself"
                )
            return array.astype(dtype)
    elif kind in "iu" or (kind == "f" and np.array_equal(array, np.round(array))):
        info = np.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise ValueError(f"input {name!r}: values do not fit {dtype}")
        return array.astype(dtype)
    elif kind == "f":
        raise ValueError(
            f"input {name!r}: expected {dtype} labels (whole numbers), got {array.dtype} values "
            "with fractions"
        )
    raise ValueError(f"input {name!r}: expected {dtype} numbers, got an array of {array.dtype}")


def check_shape(
    name: str, shape: tuple[int, ...], declared: TensorType, symbols: dict[str, tuple[int, str]]
) -> None:
    """Raise ValueError unless `shape` fits `declared`; binds symbols in `symbols`."""
    if len(shape) != declared.rank:
        raise ValueError(
            f"input {name!r}: expected shape {_show(declared.shape)} (rank {declared.rank}), "
            f"got shape {list(shape)} (rank {len(shape)})"
        )
    for axis, (dim, size) in enumerate(zip(declared.shape, shape, strict=True)):
        if isinstance(dim, int) and dim != size:
            raise ValueError(
                f"input {name!r}: expected shape {_show(declared.shape)}, got {list(shape)} "
                f"(axis {axis} must be {dim})"
            )
        if isinstance(dim, str):
            bound = symbols.setdefault(dim, (size, name))
            if bound[0] != size:
                raise ValueError(
                    f"input {name!r}: {dim!r} is {size} on axis {axis} (shape {list(shape)}), "
                    f"but {bound[0]} in input {bound[1]!r}; every {dim!r} dim must agree"
                )


def _show(shape: tuple[Dim, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
