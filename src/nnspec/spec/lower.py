"""Lowering: composite layers become primitive ops. One pass (`lower`), one table (`COMPOSITES`).

| composite | params                            | primitives                                      |
|-----------|-----------------------------------|-------------------------------------------------|
| dense     | <id>.W [in, units], <id>.b [units] | matmul → add → activation                      |
| maxout    | <id>.W [in, units·pieces], <id>.b | matmul → add → reshape [.., units, pieces] → max |

A composite is a small definition with three parts, like an op's rules:

- `params(fan_in, attrs)`: the params it owns, with their shapes and default inits;
- `check(layer)`: its own shape rule. It states what the layer needs of its input, the
  params it was given and its attributes, independently of `params`, and returns the
  layer's output type; every problem is a located `LayerError`;
- `build(layer)`: the primitives, wired with Python values (`Step`s that take the
  layer's input name, its params' names and other steps), returning the last step.

The checker (`check.py`) types each document node in order, checking composites with
their own check; then `lower` turns that typed list into the graph's primitive nodes.
Lowering re-derives every primitive's type with its op's own shape rule and insists
the last one is the type `check` promised, so a definition whose parts disagree (a
bias that would broadcast, a wrong output shape) is an internal error, never a silent
change of meaning.

The last primitive of a lowered layer takes the layer's id, so later nodes refer to the
layer by the name the user wrote; the others are named ``<id>.<op>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nnspec.errors import ShapeError, pointer_join
from nnspec.ir import Node, Param, TensorType, freeze
from nnspec.ops import REGISTRY
from nnspec.portable import Portable
from nnspec.regularizers import SCHEMA as _REGULARIZER

ACTIVATIONS = tuple(name for name, op in REGISTRY.items() if op.activation)
"""Ops a dense layer may apply (`OpDef.activation`), with their attribute defaults."""


class LayerError(Portable, Exception):
    """A composite's own check failed; `pointer` locates the cause in the document."""

    def __init__(self, code: str, message: str, pointer: str):
        super().__init__(message)
        self.code = code
        self.message = message
        self.pointer = pointer


class LoweringError(RuntimeError):
    """A composite's definition disagrees with itself: a bug in nnspec, not in a document."""


@dataclass(frozen=True)
class CheckedLayer:
    """A composite document node as its check and its lowering see it."""

    id: str
    composite: Composite  # the definition that checks and lowers it
    x: str  # the name of the value it reads
    x_type: TensorType
    params: Mapping[str, Param]  # by suffix: "W" is the param named "<id>.W"
    attrs: Mapping[str, Any]  # with defaults filled in
    pointer: str

    @property
    def op(self) -> str:
        return self.composite.name

    def at(self, *keys: str | int) -> str:
        """The JSON pointer of one of the node's keys."""
        return self.pointer + pointer_join(*keys)


@dataclass(frozen=True, eq=False)
class Step:
    """One primitive of a layer; its inputs are names or other steps (identity matters)."""

    op: str
    inputs: tuple[StepInput, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)


StepInput = str | Step


def step(op: str, *inputs: StepInput, **attrs: Any) -> Step:
    return Step(op, inputs, attrs)


@dataclass(frozen=True)
class Composite:
    """A layer that owns params and lowers to primitives (see the module docstring)."""

    name: str
    doc: str
    attrs: Mapping[str, Mapping[str, Any]]
    required: tuple[str, ...]
    params: Callable[[int, Mapping[str, Any]], dict[str, tuple[tuple[int, ...], str]]]
    check: Callable[[CheckedLayer], TensorType]
    build: Callable[[CheckedLayer], Step]
    example: Mapping[str, Any]
    samples: Mapping[str, tuple[Any, ...]]  # attribute values random graphs draw

    def defaults(self) -> dict[str, Any]:
        """Attribute defaults taken from the attribute schemas (as `OpDef.defaults`)."""
        return {k: s["default"] for k, s in self.attrs.items() if "default" in s}

    def fan_in(self, node_id: str, x: TensorType, pointer: str) -> int:
        """The input's feature count. Every composite starts with ``x @ W``, so it needs a
        float input of rank >= 2 whose last dimension is a known size."""
        fan_in = x.shape[-1] if x.rank else None
        if not isinstance(fan_in, int) or not x.is_float:
            raise LayerError(
                "NN309",
                f"{self.name} node {node_id!r} needs a float input whose last dimension is a "
                f"known size, got {x}",
                pointer,
            )
        if x.rank < 2:
            raise LayerError(
                "NN309",
                f"{self.name} node {node_id!r} needs an input of rank >= 2 (a batch of rows), "
                f"got {x}; reshape a vector to [1, {fan_in}] first",
                pointer,
            )
        return fan_in


# ------------------------------------------------------------------ lowering


def lower(checked: Iterable[Node | tuple[CheckedLayer, TensorType]]) -> list[Node]:
    """The graph's primitive nodes, in order: typed primitive nodes stay as they are, each
    checked layer (with the type its check promised) becomes its primitives."""
    nodes: list[Node] = []
    for item in checked:
        if isinstance(item, Node):
            nodes.append(item)
        else:
            nodes.extend(_lower_layer(*item))
    return nodes


def _lower_layer(layer: CheckedLayer, promised: TensorType) -> list[Node]:
    result = layer.composite.build(layer)
    types = {layer.x: layer.x_type, **{p.name: p.type for p in layer.params.values()}}
    names: dict[Step, str] = {}
    uses: Counter[str] = Counter()
    nodes = []
    for s in _in_order(result):
        uses[s.op] += 1
        suffix = s.op if uses[s.op] == 1 else f"{s.op}_{uses[s.op]}"
        node_id = names[s] = layer.id if s is result else f"{layer.id}.{suffix}"
        inputs = tuple(names[v] if isinstance(v, Step) else v for v in s.inputs)
        attrs = {**REGISTRY[s.op].defaults(), **s.attrs}
        try:
            out = REGISTRY[s.op].shape(tuple(types[name] for name in inputs), **attrs)
        except ShapeError as exc:
            raise LoweringError(
                f"{layer.op} node {layer.id!r}: its check passed but its {s.op} step fails: "
                f"{exc.message}"
            ) from exc
        types[node_id] = out
        frozen = freeze(attrs)
        nodes.append(Node(node_id, s.op, inputs, frozen, out, layer.pointer, layer.id, layer.op))
    if nodes[-1].type != promised:
        raise LoweringError(
            f"{layer.op} node {layer.id!r}: its check promised {promised}, its steps give "
            f"{nodes[-1].type}"
        )
    return nodes


def _in_order(result: Step) -> list[Step]:
    """The steps `result` depends on, inputs first (depth first, in input order)."""
    order: list[Step] = []
    seen: set[Step] = set()
    stack: list[tuple[Step, bool]] = [(result, False)]
    while stack:
        s, ready = stack.pop()
        if ready:
            order.append(s)
        elif s not in seen:
            seen.add(s)
            stack.append((s, True))
            stack.extend((v, False) for v in reversed(s.inputs) if isinstance(v, Step))
    return order


# ------------------------------------------------------------------ the definitions


INIT_NAMES = (
    "zeros",
    "ones",
    "constant",
    "normal",
    "uniform",
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
)

_UNITS = {"type": "integer", "minimum": 1, "description": "number of output features"}
_USE_BIAS = {"type": "boolean", "default": True, "description": "add the bias b"}
_KERNEL_INIT = {"enum": list(INIT_NAMES), "default": "glorot_uniform", "description": "init of W"}
_BIAS_INIT = {"enum": list(INIT_NAMES), "default": "zeros", "description": "init of b"}
_KERNEL_REGULARIZER = {**_REGULARIZER, "description": "L1/L2 penalty on W (spec/training.py)"}
_UNIT_SAMPLES = (1, 2, 3, 4)


def _affine_params(
    fan_in: int, width: int, attrs: Mapping[str, Any]
) -> dict[str, tuple[tuple[int, ...], str]]:
    params: dict[str, tuple[tuple[int, ...], str]] = {"W": ((fan_in, width), attrs["kernel_init"])}
    if attrs["use_bias"]:
        params["b"] = ((width,), attrs["bias_init"])
    return params


def _affine_type(layer: CheckedLayer, width: int) -> TensorType:
    """The type of ``x @ W + b`` with `width` columns, after checking W and b are exactly
    what that needs: a bias of another size would broadcast, not fail."""
    x = layer.x_type
    fan_in = x.shape[-1]
    needs = {"W": (fan_in, width), **({"b": (width,)} if layer.attrs["use_bias"] else {})}
    for suffix, shape in needs.items():
        param = layer.params.get(suffix)
        if param is None or param.type.shape != shape:
            got = "none" if param is None else list(param.type.shape)
            raise LayerError(
                "NN301",
                f"{layer.op} node {layer.id!r} needs param '{layer.id}.{suffix}' of shape "
                f"{list(shape)}, got {got}",
                layer.pointer if param is None else param.pointer,
            )
        if param.type.dtype != x.dtype:
            raise LayerError(
                "NN307",
                f"{layer.op} node {layer.id!r} needs params of its input's dtype {x.dtype}; "
                f"{param.name!r} is {param.type.dtype} (make it {x.dtype} or drop its 'dtype')",
                param.pointer,
            )
    return TensorType((*x.shape[:-1], width), x.dtype)


def _affine(layer: CheckedLayer) -> Step:
    y = step("matmul", layer.x, layer.params["W"].name)
    return step("add", y, layer.params["b"].name) if "b" in layer.params else y


def activation_of(attrs: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The activation op a layer applies and the attributes written for it, or None for
    ``null`` / ``"linear"``. ``"tanh"`` is ``{"op": "tanh"}``: the op's defaults."""
    activation = attrs["activation"]
    if activation in (None, "linear"):
        return None
    if isinstance(activation, str):
        return activation, {}
    written = {k: v for k, v in activation.items() if k != "op" and not k.startswith("x-")}
    return activation["op"], written


def _dense_params(fan_in: int, attrs: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    return _affine_params(fan_in, attrs["units"], attrs)


def _dense_check(layer: CheckedLayer) -> TensorType:
    affine = _affine_type(layer, layer.attrs["units"])
    activation = activation_of(layer.attrs)
    if activation is None:
        return affine
    name, written = activation
    op = REGISTRY[name]
    try:
        return op.shape((affine,), **{**op.defaults(), **written})
    except ShapeError as exc:  # e.g. a softmax axis the layer's output does not have
        raise LayerError(
            exc.code,
            f"dense node {layer.id!r}: its activation {exc.message}",
            layer.at("activation"),
        ) from exc


def _dense_build(layer: CheckedLayer) -> Step:
    activation = activation_of(layer.attrs)
    y = _affine(layer)
    return y if activation is None else step(activation[0], y, **activation[1])


def _maxout_params(fan_in: int, attrs: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    return _affine_params(fan_in, attrs["units"] * attrs["pieces"], attrs)


def _maxout_check(layer: CheckedLayer) -> TensorType:
    units = layer.attrs["units"]
    affine = _affine_type(layer, units * layer.attrs["pieces"])
    return TensorType((*affine.shape[:-1], units), affine.dtype)


def _maxout_build(layer: CheckedLayer) -> Step:
    units, pieces = layer.attrs["units"], layer.attrs["pieces"]
    shape = [0] * (layer.x_type.rank - 1) + [units, pieces]
    return step("max", step("reshape", _affine(layer), shape=shape), axis=-1, keepdims=False)


COMPOSITES: dict[str, Composite] = {
    c.name: c
    for c in (
        Composite(
            name="dense",
            doc="fully connected layer H = f(XW + b); owns <id>.W [in, units] and <id>.b [units]",
            attrs={
                "units": _UNITS,
                "activation": {
                    "description": "activation f applied to XW + b: an op name, or an object "
                    'with the op\'s attributes such as {"op": "leaky_relu", "alpha": 0.2}; '
                    "null or 'linear' for none",
                    "default": None,
                    "$ref": "#/$defs/activation",
                },
                "use_bias": _USE_BIAS,
                "kernel_init": _KERNEL_INIT,
                "bias_init": _BIAS_INIT,
                "regularizer": _KERNEL_REGULARIZER,
            },
            required=("units",),
            params=_dense_params,
            check=_dense_check,
            build=_dense_build,
            example={"units": 8, "activation": "tanh"},
            samples={"units": _UNIT_SAMPLES},
        ),
        Composite(
            name="maxout",
            doc="maxout layer: max over `pieces` affine maps per unit; owns <id>.W, <id>.b",
            attrs={
                "units": _UNITS,
                "pieces": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "affine pieces per unit",
                },
                "use_bias": _USE_BIAS,
                "kernel_init": _KERNEL_INIT,
                "bias_init": _BIAS_INIT,
                "regularizer": _KERNEL_REGULARIZER,
            },
            required=("units", "pieces"),
            params=_maxout_params,
            check=_maxout_check,
            build=_maxout_build,
            example={"units": 4, "pieces": 3},
            samples={"units": _UNIT_SAMPLES, "pieces": (2, 3)},
        ),
    )
}
