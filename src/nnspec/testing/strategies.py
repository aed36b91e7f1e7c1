"""Hypothesis strategies: random valid documents and inputs for them.

`documents()` builds random DAGs node by node. Every node's type comes from the
op registry's own shape rule, so a generated document is valid by construction
(`nnspec.load` accepts it; a property test holds us to that). Values stay in a
safe range by construction too, tracked as an upper bound on |value| per node:

- an operand whose bound exceeds 10 is squashed with ``tanh`` first, and the
  input of ``exp`` with a bound above 4, so nothing overflows in float32;
- ``log``, ``sqrt``, the denominator of ``div`` and the base of ``pow`` get an
  operand made positive first, ``softplus(v) + 0.5`` (a constant param), so
  every op stays inside its domain whatever the inputs are;
- probabilities fed to losses that clip are ``sigmoid(tanh(v))`` or
  ``softmax(tanh(v))``, far from the clipping region.

Such helper nodes come on top of the `max_nodes` ops drawn. `inputs_for(graph)`
draws a batch size and a seed and fills every input with standard normal values,
except loss targets: values in [0.1, 0.9] for binary cross-entropy, valid class
labels for integer cross-entropy targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from nnspec.errors import ShapeError
from nnspec.ir import Dim, Graph, Param, TensorType
from nnspec.ops import LOSSES, REGISTRY
from nnspec.spec.lower import ACTIVATIONS, CheckedLayer
from nnspec.spec.lower import COMPOSITES as COMPOSITE_TABLE

BATCH = "batch"
SQUASH_ABOVE = 10.0
EXP_SQUASH_ABOVE = 4.0
SYMBOLIC_SIZE = 8  # what a symbolic dim counts as when bounding sums over it
COMPOSITES = tuple(COMPOSITE_TABLE)  # every composite layer of the lowering table
PRIMITIVES = tuple(name for name in REGISTRY if name not in LOSSES)
STEPS = tuple(name for name, op in REGISTRY.items() if op.gradient != "exact")
DENSE_ACTIVATIONS = tuple(a for a in ACTIVATIONS if not REGISTRY[a].domain)  # any input is fine
LOSS_KINDS = ("sum", "mean", "mse", "bce_logits", "bce_probs", "ce_labels", "ce_onehot", "ce_probs")


@dataclass(frozen=True)
class _Operand:
    name: str
    type: TensorType
    bound: float  # upper bound on |value|
    positive: bool = False  # known to be > 0 (`OpDef.positive`; the shift gives >= 0.5)


class _Doc:
    """A document under construction; `draw` is hypothesis's."""

    def __init__(self, draw: Any, dtype: str, activations: tuple[str | None, ...]):
        self.draw = draw
        self.dtype = dtype
        self.activations = activations  # what a generated dense layer may use
        self.inputs: dict[str, dict] = {}
        self.params: dict[str, dict] = {}
        self.nodes: list[dict] = []
        self.pool: list[_Operand] = []

    # ------------------------------------------------------------ building blocks

    def input(self, name: str, shape: tuple[Dim, ...], dtype: str | None = None) -> _Operand:
        spec: dict[str, Any] = {"shape": list(shape)}
        if dtype:
            spec["dtype"] = dtype
        self.inputs[name] = spec
        return _Operand(name, TensorType(shape, dtype or self.dtype), 3.0)

    def param(
        self, shape: tuple[int, ...], *, value: float | None = None, trainable: bool = True
    ) -> _Operand:
        name = f"p{len(self.params)}"
        if value is None:
            self.params[name] = {
                "shape": list(shape),
                "init": {"name": "uniform", "low": -1, "high": 1},
            }
            return _Operand(name, TensorType(shape, self.dtype), 1.0)
        self.params[name] = {"value": value, "trainable": trainable}
        return _Operand(name, TensorType((), self.dtype), abs(value), value >= 0.5)

    def node(
        self,
        op: str,
        operands: Sequence[_Operand],
        bound: float,
        positive: bool = False,
        **attrs: Any,
    ) -> _Operand:
        name = f"n{len(self.nodes)}"
        full = {**REGISTRY[op].defaults(), **attrs}
        out = REGISTRY[op].shape(tuple(v.type for v in operands), **full)
        self.nodes.append({"id": name, "op": op, "inputs": [v.name for v in operands], **attrs})
        value = _Operand(name, out, bound, positive)
        self.pool.append(value)
        return value

    def pick(self) -> _Operand:
        """A pool value; the pool holds the inputs from the start, so there is one."""
        value = self.pick_where(lambda v: True)
        assert value is not None
        return value

    def pick_where(self, ok: Callable[[_Operand], bool]) -> _Operand | None:
        """A pool value `ok` accepts, or None (recent ones shrink first, so graphs tend
        to chain)."""
        candidates = [v for v in self.pool if ok(v)]
        if not candidates:
            return None
        return candidates[-1 - self.draw(st.integers(0, len(candidates) - 1))]

    def lift(self, v: _Operand, rank: int) -> _Operand:
        """`v` with trailing axes of size 1 added until it has `rank` axes, the last fixed."""
        extra = max(rank - v.type.rank, 0) or (0 if _known_last(v) else 1)
        if not extra:
            return v
        shape = [0] * v.type.rank + [1] * extra
        return self.node("reshape", [v], v.bound, v.positive, shape=shape)

    def squash(self, v: _Operand, above: float = SQUASH_ABOVE) -> _Operand:
        return self.node("tanh", [v], 1.0) if v.bound > above else v

    def positive(self, v: _Operand) -> _Operand:
        """softplus(v) + 0.5 >= 0.5, so log, sqrt, division and pow stay in their domain."""
        if v.positive:
            return v
        soft = self.node("softplus", [self.squash(v)], SQUASH_ABOVE + 1)
        half = self.param((), value=0.5, trainable=False)
        return self.node("add", [soft, half], soft.bound + 0.5, positive=True)


def _count(dims: Sequence[Dim]) -> int:
    return math.prod(d if isinstance(d, int) else SYMBOLIC_SIZE for d in dims)


def _known_last(v: _Operand) -> bool:
    return v.type.rank >= 1 and isinstance(v.type.shape[-1], int)


def _in_domain(doc: _Doc, v: _Operand, domain: str) -> _Operand:
    """`v` moved into an op's input domain (`OpDef.domain`)."""
    if domain == "positive":
        return doc.positive(v)
    if domain == "small":
        return doc.squash(v, EXP_SQUASH_ABOVE)
    return v


def _attrs(doc: _Doc, op: str) -> dict[str, Any]:
    """Attribute values drawn from the op's `OpDef.samples`."""
    return {k: doc.draw(st.sampled_from(vs)) for k, vs in REGISTRY[op].samples.items()}


def _bound(op: str, *bounds: float) -> float:
    """Bound on |output| from the operands' bounds (`OpDef.bound`; default: the first)."""
    rule = REGISTRY[op].bound
    return bounds[0] if rule is None else rule(*bounds)


def _positive(op: str, *operands: _Operand) -> bool:
    """Whether `op`'s output is known to be > 0 (`OpDef.positive`)."""
    rule = REGISTRY[op].positive
    return rule == "always" or (rule == "if_inputs" and all(v.positive for v in operands))


def _ties_with_itself(op: str) -> bool:
    """op(a, a) sits on a kink everywhere (max(a, a) ties): its `kinks` of (x, x) is 0."""
    kinks = REGISTRY[op].kinks
    probe = np.array([1.0, 2.0])
    return kinks is not None and len(REGISTRY[op].inputs) == 2 and kinks(probe, probe) == 0


def _unary(doc: _Doc, op: str) -> None:
    v = _in_domain(doc, doc.squash(doc.pick()), REGISTRY[op].domain_of(0))
    doc.node(op, [v], _bound(op, v.bound), _positive(op, v), **_attrs(doc, op))


def _broadcast_partner(doc: _Doc, a: _Operand, op: str) -> _Operand:
    """Another pool value that broadcasts with `a`, or a new param shaped to broadcast."""

    def fits(v: _Operand) -> bool:
        if v.name == a.name and _ties_with_itself(op):
            return False
        try:
            REGISTRY[op].shape((a.type, v.type))
        except ShapeError:
            return False
        return True

    other = doc.pick_where(fits) if doc.draw(st.booleans()) else None
    if other is not None:
        return doc.squash(other)
    keep = doc.draw(st.integers(0, a.type.rank))
    dims = a.type.shape[a.type.rank - keep :]
    shape = tuple(d if isinstance(d, int) and doc.draw(st.booleans()) else 1 for d in dims)
    return doc.param(shape)


def _binary(doc: _Doc, op: str) -> None:
    a = _in_domain(doc, doc.squash(doc.pick()), REGISTRY[op].domain_of(0))
    constants = REGISTRY[op].constants.get(1)  # pow's exponent: a^b with a random b explodes
    if constants:
        b = doc.param((), value=doc.draw(st.sampled_from(constants)))
    else:
        b = _in_domain(doc, _broadcast_partner(doc, a, op), REGISTRY[op].domain_of(1))
    doc.node(op, [a, b], _bound(op, a.bound, b.bound), _positive(op, a, b))


def _matmul(doc: _Doc, op: str) -> None:
    a = doc.pick_where(lambda v: v.type.rank >= 2 and _known_last(v))
    a = doc.squash(a or doc.lift(doc.pick(), 2))
    n = a.type.shape[-1]
    assert isinstance(n, int)  # picked or lifted with a fixed last axis
    w = doc.param((n, doc.draw(st.integers(1, 4))))
    doc.node("matmul", [a, w], a.bound * n)


def _reduce(doc: _Doc, op: str) -> None:
    v = doc.squash(doc.pick())
    attrs: dict[str, Any] = {}
    if v.type.rank:
        axes = doc.draw(
            st.lists(st.integers(0, v.type.rank - 1), unique=True, max_size=v.type.rank)
        )
        signed = [a - v.type.rank if doc.draw(st.booleans()) else a for a in axes]
        attrs["axis"] = None if not signed else signed[0] if len(signed) == 1 else signed
        attrs["keepdims"] = doc.draw(st.booleans())
    reduced = v.type.shape if attrs.get("axis") is None else [v.type.shape[a] for a in axes]
    bound = v.bound * _count(reduced) if op == "sum" else v.bound
    doc.node(op, [v], bound, **attrs)


def _normalise(doc: _Doc, op: str) -> None:
    v = doc.squash(doc.lift(doc.pick(), 1))
    axis = doc.draw(st.integers(-v.type.rank, v.type.rank - 1))
    size = v.type.shape[axis]
    bound = 1.0 if op == "softmax" else 2 * v.bound + math.log(_count([size]))
    doc.node(op, [v], bound, axis=axis)


def _reshape(doc: _Doc, op: str) -> None:
    v = doc.pick()
    rank = v.type.rank
    last = v.type.shape[-1] if rank else None
    if rank >= 2 and doc.draw(st.booleans()):
        shape = [0, -1]  # flatten everything after the first axis
    elif isinstance(last, int) and last % 2 == 0:
        shape = [0] * (rank - 1) + [2, last // 2]  # split the last axis
    elif rank < 3:
        shape = [0] * rank + [1]  # add a trailing axis of size 1
    else:
        shape = [0, -1]
    doc.node("reshape", [v], v.bound, v.positive, shape=shape)


def _transpose(doc: _Doc, op: str) -> None:
    v = doc.lift(doc.pick(), 2)
    perm = doc.draw(st.none() | st.permutations(range(v.type.rank)))
    doc.node(
        "transpose", [v], v.bound, v.positive, **({} if perm is None else {"perm": list(perm)})
    )


def _concat(doc: _Doc, op: str) -> None:
    # Only along a fixed-size axis: joining two "batch" axes gives an unknown size,
    # which the checker cannot tie to "batch" again.
    v = doc.pick_where(lambda v: any(isinstance(d, int) for d in v.type.shape))
    v = v or doc.lift(doc.pick(), 1)
    fixed = [a for a, d in enumerate(v.type.shape) if isinstance(d, int)]
    axis = doc.draw(st.sampled_from(fixed + [a - v.type.rank for a in fixed]))

    def fits(w: _Operand) -> bool:
        if (
            w.name == v.name
            or w.type.rank != v.type.rank
            or not isinstance(w.type.shape[axis], int)
        ):
            return False
        try:
            REGISTRY["concat"].shape((v.type, w.type), axis=axis)
        except ShapeError:
            return False
        return True

    other = doc.pick_where(fits) or v  # concat(v, v) is fine: the gradient sums both halves
    doc.node(
        "concat", [v, other], max(v.bound, other.bound), v.positive and other.positive, axis=axis
    )


def _composite(doc: _Doc, op: str) -> None:
    """Any composite of the lowering table: attributes drawn from `Composite.samples` (and
    an activation, for a layer that takes one), its output type from its own check."""
    comp = COMPOSITE_TABLE[op]
    v = doc.pick_where(lambda v: v.type.rank >= 2 and _known_last(v))  # lowers to matmul
    v = doc.squash(v or doc.lift(doc.pick(), 2))
    name = f"n{len(doc.nodes)}"
    attrs: dict[str, Any] = {k: doc.draw(st.sampled_from(vs)) for k, vs in comp.samples.items()}
    if "activation" in comp.attrs:
        attrs["activation"] = _activation(doc)
    full = {**comp.defaults(), **attrs}
    fan_in = comp.fan_in(name, v.type, "")
    params = {
        suffix: Param(f"{name}.{suffix}", TensorType(shape, doc.dtype))
        for suffix, (shape, _) in comp.params(fan_in, full).items()
    }
    out = comp.check(CheckedLayer(name, comp, v.name, v.type, params, full, ""))
    doc.nodes.append({"id": name, "op": op, "inputs": [v.name], **attrs})
    bound = 2.0 * fan_in * v.bound + 1.0  # glorot weights are below 2 in magnitude here
    activation = attrs.get("activation")
    named = activation["op"] if isinstance(activation, dict) else activation
    positive = named in REGISTRY and REGISTRY[named].positive == "always"
    doc.pool.append(_Operand(name, out, bound, positive))


def _activation(doc: _Doc) -> str | dict[str, Any] | None:
    """A layer's activation: a name, or (for an op with attribute samples, sometimes) the
    object form with attribute values drawn from `OpDef.samples`."""
    name = doc.draw(st.sampled_from(doc.activations))
    samples = REGISTRY[name].samples if name is not None else {}
    if not samples or not doc.draw(st.booleans()):
        return name
    return {"op": name, **{k: doc.draw(st.sampled_from(vs)) for k, vs in samples.items()}}


MAKERS = {
    "unary": _unary,
    "binary": _binary,
    "matmul": _matmul,
    "reduce": _reduce,
    "normalise": _normalise,
    "reshape": _reshape,
    "transpose": _transpose,
    "concat": _concat,
}
"""`OpDef.maker` -> the function that adds such an op to a document; an op without one
goes by family (elementwise: unary, else binary); composites are `_composite`."""


def _maker(op: str) -> Any:
    if op in COMPOSITE_TABLE:
        return _composite
    default = "unary" if REGISTRY[op].family == "elementwise" else "binary"
    return MAKERS[REGISTRY[op].maker or default]


def _loss(doc: _Doc, out: _Operand, kind: str) -> None:
    """Append a scalar node with id "loss" and the target input it needs."""
    if kind in ("sum", "mean"):
        doc.nodes.append({"id": "loss", "op": kind, "inputs": [out.name]})
        return
    pred, from_logits = doc.squash(out), True
    target_type: tuple[tuple[Dim, ...], str | None] = (out.type.shape, None)
    if kind == "bce_probs":
        pred, from_logits = doc.node("sigmoid", [doc.squash(out, 0)], 1.0), False
    if kind == "ce_probs":
        pred, from_logits = doc.node("softmax", [doc.squash(out, 0)], 1.0), False
    if kind in ("ce_labels", "ce_probs"):
        target_type = (out.type.shape[:-1], "int64")
    target = doc.input("target", *target_type)
    op = (
        "mse"
        if kind == "mse"
        else "binary_cross_entropy"
        if kind.startswith("bce")
        else "cross_entropy"
    )
    attrs = {} if op == "mse" else {"from_logits": from_logits}
    doc.nodes.append({"id": "loss", "op": op, "inputs": [pred.name, target.name], **attrs})


@st.composite
def documents(
    draw: Any,
    *,
    ops: Sequence[str] | None = None,
    dtype: str | None = None,
    max_nodes: int = 8,
    with_loss: bool = False,
    differentiable_only: bool = False,
) -> dict[str, Any]:
    """Random valid nnspec documents (dicts), as described in the module docstring.

    `ops` restricts the drawn ops (primitive names and ``dense``/``maxout``);
    `dtype` fixes float32 or float64; `with_loss` appends a scalar node ``loss``
    (a reduction or one of the three losses, with a ``target`` input when it
    needs one) and makes it the training loss; `differentiable_only` leaves out
    ops whose gradient is zero almost everywhere (sign), for gradient checks.
    """
    allowed = tuple(ops) if ops is not None else (*PRIMITIVES, *COMPOSITES)
    unknown = [op for op in allowed if op not in REGISTRY and op not in COMPOSITES]
    if unknown or any(op in LOSSES for op in allowed):
        raise ValueError(
            "documents(ops=...) takes primitive non-loss ops or composites, "
            f"got {unknown or allowed}"
        )
    if differentiable_only:
        allowed = tuple(op for op in allowed if op not in STEPS)
    activations = tuple(
        a for a in (None, *DENSE_ACTIVATIONS) if not (differentiable_only and a in STEPS)
    )
    doc = _Doc(draw, dtype or draw(st.sampled_from(("float32", "float64"))), activations)
    for k in range(draw(st.integers(1, 2))):
        rank = draw(st.integers(1, 3))
        shape = (BATCH, *(draw(st.integers(1, 4)) for _ in range(rank - 1)))
        doc.pool.append(doc.input(f"x{k}", shape))
    for _ in range(draw(st.integers(1, max_nodes))):
        op = draw(st.sampled_from(allowed))
        _maker(op)(doc, op)  # every maker adds at least one node
    out = doc.pool[-1]  # the last node added
    document: dict[str, Any] = {
        "nnspec": "1",
        "name": "generated",
        "dtype": doc.dtype,
        "seed": draw(st.integers(0, 2**16)),
        "inputs": doc.inputs,
        "nodes": doc.nodes,
        "outputs": [out.name],
    }
    if with_loss:
        kinds = [k for k in LOSS_KINDS if not (k.startswith("ce") and not _known_last(out))]
        _loss(doc, out, draw(st.sampled_from(kinds)))
        document["training"] = {"loss": {"node": "loss"}}
    if doc.params:
        document["params"] = doc.params
    return document


@st.composite
def inputs_for(draw: Any, graph: Graph, batch: int | None = None) -> dict[str, np.ndarray]:
    """Input arrays for every input and training target of `graph`.

    Symbolic dims named ``batch`` get `batch` (drawn from 1..4 when None); other
    symbols and ``null`` dims get a size drawn from 1..3 (one size per symbol).
    """
    sizes: dict[Any, int] = {BATCH: batch or draw(st.integers(1, 4))}
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    feeds = list(graph.inputs) + list(graph.training.targets if graph.training else ())
    arrays = {}
    for feed in feeds:
        shape = []
        for dim in feed.type.shape:
            if isinstance(dim, int):
                shape.append(dim)
            elif dim is None:
                shape.append(draw(st.integers(1, 3)))
            else:
                shape.append(sizes.setdefault(dim, draw(st.integers(1, 3))))
        arrays[feed.name] = _fill(graph, feed.name, feed.type, tuple(shape), rng)
    return arrays


def _fill(
    graph: Graph, name: str, declared: TensorType, shape: tuple[int, ...], rng: Any
) -> np.ndarray:
    """Values for one feed, respecting what the op consuming it as a loss target needs."""
    types = graph.types()
    for node in graph.nodes:
        if node.op in LOSSES and node.inputs[1:] == (name,):
            if not declared.is_float:
                classes = types[node.inputs[0]].shape[-1]
                return rng.integers(0, classes if isinstance(classes, int) else 2, shape).astype(
                    declared.dtype
                )
            if node.op != "mse":
                return rng.uniform(0.1, 0.9, shape).astype(declared.dtype)
    if not declared.is_float:
        return rng.integers(0, 3, shape).astype(declared.dtype)
    return rng.normal(0.0, 1.0, shape).astype(declared.dtype)
