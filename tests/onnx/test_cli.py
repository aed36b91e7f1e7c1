"""nnspec export / import / check on ONNX files, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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
