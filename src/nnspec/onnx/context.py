"""The state of one import: ONNX values so far, the document nodes and params emitted.

A value is either `Dyn` (computed when the graph runs: a document input or node,
with its nnspec type) or a NumPy array known at import time. Constant arrays of
shapes may hold *dim tokens* (object dtype): a symbol such as ``"batch"`` or
``("?", value, axis)`` for an unknown dim, so the shape sub-graphs exporters emit
around Reshape fold even when the batch size is symbolic.

`Context.emit` is the one way converters add an nnspec op: it folds the op with
the registry's own forward when every operand is a constant, and otherwise types
the node with the registry's shape rule, so an imported document is typed by the
same rules as a written one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnspec.errors import ShapeError
from nnspec.ir import Dim, TensorType
from nnspec.ops import REGISTRY
from nnspec.portable import Portable

_INVALID = re.compile(r"[^A-Za-z0-9_]+")


class ImportFailure(Portable, Exception):
    """Raised by a converter: the node cannot be imported (`code`, `why`)."""

    def __init__(self, code: str, why: str):
        super().__init__(why)
        self.code = code
        self.why = why


@dataclass(frozen=True)
class Dyn:
    """A value computed at run time: document value `name` of type `type`."""

    name: str
    type: TensorType


Value = Dyn | np.ndarray


def sanitize(name: str, fallback: str = "v") -> str:
    """`name` as an nnspec identifier: letters, digits and ``_``, starting with a letter
    or ``_``, at most 100 characters (room for a uniqueness suffix)."""
    text = _INVALID.sub("_", name).strip("_")[:100] or fallback
    return text if re.match(r"[A-Za-z_]", text) else f"n{text}"


def dim_token(value: Dyn, axis: int) -> Any:
    """What `Shape` yields for one dim: the dim itself, or a token for an unknown one."""
    dim = value.type.shape[axis]
    return ("?", value.name, axis) if dim is None else dim


def shape_array(entries: Sequence[Any]) -> np.ndarray:
    """A 1-D shape constant: int64 when every entry is an int, else object dtype."""
    if all(isinstance(e, int | np.integer) for e in entries):
        return np.array([int(e) for e in entries], dtype=np.int64)
    array = np.empty(len(entries), dtype=object)
    array[:] = [int(e) if isinstance(e, np.integer) else e for e in entries]
    return array


@dataclass
class Context:
    """What the importer has built so far; converters call `emit`, `const` and `dyn`."""

    dtype: str
    opset: int
    max_elements: int
    nodes: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    frozen: set[str] = field(default_factory=set)  # params that are not trainable
    used: set[str] = field(default_factory=set)
    batchnorm: set[str] = field(default_factory=set)  # ids of nodes BatchNormalization became
    _materialised: dict[int, tuple[np.ndarray, Dyn]] = field(default_factory=dict)
    hint: str = "v"  # name base of the nodes of the ONNX node being converted
    # id(array) -> (array, initializer name) for constants that are model weights
    weight_names: dict[int, tuple[np.ndarray, str]] = field(default_factory=dict)

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def check_size(self, count: int, what: str) -> None:
        if count > self.max_elements:
            raise ImportFailure(
                "NN601",
                f"{what} would have {count} elements, more than the limit of "
                f"{self.max_elements} (max_param_elements)",
            )

    def dyn(self, value: Value) -> Dyn:
        """`value` as a run-time value; a constant becomes a param (once per array)."""
        if isinstance(value, Dyn):
            return value
        known = self._materialised.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        array = self.float_const(value)
        initializer = self.weight_name(value)
        name = self.unique(sanitize(initializer or f"{self.hint}_const"))
        self.params[name] = array
        if initializer is None:
            self.frozen.add(name)
        result = Dyn(name, TensorType(tuple(array.shape), self.dtype))
        self._materialised[id(value)] = (value, result)
        return result

    def weight_name(self, value: np.ndarray) -> str | None:
        """The initializer `value` is (or was derived from exactly), if any."""
        entry = self.weight_names.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def derived(self, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        """Mark `new` (an exact rearrangement of `old`) as the same model weight."""
        name = self.weight_name(old)
        if name is not None:
            self.weight_names[id(new)] = (new, name)
        return new

    def float_const(self, value: np.ndarray) -> np.ndarray:
        """A constant operand of a float op, in the document's dtype, exactly."""
        if value.dtype == object:
            raise ImportFailure(
                "NN705", "a shape that depends on a symbolic dim is used as a tensor"
            )
        if value.dtype.kind == "f" and value.dtype != np.dtype(self.dtype):
            raise ImportFailure("NN706", f"a {value.dtype} constant in a {self.dtype} model")
        if value.dtype.kind in "iub":
            cast = value.astype(self.dtype)
            if not np.array_equal(cast.astype(value.dtype), value):
                raise ImportFailure(
                    "NN706", f"integer constant {value} is not exact in {self.dtype}"
                )
            return cast
        if value.dtype.kind != "f":
            raise ImportFailure("NN706", f"a constant of dtype {value.dtype}")
        return value

    def scalar(self, number: float) -> np.ndarray:
        return np.asarray(number, dtype=self.dtype)

    def emit(self, op: str, inputs: Sequence[Value], suffix: str = "", **attrs: Any) -> Value:
        """Apply nnspec op `op`: folded when every input is a constant that is not a
        model weight (weights stay params, so training sees the same computation),
        else a new node."""
        definition = REGISTRY[op]
        if all(not isinstance(v, Dyn) and self.weight_name(v) is None for v in inputs):
            arrays = [self.float_const(np.asarray(v)) for v in inputs]
            with np.errstate(all="ignore"):
                return np.asarray(definition.forward(*arrays, **attrs))
        values = [self.dyn(v) for v in inputs]
        try:
            node_type = definition.shape(tuple(v.type for v in values), **attrs)
        except ShapeError as exc:
            raise ImportFailure("NN702", f"as nnspec {op}: {exc.message}") from None
        base = f"{self.hint}_{suffix}" if suffix else self.hint
        node_id = self.unique(base)
        self.nodes.append({"id": node_id, "op": op, "inputs": [v.name for v in values], **attrs})
        return Dyn(node_id, node_type)

    def reshape_to(self, x: Value, dims: Sequence[Any]) -> Value:
        """`x` reshaped to `dims` (ints or dim tokens) with nnspec's 0 (copy) and -1 (infer).

        A token equal to `x`'s own dim at the same position becomes 0; a single other
        non-int dim becomes -1; anything else cannot be written as an nnspec shape.
        """
        if not isinstance(x, Dyn):
            if not all(isinstance(d, int | np.integer) for d in dims):
                raise ImportFailure("NN705", f"reshape of a constant to {list(dims)}")
            return np.reshape(x, [int(d) for d in dims])
        target: list[int] = []
        open_positions = []
        for i, dim in enumerate(dims):
            if isinstance(dim, int | np.integer):
                target.append(int(dim))
            elif i < x.type.rank and dim == dim_token(x, i):
                target.append(0)
            else:
                open_positions.append(i)
                target.append(-1)
        if len(open_positions) > 1 or (open_positions and target.count(-1) > 1):
            shown = [d if isinstance(d, int | str) else "?" for d in dims]
            raise ImportFailure(
                "NN705", f"target shape {shown} has more than one dim nnspec cannot infer"
            )
        if list(x.type.shape) == list(dims):  # e.g. Flatten of a matrix
            return x
        return self.emit("reshape", [x], "reshape", shape=target)


def dims_of(value: Value) -> tuple[Dim, ...]:
    return value.type.shape if isinstance(value, Dyn) else tuple(np.shape(value))


def rank_of(value: Value) -> int:
    return len(dims_of(value))
