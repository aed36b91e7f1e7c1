"""What an op is: `OpDef`, the one place that holds everything about a primitive.

Rule signatures are uniform (arrays positional, attributes keyword-only):

- ``shape(types, **attrs) -> TensorType`` raises `ShapeError` with a code;
- ``forward(*xs, **attrs) -> ndarray``;
- ``vjp(dy, *xs, out, **attrs) -> tuple`` with one entry per input, ``None`` for
  "no gradient". VJPs return cotangents in the *broadcast* shape; the interpreter
  alone un-broadcasts and sums fan-out.

The code generator renders the Jinja macro named `macro` from
``codegen/templates/ops/<family>.j2``; it is the textual twin of `forward`.

An op that behaves differently while training (dropout) also has a `TrainingRule`:
``forward`` is then its inference behaviour, and the rule its training one.

Every other fact about an op sits on its `OpDef` too, grouped below: how the
engines may run it (ufunc, in place, view), what its reverse pass reads, which
codegen helpers its macros call, what tests need (kinks, domain, bounds), and its
ONNX twin. Every table the interpreter, the code generator, ONNX export and import,
the tests and the strategies use is derived from `nnspec.ops.REGISTRY`;
`tests/ops/test_op_facts.py` fails when an op lacks a fact or a fact is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from nnspec.errors import ShapeError
from nnspec.ir import Dim, TensorType

Reads = Literal["values", "shapes", "other"]
"""What an op's VJP reads of its inputs: their ``values``; only their ``shapes`` (and
dtypes); or, for a two-input op, only the ``other`` input's value for each wanted
gradient (matmul: da = dy @ b.T reads b, db = a.T @ dy reads a)."""

Domain = Literal["real", "positive", "small"]
"""Where an input must lie for random graphs to stay finite: anywhere, >= 0.5, or
|x| <= 4 (so that e^x is far from float32 overflow)."""

Positive = Literal["", "always", "if_inputs"]
"""Whether an op's output is known to be > 0: ``always`` (on its input domain, e.g. exp,
sigmoid, a^b for a > 0), ``if_inputs`` (when every input is, e.g. sqrt, add), or not
known (""). Random graphs feed such values to log, sqrt, div and pow unshifted."""

Gradient = Literal["exact", "zero", "none"]
"""``exact``: a true VJP; ``zero``: derivative is zero almost everywhere (steps such as
sign); ``none``: not differentiable with respect to its inputs at all."""


OnnxRule = Literal[
    "node", "twice", "gated", "axes_input", "axis", "shape_input", "perm", "ratio_input"
]
"""How `nnspec.onnx.exporter` writes an op (it has one rule per name): ``node``, one
ONNX node on the op's inputs; ``twice``, one node given x twice (x² = Mul(x, x));
``gated``, x times ``op_type(x)`` (silu = Mul(x, Sigmoid(x))); ``axes_input``, a
reduction with `axis` as an int64 ``axes`` input and ``keepdims`` written out;
``axis``, `axis` as an int attribute; ``shape_input``, `shape` as an int64 input
(Reshape, allowzero=0); ``perm``, `perm` written out (its default reversed);
``ratio_input``, `rate` as the float ``ratio`` input and no ``training_mode`` input
(Dropout in inference mode, the identity), `seed` as an attribute when set."""


@dataclass(frozen=True)
class OnnxMapping:
    """An op's twin in ONNX at the exporter's opset, as data (`ops` never imports onnx).

    Export writes every attribute explicitly; import of a ``node``-rule elementwise op
    reads each of `attrs` with ONNX's default, which may differ from nnspec's (ONNX
    LeakyRelu's alpha is 0.01, nnspec's 0.1)."""

    op_type: str
    rule: OnnxRule = "node"
    attrs: Mapping[str, float] = field(default_factory=dict)  # float attr -> ONNX's default
    fixed: Mapping[str, Any] = field(default_factory=dict)  # constant ONNX attributes


@dataclass(frozen=True)
class TrainingRule:
    """What an op computes while training instead of `OpDef.forward` (dropout's mask).

    Each training step the engines draw the op's *noise* once, from a generator seeded
    by `nnspec.autodiff.noise_generator` (the same in the interpreter and the compiled
    ``--train`` module), then apply it; the VJP reads that noise, so the gradient uses
    the very mask the forward pass did:

    - ``noise(x, rng, **attrs) -> ndarray`` (x's shape and dtype);
    - ``apply(x, noise, **attrs) -> ndarray``, the training output;
    - ``vjp(dy, x, noise, *, out, **attrs) -> (dx, None)``.

    The generated module renders the macros ``<op>_train`` (noise and apply; the
    noise goes to the step's ``kept`` name) and ``<op>_train_vjp``.
    """

    noise: Callable[..., Any]
    apply: Callable[..., Any]
    vjp: Callable[..., tuple]
    helpers: tuple[str, ...] = ()  # module helpers the ``<op>_train`` macro calls


@dataclass(frozen=True)
class OpDef:
    """Everything about one primitive op."""

    name: str
    family: str
    doc: str
    inputs: tuple[str, ...]  # names of the positional inputs; ("*xs",) for variadic
    shape: Callable[..., TensorType]
    forward: Callable[..., Any]
    vjp: Callable[..., tuple] | None
    attrs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # JSON Schema each
    required: tuple[str, ...] = ()
    gradient: Gradient = "exact"
    nondiff: str = ""  # convention at non-differentiable points, for the docs
    example: Mapping[str, Any] = field(default_factory=dict)  # extra attrs for docs/tests
    # -- how the engines may run it (the interpreter's kernels, the generator's ``out=``)
    ufunc: Any = None  # the NumPy ufunc that *is* `forward`; it then may write into ``out=``
    write_into: Callable[..., Any] | None = None  # ``f(*xs, out=)`` when forward is no bare ufunc
    ufunc_zero: Any = None  # ufunc u with forward(x) == u(x, 0.0): both engines call u(x, z)
    # with z a 0-d zero of x's dtype (a Python 0.0 is converted on every call, half the cost
    # of a batch-1 relu) and no Python frame of their own
    view: bool = False  # the result may share memory with an input: never written in place
    reuse_buffer: bool = False  # forward may compute into a buffer reused across calls
    # -- what its reverse pass needs
    vjp_reads: Reads = "values"
    vjp_reads_out: bool = False  # the VJP reads the forward output's value
    vjp_halves: tuple[Callable[..., tuple], ...] = ()  # entry k: the VJP for input k alone
    # entry k: input k's gradient alone, written into ``buffer(dtype)`` (the engines'
    # planned gradient buffer, `nnspec.buffers.gradient_buffers`); the same call as the half
    vjp_buffered: tuple[Callable[..., Any], ...] = ()
    vjp_shapes: Callable[..., tuple] | None = None  # (out, *ins) types -> each gradient's shape
    vjp_facts: Callable[..., dict[str, Any]] | None = None  # (in types, **attrs) -> static facts
    # -- its Jinja macros (`<macro>` and `<macro>_vjp`)
    helpers: tuple[str, ...] = ()  # module helpers the forward macro calls
    vjp_helpers: tuple[str, ...] = ()  # module helpers the VJP macro calls
    kept: tuple[str, str] | None = None  # (forward, VJP) helpers when training keeps shared work
    # their Python twins, run by the interpreter's training step: ``forward(*xs, **attrs)
    # -> (value, kept)`` and ``vjp(dy, *xs, kept, *, out, **attrs)`` (kept may be None)
    keeps: tuple[Callable[..., Any], Callable[..., tuple]] | None = None
    # -- training-only behaviour: None for ops that compute the same in training and inference
    training: TrainingRule | None = None
    vjp_fresh: bool = False  # the VJP macro gives each wanted input an array of its own
    # the VJP written over a dead `dy` of its result's shape and dtype (the same ufunc
    # call, another destination): ``vjp_into(dy, *xs, *, out) -> grads``; its macro has
    # that ``out=`` form too (`nnspec.buffers.cotangent_buffers` says where it applies)
    vjp_into: Callable[..., tuple] | None = None
    vjp_transposes: bool = False  # the VJP macro uses each input's transpose (facts a_t, b_t)
    # -- for layers, tests and random graphs
    activation: bool = False  # usable as a dense layer's `activation`
    kinks: Callable[..., float] | None = None  # inputs -> distance from a non-smooth point
    domain: tuple[Domain, ...] = ()  # per input; empty means "real" everywhere
    bound: Callable[..., float] | None = None  # bounds on |inputs| -> bound on |output|
    samples: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # attr values to draw
    constants: Mapping[int, tuple[float, ...]] = field(default_factory=dict)  # input k: a
    # constant drawn from these in random graphs (pow's exponent: a^b with a random b explodes)
    maker: str = ""  # how random graphs add it (`testing.strategies.MAKERS`); "" by family
    positive: Positive = ""
    # -- at the edges
    onnx: OnnxMapping | str | None = None  # its ONNX twin, or why it has none (a sentence)

    @property
    def macro(self) -> str:
        return self.name

    @property
    def inplace(self) -> Callable[..., Any] | None:
        """``f(*xs, out=buffer)`` computing `forward` into `buffer`, or None."""
        return self.ufunc if self.ufunc is not None else self.write_into

    def grad_shapes(self, out: TensorType, ins: tuple[TensorType, ...]) -> tuple:
        """The shape each input's VJP result has, when known (None: unknown)."""
        if self.vjp_shapes is None:
            return tuple(t.shape for t in ins)
        return self.vjp_shapes(out, *ins)

    def domain_of(self, k: int) -> Domain:
        return self.domain[k] if k < len(self.domain) else "real"

    @property
    def variadic(self) -> bool:
        return self.inputs == ("*xs",)

    def defaults(self) -> dict[str, Any]:
        """Attribute defaults taken from the attribute schemas."""
        return {k: s["default"] for k, s in self.attrs.items() if "default" in s}


# ---------------------------------------------------------------------------
# Shape helpers shared by the op families.


def same_dtype(op: str, types: tuple[TensorType, ...]) -> str:
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        listing = ", ".join(t.dtype for t in types)
        raise ShapeError("NN307", f"{op} needs inputs of one dtype, got {listing}")
    return types[0].dtype


def require_float(op: str, t: TensorType, what: str = "input") -> None:
    if not t.is_float:
        raise ShapeError("NN307", f"{op} needs a float {what}, got {t.dtype}")


def unify_dim(a: Dim, b: Dim) -> Dim | bool:
    """The dim two equal-required dims agree on, or False when they cannot be equal.

    Unknown (None) agrees with anything; two different symbols are allowed to be
    equal only if they are the same symbol.
    """
    if a is None:
        return b
    if b is None or a == b:
        return a
    return False


def broadcast_dim(a: Dim, b: Dim) -> Dim | bool:
    """NumPy broadcasting of one dim pair; False when they cannot broadcast."""
    if a == 1:
        return b
    if b == 1:
        return a
    return unify_dim(a, b)


def broadcast_shapes(op: str, *shapes: tuple[Dim, ...]) -> tuple[Dim, ...]:
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    result: list[Dim] = []
    for axis in range(rank):
        dim: Dim = 1
        for shape in padded:
            merged = broadcast_dim(dim, shape[axis])
            if merged is False:
                shown = " and ".join(fmt_shape(s) for s in shapes)
                raise ShapeError("NN303", f"{op}: shapes {shown} do not broadcast (axis {axis})")
            dim = merged
        result.append(dim)
    return tuple(result)


def fmt_shape(shape: tuple[Dim, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _of(rank: int, shape: tuple[Dim, ...] | None) -> str:
    return f"rank {rank}" if shape is None else f"{fmt_shape(shape)} (rank {rank})"


def normalize_axis(op: str, axis: int, rank: int, *, shape: tuple[Dim, ...] | None = None) -> int:
    """`axis` as a non-negative int; `shape`, when given, is named in the error."""
    if not -rank <= axis < rank:
        raise ShapeError("NN304", f"{op}: axis {axis} is out of range for {_of(rank, shape)}")
    return axis % rank


def normalize_axes(
    op: str,
    axis: int | list[int] | tuple | None,
    rank: int,
    *,
    shape: tuple[Dim, ...] | None = None,
) -> tuple[int, ...]:
    """Axes as sorted non-negative ints; None means all axes."""
    if axis is None:
        return tuple(range(rank))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = tuple(sorted(normalize_axis(op, a, rank, shape=shape) for a in axes))
    if len(set(normalized)) != len(normalized):
        raise ShapeError(
            "NN304", f"{op}: axis {list(axes)} names an axis of {_of(rank, shape)} twice"
        )
    return normalized


# Kink distances shared by several ops (see `OpDef.kinks`).


def gap_to_zero(x: Any) -> float:
    """Smallest |x|: how close an op with a kink at 0 is to it."""
    return float(np.min(np.abs(x))) if x.size else np.inf


def smallest(x: Any) -> float:
    """Smallest x: how close an op defined for x > 0 is to leaving its domain."""
    return float(np.min(x)) if x.size else np.inf


# Attribute schemas used by several ops.
AXIS_SCHEMA = {
    "type": "integer",
    "default": -1,
    "description": "axis (negative counts from the end)",
}
AXES_SCHEMA = {
    "description": "axis or list of axes to reduce; null reduces all",
    "default": None,
    "anyOf": [
        {"type": "null"},
        {"type": "integer"},
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
    ],
}
KEEPDIMS_SCHEMA = {"type": "boolean", "default": False, "description": "keep reduced axes as 1"}
FROM_LOGITS_SCHEMA = {
    "type": "boolean",
    "default": False,
    "description": "the prediction is raw scores (logits), not probabilities",
}
