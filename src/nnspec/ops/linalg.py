"""Matrix product: the lecture's ``XW`` with X of shape [batch, in] and W of [in, out]."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnspec.errors import ShapeError
from nnspec.ir import TensorType
from nnspec.ops.base import (
    OnnxMapping,
    OpDef,
    broadcast_shapes,
    fmt_shape,
    require_float,
    same_dtype,
    unify_dim,
)


def _matmul_shape(types: tuple[TensorType, ...], **attrs: Any) -> TensorType:
    a, b = types
    dtype = same_dtype("matmul", types)
    require_float("matmul", a)
    for name, t in (("a", a), ("b", b)):
        if t.rank < 2:
            raise ShapeError(
                "NN309",
                f"matmul needs rank >= 2 for {name}, got {fmt_shape(t.shape)}; "
                "reshape a vector to [1, n] or [n, 1] first",
            )
    inner = unify_dim(a.shape[-1], b.shape[-2])
    if inner is False:
        raise ShapeError(
            "NN302",
            f"matmul needs b of shape [{a.shape[-1]}, k] for a of shape {fmt_shape(a.shape)}, "
            f"got {fmt_shape(b.shape)}",
        )
    try:
        batch = broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
    except ShapeError:  # name the whole shapes, not just their leading axes
        raise ShapeError(
            "NN303",
            f"matmul: the leading (batch) axes of {fmt_shape(a.shape)} and "
            f"{fmt_shape(b.shape)} do not broadcast",
        ) from None
    return TensorType((*batch, a.shape[-2], b.shape[-1]), dtype)


def _matmul_vjp_a(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out: np.ndarray) -> tuple:
    """The VJP for `a` alone (e.g. x @ W with x data: only W's gradient is skipped)."""
    return dy @ np.swapaxes(b, -1, -2), None


def _matmul_vjp_b(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out: np.ndarray) -> tuple:
    """The VJP for `b` alone (the first layer: the data input wants no gradient)."""
    return None, np.swapaxes(a, -1, -2) @ dy


def _matmul_vjp_a_into(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out, buffer) -> Any:
    """`_matmul_vjp_a`'s product written into ``buffer(dtype)`` (`OpDef.vjp_buffered`)."""
    b_t = np.swapaxes(b, -1, -2)
    return np.matmul(dy, b_t, out=buffer(np.result_type(dy, b_t)))


def _matmul_vjp_b_into(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out, buffer) -> Any:
    """`_matmul_vjp_b`'s product written into ``buffer(dtype)`` (`OpDef.vjp_buffered`)."""
    a_t = np.swapaxes(a, -1, -2)
    return np.matmul(a_t, dy, out=buffer(np.result_type(a_t, dy)))


def _matmul_vjp(dy: np.ndarray, a: np.ndarray, b: np.ndarray, *, out: np.ndarray) -> tuple:
    return _matmul_vjp_a(dy, a, b, out=out)[0], _matmul_vjp_b(dy, a, b, out=out)[1]


def _matmul_grads(out: TensorType, a: TensorType, b: TensorType) -> tuple:
    """Each gradient has the output's leading (batch) axes and its input's matrix axes."""
    return (*out.shape[:-2], *a.shape[-2:]), (*out.shape[:-2], *b.shape[-2:])


OPS = (
    OpDef(
        name="matmul",
        maker="matmul",
        family="linalg",
        doc="y = a @ b (matrix product over the last two axes, leading axes broadcast)",
        inputs=("a", "b"),
        shape=_matmul_shape,
        forward=np.matmul,
        vjp=_matmul_vjp,
        reuse_buffer=True,
        vjp_reads="other",
        vjp_halves=(_matmul_vjp_a, _matmul_vjp_b),
        vjp_buffered=(_matmul_vjp_a_into, _matmul_vjp_b_into),
        vjp_shapes=_matmul_grads,
        vjp_fresh=True,
        vjp_transposes=True,
        onnx=OnnxMapping("MatMul"),
    ),
)
