"""nnspec `Graph` → ONNX model: the export stage, `to_onnx`.

Every primitive op maps to standard ONNX ops at one opset, `EXPORT_OPSET` (the
table `EXPORTERS`); composites are already primitives in a `Graph`. Attributes are
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
from nnspec.ops import LOSSES

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


Exporter = Callable[[_OnnxBuilder, Node, list[str]], None]


def _simple(op_type: str) -> Exporter:
    def export(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
        b.add(op_type, xs, node.id, node.id)

    return export


def _with_attrs(op_type: str, *names: str) -> Exporter:
    """Ops whose nnspec attributes are ONNX float attributes of the same name."""

    def export(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
        attrs = {k: float(node.attr[k]) for k in names}
        b.add(op_type, xs, node.id, node.id, **attrs)

    return export


def _square(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
    b.add("Mul", [xs[0], xs[0]], node.id, node.id)


def _silu(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
    gate = b.add("Sigmoid", xs, f"{node.id}_sigmoid", f"{node.id}_sigmoid")
    b.add("Mul", [xs[0], gate], node.id, node.id)


def _gelu(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
    b.add("Gelu", xs, node.id, node.id, approximate="tanh")


def _axes(node: Node, rank: int) -> list[int]:
    axis = node.attr.get("axis")
    if axis is None:
        return list(range(rank))
    return [axis] if isinstance(axis, int) else list(axis)


def _reduce(op_type: str) -> Exporter:
    def export(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
        rank = b.graph.types()[node.inputs[0]].rank
        axes = b.const(f"{node.id}_axes", np.asarray(_axes(node, rank), dtype=np.int64))
        keepdims = int(bool(node.attr.get("keepdims", False)))
        b.add(op_type, [xs[0], axes], node.id, node.id, keepdims=keepdims)

    return export


def _axis(op_type: str) -> Exporter:
    def export(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
        b.add(op_type, xs, node.id, node.id, axis=int(node.attr.get("axis", -1)))

    return export


def _reshape(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
    # nnspec's 0 (copy) and -1 (infer) mean what ONNX's do with allowzero=0.
    shape = b.const(f"{node.id}_shape", np.asarray(node.attr["shape"], dtype=np.int64))
    b.add("Reshape", [xs[0], shape], node.id, node.id, allowzero=0)


def _transpose(b: _OnnxBuilder, node: Node, xs: list[str]) -> None:
    perm = node.attr.get("perm")
    rank = b.graph.types()[node.inputs[0]].rank
    perm = list(range(rank))[::-1] if perm is None else list(perm)
    b.add("Transpose", xs, node.id, node.id, perm=perm)


EXPORTERS: dict[str, Exporter] = {
    "identity": _simple("Identity"),
    "neg": _simple("Neg"),
    "abs": _simple("Abs"),
    "sign": _simple("Sign"),
    "exp": _simple("Exp"),
    "log": _simple("Log"),
    "sqrt": _simple("Sqrt"),
    "square": _square,
    "sigmoid": _simple("Sigmoid"),
    "tanh": _simple("Tanh"),
    "relu": _simple("Relu"),
    "leaky_relu": _with_attrs("LeakyRelu", "alpha"),
    "elu": _with_attrs("Elu", "alpha"),
    "softplus": _simple("Softplus"),
    "gelu": _gelu,
    "silu": _silu,
    "erf": _simple("Erf"),
    "sin": _simple("Sin"),
    "cos": _simple("Cos"),
    "add": _simple("Add"),
    "sub": _simple("Sub"),
    "mul": _simple("Mul"),
    "div": _simple("Div"),
    "pow": _simple("Pow"),
    "maximum": _simple("Max"),
    "minimum": _simple("Min"),
    "matmul": _simple("MatMul"),
    "sum": _reduce("ReduceSum"),
    "mean": _reduce("ReduceMean"),
    "max": _reduce("ReduceMax"),
    "softmax": _axis("Softmax"),
    "log_softmax": _axis("LogSoftmax"),
    "reshape": _reshape,
    "transpose": _transpose,
    "concat": _axis("Concat"),
}


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
    unknown = sorted({n.op for n in nodes if n.op not in EXPORTERS})
    if unknown:
        raise ExportError(f"no ONNX mapping for nnspec op {unknown[0]!r}")
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
        EXPORTERS[node.op](builder, node, list(node.inputs))
    types = graph.types()
    onnx_graph = onnx.helper.make_graph(
        builder.nodes,
        graph.name,
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
