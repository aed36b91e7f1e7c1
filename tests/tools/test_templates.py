"""Starting documents: each validates and fits the data set `nnspec data` makes for it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nnspec.datasets import make
from nnspec.spec.load import load_with_problems
from nnspec.tools.templates import DATA, KINDS, template_text


@pytest.mark.parametrize("kind", KINDS)
def test_template_is_valid_without_warnings_and_explains_itself(kind: str) -> None:
    text = template_text(kind)
    graph, problems = load_with_problems(text)
    assert graph is not None and problems == []
    document = json.loads(text)
    assert document["description"] and any(key.startswith("x-") for key in document)
    assert all(node.get("description") for node in document["nodes"])


@pytest.mark.parametrize("kind", KINDS)
def test_template_takes_its_data_set_and_has_finite_gradients(kind: str) -> None:
    """The matching data set feeds the document as written (names x and y, dtypes,
    shapes) and one gradient step lowers the loss."""
    from nnspec.interpreter import Model

    name, *flags = DATA[kind]
    data = make(name, 64, seed=1)
    y = data.labels() if "--labels" in flags else data.y
    model = Model(load_with_problems(template_text(kind))[0])
    batch = {"x": data.x, "y": y}
    loss, grads = model.gradients(batch)
    assert np.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())
    for param, grad in grads.items():
        model.params[param] = model.params[param] - 0.05 * grad
    assert model.gradients(batch)[0] < loss


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="choose one of linear"):
        template_text("cnn")


@pytest.mark.parametrize("kind", KINDS)
def test_init_data_train_compile_end_to_end(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nnspec init`` → ``nnspec data`` → ``nnspec train`` → ``nnspec compile``: the
    loss falls, and the compiled module predicts exactly what the trained document does."""
    import importlib.util

    from nnspec.cli.main import main
    from nnspec.interpreter import Model

    monkeypatch.chdir(tmp_path)
    assert main(["init", kind, "-o", "model.json"]) == 0
    assert main(["data", *DATA[kind], "-o", "data.npz", "--n", "128"]) == 0
    train = ["train", "model.json", "--data", "data.npz", "--out", "trained.json"]
    assert main([*train, "--epochs", "15", "--history", "h.json", "-q"]) == 0
    losses = [row["loss"] for row in json.loads((tmp_path / "h.json").read_text())["history"]]
    assert losses[-1] < losses[0]
    assert main(["compile", "trained.json", "-o", "model.py"]) == 0
    spec = importlib.util.spec_from_file_location(f"compiled_{kind}", tmp_path / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = make(DATA[kind][0], 16, seed=2).x
    expected = Model(load_with_problems(tmp_path / "trained.json")[0]).predict(x)
    np.testing.assert_array_equal(module.predict(x), expected)
