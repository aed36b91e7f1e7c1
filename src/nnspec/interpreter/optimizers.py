"""Optimizers and learning-rate schedules: params updated in place, one step per batch.

Sits after `Model.loss_and_gradients` in the training loop (`train`). The rules are
data (`nnspec.optimizers`); this module evaluates them, compiled once into closures.
Updates are in place, so the model's planned environment sees them without copying,
and they keep the params' dtype (settings are Python floats, which NumPy treats as
weak scalars: float32 stays float32). The compiled module prints the same rules, so
both engines compute the same bits.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import numpy as np

from nnspec.optimizers import (
    FUNCTIONS,
    Expr,
    OptimizerDef,
    Rule,
    ScheduleDef,
    optimizer_spec,
    schedule_spec,
)

Env = dict[str, Any]
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "//": operator.floordiv,
}
_CALLS: dict[str, Callable[..., Any]] = {
    name: getattr(np, code[3:]) if code.startswith("np.") else getattr(builtins, code)
    for name, code in FUNCTIONS.items()
}
"""The very functions a generated module's printed expressions call."""
_IN_PLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
}


def evaluator(expr: Expr) -> Callable[[Env], Any]:
    """`expr` as a function of an environment of names, compiled once into closures."""
    if isinstance(expr, str):
        return operator.itemgetter(expr)
    if isinstance(expr, float):
        return lambda env: expr
    op, *args = expr
    parts = [evaluator(a) for a in args]
    if op in _CALLS:
        call = _CALLS[op]
        return lambda env: call(*(part(env) for part in parts))
    apply, (left, right) = _BINARY[op], parts
    return lambda env: apply(left(env), right(env))


class Optimizer:
    """One optimizer with its settings and per-param state."""

    def __init__(self, definition: OptimizerDef, settings: Mapping[str, float]) -> None:
        self.name = definition.name
        self.settings = dict(settings)
        self.rule: Rule = definition.update_rule(self.settings)
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {s: {} for s in self.rule.state}
        self._per_step = [(a.target, evaluator(a.expr)) for a in self.rule.per_step]
        self._per_param = [
            (a.target, _IN_PLACE[a.op], evaluator(a.expr)) for a in self.rule.per_param
        ]

    @property
    def learning_rate(self) -> float:
        return self.settings["learning_rate"]

    def step(
        self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]
    ) -> None:
        scalars: Env = dict(self.settings)
        if self.rule.counts_steps:
            self.t += 1
            scalars["t"] = self.t
        for target, value in self._per_step:
            scalars[target] = value(scalars)
        for name, grad in grads.items():
            env = {**scalars, "g": grad, "w": params[name]}
            for key, arrays in self.state.items():
                state = arrays.get(name)
                if state is None:
                    state = arrays[name] = np.zeros_like(params[name])
                env[key] = state
            for target, update, value in self._per_param:
                update(env[target], value(env))  # in place: every target is an array


def make_optimizer(
    spec: str | Mapping[str, Any] | None, learning_rate: float | None = None
) -> Optimizer:
    """An optimizer from a document's ``optimizer`` section; `learning_rate` overrides it."""
    definition, settings = optimizer_spec(spec)
    if learning_rate is not None:
        settings["learning_rate"] = float(learning_rate)
    return Optimizer(definition, settings)


class Schedule:
    """A learning-rate schedule for a run of `epochs` epochs (`nnspec.optimizers.SCHEDULES`).

    `rate(base, epoch)` is the rate of epoch `epoch` (0 for the first) from the
    optimizer's rate `base`: a Python float, computed from the definition's expressions
    in the order a compiled module's ``_scheduled_rate`` prints them, so both agree bit
    for bit.
    """

    def __init__(self, definition: ScheduleDef, settings: Mapping[str, float], epochs: int):
        self.name = definition.name
        self.settings = dict(settings)
        scalars: Env = {**self.settings, "epochs": epochs}
        for assign in definition.per_run(self.settings):
            scalars[assign.target] = evaluator(assign.expr)(scalars)
        self._scalars = scalars
        self._per_epoch = [(a.target, evaluator(a.expr)) for a in definition.per_epoch]

    def rate(self, base: float, epoch: int) -> float:
        env: Env = {**self._scalars, "learning_rate": base, "epoch": epoch}
        for target, value in self._per_epoch:
            env[target] = value(env)
        return float(env["rate"])


def make_schedule(
    spec: str | Mapping[str, Any] | None, epochs: int, setting: str = "schedule"
) -> Schedule | None:
    """The schedule of a ``schedule`` section (None: none) for a run of `epochs` epochs;
    `SettingError` naming `setting` for a bad one."""
    found = schedule_spec(spec, setting)
    return None if found is None else Schedule(*found, epochs)
