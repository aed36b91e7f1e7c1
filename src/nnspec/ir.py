"""The one meeting type: a checked, lowered, topologically ordered `Graph`.

Everything downstream of `nnspec.spec` (interpreter, codegen, tools) sees only
this module's types: primitive ops with known shapes, no sugar.

Printed form (see `nnspec.printer`), one line per value::

    graph   := "graph" NAME "(" input ("," input)* ")" "{" param* node* "return" names "}"
    input   := NAME ":" type
    param   := "param" NAME ":" type ["const"]
    node    := NAME ":" type "=" OP "(" names ")" ["{" attr ("," attr)* "}"]
    type    := DTYPE "[" dim ("," dim)* "]"        e.g. f32[batch,8]
    dim     := INT | SYMBOL | "?"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

Dim = int | str | None
"""A dimension: a fixed size, a symbol such as ``"batch"`` that must agree, or unknown."""

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int32", "int64")
DTYPES = FLOAT_DTYPES + INT_DTYPES
DTYPE_SHORT = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64"}


@dataclass(frozen=True)
class TensorType:
    """Shape (with symbolic dims) and dtype of one value."""

    shape: tuple[Dim, ...]
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    def size(self) -> int | None:
        """Number of elements, or None when a dim is symbolic or unknown."""
        total = 1
        for dim in self.shape:
            if not isinstance(dim, int):
                return None
            total *= dim
        return total

    def with_shape(self, shape: tuple[Dim, ...]) -> TensorType:
        return TensorType(tuple(shape), self.dtype)

    def __str__(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{DTYPE_SHORT.get(self.dtype, self.dtype)}[{dims}]"


def freeze(value: Any) -> Any:
    """Make a JSON attribute value hashable (lists become tuples) so nodes can be frozen."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


@dataclass(frozen=True)
class Input:
    """A named graph input; `pointer` locates its declaration in the document."""

    name: str
    type: TensorType
    pointer: str = ""


@dataclass(frozen=True, eq=False)
class Param:
    """A named tensor owned by the graph.

    Exactly one of `init` (a recipe such as ``{"name": "glorot_uniform"}``) or
    `value` (an exact array, from a literal or a weights file) is set. Values are
    materialised by `nnspec.interpreter.init.initial_values`, seeded by the graph.
    """

    name: str
    type: TensorType
    trainable: bool = True
    init: Mapping[str, Any] | None = None
    value: np.ndarray | None = None
    pointer: str = ""
    owner: str | None = None  # id of the composite node (dense, maxout) that created it

    def __post_init__(self) -> None:
        if self.value is not None:  # a read-only view: a graph is a value, not a workspace
            view = np.asarray(self.value).view()
            view.flags.writeable = False
            object.__setattr__(self, "value", view)

    def __setstate__(self, state: dict[str, Any]) -> None:  # unpickled: read-only again
        self.__dict__.update(state)
        self.__post_init__()


@dataclass(frozen=True)
class Node:
    """One primitive op application; its output value is named by `id`."""

    id: str
    op: str
    inputs: tuple[str, ...]
    attrs: tuple[tuple[str, Any], ...]
    type: TensorType
    pointer: str = ""
    origin: str | None = None  # id of the composite node this was lowered from
    origin_op: str | None = None  # and that composite's op (dense, maxout)

    @property
    def attr(self) -> dict[str, Any]:
        """Attributes as keyword arguments for the op's rules."""
        return dict(self.attrs)


@dataclass(frozen=True)
class Regularizer:
    """An L1/L2 penalty ``l1·sum|w| + l2·sum w²`` on trainable param `param`, added to the
    training loss (`nnspec.regularizers`); a rate of 0 adds no term."""

    param: str
    l1: float = 0.0
    l2: float = 0.0


@dataclass(frozen=True)
class Training:
    """The document's `training` section, resolved against the graph."""

    output: str
    targets: tuple[Input, ...]
    loss: Mapping[str, Any]
    optimizer: Mapping[str, Any]
    epochs: int = 100
    batch_size: int | None = None
    seed: int = 0
    metrics: tuple[str, ...] = ()
    loss_node: str | None = None  # id of the lowered loss node inside `Graph.nodes`
    schedule: Mapping[str, Any] | None = None  # learning-rate schedule (`optimizers.SCHEDULES`)
    validation_split: float | None = None
    early_stopping: Mapping[str, Any] | None = None  # `EarlyStopping` settings
    regularizers: tuple[Regularizer, ...] = ()  # in param order


@dataclass(frozen=True, eq=False)
class Graph:
    """A checked network: inputs, params, primitive nodes in topological order, outputs."""

    name: str
    dtype: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    training: Training | None = None
    seed: int = 0
    description: str = ""
    source_sha256: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.meta, MappingProxyType):
            object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def __getstate__(self) -> dict[str, Any]:  # a mapping proxy does not pickle; its dict does
        return {**self.__dict__, "meta": dict(self.meta)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def types(self) -> dict[str, TensorType]:
        """Type of every named value (inputs, training targets, params, nodes)."""
        table = {i.name: i.type for i in self.inputs}
        if self.training is not None:
            table.update({t.name: t.type for t in self.training.targets})
        table.update({p.name: p.type for p in self.params})
        table.update({n.id: n.type for n in self.nodes})
        return table

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def with_dtype(self, dtype: str) -> Graph:
        """The same graph computing in float `dtype`: every float type (inputs, targets,
        params and their literal values, nodes) becomes `dtype`; integers stay.

        `nnspec check` differentiates float32 documents on their float64 twin.
        """

        def widen(t: TensorType) -> TensorType:
            return TensorType(t.shape, dtype) if t.is_float else t

        def param(p: Param) -> Param:
            value = None if p.value is None else np.asarray(p.value, dtype=widen(p.type).dtype)
            return replace(p, type=widen(p.type), value=value)

        training = self.training
        if training is not None:
            targets = tuple(replace(t, type=widen(t.type)) for t in training.targets)
            training = replace(training, targets=targets)
        return replace(
            self,
            dtype=dtype if self.dtype in FLOAT_DTYPES else self.dtype,
            inputs=tuple(replace(i, type=widen(i.type)) for i in self.inputs),
            params=tuple(param(p) for p in self.params),
            nodes=tuple(replace(n, type=widen(n.type)) for n in self.nodes),
            training=training,
        )
