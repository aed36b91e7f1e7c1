"""Every trainable example, compiled with ``--train``, trains in a fresh ``python -I``
process that has only the standard library and NumPy on its path (one process for
all examples), and its loss history equals ``nnspec.train``'s bit for bit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile
from nnspec.interpreter import Model

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted(ROOT.joinpath("examples").glob("*.json"))
NUMPY_SITE = str(Path(np.__file__).parents[1])
EPOCHS, ROWS = 8, 48

SCRIPT = """\
import importlib, importlib.util, json, sys
folder, site, epochs, stems = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
stdlib = [p for p in sys.path if not p.endswith('site-packages')]
sys.path[:] = [folder, *stdlib, site]
import numpy as np
sys.modules['nnspec'] = None  # nnspec may be in numpy's site-packages
report = {'nnspec_importable': importlib.util.find_spec('nnspec') is not None}
for stem in stems:
    m = importlib.import_module('m_' + stem)
    with np.load(f'{folder}/{stem}.data.npz') as data:
        arrays = {k: data[k] for k in data.files}
    report[stem] = m.fit(arrays, epochs=epochs)
    m.save_weights(f'{folder}/{stem}.trained.npz')
print(json.dumps(report))
"""


def training_data(graph: nnspec.Graph) -> dict[str, np.ndarray]:
    """Random features in [-1, 1) and targets the loss accepts, by name."""
    rng = np.random.default_rng(7)
    training = graph.training
    loss = graph.node(training.loss_node)
    classes = graph.types()[loss.inputs[0]].shape[-1]
    arrays = {}
    for feed in (*graph.inputs, *training.targets):
        shape = (ROWS, *(d if isinstance(d, int) else ROWS for d in feed.type.shape[1:]))
        if not feed.type.is_float:
            arrays[feed.name] = rng.integers(0, classes, shape).astype(feed.type.dtype)
        elif feed in training.targets and loss.op != "mse":
            arrays[feed.name] = (rng.uniform(0, 1, shape) > 0.5).astype(feed.type.dtype)
        else:
            arrays[feed.name] = rng.uniform(-1, 1, shape).astype(feed.type.dtype)
    return arrays


SCHEDULED = {
    "constant": {"name": "constant", "warmup_epochs": 1},
    "step": {"name": "step", "step_size": 3, "gamma": 0.5},
    "exponential": {"name": "exponential", "gamma": 0.9, "warmup_epochs": 2},
    "cosine": {"name": "cosine", "warmup_epochs": 2, "min_learning_rate": 0.01},
}
"""xor with each schedule kind, a kernel and a bias penalty, a validation split and
early stopping: the document's training keys, honoured by the module as by nnspec."""


def _variants() -> list[tuple[str, nnspec.Graph]]:
    graphs = [(path.stem, nnspec.load(path)) for path in EXAMPLES]
    doc = json.loads((ROOT / "examples" / "xor.json").read_text(encoding="utf-8"))
    doc["nodes"][0]["regularizer"] = {"l1": 1e-4, "l2": 1e-3}
    doc["training"].update(
        validation_split=0.25,
        early_stopping={"patience": 50, "min_delta": 1e-6},
        regularization={"prob.b": {"l2": 0.01}},
    )
    for kind, schedule in SCHEDULED.items():
        doc["training"]["schedule"] = schedule
        graphs.append((f"xor_{kind}", nnspec.load(doc)))
    return graphs


@pytest.fixture(scope="module")
def trainable(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    folder = tmp_path_factory.mktemp("train")
    result = {}
    for stem, graph in _variants():
        if graph.training is None:
            continue
        module = folder / f"m_{stem}.py"
        module.write_text(compile(graph, train=True), encoding="utf-8")
        data = training_data(graph)
        np.savez(folder / f"{stem}.data.npz", **data)
        result[stem] = (graph, module, data)
    return result


def test_every_trainable_example_is_compiled(trainable: dict) -> None:
    assert len(trainable) >= 6  # all examples but the hand-weighted sign network


def test_train_output_passes_ruff(trainable: dict) -> None:
    files = [str(module) for _, module, _ in trainable.values()]
    config = str(ROOT / "pyproject.toml")
    for options in (["--config", config], ["--isolated", "--select", "E,F,W"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", *options, *files],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout


def test_fresh_process_without_nnspec_trains_like_nnspec(trainable: dict) -> None:
    folder = next(iter(trainable.values()))[1].parent
    out = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, str(folder), NUMPY_SITE, str(EPOCHS), *trainable],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
    )
    report = json.loads(out.stdout.splitlines()[-1])
    assert report.pop("nnspec_importable") is False
    for stem, (graph, _, data) in trainable.items():
        history = nnspec.train(Model(graph), dict(data), epochs=EPOCHS, quiet=True)
        assert report[stem] == history.loss, stem  # bit for bit: JSON keeps float repr
        assert report[stem][-1] < report[stem][0], stem
        with np.load(folder / f"{stem}.trained.npz") as saved:
            for name, value in history.model.params.items():
                assert np.array_equal(saved[name], value), (stem, name)
