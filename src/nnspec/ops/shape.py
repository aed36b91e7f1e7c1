"""Ops that move elements without computing: reshape, transpose, concat."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from nnspec.errors import ShapeError
from nnspec.ir import Dim, TensorType
from nnspec.ops.base import OnnxMapping, OpDef, fmt_shape, normalize_axis, same_dtype, unify_dim


def _split(dims: tuple[Dim, ...]) -> tuple[int, Counter, bool]:
    """Known product, multiset of symbols, and whether any dim is unknown."""
    known = math.prod(d for d in dims if isinstance(d, int))
    symbols = Counter(d for d in dims if isinstance(d, str))
    return known, symbols, any(d is None for d in dims)


def _reshape_shape(types: tuple[TensorType, ...], *, shape: tuple[int, ...]) -> TensorType:
    (x,) = types
    if list(shape).count(-1) > 1:
        raise ShapeError("NN305", f"reshape: at most one -1 is allowed, got {list(shape)}")
    target: list[Dim] = []
    for i, d in enumerate(shape):
        if d == 0:
            if i >= x.rank:
                raise ShapeError(
                    "NN304",
                    f"reshape: 0 at position {i} copies an axis that {fmt_shape(x.shape)} lacks",
                )
            target.append(x.shape[i])
        else:
            target.append(d)
    k_in, sym_in, unknown_in = _split(x.shape)
    fixed = tuple(d for d in target if d != -1)
    k_out, sym_out, unknown_out = _split(fixed)
    mismatch = ShapeError(
        "NN305",
        f"reshape: cannot reshape {fmt_shape(x.shape)} to {list(shape)} "
        "(the number of elements differs)",
    )
    if -1 in target:
        missing: Dim = None
        rest = sym_in - sym_out
        if not unknown_in and not unknown_out and not (sym_out - sym_in):
            if k_out == 0 or k_in % k_out:
                raise mismatch if not rest else _not_divisible(x, k_in, k_out, rest)
            elif not rest:
                missing = k_in // k_out
            elif len(rest) == 1 and sum(rest.values()) == 1 and k_in == k_out:
                missing = next(iter(rest))
        target[target.index(-1)] = missing
    elif not unknown_in and not unknown_out and sym_in == sym_out and k_in != k_out:
        raise mismatch
    elif sym_in - sym_out and not unknown_out:
        # Every dim of the target is fixed but a symbol of the input vanished: the
        # reshape would only work for one size of that symbol.
        lost = ", ".join(repr(d) for d in sorted(sym_in - sym_out))
        raise ShapeError(
            "NN305",
            f"reshape: {fmt_shape(x.shape)} to {list(shape)} works for one size of {lost} "
            "only; keep the dim with 0 (copy) or -1 (infer), e.g. [0, -1]",
        )
    return x.with_shape(tuple(target))


def _not_divisible(x: TensorType, k_in: int, k_out: int, rest: Counter) -> ShapeError:
    """-1 must stand for a whole number for every size of the input's symbols."""
    symbols = "·".join(sorted(rest.elements()))
    return ShapeError(
        "NN305",
        f"reshape: {fmt_shape(x.shape)} has {k_in}·{symbols} elements, which {k_out} "
        f"divides only for some sizes of {symbols}; make the target's fixed dims multiply "
        f"to a divisor of {k_in}",
    )


def reshape(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    """Reshape where 0 copies the input's dim at that position and -1 is inferred."""
    return x.reshape(tuple(x.shape[i] if d == 0 else d for i, d in enumerate(shape)))


def _transpose_shape(types: tuple[TensorType, ...], *, perm: Any = None) -> TensorType:
    (x,) = types
    if perm is None:
        return x.with_shape(x.shape[::-1])
    if sorted(perm) != list(range(x.rank)):
        raise ShapeError(
            "NN304",
            f"transpose: perm {list(perm)} is not a permutation of 0..{x.rank - 1} "
            f"for {fmt_shape(x.shape)}",
        )
    return x.with_shape(tuple(x.shape[p] for p in perm))


def _transpose_vjp(dy, x, *, out, perm=None) -> tuple:
    inverse = None if perm is None else tuple(np.argsort(perm))
    return (np.transpose(dy, inverse),)


def _transpose_facts(types: tuple[TensorType, ...], *, perm: Any = None) -> dict[str, Any]:
    """The inverse permutation the VJP applies (None: reversing is its own inverse)."""
    inverse = None if perm is None else tuple(sorted(range(len(perm)), key=perm.__getitem__))
    return {"inverse": inverse}


def _concat_shape(types: tuple[TensorType, ...], *, axis: int = -1) -> TensorType:
    dtype = same_dtype("concat", types)
    rank = types[0].rank
    if any(t.rank != rank for t in types):
        ranks = ", ".join(fmt_shape(t.shape) for t in types)
        raise ShapeError("NN306", f"concat needs inputs of one rank, got {ranks}")
    ax = normalize_axis("concat", axis, rank, shape=types[0].shape)
    dims: list[Dim] = []
    for i in range(rank):
        column = [t.shape[i] for t in types]
        if i == ax:
            sizes = [d for d in column if isinstance(d, int)]
            dims.append(sum(sizes) if len(sizes) == len(column) else None)
            continue
        merged: Dim | bool = column[0]
        for d in column[1:]:
            merged = unify_dim(merged, d) if merged is not False else False
        if merged is False:
            shown = ", ".join(fmt_shape(t.shape) for t in types)
            raise ShapeError(
                "NN306", f"concat along axis {axis}: shapes {shown} differ on axis {i}"
            )
        dims.append(merged)
    return TensorType(tuple(dims), dtype)


def _concat_vjp(dy, *xs, out, axis=-1) -> tuple:
    cuts = np.cumsum([x.shape[axis] for x in xs])[:-1]
    return tuple(np.split(dy, cuts, axis=axis))


OPS = (
    OpDef(
        name="reshape",
        maker="reshape",
        family="shape",
        doc="y = x with a new shape (0 copies the input dim, -1 is inferred)",
        inputs=("x",),
        shape=_reshape_shape,
        forward=reshape,
        vjp=lambda dy, x, *, out, shape: (dy.reshape(x.shape),),
        view=True,
        vjp_reads="shapes",
        attrs={
            "shape": {
                "type": "array",
                "items": {"type": "integer", "minimum": -1},
                "description": "new shape; 0 copies the input dim at that position, -1 is inferred",
            }
        },
        required=("shape",),
        example={"shape": [0, -1]},
        onnx=OnnxMapping("Reshape", "shape_input"),
    ),
    OpDef(
        name="transpose",
        maker="transpose",
        family="shape",
        doc="y = x with axes permuted by `perm` (default: reversed)",
        inputs=("x",),
        shape=_transpose_shape,
        forward=lambda x, *, perm=None: np.transpose(x, perm),
        vjp=_transpose_vjp,
        view=True,
        vjp_reads="shapes",
        vjp_facts=_transpose_facts,
        attrs={
            "perm": {
                "description": "permutation of the axes; null reverses them",
                "default": None,
                "anyOf": [
                    {"type": "null"},
                    {"type": "array", "items": {"type": "integer", "minimum": 0}},
                ],
            }
        },
        onnx=OnnxMapping("Transpose", "perm"),
    ),
    OpDef(
        name="concat",
        maker="concat",
        family="shape",
        doc="y = inputs joined along `axis`",
        inputs=("*xs",),
        shape=_concat_shape,
        forward=lambda *xs, axis=-1: np.concatenate(xs, axis=axis),
        vjp=_concat_vjp,
        vjp_reads="shapes",
        attrs={"axis": {"type": "integer", "default": -1, "description": "axis to join along"}},
        onnx=OnnxMapping("Concat", "axis"),
    ),
)
