"""Every key has an effect or is an error: options depend on their discriminator.

Generated over every (union, variant, setting) pair of the schema, so a new optimizer,
init kind, loss option or op attribute is covered without a new test.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.interpreter import Model
from nnspec.ops import LOSSES, REGISTRY
from nnspec.optimizers import OPTIMIZERS
from nnspec.spec.lower import COMPOSITES, INIT_NAMES
from nnspec.spec.schema import INIT_SETTINGS, UNIONS

BASE: dict[str, Any] = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "params": {"b": {"shape": [2], "init": "zeros"}},
    "nodes": [{"id": "h", "op": "add", "inputs": ["x", "b"]}, {"id": "y", "op": "sigmoid"}],
    "training": {"target": {"shape": ["batch", 2]}, "loss": "binary_cross_entropy"},
}


def _with(where: str, value: dict) -> dict:
    doc = copy.deepcopy(BASE)
    if where in ("optimizer", "schedule"):
        doc["training"][where] = value
    elif where == "loss":
        doc["training"]["loss"] = value
    elif where == "init":
        doc["params"]["b"]["init"] = value
    elif where == "activation":
        doc["nodes"][1] = {"id": "y", "op": "dense", "units": 2, "activation": value}
    else:
        doc["nodes"][1] = {"id": "y", "inputs": ["h"], **value}
    return doc


def _misplaced() -> list[tuple[str, str, str, str]]:
    """(union, variant, setting, an owner) for every setting a variant lacks."""
    cases = []
    for where, union in UNIONS.items():
        settings = {k for v in union.variants.values() for k in v}
        for variant, own in union.variants.items():
            for setting in sorted(settings - set(own) - set(union.common)):
                cases.append((where, variant, setting, union.owners(setting)[0]))
    return cases


MISPLACED = _misplaced()


def test_the_unions_are_the_registries() -> None:
    assert list(UNIONS["optimizer"].variants) == list(OPTIMIZERS)
    assert list(UNIONS["init"].variants) == list(INIT_NAMES)
    assert list(UNIONS["loss"].variants) == list(LOSSES)
    assert list(UNIONS["activation"].variants) == [n for n, o in REGISTRY.items() if o.activation]
    assert set(UNIONS["node"].variants) == set(REGISTRY) | set(COMPOSITES)
    assert len(MISPLACED) > 100


@pytest.mark.parametrize(("where", "variant", "setting", "owner"), MISPLACED, ids=lambda v: str(v))
def test_a_setting_of_another_variant_is_nn102_naming_its_owners(
    where: str, variant: str, setting: str, owner: str
) -> None:
    union = UNIONS[where]
    own_schema = union.variants[owner][setting]
    value = own_schema.get("default", own_schema.get("enum", [1])[0])
    musts = {  # a variant's required settings, so only the misplaced one is wrong
        k: union.variants[variant][k].get("default", 1) for k in union.required.get(variant, ())
    }
    doc = _with(where, {union.key: variant, **musts, setting: 1 if value is None else value})
    problems = [p for p in nnspec.validate(doc) if p.code == "NN102"]
    assert len(problems) == 1, nnspec.validate(doc)
    (problem,) = problems
    assert problem.pointer.endswith(f"/{setting}")
    assert f"{setting!r} belongs to {union.kind} " in problem.message
    assert repr(owner) in problem.message
    assert f"not to {variant!r}" in problem.message


@pytest.mark.parametrize("kind", [k for k, s in INIT_SETTINGS.items() if s])
def test_init_defaults_are_the_interpreters(kind: str) -> None:
    """The schema's documented defaults are what the interpreter draws without them."""
    implicit = _with("init", {"name": kind})
    explicit = _with(
        "init", {"name": kind, **{k: s["default"] for k, s in INIT_SETTINGS[kind].items()}}
    )
    a = Model(nnspec.load(implicit)).params["b"]
    b = Model(nnspec.load(explicit)).params["b"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", [k for k, s in INIT_SETTINGS.items() if s])
def test_every_init_setting_has_an_effect(kind: str) -> None:
    base = Model(nnspec.load(_with("init", {"name": kind}))).params["b"]
    for setting, schema in INIT_SETTINGS[kind].items():
        changed = {"name": kind, setting: schema["default"] + (0.5 if setting != "low" else -0.5)}
        other = Model(nnspec.load(_with("init", changed))).params["b"]
        assert not np.array_equal(base, other), (kind, setting)


def _trained(optimizer: dict) -> dict[str, np.ndarray]:
    doc = _with("optimizer", {**optimizer, "learning_rate": 0.5})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2)).astype("float32")
    y = (x > 0).astype("float32")
    history = nnspec.train(nnspec.load(doc), x, y, epochs=5, batch_size=4, quiet=True)
    return history.model.params


def test_keras_sgd_momentum_trains_as_heavy_ball() -> None:
    keras = _trained({"name": "sgd", "momentum": 0.9})
    heavy = _trained({"name": "momentum", "momentum": 0.9})
    plain = _trained({"name": "sgd"})
    np.testing.assert_array_equal(keras["b"], heavy["b"])
    assert not np.array_equal(keras["b"], plain["b"])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_setting_has_an_effect(name: str) -> None:
    definition = OPTIMIZERS[name]
    base = _trained({"name": name})["b"]
    for setting in definition.settings:
        if setting.name == "learning_rate":
            continue  # fixed by _trained
        value = 0.5 if setting.default != 0.5 else 0.25
        if setting.name == "epsilon":
            value = 0.5
        other = _trained({"name": name, setting.name: value})["b"]
        assert not np.array_equal(base, other), (name, setting.name)
