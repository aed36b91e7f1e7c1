"""nnspec `Graph` → ONNX model: the export stage, `to_onnx`.

Every primitive op maps to standard ONNX ops at one opset, `EXPORT_OPSET`, by the
`OnnxMapping` on its `OpDef` (`MAPPINGS`), written by one of the `RULES`; composites
are already primitives in a `Graph`. Attributes are
always written explicitly (never ONNX's defaults, which differ from nnspec's: ONNX
LeakyRelu's alpha is 0.01, its reductions keep dims). Symbolic dims become
``dim_param``s. The model passes ``onnx.checker.check_model(full_check=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnspec import __version__
from nnspec.ir import Graph, Node, TensorType
from nnspec.ops import LOSSES, REGISTRY
from nnspec.ops.base import OnnxMapping, OnnxRule

EXPORT_OPSET = 20  # the opset torch.onnx.export writes by default; has Gelu(tanh)
IR_VERSION = 9  # the newest IR onnxruntime 1.18+ reads
_ELEM = {"float32": 1, "float64": 11, "int32": 6, "int64": 7}


class ExportError(ValueError):
    """The graph cannot be exported (e.g. its outputs need a training loss)."""


@dataclass
class _OnnxBuilder:
    graph: Graph
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def const(self, base: str, array: np.ndarray) -> str:
        import onnx.numpy_helper

        name = base
        k = 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        self.initializers.append(onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def add(self, op_type: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        import onnx.helper

        self.nodes.append(onnx.helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def scalar(self, base: str, value: float, dtype: str) -> str:
        return self.const(base, np.asarray(value, dtype=dtype))


NodeWriter = Callable[[_OnnxBuilder, Node, list[str], OnnxMapping], None]
"""Writes one node by its op's `OnnxMapping` (its op type, attributes, constants)."""


def _node(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    attrs = {k: float(node.attr[k]) for k in m.attrs}
    b.add(m.op_type, xs, node.id, node.id, **attrs, **m.fixed)


def _twice(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    b.add(m.op_type, [xs[0], xs[0]], node.id, node.id)


def _gated(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    name = f"{node.id}_{m.op_type.lower()}"
    gate = b.add(m.op_type, xs, name, name)
    b.add("Mul", [xs[0], gate], node.id, node.id)


def _attr(node: Node, name: str) -> Any:
    """An attribute's value, its op's default when the node leaves it out."""
    return node.attr[name] if name in node.attr else REGISTRY[node.op].defaults()[name]


def _axes_input(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    rank = b.graph.types()[node.inputs[0]].rank
    axis = _attr(node, "axis")
    listed = list(range(rank)) if axis is None else [axis] if isinstance(axis, int) else axis
    axes = b.const(f"{node.id}_axes", np.asarray(listed, dtype=np.int64))
    keepdims = int(bool(_attr(node, "keepdims")))
    b.add(m.op_type, [xs[0], axes], node.id, node.id, keepdims=keepdims)


def _axis(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    b.add(m.op_type, xs, node.id, node.id, axis=int(_attr(node, "axis")))


def _shape_input(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    # nnspec's 0 (copy) and -1 (infer) mean what ONNX's do with allowzero=0.
    shape = b.const(f"{node.id}_shape", np.asarray(node.attr["shape"], dtype=np.int64))
    b.add(m.op_type, [xs[0], shape], node.id, node.id, allowzero=0)


def _perm(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    perm = node.attr.get("perm")
    rank = b.graph.types()[node.inputs[0]].rank
    perm = list(range(rank))[::-1] if perm is None else list(perm)
    b.add(m.op_type, xs, node.id, node.id, perm=perm)


def _ratio_input(b: _OnnxBuilder, node: Node, xs: list[str], m: OnnxMapping) -> None:
    # Dropout: the rate as the optional ratio input (opset >= 12). No training_mode
    # input means inference, where ONNX's Dropout is the identity, as nnspec's is.
    dtype = b.graph.types()[node.inputs[0]].dtype
    ratio = b.scalar(f"{node.id}_ratio", float(_attr(node, "rate")), dtype)
    seed = node.attr.get("seed")
    attrs = {} if seed is None else {"seed": int(seed)}
    b.add(m.op_type, [xs[0], ratio], node.id, node.id, **attrs)


RULES: dict[OnnxRule, NodeWriter] = {
    "node": _node,
    "twice": _twice,
    "gated": _gated,
    "axes_input": _axes_input,
    "axis": _axis,
    "shape_input": _shape_input,
    "perm": _perm,
    "ratio_input": _ratio_input,
}

MAPPINGS: dict[str, OnnxMapping] = {
    name: op.onnx for name, op in REGISTRY.items() if isinstance(op.onnx, OnnxMapping)
}
"""Every exportable op's `OpDef.onnx`; the others' `onnx` says why they are not."""


def _value_info(name: str, t: TensorType) -> Any:
    import onnx.helper

    dims = [d if isinstance(d, int | str) else None for d in t.shape]
    return onnx.helper.make_tensor_value_info(name, _ELEM[t.dtype], dims)


def _needed(graph: Graph) -> list[Node]:
    """The nodes the outputs depend on, in graph order (training-only nodes are left out)."""
    needed = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if node.id in needed:
            kept.append(node)
            needed.update(node.inputs)
    return kept[::-1]


def to_model(graph: Graph, params: Mapping[str, np.ndarray] | None = None) -> Any:
    """The `onnx.ModelProto` of `graph` with `params` (default: its initial values)."""
    import onnx.helper
    import onnx.numpy_helper

    import onnx

    if params is None:
        from nnspec.interpreter.init import initial_values

        params = initial_values(graph)
    nodes = _needed(graph)
    losses = [n.id for n in nodes if n.op in LOSSES]
    if losses:
        raise ExportError(
            f"output {losses[0]!r} is a training loss; nnspec exports the inference graph "
            '(list prediction nodes in "outputs")'
        )
    unknown = sorted({n.op for n in nodes if n.op not in MAPPINGS})
    if unknown:
        raise ExportError(f"nnspec op {unknown[0]!r} has no ONNX form: {REGISTRY[unknown[0]].onnx}")
    builder = _OnnxBuilder(graph)
    builder.names.update(i.name for i in graph.inputs)
    builder.names.update(n.id for n in graph.nodes)
    used = {name for n in nodes for name in n.inputs}
    for param in graph.params:
        if param.name in used:
            builder.names.add(param.name)
            array = np.asarray(params[param.name], dtype=param.type.dtype)
            builder.initializers.append(onnx.numpy_helper.from_array(array, param.name))
    for node in nodes:
        mapping = MAPPINGS[node.op]
        RULES[mapping.rule](builder, node, list(node.inputs), mapping)
    types = graph.types()
    onnx_graph = onnx.helper.make_graph(
        builder.nodes,
        graph.name or "nnspec",  # ONNX requires a graph name; a document may have none
        [_value_info(i.name, i.type) for i in graph.inputs],
        [_value_info(o, types[o]) for o in graph.outputs],
        builder.initializers,
    )
    model = onnx.helper.make_model(
        onnx_graph,
        opset_imports=[onnx.helper.make_opsetid("", EXPORT_OPSET)],
        producer_name="nnspec",
        producer_version=__version__,
        ir_version=IR_VERSION,
    )
    if graph.description:
        model.doc_string = graph.description
    onnx.checker.check_model(model, full_check=True)
    return model


def to_onnx(graph: Graph, params: Mapping[str, np.ndarray] | None = None) -> bytes:
    """The ONNX file (bytes) of `graph` with `params` (default: its initial values)."""
    return bytes(to_model(graph, params).SerializeToString())
