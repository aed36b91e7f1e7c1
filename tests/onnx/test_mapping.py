"""The ONNX tables are derived from `OpDef.onnx`: export, the one-node imports, and
the activations `patterns` lets a dense layer absorb; each op checked with onnxruntime."""

from __future__ import annotations

from typing import Any, get_args

import numpy as np
import pytest

import nnspec
from nnspec.onnx import from_onnx, to_onnx
from nnspec.onnx.convert import SPECIAL, one_node_converters
from nnspec.onnx.exporter import MAPPINGS, RULES, ExportError
from nnspec.ops import REGISTRY
from nnspec.ops.base import OnnxRule

ONE_NODE = sorted(
    name
    for name, op in REGISTRY.items()
    if op.family == "elementwise" and op.onnx in MAPPINGS.values() and op.onnx.rule == "node"
)


def _document(op: str, attrs: dict[str, Any], dtype: str = "float32") -> dict[str, Any]:
    return {
        "nnspec": "1",
        "dtype": dtype,
        "inputs": {"x": {"shape": ["batch", 5]}},
        "nodes": [{"id": "y", "op": op, **attrs}],
    }


def _non_default(op: str) -> dict[str, Any]:
    """Attribute values other than the defaults, so export and import must carry them."""
    samples = REGISTRY[op].samples
    defaults = REGISTRY[op].defaults()
    return {k: next(v for v in samples[k] if v != defaults[k]) for k in samples}


def _inputs(op: str, dtype: str) -> np.ndarray:
    """Values in the op's domain, near its kinks and far out (hard_sigmoid's saturation)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-6.0, 6.0, size=(7, 5))
    if REGISTRY[op].domain_of(0) == "positive":
        x = np.abs(x) + 0.5
    elif REGISTRY[op].domain_of(0) == "small":
        x = x * 0.6
    return x.astype(dtype)


def _onnxruntime(blob: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_every_rule_the_ops_name_is_written_by_the_exporter() -> None:
    assert set(RULES) == set(get_args(OnnxRule))
    assert {m.rule for m in MAPPINGS.values()} <= set(RULES)


def test_a_one_node_op_has_no_hand_written_converter() -> None:
    """Identity is the one exception: import drops it rather than keeping the op."""
    assert set(SPECIAL) & set(one_node_converters()) == {"Identity"}


@pytest.mark.parametrize("op", [n for n in ONE_NODE if n != "identity"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_one_node_op_exports_runs_in_onnxruntime_and_imports_back(op: str, dtype: str) -> None:
    attrs = _non_default(op)
    graph = nnspec.load(_document(op, attrs, dtype))
    blob = to_onnx(graph)
    x = _inputs(op, dtype)
    if dtype == "float32":  # onnxruntime's CPU kernels of several ops are float32 only
        np.testing.assert_allclose(
            _onnxruntime(blob, x), nnspec.Model(graph).run({"x": x})["y"], rtol=1e-5, atol=1e-6
        )
    (node,) = from_onnx(blob).document["nodes"]
    assert node["op"] == op
    for key, value in attrs.items():  # ONNX float attributes are float32
        assert np.float32(node[key]) == np.float32(value), key


@pytest.mark.parametrize("op", [n for n in ONE_NODE if REGISTRY[n].onnx.attrs])
def test_import_writes_onnx_defaults_explicitly(op: str) -> None:
    """An ONNX node that leaves an attribute out means ONNX's default, not nnspec's."""
    import onnx.helper

    mapping = REGISTRY[op].onnx
    node = onnx.helper.make_node(mapping.op_type, ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])
    out = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])
    model = onnx.helper.make_model(
        onnx.helper.make_graph([node], "g", [value], [out]),
        opset_imports=[onnx.helper.make_opsetid("", 20)],
    )
    blob = model.SerializeToString()
    imported = from_onnx(blob)
    (written,) = imported.document["nodes"]
    assert {k: written[k] for k in mapping.attrs} == dict(mapping.attrs)
    x = _inputs(op, "float32")[:2, :3]
    y = nnspec.Model(nnspec.load(imported.document)).run({"x": x})["y"]
    np.testing.assert_allclose(_onnxruntime(blob, x), y, rtol=1e-5, atol=1e-6)


def test_an_op_without_an_onnx_form_is_refused_with_its_reason(monkeypatch) -> None:
    """A registry op whose `onnx` is a sentence: export names the op and says why."""
    import dataclasses

    from nnspec.onnx import exporter

    graph = nnspec.load(_document("relu", {}))
    reason = "no ONNX op computes it"
    monkeypatch.setitem(REGISTRY, "relu", dataclasses.replace(REGISTRY["relu"], onnx=reason))
    monkeypatch.delitem(exporter.MAPPINGS, "relu")
    with pytest.raises(ExportError, match=f"nnspec op 'relu' has no ONNX form: {reason}"):
        to_onnx(graph)


@pytest.mark.parametrize("op", sorted(n for n, o in REGISTRY.items() if o.activation and o.attrs))
def test_dense_absorbs_an_activation_with_its_attributes(op: str) -> None:
    """matmul → add → activation imports as one dense layer: its activation is the op's
    name when the attributes are the op's defaults, else the object form holding them."""
    defaults = REGISTRY[op].defaults()
    changed = {k: v for k, v in _non_default(op).items()} or {
        k: (v - 1 if isinstance(v, int) else v) for k, v in defaults.items()
    }
    for attrs, written in ((defaults, op), (changed, {"op": op, **changed})):
        document = {
            "nnspec": "1",
            "inputs": {"x": {"shape": ["batch", 3]}},
            "params": {
                "W": {"shape": [3, 4], "init": {"name": "normal"}},
                "b": {"shape": [4], "init": {"name": "normal"}},
            },
            "nodes": [
                {"id": "h", "op": "matmul", "inputs": ["x", "W"]},
                {"id": "z", "op": "add", "inputs": ["h", "b"]},
                {"id": "y", "op": op, **attrs},
            ],
        }
        graph = nnspec.load(document)
        imported = from_onnx(to_onnx(graph))
        (dense,) = imported.document["nodes"]
        assert dense["op"] == "dense" and dense["activation"] == written, (attrs, dense)
        x = _inputs(op, "float32")[:2, :3]
        back = nnspec.Model(nnspec.load(imported.document)).run({"x": x})["y"]
        np.testing.assert_array_equal(back, nnspec.Model(graph).run({"x": x})["y"])
