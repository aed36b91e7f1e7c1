"""nnspec export / import / check on ONNX files, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.examples import examples_dir


def test_export_import_verify_and_check(tmp_path: Path, capsys) -> None:
    source = next(p for p in sorted(examples_dir().glob("*.json")) if "xor" in p.name)
    model = tmp_path / "xor.onnx"
    assert main(["export", str(source), "-o", str(model), "--verify"]) == 0
    table = capsys.readouterr().out
    assert "interpreter vs onnxruntime" in table and "DISAGREES" not in table
    out = tmp_path / "back.json"
    assert main(["import", str(model), "-o", str(out), "--verify", "--batch", "7"]) == 0
    assert "compiled vs interpreter" in capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["x-onnx"]["producer"].startswith("nnspec")
    assert main(["check", str(model)]) == 0


def test_a_document_without_a_name_exports(tmp_path: Path, capsys) -> None:
    """ONNX needs a graph name; a document without one was a checker traceback."""
    source = tmp_path / "nameless.json"
    document = {"nnspec": "1", "inputs": {"x": {"shape": ["batch", 2]}}, "nodes": [{"op": "relu"}]}
    source.write_text(json.dumps(document))
    model = tmp_path / "nameless.onnx"
    assert main(["export", str(source), "-o", str(model), "--verify"]) == 0
    assert "DISAGREES" not in capsys.readouterr().out
    assert main(["check", str(model)]) == 0


def test_import_writes_a_weights_file_when_asked(tmp_path: Path) -> None:
    source = next(p for p in sorted(examples_dir().glob("*.json")) if "xor" in p.name)
    model = tmp_path / "xor.onnx"
    assert main(["export", str(source), "-o", str(model)]) == 0
    out = tmp_path / "xor.json"
    assert main(["import", str(model), "-o", str(out), "--weights", str(tmp_path / "xor.npz")]) == 0
    document = json.loads(out.read_text())
    assert document["weights"] == "xor.npz"
    assert all("value" not in p for p in document["params"].values())
    with np.load(tmp_path / "xor.npz") as archive:
        assert sorted(archive.files) == sorted(document["params"])
    assert main(["import", str(model), "-o", str(out), "--weights", "/tmp/elsewhere.npz"]) == 2


def test_export_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    source = tmp_path / "m.json"
    source.write_text(next(iter(sorted(examples_dir().glob("*.json")))).read_text())
    assert main(["export", str(source), "-o", str(source)]) == 2


def test_the_api_is_on_the_package_and_imports_onnx_lazily() -> None:
    import subprocess
    import sys

    import nnspec
    from nnspec.onnx import exporter, importer, sklearn

    assert nnspec.from_onnx is importer.from_onnx
    assert nnspec.to_onnx is exporter.to_onnx
    assert nnspec.from_sklearn is sklearn.from_sklearn
    code = "import sys, nnspec, nnspec.onnx; nnspec.load; print('onnx' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


def _relu_model(path: Path, dims: list, ir_version: int | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if ir_version is not None:
        model.ir_version = ir_version
    onnx.save(model, str(path))
    return path


def test_a_model_onnxruntime_cannot_run_is_exit_1_without_traceback(tmp_path: Path, capsys) -> None:
    """An IR version too new for onnxruntime: its message, exit 1, no traceback."""
    model = _relu_model(tmp_path / "ir99.onnx", ["N", 2], ir_version=99)
    assert main(["check", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nnspec check: onnxruntime cannot run the model: ")
    assert main(["import", str(model), "-o", str(tmp_path / "m.json"), "--verify"]) == 1
    assert "nnspec import: onnxruntime cannot run the model: " in capsys.readouterr().err


@pytest.mark.parametrize("dims", [[0, 2], ["N", 0], [-3, 2]])
def test_an_explicit_empty_or_negative_dim_is_an_import_error(
    dims: list, tmp_path: Path, capsys
) -> None:
    """ONNX dim 0 is an empty tensor, not "unknown": importing it as "batch" would change
    the model's meaning."""
    model = _relu_model(tmp_path / "zero.onnx", dims)
    out = tmp_path / "z.json"
    assert main(["import", str(model), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    axis = next(a for a, d in enumerate(dims) if isinstance(d, int) and d <= 0)
    assert f"NN706 input 'x' has dim {dims[axis]} on axis {axis}; nnspec dims are positive" in err
    assert not out.exists()
