"""Losses with mean reduction: mse, binary_cross_entropy, cross_entropy.

Each returns a scalar (shape []). Probabilities are clipped to [eps, 1 − eps] with
eps = machine epsilon of the dtype before the log, so a saturated prediction gives a
large finite loss rather than inf; the gradient is zero where clipping is active.
From logits, the losses are exact and never clip: they are fused with log-sigmoid
and log-softmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnspec.errors import ShapeError
from nnspec.ir import Dim, TensorType
from nnspec.ops.base import (
    FROM_LOGITS_SCHEMA,
    OpDef,
    fmt_shape,
    gap_to_zero,
    require_float,
    unify_dim,
)
from nnspec.ops.elementwise import sigmoid
from nnspec.ops.reduce import log_softmax, softmax


def _agree(a: tuple[Dim, ...], b: tuple[Dim, ...]) -> bool:
    """True if shapes `a` and `b` can be equal (same rank, every dim pair unifies)."""
    if len(a) != len(b):
        return False
    return all(unify_dim(x, y) is not False for x, y in zip(a, b, strict=True))


def _same_shape(op: str, pred: TensorType, target: TensorType) -> None:
    if not _agree(pred.shape, target.shape):
        raise ShapeError(
            "NN501",
            f"{op} needs a target shaped like the prediction {fmt_shape(pred.shape)}, "
            f"got {fmt_shape(target.shape)}",
        )


def _elementwise_loss_shape(op: str):
    def shape(types: tuple[TensorType, ...], **attrs: Any) -> TensorType:
        pred, target = types
        require_float(op, pred, "prediction")
        if target.dtype != pred.dtype:
            raise ShapeError(
                "NN307", f"{op} needs a {pred.dtype} target like the prediction, got {target.dtype}"
            )
        _same_shape(op, pred, target)
        return TensorType((), pred.dtype)

    return shape


def _ce_shape(types: tuple[TensorType, ...], **attrs: Any) -> TensorType:
    pred, target = types
    require_float("cross_entropy", pred, "prediction")
    if pred.rank < 1:
        raise ShapeError(
            "NN309", "cross_entropy needs a prediction with a class axis, got a scalar"
        )
    if target.is_float:
        if target.dtype != pred.dtype:
            raise ShapeError(
                "NN307",
                f"cross_entropy needs a {pred.dtype} one-hot target, got {target.dtype}",
            )
        _same_shape("cross_entropy", pred, target)
    else:
        labels = pred.shape[:-1]
        if not _agree(labels, target.shape):
            raise ShapeError(
                "NN501",
                f"cross_entropy with integer labels needs a target of shape "
                f"{fmt_shape(labels)} for a prediction of shape {fmt_shape(pred.shape)}, "
                f"got {fmt_shape(target.shape)}",
            )
    return TensorType((), pred.dtype)


def _scalar(value: Any, dtype: np.dtype) -> np.ndarray:
    return np.asarray(value, dtype=dtype)


def _eps(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps)


def mse(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    diff = pred - target
    return _scalar(np.mean(diff * diff), pred.dtype)


def _mse_vjp(dy, pred, target, *, out) -> tuple:
    grad = dy * (2.0 / pred.size) * (pred - target)
    return grad, -grad


def binary_cross_entropy(pred, target, *, from_logits: bool = False) -> np.ndarray:
    if from_logits:
        # -[t log σ(z) + (1 − t) log(1 − σ(z))] = max(z, 0) − z·t + log(1 + e^−|z|)
        terms = np.maximum(pred, 0.0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
        return _scalar(np.mean(terms), pred.dtype)
    eps = _eps(pred.dtype)
    p = np.clip(pred, eps, 1.0 - eps)
    terms = target * np.log(p) + (1.0 - target) * np.log(1.0 - p)
    return _scalar(-np.mean(terms), pred.dtype)


def _bce_vjp(dy, pred, target, *, out, from_logits: bool = False) -> tuple:
    scale = dy / pred.size
    if from_logits:
        return scale * (sigmoid(pred) - target), -scale * pred
    eps = _eps(pred.dtype)
    p = np.clip(pred, eps, 1.0 - eps)
    inside = (pred >= eps) & (pred <= 1.0 - eps)
    dpred = scale * ((1.0 - target) / (1.0 - p) - target / p) * inside
    dtarget = scale * (np.log(1.0 - p) - np.log(p))
    return dpred, dtarget


def _rows(pred: np.ndarray) -> int:
    return max(pred.size // pred.shape[-1], 1) if pred.shape[-1] else 1


def _one_hot(labels: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)].flat[0]
        raise ValueError(
            f"cross_entropy: label {int(bad)} is out of range "
            f"for {classes} classes (0..{classes - 1})"
        )
    return (labels[..., None] == np.arange(classes)).astype(dtype)


def cross_entropy(pred, target, *, from_logits: bool = False) -> np.ndarray:
    if target.dtype.kind in "iu":
        target = _one_hot(target, pred.shape[-1], pred.dtype)
    if from_logits:
        log_p = log_softmax(pred, axis=-1)
    else:
        log_p = np.log(np.clip(pred, _eps(pred.dtype), 1.0))
    if target.shape == log_p.shape and target.dtype == log_p.dtype:  # in log_p's buffer
        terms = np.multiply(target, log_p, out=log_p)
    else:
        terms = target * log_p
    return _scalar(-terms.sum() / _rows(pred), pred.dtype)


def _ce_vjp(dy, pred, target, *, out, from_logits: bool = False) -> tuple:
    labels = target.dtype.kind in "iu"
    t = _one_hot(target, pred.shape[-1], pred.dtype) if labels else target
    scale = dy / _rows(pred)
    if from_logits:
        p = softmax(pred, axis=-1)
        if t.shape == p.shape and scale.dtype == p.dtype:  # in p's own buffer
            np.multiply(p, t.sum(axis=-1, keepdims=True), out=p)
            dpred = np.multiply(scale, np.subtract(p, t, out=p), out=p)
        else:
            dpred = scale * (p * np.sum(t, axis=-1, keepdims=True) - t)
        dtarget = None if labels else -scale * log_softmax(pred, axis=-1)
        return dpred, dtarget
    eps = _eps(pred.dtype)
    p = np.clip(pred, eps, 1.0)
    dpred = -scale * t / p * (pred >= eps)
    dtarget = None if labels else -scale * np.log(p)
    return dpred, dtarget


def cross_entropy_kept(pred, target, *, from_logits: bool = False) -> tuple[np.ndarray, Any]:
    """`cross_entropy`, plus what `_ce_vjp` would recompute (from logits, integer labels):
    the one-hot target, e^(x − max) and its row sums, the values its softmax uses; None
    otherwise. The same calls on the same values as `cross_entropy`, so the same loss
    (the twin of the generated module's ``_cross_entropy_kept``)."""
    if not from_logits or target.dtype.kind not in "iu":
        return cross_entropy(pred, target, from_logits=from_logits), None
    t = _one_hot(target, pred.shape[-1], pred.dtype)
    if t.shape != pred.shape:
        return cross_entropy(pred, target, from_logits=from_logits), None
    shifted = pred - pred.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    log_p = np.subtract(shifted, np.log(total), out=shifted)
    terms = np.multiply(t, log_p, out=log_p)
    return _scalar(-terms.sum() / _rows(pred), pred.dtype), (t, e, total)


def _ce_vjp_kept(dy, pred, target, kept, *, out, from_logits: bool = False) -> tuple:
    """`_ce_vjp` from what `cross_entropy_kept` kept: its softmax is e / total (the
    twin of the generated module's ``_ce_vjp_kept``). Writes over the kept e."""
    if kept is None:
        return _ce_vjp(dy, pred, target, out=out, from_logits=from_logits)
    t, e, total = kept
    scale = dy / _rows(pred)
    p = np.divide(e, total, out=e)
    if scale.dtype == p.dtype:  # in p's own buffer
        np.multiply(p, t.sum(axis=-1, keepdims=True), out=p)
        return np.multiply(scale, np.subtract(p, t, out=p), out=p), None
    return scale * (p * np.sum(t, axis=-1, keepdims=True) - t), None


LOSS_ATTRS = {"from_logits": FROM_LOGITS_SCHEMA}


def _loss_grads(out: TensorType, pred: TensorType, target: TensorType) -> tuple:
    """Gradients come in the inputs' shape when the two agree (else unknown)."""
    same = pred.shape == target.shape
    return (pred.shape if same else None, target.shape if same else None)


def _bce_kinks(p: np.ndarray, t: np.ndarray, from_logits: bool = False) -> float:
    """Distance from the clipping region (from logits nothing clips)."""
    return np.inf if from_logits else gap_to_zero(np.minimum(p, 1 - p))


def _ce_kinks(p: np.ndarray, t: np.ndarray, from_logits: bool = False) -> float:
    return np.inf if from_logits else gap_to_zero(p)


LOSS_ONNX = "a training loss; export writes the inference graph, which the outputs need"

OPS = (
    OpDef(
        name="mse",
        family="losses",
        doc="mean squared error: mean((pred − target)²)",
        inputs=("pred", "target"),
        shape=_elementwise_loss_shape("mse"),
        forward=mse,
        vjp=_mse_vjp,
        vjp_shapes=_loss_grads,
        helpers=("mse",),
        vjp_helpers=("mse_vjp",),
        onnx=LOSS_ONNX,
    ),
    OpDef(
        name="binary_cross_entropy",
        family="losses",
        doc="−mean(t·log p + (1 − t)·log(1 − p)); p clipped, or exact from logits",
        inputs=("pred", "target"),
        shape=_elementwise_loss_shape("binary_cross_entropy"),
        forward=binary_cross_entropy,
        vjp=_bce_vjp,
        attrs=LOSS_ATTRS,
        nondiff="gradient is 0 where a probability is clipped",
        vjp_shapes=_loss_grads,
        helpers=("binary_cross_entropy",),
        vjp_helpers=("bce_vjp",),
        kinks=_bce_kinks,
        onnx=LOSS_ONNX,
    ),
    OpDef(
        name="cross_entropy",
        family="losses",
        doc="−Σ t·log p per row, averaged over rows; integer labels or one-hot targets",
        inputs=("pred", "target"),
        shape=_ce_shape,
        forward=cross_entropy,
        vjp=_ce_vjp,
        attrs=LOSS_ATTRS,
        nondiff="gradient is 0 where a probability is clipped; none for integer labels",
        vjp_shapes=_loss_grads,
        helpers=("cross_entropy",),
        vjp_helpers=("ce_vjp",),
        kept=("cross_entropy_kept", "ce_vjp_kept"),
        keeps=(cross_entropy_kept, _ce_vjp_kept),
        kinks=_ce_kinks,
        onnx=LOSS_ONNX,
    ),
)
