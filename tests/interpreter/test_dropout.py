"""Dropout in the interpreter and in compiled modules: identity at inference, seeded
masks while training (one fresh mask per step), the same masks in both engines."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.testing import assert_same_gradients, check_gradients

DOC: dict[str, Any] = {
    "nnspec": "1",
    "name": "dropout_mlp",
    "inputs": {"x": {"shape": ["batch", 3]}},
    "nodes": [
        {"id": "h", "op": "dense", "units": 16, "activation": "tanh"},
        {"id": "d", "op": "dropout", "rate": 0.25},
        {"id": "h2", "op": "dense", "units": 8, "activation": "relu"},
        {"id": "d2", "op": "dropout", "rate": 0.5},
        {"id": "p", "op": "dense", "units": 1},
    ],
    "training": {
        "target": {"name": "y", "shape": ["batch", 1]},
        "loss": "mse",
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "epochs": 3,
        "batch_size": 8,
        "seed": 4,
    },
}


def _doc(dtype: str = "float32", **training: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["dtype"] = dtype
    doc["training"].update(training)
    return doc


def _data(dtype: str = "float32", rows: int = 30) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(rows, 3)).astype(dtype)
    return x, (x[:, :1] * x[:, 1:2]).astype(dtype)


def test_inference_is_the_identity_in_both_engines() -> None:
    graph = nnspec.load(_doc())
    model = Model(graph)
    x, _ = _data()
    values = model.run({"x": x}, outputs=("h", "d", "h2", "d2"))
    np.testing.assert_array_equal(values["d"], values["h"])
    np.testing.assert_array_equal(values["d2"], values["h2"])
    module = load_source(compile(graph))
    np.testing.assert_array_equal(module.predict(x), model.predict(x))
    assert "_dropout_noise" not in compile(graph)  # inference modules draw nothing


def test_training_mode_drops_and_scales() -> None:
    model = Model(nnspec.load(_doc("float64")))
    x = np.random.default_rng(0).uniform(0.5, 1.0, size=(400, 3))
    values = model.run({"x": x}, outputs=("h", "d"), training=True)
    kept = values["d"] != 0
    np.testing.assert_array_equal(values["d"][kept], values["h"][kept] * (1 / 0.75))
    assert abs((~kept).mean() - 0.25) < 0.02


def test_masks_are_seeded_by_step_and_seed_and_fixed_otherwise() -> None:
    model = Model(nnspec.load(_doc()))
    x, y = _data()

    def mask(**stream: Any) -> np.ndarray:
        return model.run({"x": x}, outputs=("d",), training=True, **stream)["d"] != 0

    np.testing.assert_array_equal(mask(), mask(step=0, seed=4))  # the training seed
    assert not np.array_equal(mask(step=0), mask(step=1))
    assert not np.array_equal(mask(seed=4), mask(seed=5))
    loss, grads = model.gradients({"x": x, "y": y})
    again, same = model.gradients({"x": x, "y": y}, step=0)
    assert loss == again and all(np.array_equal(grads[k], same[k]) for k in grads)
    assert model.gradients({"x": x, "y": y}, step=1)[0] != loss
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="whole number"):
            model.gradients({"x": x, "y": y}, step=bad)


def test_a_nodes_own_seed_ignores_the_training_seed() -> None:
    doc = _doc()
    doc["nodes"][1]["seed"] = 99
    masks = []
    for seed in (0, 1):
        model = Model(nnspec.load(doc))
        out = model.run({"x": _data()[0]}, outputs=("d", "d2"), training=True, seed=seed)
        masks.append((out["d"] != 0, out["d2"] != 0))
    np.testing.assert_array_equal(masks[0][0], masks[1][0])  # seeded by its own seed
    assert not np.array_equal(masks[0][1], masks[1][1])  # seeded by the run's


def test_two_dropout_nodes_draw_from_different_streams() -> None:
    doc = _doc("float64")
    doc["nodes"][3]["rate"] = 0.25
    doc["nodes"][2]["units"] = 16
    doc["nodes"][2]["activation"] = "tanh"
    model = Model(nnspec.load(doc))
    x = np.random.default_rng(1).uniform(0.5, 1, size=(20, 3))
    model.params["h2.W"] = np.eye(16)
    model.params["h2.b"] = np.zeros(16)
    out = model.run({"x": x}, outputs=("d", "h2", "d2"), training=True)
    assert not np.array_equal(out["d"] != 0, out["d2"] != 0)


def test_gradients_match_finite_differences_with_the_mask_fixed() -> None:
    model = Model(nnspec.load(_doc("float64")))
    x, y = _data("float64", rows=6)
    assert check_gradients(model, {"x": x, "y": y}, wrt_inputs=True) < 1e-6


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_gradients_are_the_interpreters_at_every_step(dtype: str) -> None:
    graph = nnspec.load(_doc(dtype))
    module = load_source(compile(graph, self_test=False, train=True))
    model = Model(graph)
    x, y = _data(dtype)
    assert_same_gradients(module, model, {"x": x, "y": y})
    for step, seed in ((1, None), (7, 0), (2, 123)):
        want = model.gradients({"x": x, "y": y}, step=step, seed=seed)
        got = module.loss_and_gradients({"x": x, "y": y}, step=step, seed=seed)
        assert got[0] == want[0]
        assert all(np.array_equal(got[1][k], want[1][k]) for k in want[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [None, 11])
def test_fit_equals_train_bit_for_bit(dtype: str, seed: int | None) -> None:
    graph = nnspec.load(_doc(dtype))
    module = load_source(compile(graph, self_test=False, train=True))
    x, y = _data(dtype)
    history = nnspec.train(Model(graph), x, y, quiet=True, seed=seed)  # seed: shuffle, masks
    assert module.fit(x, y, seed=seed) == history.loss
    for name, value in history.model.params.items():
        assert np.array_equal(module.PARAMS[name], value), name


def test_train_step_counts_steps_like_the_training_loop() -> None:
    graph = nnspec.load(_doc())
    module = load_source(compile(graph, self_test=False, train=True))
    model = Model(graph)
    x, y = _data()
    state = module.init_state()
    assert state["step"] == 0
    for step in range(3):
        batch = {"x": x[step::3], "y": y[step::3]}
        want, _ = model.gradients(batch, step=step)
        assert module.train_step(batch, state) == want
        model = Model(graph, params={k: v.copy() for k, v in module.PARAMS.items()})
    assert state["step"] == 3


def test_training_differs_from_no_dropout_and_validation_does_not_drop() -> None:
    """Dropout changes the training run; evaluation (and validation) is inference."""
    x, y = _data()
    with_dropout = nnspec.train(Model(nnspec.load(_doc())), x, y, quiet=True)
    without = _doc()
    for node in without["nodes"]:
        if node["op"] == "dropout":
            node["rate"] = 0.0
    plain = nnspec.train(Model(nnspec.load(without)), x, y, quiet=True)
    assert with_dropout.loss != plain.loss
    model = with_dropout.model
    assert model is not None
    scores = model.evaluate(x, y)
    pred = model.predict(x)
    assert scores["loss"] == pytest.approx(float(np.mean((pred - y) ** 2)), rel=1e-6)


def test_dropout_of_a_constant_is_not_folded_away_while_training() -> None:
    """The generator folds nodes of constant params; a dropout of one still draws."""
    doc = {
        "nnspec": "1",
        "name": "const_dropout",
        "inputs": {"x": {"shape": ["batch", 4]}},
        "params": {
            "c": {"shape": [4], "value": [1.0, 2.0, 3.0, 4.0], "trainable": False},
            "w": {"shape": [4], "init": {"name": "ones"}},
        },
        "nodes": [
            {"id": "cd", "op": "dropout", "inputs": ["c"], "rate": 0.5},
            {"id": "s", "op": "mul", "inputs": ["x", "cd"]},
            {"id": "t", "op": "mul", "inputs": ["s", "w"]},
            {"id": "loss", "op": "sum", "inputs": ["t"]},
        ],
        "outputs": ["t"],
        "training": {"loss": {"node": "loss"}, "seed": 2},
    }
    graph = nnspec.load(doc)
    module = load_source(compile(graph, self_test=False, train=True))
    model = Model(graph)
    x = np.ones((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(module.predict(x), model.predict(x))
    for step in range(4):
        want = model.gradients({"x": x}, step=step)
        got = module.loss_and_gradients({"x": x}, step=step)
        assert got[0] == want[0], step
        assert np.array_equal(got[1]["w"], want[1]["w"]), step


def test_a_null_seed_is_the_runs_seed() -> None:
    """``"seed": null`` (the documented default) means what leaving it out means."""
    doc = _doc()
    doc["nodes"][1]["seed"] = None
    x, y = _data()
    graph = nnspec.load(doc)
    want = Model(nnspec.load(_doc())).gradients({"x": x, "y": y}, step=2)
    got = Model(graph).gradients({"x": x, "y": y}, step=2)
    assert got[0] == want[0]
    module = load_source(compile(graph, self_test=False, train=True))
    assert module.loss_and_gradients({"x": x, "y": y}, step=2)[0] == want[0]
