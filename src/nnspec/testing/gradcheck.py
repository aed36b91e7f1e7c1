"""Gradient checking: reverse-mode gradients against central finite differences.

Used by nnspec's own property tests and by anyone testing their own documents.
Run it in float64: in float32 rounding noise swamps the differences. The loss is
the training one (``Model.run(..., training=True)``): dropout draws the masks of
training step 0, the ones `Model.gradients` uses, so the mask is fixed while the
differences are taken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnspec.interpreter.model import Model
from nnspec.ir import Graph
from nnspec.ops import REGISTRY


def finite_differences(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    eps: float = 1e-6,
    picks: np.ndarray | None = None,
) -> np.ndarray:
    """Central differences ``(f(x + eps·e_i) − f(x − eps·e_i)) / 2eps`` of a scalar `f`.

    Perturbs one element at a time of a float copy of `x` (float64 unless `x`
    is already a float array), so `f` is called 2·x.size times; with `picks` (flat
    indexes), only those elements, and the result is one difference per pick.
    """
    x = np.array(x, dtype=x.dtype if np.asarray(x).dtype.kind == "f" else np.float64)
    flat = x.reshape(-1)
    indexes = range(flat.size) if picks is None else picks
    out = np.empty(len(indexes), dtype=x.dtype)
    for k, i in enumerate(indexes):
        old = flat[i]
        flat[i] = old + eps
        up = float(f(x))
        flat[i] = old - eps
        down = float(f(x))
        flat[i] = old
        out[k] = (up - down) / (2 * eps)
    return out.reshape(x.shape) if picks is None else out


def relative_error(a: np.ndarray, b: np.ndarray, floor: float) -> float:
    """``max|a − b| / max(max|a|, max|b|, floor)``: one number per tensor.

    The floor stops a gradient that is zero up to rounding from dividing rounding
    noise by almost nothing.
    """
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b))) / scale


def param_differences(
    model: Model,
    inputs: Mapping[str, Any],
    name: str,
    eps: float = 1e-6,
    start: np.ndarray | None = None,
    picks: np.ndarray | None = None,
) -> np.ndarray:
    """Central differences of the training loss in param `name`, restored afterwards.

    Perturbs `start` (default: the param's current value), only its flat elements
    `picks` when given; the model casts each perturbed value to the param's dtype
    when it is assigned.
    """
    training = model.graph.training
    if training is None or training.loss_node is None:
        raise ValueError(f"graph {model.graph.name!r} has no training loss to differentiate")
    original = model.params[name].copy()

    def loss(value: np.ndarray) -> float:
        model.params[name] = value
        return training_loss(model, inputs)

    try:
        return finite_differences(loss, original if start is None else start, eps, picks)
    finally:
        model.params[name] = original


def training_loss(model: Model, inputs: Mapping[str, Any]) -> float:
    """The training loss on `inputs`: the loss node plus the L1/L2 penalties."""
    training = model.graph.training
    assert training is not None and training.loss_node is not None
    value = model.run(inputs, outputs=(training.loss_node,), training=True)[training.loss_node]
    return float(model.penalty.loss(value, model.params))


def check_gradients(
    graph: Graph | Model,
    inputs: Mapping[str, Any],
    params: Mapping[str, np.ndarray] | None = None,
    *,
    eps: float = 1e-6,
    wrt_inputs: bool = False,
) -> float:
    """Largest relative error between reverse-mode and finite-difference gradients.

    Covers every trainable param (and every float input with `wrt_inputs`) of the
    graph's training loss. The floor of `relative_error` is 1e-3·max(1, |loss|),
    the size below which finite differences are mostly rounding noise.
    """
    model = graph if isinstance(graph, Model) else Model(graph, params)
    loss, grads = model.gradients(inputs, wrt_inputs=wrt_inputs)
    floor = 1e-3 * max(1.0, abs(loss))
    worst = 0.0
    for name, grad in grads.items():
        if name in model.params:
            numeric = param_differences(model, inputs, name, eps)
        else:

            def f(value: np.ndarray, name: str = name) -> float:
                return training_loss(model, {**inputs, name: value})

            numeric = finite_differences(f, np.asarray(inputs[name], dtype=grad.dtype), eps)
        worst = max(worst, relative_error(grad, numeric, floor))
    return worst


def kink_distance(model: Model, inputs: Mapping[str, Any]) -> float:
    """How close the values are to a point where some op is not differentiable.

    Finite differences are meaningless within about eps·(size of the values) of
    such a point (or of the edge of an op's domain: each op's `OpDef.kinks`);
    property tests skip examples closer than a margin.
    """
    kinks = {name: op.kinks for name, op in REGISTRY.items() if op.kinks is not None}
    nodes = [n for n in model.graph.nodes if n.op in kinks]
    if not nodes:
        return np.inf
    names = tuple(dict.fromkeys(name for n in nodes for name in n.inputs))
    values = model.run(inputs, outputs=names, training=True)  # the values gradients see
    return min(kinks[n.op](*(values[i] for i in n.inputs), **n.attr) for n in nodes)


def assert_same_gradients(module: Any, model: Model, inputs: Mapping[str, np.ndarray]) -> None:
    """Assert a module compiled with ``train=True`` gives `model`'s loss and gradients
    bit for bit: same names in the same order, same dtypes and shapes, same values."""
    with np.errstate(all="ignore"):
        want_loss, want = model.gradients(inputs)
        got_loss, got = module.loss_and_gradients(inputs)
    assert np.array_equal(got_loss, want_loss, equal_nan=True), (got_loss, want_loss)
    assert list(got) == list(want), (list(got), list(want))
    for name, value in want.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape, name
        assert np.array_equal(got[name], value, equal_nan=True), name
