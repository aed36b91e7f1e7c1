"""The op table: one row per primitive op, the first of the three test layers.

Each row gives example input shapes (broadcast where the op allows it), attributes, a
sampler for the op's input domain and a reference formula written independently of
`nnspec.ops` (the `math` module or plain NumPy). Every case of every row checks:

- forward == reference, in float64 (tight) and float32 (float32-sized tolerance);
- the output keeps the input dtype and has the shape the op's shape rule predicts;
- the VJP matches central finite differences in float64 and keeps float32 as float32.

After the table: stability at |x| = 1000, the non-differentiable conventions, label
errors, and hypothesis properties on random shapes for broadcasting ops and reductions.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.ir import TensorType, freeze
from nnspec.ops import REGISTRY, get

Shape = tuple[int, ...]
Sampler = Callable[[np.random.Generator, tuple[Shape, ...]], list[Any]]

TOLERANCE = {
    "float64": {"rtol": 1e-12, "atol": 1e-12},
    "float32": {"rtol": 2e-6, "atol": 2e-6},
}
FD_STEP = 1e-5  # samplers keep inputs further than this from every kink and clip point
FD_MAX_RELATIVE_ERROR = 1e-6


# ---------------------------------------------------------------------------
# Input-domain samplers: (rng, input shapes) -> one array per input.


def _each(draw: Callable[[np.random.Generator, Shape], Any]) -> Sampler:
    return lambda rng, shapes: [draw(rng, shape) for shape in shapes]


def _off_zero(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """|x| in [0.1, 2]: central differences never step across a kink at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


NORMAL = _each(lambda rng, shape: rng.normal(0.0, 1.5, size=shape))
POSITIVE = _each(lambda rng, shape: rng.uniform(0.2, 3.0, size=shape))
OFF_ZERO = _each(_off_zero)


def _div_domain(rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[Any]:
    a_shape, b_shape = shapes
    b = rng.choice([-1.0, 1.0], size=b_shape) * rng.uniform(0.5, 2.0, size=b_shape)
    return [rng.normal(size=a_shape), b]


def _pow_domain(rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[Any]:
    a_shape, b_shape = shapes
    return [rng.uniform(0.5, 2.0, size=a_shape), rng.uniform(-1.5, 1.5, size=b_shape)]


def _interleaved(rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[Any]:
    """a on the grid 0.5·k and b on 0.5·k + 0.25 (± 0.05): |a − b| >= 0.15, never a tie."""
    a_shape, b_shape = shapes
    a = 0.5 * rng.integers(-4, 5, size=a_shape) + rng.uniform(-0.05, 0.05, size=a_shape)
    b = 0.5 * rng.integers(-4, 5, size=b_shape) + 0.25 + rng.uniform(-0.05, 0.05, size=b_shape)
    return [a, b]


def _distinct(rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[Any]:
    """Values at least 0.2 apart, so every reduced group has one clear maximum."""
    (shape,) = shapes
    n = math.prod(shape)
    values = rng.permutation(n) * 0.25 + rng.uniform(0.0, 0.05, size=n) - n * 0.125
    return [values.reshape(shape)]


def _bce_domain(*, logits: bool, hard: bool = False) -> Sampler:
    """Logits, or probabilities in (0.05, 0.95); soft targets in [0, 1] or hard 0/1."""

    def sample(rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[Any]:
        pred_shape, target_shape = shapes
        pred = rng.normal(0.0, 2.0, pred_shape) if logits else rng.uniform(0.05, 0.95, pred_shape)
        target = rng.integers(0, 2, target_shape) * 1.0 if hard else rng.uniform(0, 1, target_shape)
        return [pred, target]

    return sample


def _ce_domain(*, logits: bool, target: str) -> Sampler:
    """Logits or probabilities in (0.05, 0.95); integer labels (`target` is their dtype)
    or their one-hot rows (`target` == "one-hot")."""

    def sample(rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[Any]:
        pred_shape, _ = shapes
        pred = rng.normal(0.0, 2.0, pred_shape) if logits else rng.uniform(0.05, 0.95, pred_shape)
        classes = pred_shape[-1]
        labels = rng.integers(0, classes, size=pred_shape[:-1])
        if target == "one-hot":
            return [pred, np.eye(classes)[labels]]
        return [pred, labels.astype(target)]

    return sample


# ---------------------------------------------------------------------------
# Reference formulas. They take float64 arrays (labels stay integer) and the op's
# attributes, and share no code with nnspec.ops.


def _math(fn: Callable[..., float]) -> Callable[..., np.ndarray]:
    """An elementwise reference from a scalar `math` formula (broadcasting inputs)."""

    def ref(*xs: np.ndarray, **attrs: Any) -> np.ndarray:
        return np.vectorize(lambda *v: fn(*v, **attrs), otypes=[float])(*xs)

    return ref


def _sign(v: float) -> float:
    return 0.0 if v == 0 else math.copysign(1.0, v)


def _reduce_ref(fn: Callable[[list[float]], float]) -> Callable[..., np.ndarray]:
    """Apply `fn` to each reduced group, gathered one output position at a time."""

    def ref(x: np.ndarray, *, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        if axis is None:
            axes = set(range(x.ndim))
        else:
            axes = {a % x.ndim for a in ([axis] if isinstance(axis, int) else axis)}
        out = np.empty(tuple(1 if a in axes else d for a, d in enumerate(x.shape)))
        for index in np.ndindex(*out.shape):
            group = tuple(slice(None) if a in axes else i for a, i in enumerate(index))
            out[index] = fn(x[group].ravel().tolist())
        if keepdims:
            return out
        return out.reshape(tuple(d for a, d in enumerate(x.shape) if a not in axes))

    return ref


def _softmax_ref(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    e = np.exp(x)  # unshifted: the table's inputs are small
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_ref(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def _concat_ref(*xs: np.ndarray, axis: int = -1) -> np.ndarray:
    axis %= xs[0].ndim
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    out = np.empty(shape)
    start = 0
    for x in xs:
        where = [slice(None)] * x.ndim
        where[axis] = slice(start, start + x.shape[axis])
        out[tuple(where)] = x
        start += x.shape[axis]
    return out


def _mse_ref(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    squares = [(p - t) ** 2 for p, t in zip(pred.ravel(), target.ravel(), strict=True)]
    return np.array(math.fsum(squares) / len(squares))


def _bce_ref(pred: np.ndarray, target: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    terms = []
    for z, t in zip(pred.ravel(), target.ravel(), strict=True):
        p = 1.0 / (1.0 + math.exp(-z)) if from_logits else z
        terms.append(t * math.log(p) + (1.0 - t) * math.log(1.0 - p))
    return np.array(-math.fsum(terms) / len(terms))


def _ce_ref(pred: np.ndarray, target: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    classes = pred.shape[-1]
    rows = pred.reshape(-1, classes)
    if target.dtype.kind in "iu":
        targets = np.eye(classes)[target.ravel()]
    else:
        targets = target.reshape(-1, classes)
    total = 0.0
    for scores, t in zip(rows, targets, strict=True):
        if from_logits:
            log_norm = math.log(math.fsum(math.exp(s) for s in scores))
            log_p = [s - log_norm for s in scores]
        else:
            log_p = [math.log(p) for p in scores]
        total -= math.fsum(ti * lp for ti, lp in zip(t, log_p, strict=True))
    return np.array(total / len(rows))


# ---------------------------------------------------------------------------
# The table.


@dataclass(frozen=True)
class Case:
    """One way of calling an op: input shapes, attributes, domain and reference."""

    shapes: tuple[Shape, ...]
    ref: Callable[..., np.ndarray]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    sample: Sampler = NORMAL
    name: str = ""

    def label(self) -> str:
        if self.name:
            return self.name
        shapes = "+".join("x".join(map(str, s)) or "scalar" for s in self.shapes)
        attrs = ",".join(f"{k}={v}" for k, v in self.attrs.items())
        return f"{shapes}{'-' + attrs if attrs else ''}"


@dataclass(frozen=True)
class Row:
    op: str
    cases: tuple[Case, ...]


def _unary(op: str, fn: Callable[..., float], sample: Sampler = NORMAL, *attrs: dict) -> Row:
    """An elementwise row: one case per attribute set (defaults when none given), plus a
    0-d input, where NumPy's scalar casting rules are easiest to get wrong."""
    cases = [Case(((2, 3),), _math(fn), a, sample) for a in attrs or ({},)]
    return Row(op, (*cases, Case(((),), _math(fn), {}, sample)))


BROADCAST = (((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((), ()))


def _binary(op: str, fn: Callable[[float, float], float], sample: Sampler = NORMAL) -> Row:
    return Row(op, tuple(Case(shapes, _math(fn), {}, sample) for shapes in BROADCAST))


REDUCE_ATTRS = (
    {},
    {"axis": -1},
    {"axis": 1},
    {"axis": [0, 2], "keepdims": True},
    {"keepdims": True},
)


def _reduction(op: str, fn: Callable[[list[float]], float], sample: Sampler = NORMAL) -> Row:
    return Row(op, tuple(Case(((2, 3, 4),), _reduce_ref(fn), a, sample) for a in REDUCE_ATTRS))


def _normaliser(op: str, ref: Callable[..., np.ndarray]) -> Row:
    return Row(op, (Case(((2, 4),), ref), Case(((3, 2, 4),), ref, {"axis": 0})))


def _gelu(v: float) -> float:
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))


# integer labels of either dtype (with an extra axis for the int32 case), or one-hot rows
CE_TARGETS = (
    ("int64", ((4, 3), (4,))),
    ("int32", ((2, 3, 4), (2, 3))),
    ("one-hot", ((4, 3), (4, 3))),
)

TABLE: tuple[Row, ...] = (
    # elementwise
    _unary("identity", lambda v: v),
    _unary("neg", lambda v: -v),
    _unary("abs", abs, OFF_ZERO),
    _unary("sign", _sign, OFF_ZERO),
    _unary("exp", math.exp),
    _unary("log", math.log, POSITIVE),
    _unary("sqrt", math.sqrt, POSITIVE),
    _unary("square", lambda v: v * v),
    _unary("sin", math.sin),
    _unary("cos", math.cos),
    _unary("sigmoid", lambda v: 1.0 / (1.0 + math.exp(-v))),
    _unary("tanh", math.tanh),
    _unary("relu", lambda v: max(v, 0.0), OFF_ZERO),
    # default alpha is the lecture's max(0.1x, x)
    _unary(
        "leaky_relu", lambda v, alpha=0.1: v if v > 0 else alpha * v, OFF_ZERO, {}, {"alpha": 0.25}
    ),
    _unary(
        "elu",
        lambda v, alpha=1.0: v if v > 0 else alpha * (math.exp(v) - 1),
        OFF_ZERO,
        {},
        {"alpha": 0.5},
    ),
    _unary("softplus", lambda v: math.log1p(math.exp(v))),
    _unary("gelu", _gelu),
    _unary("erf", math.erf),
    _unary("silu", lambda v: v / (1.0 + math.exp(-v))),
    # inference: the identity, whatever the rate (training: tests/ops/test_training_rules.py)
    _unary("dropout", lambda v, **attrs: v, NORMAL, {}, {"rate": 0.25, "seed": 3}),
    _unary(
        "hard_sigmoid",
        lambda v, alpha=0.2, beta=0.5: max(0.0, min(1.0, alpha * v + beta)),
        _each(  # saturated and linear points, >= 0.45 from the kinks of both attribute sets
            lambda rng, shape: (
                rng.choice([-4.0, -1.0, 0.3, 1.0, 4.0], size=shape)
                + rng.uniform(-0.05, 0.05, size=shape)
            )
        ),
        {},
        {"alpha": 0.5, "beta": 0.25},
    ),
    # binary, broadcasting
    _binary("add", lambda a, b: a + b),
    _binary("sub", lambda a, b: a - b),
    _binary("mul", lambda a, b: a * b),
    _binary("div", lambda a, b: a / b, _div_domain),
    _binary("pow", math.pow, _pow_domain),
    _binary("maximum", max, _interleaved),
    _binary("minimum", min, _interleaved),
    # linalg
    Row(
        "matmul",
        tuple(
            Case(shapes, lambda a, b: np.einsum("...ij,...jk->...ik", a, b))
            for shapes in (((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)))
        ),
    ),
    # reductions and normalisers
    _reduction("sum", math.fsum),
    _reduction("mean", lambda g: math.fsum(g) / len(g)),
    _reduction("max", max, _distinct),
    _normaliser("softmax", _softmax_ref),
    _normaliser("log_softmax", _log_softmax_ref),
    # shape
    Row(
        "reshape",
        (
            Case(((2, 3, 4),), lambda x, shape: x.reshape(2, 12), {"shape": [0, -1]}),
            Case(((2, 3, 4),), lambda x, shape: x.reshape(4, 3, 2), {"shape": [4, 0, 2]}),
            Case(((2, 3, 4),), lambda x, shape: np.array(x.ravel().tolist()), {"shape": [-1]}),
        ),
    ),
    Row(
        "transpose",
        (
            Case(((2, 3, 4),), lambda x: np.einsum("ijk->kji", x)),
            Case(((2, 3, 4),), lambda x, perm: np.einsum("ijk->jik", x), {"perm": [1, 0, 2]}),
        ),
    ),
    Row(
        "concat",
        (
            Case(((2, 1, 3), (2, 2, 3), (2, 3, 3)), _concat_ref, {"axis": 1}),
            Case(((2, 3), (2, 1)), _concat_ref),
            Case(((1, 3), (2, 3)), _concat_ref, {"axis": -2}),
        ),
    ),
    # losses
    Row("mse", (Case(((4, 3), (4, 3)), _mse_ref),)),
    Row(
        "binary_cross_entropy",
        (
            Case(((4, 3), (4, 3)), _bce_ref, {}, _bce_domain(logits=False), "probs-soft"),
            Case(
                ((4, 1), (4, 1)), _bce_ref, {}, _bce_domain(logits=False, hard=True), "probs-hard"
            ),
            Case(
                ((4, 3), (4, 3)),
                _bce_ref,
                {"from_logits": False},
                _bce_domain(logits=False),
                "probs-explicit",
            ),
            Case(
                ((4, 3), (4, 3)),
                _bce_ref,
                {"from_logits": True},
                _bce_domain(logits=True),
                "logits-soft",
            ),
            Case(
                ((4, 1), (4, 1)),
                _bce_ref,
                {"from_logits": True},
                _bce_domain(logits=True, hard=True),
                "logits-hard",
            ),
        ),
    ),
    Row(
        "cross_entropy",
        tuple(
            Case(
                shapes,
                _ce_ref,
                {"from_logits": logits},
                _ce_domain(logits=logits, target=target),
                f"{'logits' if logits else 'probs'}-{target}",
            )
            for logits in (False, True)
            for target, shapes in CE_TARGETS
        ),
    ),
)

ROWS = {row.op: row for row in TABLE}
CASES = [
    pytest.param(row.op, case, id=f"{row.op}-{case.label()}") for row in TABLE for case in row.cases
]
DTYPES = ("float64", "float32")


def test_the_table_has_one_row_per_registered_op() -> None:
    names = [row.op for row in TABLE]
    assert len(names) == len(set(names)), "an op has two rows"
    assert set(names) == set(REGISTRY)


@pytest.mark.parametrize("row", TABLE, ids=[row.op for row in TABLE])
def test_row_attrs_are_the_ops_own(row: Row) -> None:
    opdef = get(row.op)
    for case in row.cases:
        assert set(case.attrs) <= set(opdef.attrs), case.label()
        assert set(opdef.required) <= set(case.attrs), case.label()
        if not opdef.variadic:
            assert len(case.shapes) == len(opdef.inputs), case.label()


# ---------------------------------------------------------------------------
# Helpers shared by the table tests.


def _inputs(case: Case, dtype: str, seed: int | None = None) -> list[np.ndarray]:
    """The case's sampled inputs: floats cast to `dtype`, integer labels unchanged."""
    if seed is None:
        seed = zlib.crc32(case.label().encode())
    raw = case.sample(np.random.default_rng(seed), case.shapes)
    xs = [np.array(x) for x in raw]
    return [x.astype(dtype) if x.dtype.kind == "f" else x for x in xs]


def _as64(xs: list[np.ndarray]) -> list[np.ndarray]:
    return [x.astype(np.float64) if x.dtype.kind == "f" else x for x in xs]


def _types(xs: list[np.ndarray]) -> tuple[TensorType, ...]:
    return tuple(TensorType(x.shape, x.dtype.name) for x in xs)


def unbroadcast(grad: Any, shape: Shape) -> np.ndarray:
    """Sum a cotangent in the broadcast shape back to an input of `shape`."""
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    assert extra >= 0, f"cotangent {grad.shape} has fewer axes than input {shape}"
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, d in enumerate(shape) if d == 1 and grad.shape[i] != 1)
    grad = grad.sum(axis=stretched, keepdims=True)
    assert grad.shape == shape, f"cotangent does not un-broadcast to the input shape {shape}"
    return grad


def numeric_vjp(f: Callable[..., Any], xs: list[np.ndarray], i: int, dy: np.ndarray) -> np.ndarray:
    """dy · ∂f/∂xs[i] by central differences, one element of xs[i] at a time."""
    grad = np.zeros(xs[i].shape)
    for index in np.ndindex(*xs[i].shape):

        def at(step: float, index: tuple = index) -> float:
            moved = xs[i].copy()
            moved[index] += step
            args = [*xs[:i], moved, *xs[i + 1 :]]
            return float(np.sum(dy * f(*args)))

        grad[index] = (at(FD_STEP) - at(-FD_STEP)) / (2 * FD_STEP)
    return grad


def assert_vjp_matches_finite_differences(
    op: str, xs: list[np.ndarray], attrs: Mapping[str, Any], rng: np.random.Generator
) -> None:
    opdef = get(op)
    if opdef.vjp is None:
        assert opdef.gradient == "none", f"{op} has no VJP but claims gradient {opdef.gradient!r}"
        return
    out = opdef.forward(*xs, **attrs)
    dy = rng.normal(size=np.shape(out))
    grads = opdef.vjp(dy, *xs, out=out, **attrs)
    assert isinstance(grads, tuple) and len(grads) == len(xs)
    for i, (x, grad) in enumerate(zip(xs, grads, strict=True)):
        if opdef.gradient == "none" or x.dtype.kind != "f":
            assert grad is None, f"{op}: non-float input {i} got a cotangent"
            continue
        assert grad is not None, f"{op}: float input {i} has no cotangent"
        analytic = unbroadcast(grad, x.shape)
        if opdef.gradient == "zero":
            assert not np.any(analytic), f"{op} is declared zero-gradient"
            continue
        numeric = numeric_vjp(lambda *a: opdef.forward(*a, **attrs), xs, i, dy)
        scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric), 1e-12)
        error = np.linalg.norm(analytic - numeric) / scale
        assert error < FD_MAX_RELATIVE_ERROR, f"{op} input {i}: relative error {error:.2e}"


# ---------------------------------------------------------------------------
# Table tests.


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "case"), CASES)
def test_forward_matches_reference(op: str, case: Case, dtype: str) -> None:
    xs = _inputs(case, dtype)
    out = np.asarray(get(op).forward(*xs, **case.attrs))
    expected = case.ref(*_as64(xs), **case.attrs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.astype(np.float64), expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "case"), CASES)
def test_forward_keeps_dtype_and_follows_the_shape_rule(op: str, case: Case, dtype: str) -> None:
    opdef = get(op)
    xs = _inputs(case, dtype)
    out = np.asarray(opdef.forward(*xs, **case.attrs))
    assert out.dtype == np.dtype(dtype), f"{op} turned {dtype} into {out.dtype}"
    assert opdef.shape(_types(xs), **case.attrs) == TensorType(out.shape, dtype)


@pytest.mark.parametrize(("op", "case"), CASES)
def test_vjp_matches_finite_differences(op: str, case: Case) -> None:
    xs = _inputs(case, "float64")
    assert_vjp_matches_finite_differences(op, xs, case.attrs, np.random.default_rng(1))


@pytest.mark.parametrize(("op", "case"), CASES)
def test_vjp_keeps_float32(op: str, case: Case) -> None:
    opdef = get(op)
    xs = _inputs(case, "float32")
    out = opdef.forward(*xs, **case.attrs)
    dy = np.random.default_rng(2).normal(size=np.shape(out))
    grads = opdef.vjp(dy.astype(np.float32), *xs, out=out, **case.attrs)
    xs64 = _as64(xs)
    grads64 = opdef.vjp(dy, *xs64, out=opdef.forward(*xs64, **case.attrs), **case.attrs)
    for x, grad, grad64 in zip(xs, grads, grads64, strict=True):
        if grad is None:
            continue
        assert np.asarray(grad).dtype == np.float32, f"{op} cotangent is {np.asarray(grad).dtype}"
        got, want = unbroadcast(grad, x.shape), unbroadcast(grad64, x.shape)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize(("op", "case"), CASES)
def test_rules_leave_their_arguments_untouched(op: str, case: Case) -> None:
    opdef = get(op)
    xs = _inputs(case, "float64")
    kept = [x.copy() for x in xs]
    out = np.asarray(opdef.forward(*xs, **case.attrs))
    dy = np.ones_like(out)
    out_kept = out.copy()
    opdef.vjp(dy, *xs, out=out, **case.attrs)
    for x, x0 in zip(xs, kept, strict=True):
        np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(out, out_kept)
    np.testing.assert_array_equal(dy, np.ones_like(out))


@pytest.mark.parametrize(("op", "case"), CASES)
def test_rules_accept_attrs_as_frozen_by_the_ir(op: str, case: Case) -> None:
    """`ir.Node.attr` hands list attributes over as tuples; the rules must not care."""
    opdef = get(op)
    frozen = {name: freeze(value) for name, value in case.attrs.items()}
    xs = _inputs(case, "float64")
    assert opdef.shape(_types(xs), **frozen) == opdef.shape(_types(xs), **case.attrs)
    out = opdef.forward(*xs, **frozen)
    np.testing.assert_array_equal(out, opdef.forward(*xs, **case.attrs))
    dy = np.ones_like(np.asarray(out))
    for got, want in zip(
        opdef.vjp(dy, *xs, out=out, **frozen),
        opdef.vjp(dy, *xs, out=out, **case.attrs),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("row", TABLE, ids=[row.op for row in TABLE])
def test_the_ops_example_attrs_fit_its_first_case(row: Row) -> None:
    """`OpDef.example` feeds docs and generated tests; it must work on ordinary input."""
    opdef = get(row.op)
    case = row.cases[0]
    attrs = {**opdef.defaults(), **case.attrs, **opdef.example}
    xs = _inputs(case, "float32")
    out = np.asarray(opdef.forward(*xs, **attrs))
    assert opdef.shape(_types(xs), **attrs) == TensorType(out.shape, "float32")


# ---------------------------------------------------------------------------
# Stability: finite, correct values far from zero, with no floating-point warnings.

e1 = math.exp(-1.0)
STABLE = [
    # op, attrs, inputs, expected output, expected cotangents for dy = 1 (None: only finite)
    ("sigmoid", {}, [[1000.0, -1000.0, 0.0]], [1.0, 0.0, 0.5], [[0.0, 0.0, 0.25]]),
    ("softplus", {}, [[1000.0, -1000.0, 0.0]], [1000.0, 0.0, math.log(2)], [[1.0, 0.0, 0.5]]),
    ("silu", {}, [[1000.0, -1000.0]], [1000.0, 0.0], [[1.0, 0.0]]),
    (
        "softmax",
        {},
        [[[1000.0, 999.0, -1000.0]]],
        [[1 / (1 + e1), e1 / (1 + e1), 0.0]],
        [[[0.0, 0.0, 0.0]]],
    ),
    (
        "log_softmax",
        {},
        [[[1000.0, 999.0, -1000.0]]],
        [[-math.log1p(e1), -1 - math.log1p(e1), -2000 - math.log1p(e1)]],
        [[[1 - 3 / (1 + e1), 1 - 3 * e1 / (1 + e1), 1.0]]],
    ),
    (
        "binary_cross_entropy",
        {"from_logits": True},
        [[1000.0, -1000.0, 1000.0, -1000.0], [1.0, 0.0, 0.0, 1.0]],
        500.0,
        [[0.0, 0.0, 0.25, -0.25], [-250.0, 250.0, -250.0, 250.0]],
    ),
    (
        "cross_entropy",
        {"from_logits": True},
        [[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], np.array([0, 0])],
        1000.0,
        [[[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], None],
    ),
    (
        "cross_entropy",
        {"from_logits": True},
        [[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]],
        1000.0,
        [[[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], [[0.0, 1000.0, 500.0], [1000.0, 0.0, 500.0]]],
    ),
]


@contextlib.contextmanager
def _no_floating_point_warnings() -> Iterator[None]:
    """Overflow, division by zero and invalid operations raise; underflow to 0 is fine."""
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        yield


def _typed(values: list[Any], dtype: str) -> list[np.ndarray]:
    arrays = [np.asarray(v) for v in values]
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("op", "attrs", "inputs", "expected", "grads"),
    STABLE,
    ids=[
        "sigmoid",
        "softplus",
        "silu",
        "softmax",
        "log_softmax",
        "bce-logits",
        "ce-logits-labels",
        "ce-logits-one-hot",
    ],
)
def test_stable_at_large_magnitudes(
    op: str, attrs: dict, inputs: list, expected: Any, grads: list, dtype: str
) -> None:
    opdef = get(op)
    xs = _typed(inputs, dtype)
    with _no_floating_point_warnings():
        out = np.asarray(opdef.forward(*xs, **attrs))
        cotangents = opdef.vjp(np.ones_like(out), *xs, out=out, **attrs)
    assert out.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    for grad, want in zip(cotangents, grads, strict=True):
        if want is None:
            assert grad is None
            continue
        assert np.asarray(grad).dtype == np.dtype(dtype)
        np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-6)


SATURATED = [
    # p exactly 0 or 1, right and wrong
    ("binary_cross_entropy", [[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]]),
    ("cross_entropy", [[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.array([1, 1])]),
    ("cross_entropy", [[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "inputs"), SATURATED, ids=["bce", "ce-labels", "ce-one-hot"])
def test_losses_from_saturated_probabilities_are_finite(op: str, inputs: list, dtype: str) -> None:
    opdef = get(op)
    xs = _typed(inputs, dtype)
    with _no_floating_point_warnings():
        loss = np.asarray(opdef.forward(*xs))
        cotangents = opdef.vjp(np.ones_like(loss), *xs, out=loss)
    assert loss.dtype == np.dtype(dtype)
    # a confidently wrong prediction costs a large but finite loss
    assert np.isfinite(loss) and loss > 5.0
    for grad in cotangents:
        assert grad is None or np.all(np.isfinite(grad))


# ---------------------------------------------------------------------------
# Conventions at non-differentiable points, asserted exactly.


def _vjp(op: str, *xs: Any, dy: Any = None, **attrs: Any) -> tuple:
    arrays = [np.asarray(x, dtype=np.float64) for x in xs]
    out = get(op).forward(*arrays, **attrs)
    dy = np.ones_like(out) if dy is None else np.asarray(dy, dtype=np.float64)
    return get(op).vjp(dy, *arrays, out=out, **attrs)


def test_relu_derivative_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(_vjp("relu", [-1.0, 0.0, 2.0])[0], [0.0, 0.0, 1.0])


def test_abs_derivative_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(_vjp("abs", [-1.0, 0.0, 2.0])[0], [-1.0, 0.0, 1.0])


def test_sign_gradient_is_zero_everywhere() -> None:
    assert get("sign").gradient == "zero"
    np.testing.assert_array_equal(_vjp("sign", [-1.0, 0.0, 2.0], dy=[5.0, 5.0, 5.0])[0], [0, 0, 0])


@pytest.mark.parametrize(
    ("op", "attrs", "slope"), [("leaky_relu", {"alpha": 0.25}, 0.25), ("elu", {"alpha": 0.5}, 0.5)]
)
def test_derivative_at_zero_is_alpha(op: str, attrs: dict, slope: float) -> None:
    np.testing.assert_array_equal(_vjp(op, [0.0], **attrs)[0], [slope])


def test_max_sends_a_tie_to_the_first_maximal_element() -> None:
    np.testing.assert_array_equal(_vjp("max", [[1.0, 3.0, 3.0, 2.0]], axis=-1)[0], [[0, 1, 0, 0]])
    np.testing.assert_array_equal(_vjp("max", [[3.0, 1.0], [2.0, 3.0]])[0], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(
        _vjp("max", [[3.0, 1.0], [3.0, 1.0]], axis=0)[0], [[1, 1], [0, 0]]
    )
    x = np.zeros((2, 2, 2))
    grad = _vjp("max", x, axis=[0, 2], keepdims=True, dy=[[[2.0], [3.0]]])[0]
    np.testing.assert_array_equal(grad, [[[2, 0], [3, 0]], [[0, 0], [0, 0]]])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_elementwise_max_and_min_send_ties_to_a(op: str) -> None:
    da, db = _vjp(op, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], dy=[4.0, 5.0, 6.0])
    np.testing.assert_array_equal(da, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(db, [0.0, 0.0, 0.0])
    da, db = _vjp(op, [[2.0], [2.0]], [2.0, 2.0])  # ties under broadcasting
    np.testing.assert_array_equal(unbroadcast(da, (2, 1)), [[2.0], [2.0]])
    np.testing.assert_array_equal(unbroadcast(db, (2,)), [0.0, 0.0])


def test_pow_exponent_gradient_is_zero_for_a_non_positive_base() -> None:
    _, db = _vjp("pow", [0.0, -2.0, 2.0], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(db[:2], [0.0, 0.0])
    assert db[2] == pytest.approx(4.0 * math.log(2.0))


# ---------------------------------------------------------------------------
# Label errors.


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label", [3, 7, -1])
def test_cross_entropy_rejects_an_out_of_range_label(label: int, from_logits: bool) -> None:
    opdef = get("cross_entropy")
    pred = np.full((3, 3), 1 / 3)
    labels = np.array([0, label, 2])
    with pytest.raises(ValueError, match=rf"label {label}\b"):
        opdef.forward(pred, labels, from_logits=from_logits)
    with pytest.raises(ValueError, match=rf"label {label}\b"):
        opdef.vjp(np.float64(1.0), pred, labels, out=np.float64(1.0), from_logits=from_logits)


# ---------------------------------------------------------------------------
# Properties on random shapes and values.

BINARY = ("add", "sub", "mul", "div", "pow", "maximum", "minimum")


@settings(deadline=None)  # examples: the active profile
@given(
    op=st.sampled_from(BINARY),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_ops_on_random_broadcast_shapes(op: str, shapes: Any, seed: int) -> None:
    case = ROWS[op].cases[0]
    xs = [
        np.array(x, dtype=np.float64)
        for x in case.sample(np.random.default_rng(seed), shapes.input_shapes)
    ]
    out = np.asarray(get(op).forward(*xs))
    assert out.shape == shapes.result_shape
    assert get(op).shape(_types(xs)) == TensorType(out.shape, "float64")
    np.testing.assert_allclose(out, case.ref(*xs), **TOLERANCE["float64"])
    assert_vjp_matches_finite_differences(op, xs, {}, np.random.default_rng(seed))


@st.composite
def _reduction_cases(draw: st.DrawFn) -> tuple[Shape, dict]:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    rank = len(shape)
    axis = draw(
        st.none()
        | st.integers(-rank, rank - 1)
        | st.lists(
            st.integers(-rank, rank - 1), min_size=1, max_size=rank, unique_by=lambda a: a % rank
        )
    )
    return shape, {"axis": axis, "keepdims": draw(st.booleans())}


@settings(deadline=None)  # examples: the active profile
@given(
    op=st.sampled_from(("sum", "mean", "max")),
    case=_reduction_cases(),
    seed=st.integers(0, 2**32 - 1),
)
def test_reductions_over_random_axes(op: str, case: tuple[Shape, dict], seed: int) -> None:
    shape, attrs = case
    row_case = ROWS[op].cases[0]
    (x,) = [np.array(v, dtype=np.float64) for v in _distinct(np.random.default_rng(seed), (shape,))]
    out = np.asarray(get(op).forward(x, **attrs))
    assert get(op).shape(_types([x]), **attrs) == TensorType(out.shape, "float64")
    np.testing.assert_allclose(out, row_case.ref(x, **attrs), **TOLERANCE["float64"])
    assert_vjp_matches_finite_differences(op, [x], attrs, np.random.default_rng(seed))


def _first_max_mask(x: np.ndarray, axis: Any) -> np.ndarray:
    """1 at the first maximal element (row-major within each reduced group), else 0."""
    axes = (
        set(range(x.ndim))
        if axis is None
        else {a % x.ndim for a in ([axis] if isinstance(axis, int) else axis)}
    )
    mask = np.zeros(x.shape)
    for index in np.ndindex(*(1 if a in axes else d for a, d in enumerate(x.shape))):
        group = tuple(slice(None) if a in axes else i for a, i in enumerate(index))
        positions = list(np.ndindex(*x[group].shape))
        values = x[group].ravel().tolist()
        first = positions[values.index(max(values))]
        sub = mask[group]
        sub[first] = 1.0
    return mask


@settings(deadline=None)  # examples: the active profile
@given(case=_reduction_cases(), seed=st.integers(0, 2**32 - 1))
def test_max_gradient_goes_to_the_first_maximum_under_ties(
    case: tuple[Shape, dict], seed: int
) -> None:
    shape, attrs = case
    x = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)  # many ties
    out = get("max").forward(x, **attrs)
    (grad,) = get("max").vjp(np.ones_like(out), x, out=out, **attrs)
    np.testing.assert_array_equal(grad, _first_max_mask(x, attrs["axis"]))


# ---------------------------------------------------------------------------
# Facts on `OpDef` the engines rely on, checked on every case of the table.


@pytest.mark.parametrize(("op", "case"), CASES)
def test_declared_gradient_shapes_are_the_vjps(op: str, case: Case) -> None:
    """`OpDef.grad_shapes` (what the generator un-broadcasts by) is what the VJP returns."""
    opdef = get(op)
    if opdef.vjp is None:
        return
    xs = _inputs(case, "float64")
    out = np.asarray(opdef.forward(*xs, **case.attrs))
    grads = opdef.vjp(np.ones_like(out), *xs, out=out, **case.attrs)
    declared = opdef.grad_shapes(TensorType(out.shape, "float64"), _types(xs))
    for k, (grad, shape) in enumerate(zip(grads, declared, strict=True)):
        if grad is not None and shape is not None:
            assert np.shape(grad) == tuple(shape), (op, k)


@pytest.mark.parametrize(("op", "case"), CASES)
def test_declared_memory_facts_hold(op: str, case: Case) -> None:
    """A `view` op may share memory with its input; every other op never does, and an
    op with an `inplace` form computes exactly its forward into a dead input."""
    opdef = get(op)
    xs = [np.ascontiguousarray(x) for x in _inputs(case, "float64")]
    out = np.asarray(opdef.forward(*xs, **case.attrs))
    shares = any(np.shares_memory(out, x) for x in xs)
    assert shares == opdef.view or (opdef.view and out.size == 0), op
    if opdef.inplace is not None and not case.attrs and out.shape == xs[0].shape:
        with np.errstate(all="ignore"):
            copy = xs[0].copy()
            got = opdef.inplace(copy, *xs[1:], out=copy)
        assert got is copy and got.tobytes() == out.tobytes(), op


@pytest.mark.parametrize(("op", "case"), CASES)
def test_declared_kinks_are_finite_and_positive_off_the_kink(op: str, case: Case) -> None:
    """The table samples away from kinks, so an op's kink distance there is positive."""
    opdef = get(op)
    if opdef.kinks is None:
        return
    xs = _inputs(case, "float64")
    assert opdef.kinks(*xs, **case.attrs) > 0, op
