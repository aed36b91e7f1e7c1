"""from_onnx(to_onnx(doc)) is the same graph: same ops, same shapes, bitwise weights."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from hypothesis import given, settings

import nnspec
import onnx
from nnspec.interpreter.init import initial_values
from nnspec.ir import Graph
from nnspec.onnx import from_onnx, to_onnx
from nnspec.testing import documents


def _attrs(node: Any, types: dict) -> tuple:
    """Attributes in one spelling: an axis list, a perm always written out."""
    attrs = dict(node.attrs)
    rank = types[node.inputs[0]].rank if node.inputs else 0
    if node.op in ("sum", "mean", "max"):
        axis = attrs.get("axis")
        axes = range(rank) if axis is None else [axis] if isinstance(axis, int) else axis
        attrs["axis"] = tuple(sorted(a % rank for a in axes))
    if node.op == "transpose" and attrs.get("perm") is None:
        attrs["perm"] = tuple(range(rank))[::-1]
    for key, value in attrs.items():
        if isinstance(value, float):  # ONNX float attributes are float32 (docs/onnx.md)
            attrs[key] = float(np.float32(value))
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in attrs.items()))


def canonical(graph: Graph, values: dict[str, np.ndarray]) -> list[tuple]:
    """The graph with names replaced by their order of first use and params by their
    bytes; the identities the importer applies (identity and dropout removed, mul(x, x) = square,
    mul(x, sigmoid x) = silu when the sigmoid has no other use) written one way."""
    needed = set(graph.outputs)
    for node in reversed(graph.nodes):  # only what the outputs need is exported
        if node.id in needed:
            needed.update(node.inputs)
    live = [n for n in graph.nodes if n.id in needed]
    uses = Counter(i for n in live for i in n.inputs) + Counter(graph.outputs)
    producer = {n.id: n for n in graph.nodes}
    alias: dict[str, str] = {}
    fused: set[str] = set()
    for node in live:
        if node.op == "mul" and node.inputs[0] != node.inputs[1]:
            for gate, x in (node.inputs, node.inputs[::-1]):
                sig = producer.get(gate)
                if (
                    sig is not None
                    and sig.op == "sigmoid"
                    and sig.inputs == (x,)
                    and (uses[gate] == 1)
                ):
                    fused.add(gate)
    types = graph.types()
    names: dict[str, int] = {}

    def ref(name: str) -> Any:
        name = alias.get(name, name)
        if name in values:
            return ("param", values[name].dtype.str, values[name].shape, values[name].tobytes())
        return names.setdefault(name, len(names))

    for i in graph.inputs:
        ref(i.name)
    rows: list[tuple] = []
    for node in live:
        op, inputs = node.op, list(node.inputs)
        if op in ("identity", "dropout"):  # ONNX Dropout is imported for inference: identity
            alias[node.id] = alias.get(inputs[0], inputs[0])
            continue
        if node.id in fused:
            continue
        if op == "mul" and inputs[0] == inputs[1]:
            op, inputs = "square", inputs[:1]
        elif op == "mul" and fused & set(inputs):
            (gate,) = fused & set(inputs)
            op, inputs = "silu", list(producer[gate].inputs)
        rows.append((op, tuple(ref(i) for i in inputs), str(node.type), _attrs(node, types)))
        ref(node.id)
    return [*rows, ("outputs", tuple(ref(o) for o in graph.outputs))]


@settings(deadline=None)
@given(documents(ops=None, max_nodes=6))
def test_export_then_import_gives_the_same_graph(document: dict) -> None:
    graph = nnspec.load(document)
    values = initial_values(graph)
    blob = to_onnx(graph, values)
    onnx.checker.check_model(onnx.load_from_string(blob), full_check=True)
    imported = from_onnx(blob)
    again = nnspec.load(imported.document)
    want = canonical(graph, {p.name: values[p.name] for p in graph.params})
    got = canonical(again, {p.name: imported.weights[p.name] for p in again.params})
    assert got == want
    assert [tuple(i.type.shape) for i in again.inputs] == [
        tuple(i.type.shape) for i in graph.inputs
    ]


def test_every_primitive_exports_and_imports_back() -> None:
    """The mapping tables cover the registry: a new op without an ONNX mapping fails here
    (losses are training-only and never exported)."""
    from nnspec.onnx.exporter import MAPPINGS
    from nnspec.ops import LOSSES, REGISTRY

    primitives = {name for name in REGISTRY if name not in LOSSES}
    assert set(MAPPINGS) == primitives


def test_dropout_exports_as_inference_dropout_and_runs_as_the_identity() -> None:
    """Exported Dropout has its ratio and seed and no training_mode input; onnxruntime
    runs it as the identity, as nnspec's inference does; import removes it again."""
    from nnspec.onnx.verify import verify

    document = {
        "nnspec": "1",
        "name": "thin",
        "inputs": {"x": {"shape": ["batch", 3]}},
        "nodes": [
            {"id": "h", "op": "dense", "units": 5, "activation": "tanh"},
            {"id": "d", "op": "dropout", "rate": 0.4, "seed": 9},
            {"id": "p", "op": "dense", "units": 2},
        ],
    }
    graph = nnspec.load(document)
    values = initial_values(graph)
    blob = to_onnx(graph, values)
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    (dropout,) = [n for n in model.graph.node if n.op_type == "Dropout"]
    assert len(dropout.input) == 2 and [a.name for a in dropout.attribute] == ["seed"]
    ratio = next(t for t in model.graph.initializer if t.name == dropout.input[1])
    assert float(onnx.numpy_helper.to_array(ratio)) == np.float32(0.4)
    rows = verify(blob, graph, values)
    assert rows and all(r.ok for r in rows), rows
    again = nnspec.load(from_onnx(blob).document)
    assert "dropout" not in {n.op for n in again.nodes}
