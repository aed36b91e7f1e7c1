"""Binary ops with NumPy broadcasting; VJPs are returned in the broadcast shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnspec.ir import TensorType
from nnspec.ops.base import (
    OnnxMapping,
    OpDef,
    broadcast_shapes,
    gap_to_zero,
    require_float,
    same_dtype,
    smallest,
)


def _broadcast_type(op: str) -> Callable[..., TensorType]:
    def shape(types: tuple[TensorType, ...], **attrs: Any) -> TensorType:
        dtype = same_dtype(op, types)
        for t in types:
            require_float(op, t)
        return TensorType(broadcast_shapes(op, types[0].shape, types[1].shape), dtype)

    return shape


def _broadcast_grads(out: TensorType, a: TensorType, b: TensorType) -> tuple:
    """Both VJP results have the broadcast (output) shape; the engines un-broadcast."""
    return out.shape, out.shape


def binary(
    name: str, doc: str, forward: np.ufunc, vjp: Callable[..., tuple], **facts: Any
) -> OpDef:
    """A broadcasting binary op whose forward is the ufunc `forward`; `facts` are further
    `OpDef` fields (the output bound defaults to |a| + |b|)."""
    facts.setdefault("bound", lambda a, b: a + b)
    return OpDef(
        name=name,
        family="binary",
        doc=doc,
        inputs=("a", "b"),
        shape=_broadcast_type(name),
        forward=forward,
        vjp=vjp,
        ufunc=forward,
        vjp_shapes=_broadcast_grads,
        **facts,
    )


def _pow_vjp(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out: np.ndarray) -> tuple:
    da = dy * b * np.power(a, b - 1.0)
    # d(a^b)/db = a^b ln a, defined for a > 0; taken as 0 elsewhere.
    positive = a > 0
    log_a = np.log(np.where(positive, a, 1.0))
    db = np.where(positive, dy * out * log_a, 0.0).astype(out.dtype)
    return da, db


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    return gap_to_zero(a - b)


OPS = (
    binary(
        "add",
        "y = a + b",
        np.add,
        lambda dy, a, b, *, out: (dy, dy),
        vjp_reads="shapes",
        positive="if_inputs",
        onnx=OnnxMapping("Add"),
    ),
    binary(
        "sub",
        "y = a − b",
        np.subtract,
        lambda dy, a, b, *, out: (dy, -dy),
        vjp_reads="shapes",
        onnx=OnnxMapping("Sub"),
    ),
    binary(
        "mul",
        "y = a · b",
        np.multiply,
        lambda dy, a, b, *, out: (dy * b, dy * a),
        vjp_fresh=True,
        bound=lambda a, b: a * b,
        onnx=OnnxMapping("Mul"),
    ),
    binary(
        "div",
        "y = a / b",
        np.divide,
        lambda dy, a, b, *, out: (dy / b, -dy * out / b),
        vjp_reads_out=True,
        kinks=lambda a, b: gap_to_zero(b),
        domain=("real", "positive"),
        bound=lambda a, b: a / 0.5,
        onnx=OnnxMapping("Div"),
    ),
    binary(
        "pow",
        "y = a ^ b",
        np.power,
        _pow_vjp,
        nondiff="d/db is taken as 0 where a <= 0",
        vjp_reads_out=True,
        vjp_helpers=("pow_vjp",),
        kinks=lambda a, b: smallest(a),
        domain=("positive", "real"),
        bound=lambda a, b: max(a**b, 0.5**-b),  # b: |exponent|, one of `constants`
        constants={1: (0.5, 1.5, 2.0, -1.0)},
        positive="always",
        onnx=OnnxMapping("Pow"),
    ),
    binary(
        "maximum",
        "y = max(a, b) elementwise",
        np.maximum,
        lambda dy, a, b, *, out: (dy * (a >= b), dy * (a < b)),
        nondiff="ties send the whole gradient to a",
        kinks=_gap,
        bound=max,
        onnx=OnnxMapping("Max"),
    ),
    binary(
        "minimum",
        "y = min(a, b) elementwise",
        np.minimum,
        lambda dy, a, b, *, out: (dy * (a <= b), dy * (a > b)),
        nondiff="ties send the whole gradient to a",
        kinks=_gap,
        bound=max,
        onnx=OnnxMapping("Min"),
    ),
)
