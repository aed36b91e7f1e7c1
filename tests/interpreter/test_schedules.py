"""Learning-rate schedules and L1/L2 penalties, evaluated from their definitions, against
the formulas of docs/format.md written out by hand, bit for bit."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.codegen.train import EARLY_STOPPING_DEFAULTS
from nnspec.datasets import make
from nnspec.interpreter import Model
from nnspec.interpreter.optimizers import make_schedule
from nnspec.interpreter.regularize import Penalty
from nnspec.interpreter.stopping import SETTINGS, EarlyStopping
from nnspec.ir import Regularizer
from nnspec.optimizers import SCHEDULES, SettingError
from nnspec.spec.schema import schema

EPOCHS = 12
XOR = Path(__file__).resolve().parents[2] / "examples" / "xor.json"


def by_hand(spec: dict, lr: float, epoch: int, epochs: int) -> float:
    w = float(spec.get("warmup_epochs", 0))
    warm = min(1.0, (epoch + 1.0) / (w + 1.0))
    k = max(epoch - w, 0.0)
    name = spec["name"]
    if name == "constant":
        decayed = lr
    elif name == "step":
        decayed = lr * float(spec.get("gamma", 0.1)) ** (k // float(spec["step_size"]))
    elif name == "exponential":
        decayed = lr * float(spec["gamma"]) ** k
    else:
        span = float(spec.get("decay_epochs", max(epochs - w, 1.0)))
        low = float(spec.get("min_learning_rate", 0.0))
        progress = min(k, span) / span
        decayed = low + (lr - low) * ((1.0 + np.cos(3.141592653589793 * progress)) / 2.0)
    return float(warm * decayed)


CASES = [
    {"name": "constant"},
    {"name": "constant", "warmup_epochs": 3},
    {"name": "step", "step_size": 4},
    {"name": "step", "step_size": 2, "gamma": 0.5, "warmup_epochs": 1},
    {"name": "exponential", "gamma": 0.9},
    {"name": "exponential", "gamma": 0.5, "warmup_epochs": 4},
    {"name": "cosine"},
    {"name": "cosine", "warmup_epochs": 2, "min_learning_rate": 0.001},
    {"name": "cosine", "decay_epochs": 5},
]


@pytest.mark.parametrize("spec", CASES, ids=str)
def test_schedules_follow_their_formulas(spec: dict) -> None:
    schedule = make_schedule(spec, EPOCHS)
    assert schedule is not None
    rates = [schedule.rate(0.1, e) for e in range(EPOCHS)]
    assert rates == [by_hand(spec, 0.1, e, EPOCHS) for e in range(EPOCHS)]
    assert all(isinstance(r, float) for r in rates)
    if spec.get("warmup_epochs"):
        assert rates[0] < rates[int(spec["warmup_epochs"])] == 0.1  # ramps up to the rate
    else:
        assert rates[0] == 0.1


def test_cosine_reaches_its_floor_and_stays() -> None:
    schedule = make_schedule({"name": "cosine", "decay_epochs": 4, "min_learning_rate": 0.01}, 9)
    assert schedule is not None
    assert [schedule.rate(1.0, e) for e in range(4, 9)] == [0.01] * 5
    assert math.isclose(schedule.rate(1.0, 2), 0.505)


@pytest.mark.parametrize("epochs", [1, 2, 5, 12, 50])
@pytest.mark.parametrize("warmup", [0, 2])
@pytest.mark.parametrize("low", [0.0, 0.01])
def test_cosine_by_default_ends_one_step_above_its_floor(epochs, warmup, low) -> None:
    """docs/format.md: with the default decay_epochs D the last epoch runs at
    min + (lr − min)·(1 − cos(π/D))/2, so no epoch trains at the floor; decay_epochs
    D − 1 ends on it."""
    spec = {"name": "cosine", "warmup_epochs": warmup, "min_learning_rate": low}
    if warmup >= epochs:
        pytest.skip("the warm-up covers the whole run")
    decay = max(epochs - warmup, 1)
    schedule = make_schedule(spec, epochs)
    assert schedule is not None
    last = schedule.rate(1.0, epochs - 1)
    assert math.isclose(last, low + (1.0 - low) * (1 - math.cos(math.pi / decay)) / 2)
    assert last > low
    if decay >= 2:
        shorter = make_schedule({**spec, "decay_epochs": decay - 1}, epochs)
        assert shorter is not None and shorter.rate(1.0, epochs - 1) == low


def test_every_kind_is_in_the_schema_with_its_settings() -> None:
    defs = schema()["$defs"]
    for name, definition in SCHEDULES.items():
        properties = defs[f"schedule.{name}"]["properties"]
        assert set(properties) == {"name", *(s.name for s in definition.settings)}
        assert set(defs[f"schedule.{name}"]["required"]) == {"name", *definition.required}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "linear"}, "schedule: unknown schedule 'linear'"),
        ({"name": "step"}, "schedule: schedule 'step' needs 'step_size'"),
        ({"name": "step", "step_size": 0}, "step_size must be a whole number >= 1, got 0"),
        ({"name": "step", "step_size": 2.5}, "step_size must be a whole number >= 1"),
        ({"name": "exponential", "gamma": 1.5}, "gamma must be a number > 0 and <= 1, got 1.5"),
        ({"name": "cosine", "gamma": 0.5}, "schedule 'cosine' has no setting 'gamma'"),
        ({"name": "constant", "warmup_epochs": True}, "warmup_epochs must be a whole number"),
    ],
)
def test_bad_schedules_from_python_name_the_argument(spec: dict, message: str) -> None:
    data = make("xor", 20, seed=0)
    with pytest.raises(SettingError, match=message.replace("(", r"\(")) as error:
        nnspec.train(nnspec.load(XOR), data.x, data.y, schedule=spec, epochs=1)
    assert error.value.setting == "schedule"
    assert error.value.spelled({"schedule": "--schedule"}).startswith("--schedule: ")


def test_the_history_records_each_epochs_rate() -> None:
    data = make("xor", 20, seed=0)
    graph = nnspec.load(XOR)
    spec = {"name": "exponential", "gamma": 0.5}
    history = nnspec.train(graph, data.x, data.y, schedule=spec, epochs=3, quiet=True)
    assert history.learning_rate == [0.5, 0.25, 0.125]
    assert history.to_csv().splitlines()[0].endswith(",learning_rate")
    assert [row["learning_rate"] for row in history.rows()] == [0.5, 0.25, 0.125]
    plain = nnspec.train(graph, data.x, data.y, epochs=2, quiet=True)
    assert plain.learning_rate == [] and "learning_rate" not in plain.rows()[0]
    off = nnspec.train(graph, data.x, data.y, schedule=False, epochs=1, quiet=True)
    assert off.learning_rate == []


def test_penalties_follow_keras_formulas() -> None:
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": [{"id": "h", "op": "dense", "units": 3, "regularizer": {"l1": 0.1, "l2": 0.01}}],
        "training": {
            "target": {"shape": ["batch", 3]},
            "loss": "mse",
            "regularization": {"h.b": {"l2": 0.5}},
        },
    }
    graph = nnspec.load(doc)
    assert graph.training.regularizers == (
        Regularizer("h.W", 0.1, 0.01),
        Regularizer("h.b", 0.0, 0.5),
    )
    plain_doc = {**doc, "nodes": [{"id": "h", "op": "dense", "units": 3}]}
    plain_doc["training"] = {k: v for k, v in doc["training"].items() if k != "regularization"}
    model, plain = Model(graph), Model(nnspec.load(plain_doc))
    model.params["h.b"] = np.array([0.5, -1.0, 2.0], np.float32)
    for name, value in model.params.items():
        plain.params[name] = value
    inputs = {"x": np.ones((4, 2), np.float32), "target": np.zeros((4, 3), np.float32)}
    loss, grads = model.gradients(inputs)
    base, base_grads = plain.gradients(inputs)
    w, b = model.params["h.W"], model.params["h.b"]
    penalty = 0.1 * np.sum(np.abs(w)) + 0.01 * np.sum(w * w) + 0.5 * np.sum(b * b)
    assert math.isclose(loss, base + float(penalty), rel_tol=1e-6)
    assert np.array_equal(grads["h.W"], base_grads["h.W"] + 0.1 * np.sign(w) + 0.02 * w)
    assert np.array_equal(grads["h.b"], base_grads["h.b"] + 1.0 * b)
    assert model.evaluate(inputs["x"], inputs["target"])["loss"] == loss
    assert bool(Penalty(graph)) and not Penalty(plain.graph)


def test_early_stopping_defaults_agree_everywhere() -> None:
    defaults = {f.name: f.default for f in fields(EarlyStopping) if f.name in SETTINGS}
    assert defaults == EARLY_STOPPING_DEFAULTS
    properties = schema()["$defs"]["early_stopping"]["properties"]
    assert set(properties) == set(SETTINGS)
    for key in ("patience", "min_delta", "restore_best"):
        assert properties[key]["default"] == defaults[key]


def test_document_keys_are_named_as_the_document_spells_them() -> None:
    data = make("xor", 20, seed=0)
    doc = nnspec.load(XOR)
    raw = json.loads(XOR.read_text(encoding="utf-8"))
    raw["training"]["early_stopping"] = {"monitor": "val_accuracy"}
    with pytest.raises(SettingError, match=r"^training\.early_stopping\.monitor 'val_accuracy'"):
        nnspec.train(nnspec.load(raw), data.x, data.y, epochs=1)
    with pytest.raises(SettingError, match=r"^early_stopping\.monitor 'val_mse'"):
        nnspec.train(doc, data.x, data.y, epochs=1, early_stopping={"monitor": "val_mse"})
    raw["training"]["early_stopping"] = {"patience": 0, "min_delta": 10.0}
    history = nnspec.train(nnspec.load(raw), data.x, data.y, epochs=5, quiet=True)
    assert history.stopped == "early stopping" and history.epochs == 2
    off = nnspec.train(nnspec.load(raw), data.x, data.y, epochs=3, early_stopping=False)
    assert off.stopped is None and off.epochs == 3
