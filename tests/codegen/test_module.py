"""The generated module as a user meets it: examples, fresh processes, files, errors.

Subprocesses are slow, so one fresh interpreter imports every compiled example.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile, load_source, weights_npz
from nnspec.datasets import load_arrays, save_arrays
from nnspec.interpreter import Model

EXAMPLES = sorted(Path(__file__).parents[2].joinpath("examples").glob("*.json"))
NUMPY_SITE = str(Path(np.__file__).parents[1])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[nnspec.Graph, Path]]:
    folder = tmp_path_factory.mktemp("compiled")
    result = {}
    for path in EXAMPLES:
        graph = nnspec.load(path)
        module = folder / f"m_{path.stem}.py"
        module.write_text(compile(graph), encoding="utf-8")
        result[path.stem] = (graph, module)
    return result


def test_same_document_same_bytes_across_processes() -> None:
    script = (
        "import hashlib, sys, nnspec\n"
        "for p in sys.argv[1:]:\n"
        "    print(hashlib.sha256(nnspec.compile(nnspec.load(p)).encode()).hexdigest())\n"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": "src"}
        out = subprocess.run(
            [sys.executable, "-c", script, *map(str, EXAMPLES)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=Path(__file__).parents[2],
        )
        runs.append(out.stdout)
    here = "".join(
        hashlib.sha256(compile(nnspec.load(p)).encode()).hexdigest() + "\n" for p in EXAMPLES
    )
    assert runs[0] == runs[1] == here


def test_output_passes_ruff(compiled: dict) -> None:
    files = [str(module) for _, module in compiled.values()]
    config = str(Path(__file__).parents[2] / "pyproject.toml")
    for options in (["--config", config], ["--isolated", "--select", "E,F,W"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", *options, *files],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout


def test_fresh_process_without_nnspec_predicts_like_the_interpreter(
    compiled: dict, tmp_path: Path
) -> None:
    """Import every example in `python -I` with the stdlib, NumPy and the modules on the path."""
    expected = {}
    for stem, (graph, _) in compiled.items():
        inputs = {
            i.name: np.linspace(-1, 1, 4 * i.type.shape[1], dtype=i.type.dtype).reshape(4, -1)
            for i in graph.inputs
        }
        np.savez(tmp_path / f"{stem}.in.npz", **inputs)
        expected[stem] = Model(graph).run(inputs)
    script = (
        "import importlib.util, json, sys\n"
        "folder, site, stems = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
        "stdlib = [p for p in sys.path if not p.endswith('site-packages')]\n"
        "sys.path[:] = [folder, *stdlib, site]\n"
        "import numpy as np\n"
        "sys.modules['nnspec'] = None  # nnspec may be in numpy's site-packages\n"
        "report = {'nnspec_importable': importlib.util.find_spec('nnspec') is not None}\n"
        "for stem in stems:\n"
        "    m = importlib.import_module('m_' + stem)\n"
        "    with np.load(f'{folder}/{stem}.in.npz') as data:\n"
        "        out = m.run({k: data[k] for k in data.files})\n"
        "    np.savez(f'{folder}/{stem}.out.npz', **out)\n"
        "    report[stem] = m.self_test()\n"
        "print(json.dumps(report))\n"
    )
    folder = next(iter(compiled.values()))[1].parent
    for stem in compiled:
        os.replace(tmp_path / f"{stem}.in.npz", folder / f"{stem}.in.npz")
    out = subprocess.run(
        [sys.executable, "-I", "-c", script, str(folder), NUMPY_SITE, *compiled],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
    )
    report = json.loads(out.stdout.splitlines()[-1])
    assert report.pop("nnspec_importable") is False
    assert all(report.values()), report
    for stem, want in expected.items():
        with np.load(folder / f"{stem}.out.npz") as got:
            for name, value in want.items():
                assert np.array_equal(got[name], value), (stem, name)


def test_main_reads_csv_and_npy_and_self_tests(compiled: dict, tmp_path: Path) -> None:
    graph, module = compiled["xor"]
    x = np.array([[0, 0], [0, 1], [1, 0]], dtype=np.float32)
    save_arrays(tmp_path / "x.csv", {"x": x})  # with a header row, as nnspec writes CSV
    np.savetxt(tmp_path / "bare.csv", x, delimiter=",")  # without one
    np.save(tmp_path / "x.npy", x)
    run = [sys.executable, "-I", str(module)]
    subprocess.run([*run, str(tmp_path / "x.csv"), "-o", str(tmp_path / "p.npy")], check=True)
    subprocess.run([*run, str(tmp_path / "bare.csv"), "-o", str(tmp_path / "q.npy")], check=True)
    subprocess.run([*run, str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.csv")], check=True)
    want = Model(graph).predict(x)
    assert np.array_equal(np.load(tmp_path / "p.npy"), want)
    assert np.array_equal(np.load(tmp_path / "q.npy"), want)
    # nnspec reads the module's CSV back exactly: same column names, float32 round trip
    read_back = load_arrays(tmp_path / "p.csv", inputs=["prob"])["prob"]
    assert np.array_equal(read_back.astype(np.float32), want)
    test = subprocess.run([*run, "--self-test"], capture_output=True, text=True)
    assert test.returncode == 0 and "exact" in test.stdout


def test_self_test_fails_when_the_module_computes_something_else(compiled: dict) -> None:
    _, module = compiled["xor"]
    broken = module.with_name("m_broken.py")
    broken.write_text(module.read_text().replace("np.tanh(", "np.sin("))
    result = subprocess.run([sys.executable, "-I", str(broken), "--self-test"], capture_output=True)
    assert result.returncode == 1 and b"MISMATCH" in result.stdout


def test_input_checks_raise_clear_value_errors() -> None:
    doc = {
        "nnspec": "1",
        "name": "two",
        "inputs": {"a": {"shape": ["batch", 2]}, "b": {"shape": ["batch", 2]}},
        "nodes": [{"id": "s", "op": "add", "inputs": ["a", "b"]}],
    }
    module = load_source(compile(nnspec.load(doc)))
    ok = np.zeros((3, 2))
    assert module.predict(ok, ok).dtype == np.float32
    assert module.INPUTS == {
        "a": {"dtype": "float32", "shape": ("batch", 2)},
        "b": {"dtype": "float32", "shape": ("batch", 2)},
    }
    with pytest.raises(ValueError, match=r"'b': 'batch' is 4 on axis 0.* 3 in input 'a'"):
        module.predict(ok, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"'a': expected shape \('batch', 2\), got \(3, 3\)"):
        module.predict(np.zeros((3, 3)), ok)
    with pytest.raises(ValueError, match="'a': expected shape"):
        module.predict(np.zeros(3), ok)
    with pytest.raises(ValueError, match="expected float32 numbers, got <U1"):
        module.predict(np.array([["a", "b"]]), ok)


def test_several_outputs_come_back_as_a_dict() -> None:
    doc = {
        "nnspec": "1",
        "name": "pair",
        "inputs": {"x": {"shape": [None, 3]}},
        "nodes": [{"id": "e", "op": "exp"}, {"id": "t", "op": "tanh", "inputs": ["x"]}],
        "outputs": ["e", "t"],
    }
    graph = nnspec.load(doc)
    module = load_source(compile(graph))
    x = np.ones((2, 3), np.float32)
    got = module.predict(x)
    assert set(got) == {"e", "t"} and np.array_equal(got["t"], np.tanh(x))


def test_weights_file_is_checked_by_sha256(tmp_path: Path) -> None:
    graph = nnspec.load(EXAMPLES[0])
    (tmp_path / "m.weights.npz").write_bytes(weights_npz(graph))
    module = tmp_path / "m.py"
    module.write_text(compile(graph, weights_file="m.weights.npz"))
    assert weights_npz(graph) == weights_npz(graph)
    ok = subprocess.run([sys.executable, "-I", str(module), "--self-test"], capture_output=True)
    assert ok.returncode == 0, ok.stderr
    data = bytearray((tmp_path / "m.weights.npz").read_bytes())
    data[-30] ^= 1
    (tmp_path / "m.weights.npz").write_bytes(bytes(data))
    bad = subprocess.run([sys.executable, "-I", str(module), "--self-test"], capture_output=True)
    assert bad.returncode != 0 and b"sha256" in bad.stderr


def test_module_records_its_origin() -> None:
    graph = nnspec.load(EXAMPLES[0])
    source = compile(graph)
    module = load_source(source)
    assert f"sha256 {graph.source_sha256}" in source and "Do not edit" in source
    assert graph.name == module.NAME and graph.source_sha256 == module.SOURCE_SHA256
    assert graph.description == module.DESCRIPTION
    assert json.dumps(module.OUTPUTS)
