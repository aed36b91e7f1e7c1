"""What training must show (issue 3): the lecture's models learn what they should.

Learning results are asserted, never timings; data and epochs are kept small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.datasets import make
from nnspec.interpreter import Model
from nnspec.interpreter.metrics import Evaluator
from nnspec.interpreter.train import History, TrainingError, train

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> nnspec.Graph:
    return nnspec.load(EXAMPLES / f"{name}.json")


def accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model.predict(x) > 0.5) == (y > 0.5)))


def test_linear_regression_recovers_the_weights():
    rng = np.random.default_rng(0)
    w, b = np.array([[1.5], [-2.0], [0.5]]), 0.3
    x = rng.normal(size=(200, 3))
    y = x @ w + b + rng.normal(scale=0.01, size=(200, 1))
    history = train(load("linear_regression"), x, y, epochs=300, quiet=True)
    params = history.model.params
    np.testing.assert_allclose(params["y_hat.W"], w, atol=1e-2)
    np.testing.assert_allclose(params["y_hat.b"], [b], atol=1e-2)
    assert history.metrics["mse"][-1] < 1e-3


def test_logistic_regression_separates_separable_data():
    data = make("gaussians", 200, seed=1)
    history = train(load("logistic_regression"), data.x, data.y, quiet=True)
    assert accuracy(history.model, data.x, data.y) == 1.0


@pytest.mark.parametrize("name", ["xor", "circle"])
def test_tanh_network_learns_what_logistic_regression_cannot(name):
    data = make(name, 200, seed=0)
    mlp = train(load("xor"), data.x, data.y, quiet=True).model
    logistic = train(load("logistic_regression"), data.x, data.y, quiet=True).model
    assert accuracy(mlp, data.x, data.y) >= 0.97
    assert accuracy(logistic, data.x, data.y) < 0.75


def test_mlp_reaches_95_percent_on_held_out_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    train_idx, test_idx = order[:1400], order[1400:]
    history = train(load("mlp"), x[train_idx], digits.target[train_idx], epochs=30, quiet=True)
    predicted = np.argmax(history.model.predict(x[test_idx]), axis=1)
    assert np.mean(predicted == digits.target[test_idx]) >= 0.95
    assert history.metrics["accuracy"][-1] > 0.95


@pytest.mark.parametrize("name", ["xor", "maxout", "explicit_graph"])
def test_same_seed_same_bits_different_seed_differs(name):
    data = make("xor", 64, seed=0)
    X = {"x": data.x, "y": data.y} if name == "explicit_graph" else data.x
    y = None if name == "explicit_graph" else data.y

    def weights(seed: int) -> dict:
        return dict(
            train(load(name), X, y, epochs=5, batch_size=16, seed=seed, quiet=True).model.params
        )

    first, again, other = weights(1), weights(1), weights(2)
    for key in first:
        assert first[key].tobytes() == again[key].tobytes()
    assert any(first[k].tobytes() != other[k].tobytes() for k in first)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_lowers_the_loss(optimizer):
    data = make("circle", 100, seed=0)
    history = train(
        load("xor"), data.x, data.y, epochs=40, optimizer=optimizer, learning_rate=0.1, quiet=True
    )
    assert history.loss[-1] < history.loss[0]
    assert history.epochs == 40 and history.stopped is None


def test_sgd_is_exactly_the_lecture_update():
    data = make("plane", 10, seed=0)
    model = Model(load("linear_regression"))
    x = np.hstack([data.x, np.zeros((10, 1), np.float32)])
    before = {k: v.copy() for k, v in model.params.items()}
    _, grads = model.gradients({"x": x, "y": data.y})
    train(model, x, data.y, epochs=1, learning_rate=0.1, quiet=True)
    for name in before:
        np.testing.assert_array_equal(
            model.params[name], before[name] - np.float32(0.1) * grads[name]
        )


def test_training_keeps_float32():
    data = make("xor", 32, seed=0)
    model = train(load("xor"), data.x.astype(np.float64), data.y, epochs=2, quiet=True).model
    assert {v.dtype for v in model.params.values()} == {np.dtype(np.float32)}


def test_non_finite_loss_stops_and_keeps_the_last_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)) * 1e3
    y = rng.normal(size=(50, 1)) * 1e3
    with pytest.raises(TrainingError, match="not finite") as caught:
        train(load("linear_regression"), x, y, learning_rate=10.0, epochs=50, quiet=True)
    history = caught.value.history
    assert history.stopped == "non-finite loss"
    assert all(np.all(np.isfinite(v)) for v in history.model.params.values())


def test_bad_data_is_reported_by_name():
    graph = load("xor")
    with pytest.raises(ValueError, match=r"input 'x': expected shape \[batch, 2\]"):
        train(graph, np.zeros((4, 3)), np.zeros((4, 1)), quiet=True)
    with pytest.raises(ValueError, match="'batch' is 5"):
        train(graph, np.zeros((4, 2)), np.zeros((5, 1)), quiet=True)
    with pytest.raises(ValueError, match="NaN"):
        train(graph, np.full((4, 2), np.nan), np.zeros((4, 1)), quiet=True)
    with pytest.raises(ValueError, match="no 'training' section"):
        train(load("sign_network"), np.zeros((4, 2)), quiet=True)


def test_history_writes_json_and_csv():
    data = make("xor", 16, seed=0)
    history = train(load("xor"), data.x, data.y, epochs=3, quiet=True)
    assert isinstance(history, History)
    assert '"epochs": 3' in history.to_json()
    lines = history.to_csv().splitlines()
    assert lines[0] == "epoch,loss,accuracy" and len(lines) == 4
    assert float(lines[1].split(",")[1]) == history.loss[0]


def test_interrupt_keeps_the_last_completed_epoch(monkeypatch):
    data = make("xor", 16, seed=0)
    model = Model(load("xor"))
    calls = {"n": 0}
    original = Model.loss_and_gradients

    def interrupt_in_third_epoch(self, plan, env):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, plan, env)

    monkeypatch.setattr(Model, "loss_and_gradients", interrupt_in_third_epoch)
    history = train(model, data.x, data.y, epochs=10, quiet=True)
    monkeypatch.undo()
    assert history.stopped == "interrupted" and history.epochs == 2
    expected = train(load("xor"), data.x, data.y, epochs=2, quiet=True).model.params
    for name, value in expected.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_an_interrupt_while_an_epoch_is_recorded_leaves_no_half_epoch(monkeypatch):
    """Ctrl-C (or SIGTERM) may land after an epoch's loss and metrics are recorded but
    before its validation is: the history and the params both stay at the epoch before,
    and the history still writes (it raised IndexError once, in a CI run)."""
    data = make("xor", 32, seed=0)
    model = Model(load("xor"))
    calls = {"n": 0}
    original = Evaluator.__call__

    def interrupt_second_validation(self, held_out):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, held_out)

    monkeypatch.setattr(Evaluator, "__call__", interrupt_second_validation)
    history = train(model, data.x, data.y, epochs=5, validation_split=0.25, quiet=True)
    monkeypatch.undo()
    assert history.stopped == "interrupted" and history.epochs == 1
    assert len(history.val_loss) == 1 and all(len(v) == 1 for v in history.metrics.values())
    assert '"epochs": 1' in history.to_json() and len(history.to_csv().splitlines()) == 2
    expected = train(
        load("xor"), data.x, data.y, epochs=1, validation_split=0.25, quiet=True
    ).model.params
    for name, value in expected.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_top_level_exports():
    assert nnspec.train is train
    assert nnspec.Model is Model
