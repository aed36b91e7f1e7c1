"""One `.npz` weights layout: arrays by the document's param names (``hidden.W``), as
``nnspec train`` writes them, ``nnspec compile --weights-file`` writes them and a
compiled module reads them (docs/format.md#weights-files-one-layout)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import make, save_arrays
from nnspec.interpreter import Model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A document too large to hold its weights inline, trained by `nnspec train`."""
    monkeypatch.chdir(tmp_path)
    doc = json.loads((EXAMPLES / "xor.json").read_text())
    doc["nodes"][0]["units"] = 4000  # 2*4000 + 4000 + 4000 + 1 params > 10 000
    (tmp_path / "wide.json").write_text(json.dumps(doc))
    data = make("xor", 64, seed=0)
    save_arrays(tmp_path / "xor.npz", {"x": data.x, "y": data.y})
    args = ["train", "wide.json", "--data", "xor.npz", "--out", "out/wide.json"]
    (tmp_path / "out").mkdir()
    assert main([*args, "--epochs", "2", "-q"]) == 0
    return tmp_path / "out"


def _predict(module: Path, points: Path) -> np.ndarray:
    out = module.with_suffix(".npy")
    subprocess.run(
        [sys.executable, module.name, points.name, "-o", out.name],
        cwd=module.parent,
        check=True,
        timeout=120,
    )
    return np.load(out)


def test_train_writes_the_documents_param_names(trained):
    with np.load(trained / "wide.weights.npz") as archive:
        assert sorted(archive.files) == ["hidden.W", "hidden.b", "prob.W", "prob.b"]


def test_compile_elsewhere_writes_the_same_bytes_train_wrote(trained, capsys):
    (trained.parent / "build").mkdir()
    code = main(["compile", "out/wide.json", "-o", "build/wide.py", "--weights-file"])
    assert code == 0, capsys.readouterr().err
    built = trained.parent / "build"
    assert (built / "wide.weights.npz").read_bytes() == (trained / "wide.weights.npz").read_bytes()


def test_a_module_compiled_beside_the_document_reads_trains_file_as_it_is(trained, capsys):
    before = (trained / "wide.weights.npz").read_bytes()
    code = main(["compile", "out/wide.json", "-o", "out/wide.py", "--weights-file"])
    assert code == 0
    assert capsys.readouterr().err == (
        "nnspec compile: wrote out/wide.py and kept out/wide.weights.npz, the document's "
        "weights file, as it is\n"
    )
    assert (trained / "wide.weights.npz").read_bytes() == before
    assert 'WEIGHTS_FILE = "wide.weights.npz"' in (trained / "wide.py").read_text()
    points = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
    np.save(trained / "points.npy", points)
    expected = Model(nnspec.load(trained / "wide.json")).run({"x": points})["prob"]
    np.testing.assert_array_equal(_predict(trained / "wide.py", trained / "points.npy"), expected)
    assert main(["compile", "out/wide.json", "-o", "out/wide.py", "--check"]) == 0


def test_a_module_does_not_read_another_trainings_file(trained, capsys):
    """The module checks its weights file's sha256: weights of another run are refused."""
    assert main(["compile", "out/wide.json", "-o", "out/wide.py", "--weights-file"]) == 0
    module = trained / "wide.py"
    again = ["train", "out/wide.json", "--data", "xor.npz", "--in-place", "--epochs", "1", "-q"]
    assert main(again) == 0
    np.save(trained / "points.npy", np.zeros((1, 2), dtype=np.float32))
    done = subprocess.run(
        [sys.executable, module.name, "points.npy"],
        cwd=trained,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0
    assert "sha256 differs from the weights this module was compiled with" in done.stderr


def test_a_different_weights_file_beside_the_document_is_never_overwritten(trained, capsys):
    """Same path, other bytes (the document's file holds float64 arrays): refused."""
    with np.load(trained / "wide.weights.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    np.savez(trained / "wide.weights.npz", **{k: v.astype(np.float64) for k, v in arrays.items()})
    before = (trained / "wide.weights.npz").read_bytes()
    assert main(["compile", "out/wide.json", "-o", "out/wide.py", "--weights-file"]) == 2
    assert "refusing to overwrite it" in capsys.readouterr().err
    assert (trained / "wide.weights.npz").read_bytes() == before
    assert not (trained / "wide.py").exists()
