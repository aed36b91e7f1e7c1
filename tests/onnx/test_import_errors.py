"""Models nnspec cannot import get every problem at once, located, with a stable code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import onnx
from nnspec.cli.main import main
from nnspec.errors import CODES, SpecError
from nnspec.onnx import from_onnx
from nnspec.spec.limits import Limits
from onnx import TensorProto, helper, numpy_helper


def _model(nodes, inputs=None, outputs=None, initializers=(), opset=17, domains=()):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    imports = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, 1) for d in domains)]
    return helper.make_model(graph, opset_imports=imports)


def _problems(model) -> list:
    with pytest.raises(SpecError) as info:
        from_onnx(model.SerializeToString())
    assert all(p.code in CODES for p in info.value.problems)
    return list(info.value.problems)


def test_every_unsupported_node_is_reported_with_name_type_domain_opset() -> None:
    model = _model(
        [
            helper.make_node("Relu", ["x"], ["a"], name="fine"),
            helper.make_node("Conv", ["a", "w"], ["b"], name="conv1"),
            helper.make_node("MyOp", ["a"], ["c"], name="custom", domain="com.example"),
            helper.make_node("Add", ["b", "c"], ["y"], name="joined"),
        ],
        domains=["com.example"],
    )
    problems = _problems(model)
    assert [(p.code, p.pointer) for p in problems] == [
        ("NN702", "/graph/node/1"),
        ("NN703", "/graph/node/2"),
    ]
    assert "node 'conv1' (ai.onnx::Conv, opset 17)" in problems[0].message
    assert "node 'custom' (com.example::MyOp, opset 1)" in problems[1].message


def test_an_unsupported_node_behind_another_is_reported_too() -> None:
    model = _model(
        [
            helper.make_node("MyOp", ["x"], ["a"], name="custom", domain="com.example"),
            helper.make_node("Bar", ["a"], ["b"], name="unknown"),
            helper.make_node("Relu", ["b"], ["y"], name="fine"),  # follows: not reported
        ],
        domains=["com.example"],
    )
    assert [(p.code, p.pointer) for p in _problems(model)] == [
        ("NN703", "/graph/node/0"),
        ("NN702", "/graph/node/1"),
    ]


def test_unsupported_attribute_values_are_refused() -> None:
    shape = numpy_helper.from_array(np.array([0, 4], dtype=np.int64), "shape")
    model = _model(
        [
            helper.make_node("Gelu", ["x"], ["g"], name="g", approximate="cubic"),
            helper.make_node("Reshape", ["g", "shape"], ["y"], name="r", allowzero=1),
        ],
        initializers=[shape],
        opset=20,
    )
    assert [p.code for p in _problems(model)] == ["NN704"]  # the reshape is not reached


def test_integer_inputs_and_old_opsets_are_refused() -> None:
    ints = [helper.make_tensor_value_info("x", TensorProto.INT64, ["N"])]
    assert [
        p.code for p in _problems(_model([helper.make_node("Neg", ["x"], ["y"])], inputs=ints))
    ] == ["NN706"]
    old = _model([helper.make_node("Relu", ["x"], ["y"])], opset=5)
    assert [p.code for p in _problems(old)] == ["NN703"]


def test_not_a_model_and_size_limits() -> None:
    with pytest.raises(SpecError) as info:
        from_onnx(b"\x01\x02 definitely not protobuf")
    assert info.value.problems[0].code == "NN701"
    big = numpy_helper.from_array(np.zeros((64, 4), np.float32), "W")
    model = _model([helper.make_node("MatMul", ["W", "x"], ["y"])], initializers=[big])
    with pytest.raises(SpecError) as info:
        from_onnx(model.SerializeToString(), limits=Limits(max_param_elements=100))
    assert info.value.problems[0].code == "NN601"
    with pytest.raises(SpecError) as info:
        from_onnx(model.SerializeToString(), limits=Limits(max_file_bytes=100))
    assert info.value.problems[0].code == "NN601"


@pytest.mark.parametrize(
    ("initializer", "limits", "code"),
    [
        (np.zeros((64, 4), np.float32), Limits(max_param_elements=100), "NN601"),
        (np.zeros((4, 4), np.complex64), Limits(), "NN706"),
        (np.zeros((4, 4), np.float16), Limits(), "NN706"),
    ],
)
@pytest.mark.parametrize("uses", [1, 3])
def test_a_refused_initializer_is_one_problem_however_often_it_is_used(
    initializer: np.ndarray, limits: Limits, code: str, uses: int
) -> None:
    big = numpy_helper.from_array(initializer, "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h0"], name="m0")]
    nodes += [helper.make_node("Add", [f"h{k}", "W"], [f"h{k + 1}"]) for k in range(uses - 1)]
    nodes += [helper.make_node("Relu", [f"h{uses - 1}"], ["y"])]
    model = _model(nodes, initializers=[big])
    with pytest.raises(SpecError) as info:
        from_onnx(model.SerializeToString(), limits=limits)
    problems = info.value.problems
    assert [(p.code, p.pointer) for p in problems] == [(code, "/graph/initializer/0")]
    assert "'W'" in problems[0].message


def _external(tmp_path: Path, location: str) -> Path:
    weight = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "32")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    model = _model([helper.make_node("MatMul", ["x", "W"], ["y"])], initializers=[weight])
    path = tmp_path / "model" / "m.onnx"
    path.parent.mkdir()
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_is_read_only_inside_the_models_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(np.ones(8, np.float32).tobytes())
    for location in ("../secret.bin", str(tmp_path / "secret.bin"), "missing.bin"):
        with pytest.raises(SpecError) as info:
            from_onnx(_fresh(tmp_path, location))
        assert [p.code for p in info.value.problems] == ["NN707"]
    inside = _fresh(tmp_path, "w.bin")
    (inside.parent / "w.bin").write_bytes(np.arange(8, dtype=np.float32).tobytes())
    imported = from_onnx(inside)
    assert np.array_equal(
        next(iter(imported.weights.values())), np.arange(8, dtype=np.float32).reshape(4, 2)
    )


_COUNT = iter(range(1000))


def _fresh(tmp_path: Path, location: str) -> Path:
    folder = tmp_path / f"case{next(_COUNT)}"
    folder.mkdir()
    return _external(folder, location)


def test_cli_reports_located_problems_and_exit_codes(tmp_path: Path, capsys) -> None:
    model = _model([helper.make_node("Conv", ["x", "x"], ["y"], name="c")])
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    assert main(["import", str(path), "-o", str(tmp_path / "m.json")]) == 1
    err = capsys.readouterr().err
    assert f"{path}: NN702 node 'c' (ai.onnx::Conv, opset 17)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "m.json").exists()
    assert main(["import", str(tmp_path / "none.onnx"), "-o", str(tmp_path / "m.json")]) == 2
    assert main(["check", str(path)]) == 1
