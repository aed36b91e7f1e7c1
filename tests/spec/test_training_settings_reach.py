"""NN906: validate warns about a training setting the document alone cannot honour, and
exactly those settings are the ones `train` refuses or cannot reach."""

from __future__ import annotations

import pytest

import nnspec
from nnspec.datasets import make
from nnspec.optimizers import SettingError
from nnspec.spec.learnable import SETTINGS_CODE, setting_problems

DENSE = [{"id": "out", "op": "dense", "units": 1, "activation": "sigmoid"}]


def graph(**training: object) -> nnspec.Graph:
    section = {"target": {"name": "y", "shape": ["batch", 1]}, "loss": "binary_cross_entropy"}
    document = {"nnspec": "1", "inputs": {"x": {"shape": ["batch", 2]}}, "nodes": DENSE}
    return nnspec.load({**document, "training": {**section, **training}})


MONITORS_THAT_WORK = [
    {},
    {"early_stopping": {"patience": 2}},  # the default monitor follows the data
    {"early_stopping": {"monitor": "loss"}},
    {"metrics": ["accuracy"], "early_stopping": {"monitor": "accuracy"}},
    {"validation_split": 0.25, "early_stopping": {"monitor": "val_loss"}},
    {
        "metrics": ["accuracy"],
        "validation_split": 0.25,
        "early_stopping": {"monitor": "val_accuracy"},
    },
]


@pytest.mark.parametrize("training", MONITORS_THAT_WORK)
def test_settings_the_document_honours_give_no_warning_and_train(training: dict) -> None:
    g = graph(epochs=2, **training)
    assert setting_problems(g) == []
    data = make("xor", 32, seed=0)
    nnspec.train(g, {"x": data.x, "y": data.y}, quiet=True)


MONITORS_THAT_FAIL = [
    {"early_stopping": {"monitor": "accuracy"}},
    {"early_stopping": {"monitor": "val_loss"}},
    {"metrics": ["accuracy"], "early_stopping": {"monitor": "val_accuracy"}},
    {"validation_split": 0.25, "early_stopping": {"monitor": "val_accuracy"}},
]


@pytest.mark.parametrize("training", MONITORS_THAT_FAIL)
def test_a_monitor_validate_warns_about_is_one_train_refuses(training: dict) -> None:
    g = graph(epochs=2, **training)
    [problem] = setting_problems(g)
    assert problem.code == SETTINGS_CODE and problem.pointer.endswith("/monitor")
    data = make("xor", 32, seed=0)
    with pytest.raises(SettingError, match="not recorded"):
        nnspec.train(g, {"x": data.x, "y": data.y}, quiet=True)


@pytest.mark.parametrize(
    ("warmup", "epochs", "warned"), [(2, 3, False), (3, 3, True), (9, 3, True)]
)
def test_a_warm_up_that_outlasts_the_run_is_warned(warmup: int, epochs: int, warned: bool) -> None:
    g = graph(epochs=epochs, schedule={"name": "constant", "warmup_epochs": warmup})
    assert [p.code for p in setting_problems(g)] == ([SETTINGS_CODE] if warned else [])
