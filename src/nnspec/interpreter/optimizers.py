"""Optimizers and learning-rate schedules: params updated in place, one step per batch.

Sits after `Model.loss_and_gradients` in the training loop (`train`). The rules are
data (`nnspec.optimizers`); this module evaluates them, compiled once: scalar
expressions into closures (`evaluator`), a rule's per-param writes into one generated
function (`writes_of`), so an update costs its ufunc calls and little more.
Updates are in place, so the model's planned environment sees them without copying,
and they keep the params' dtype (settings are Python floats, which NumPy treats as
weak scalars: float32 stays float32). The per-param part runs as `nnspec.inplace`
writes: every array operation lands in the param, its state or a scratch buffer the
optimizer made for that param and thread on its first step there, so a step allocates
no arrays. It never writes into the gradients it is given, except those the caller
marks as its own to overwrite (`TrainStep`: a gradient in a buffer of its param's own), where
one scratch buffer's work goes into the gradient once it is read (`nnspec.inplace.reuse`).
Scratch is per thread: two threads stepping with one optimizer (a stateless one, plain
SGD, shared by two `TrainStep`s) never write into each other's scratch mid-update.
The state (momentum, Adam's moments) is the optimizer's own, one per param, whichever
thread steps. The compiled module prints the same writes, so both engines compute
the same bits.
"""

from __future__ import annotations

import builtins
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

from nnspec import aligned
from nnspec.inplace import Write, lower, reuse, scratch
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
        lowered = lower(self.rule.per_param, {"g", "w", *self.rule.state})
        overwriting = reuse(lowered, "g")
        # (writes, scratch buffers): [False] keeps the gradient, [True] overwrites it
        self._plans = {
            False: (writes_of(lowered.writes), [scratch(k) for k in range(lowered.scratch)]),
            True: (writes_of(overwriting.writes), [scratch(k) for k in range(overwriting.scratch)]),
        }
        self._local = threading.local()  # this thread's {param: its write environment}

    @property
    def learning_rate(self) -> float:
        return self.settings["learning_rate"]

    def step(
        self,
        params: MutableMapping[str, np.ndarray],
        grads: Mapping[str, np.ndarray],
        overwrite: AbstractSet[str] = frozenset(),
    ) -> None:
        """Update `params` in place from `grads`. `overwrite` names the params whose
        gradient array the update may write into (no one else holds it); it does so
        only where that gradient is a writeable array of its param's shape and dtype
        (`_writable`), with the same bits."""
        if isinstance(overwrite, str):  # `name in "h1.W"` would test substrings
            raise TypeError(f"overwrite must be a set of param names, not the string {overwrite!r}")
        scalars: Env = dict(self.settings)
        if self.rule.counts_steps:
            self.t += 1
            scalars["t"] = self.t
        for target, value in self._per_step:
            scalars[target] = value(scalars)
        envs: dict[tuple[str, bool], Env] | None = getattr(self._local, "envs", None)
        if envs is None:
            envs = self._local.envs = {}
        for name, grad in grads.items():
            w = params[name]
            key = (name, name in overwrite and _writable(grad, w))
            env = envs.get(key)
            if env is None or not self._fits(env, grad, w):
                env = envs[key] = self._environment(key, grad, w)
            env.update(scalars)
            env["g"] = grad
            env[_WRITES](env)

    def _fits(self, env: Env, grad: np.ndarray, w: np.ndarray) -> bool:
        """Whether a param's write environment still holds its arrays: the same param
        and state arrays, scratch of the dtype ``w op grad`` has."""
        name, scratch = env[_NAME], env[_SCRATCH]
        if env["w"] is not w:
            return False
        for key, arrays in self.state.items():  # a loop, not any(): no generator per step
            if env[key] is not arrays.get(name):
                return False
        return not scratch or env[scratch[0]].dtype == np.result_type(grad, w)

    def _environment(self, key: tuple[str, bool], grad: np.ndarray, w: np.ndarray) -> Env:
        """The write environment of param ``key[0]`` on this thread, overwriting its
        gradient or not (``key[1]``): the writes, the param, its state (made as zeros on
        its first step) and this thread's scratch buffers (`nnspec.inplace`)."""
        name, overwriting = key
        writes, scratch = self._plans[overwriting]
        env: Env = {_NAME: name, _WRITES: writes, _SCRATCH: scratch, "w": w}
        for state_key, arrays in self.state.items():
            state = arrays.get(name)
            if state is None or state.shape != w.shape:
                state = arrays[name] = aligned.zeros_like(w)
            env[state_key] = state
        dtype = np.result_type(grad, w)
        env.update((k, aligned.empty_like(w, dtype)) for k in scratch)
        return env


def _writable(grad: Any, w: np.ndarray) -> bool:
    """Whether the update's writes may go into `grad` as into a scratch buffer of `w`:
    an array (not a NumPy scalar) of `w`'s shape and dtype that is not read-only."""
    return (
        type(grad) is np.ndarray
        and grad.dtype == w.dtype
        and grad.shape == w.shape
        and grad.flags.writeable
    )


# keys of a write environment's bookkeeping (no rule name has a space)
_NAME, _WRITES, _SCRATCH = " name", " writes", " scratch"


Writes = Callable[[Env], None]
"""``run(env)``: writes run on the arrays and scalars of a write environment."""


def writes_of(writes: Iterable[Write]) -> Writes:
    """`nnspec.inplace` writes as one function made once, ``run(env)``: each write
    ``ufunc(*args, out=env[out])`` in order, its arguments the very calls `evaluator`
    makes. Its source holds only generated names and the repr of the rules' own value
    names; every number and function is an object it refers to."""
    namespace: dict[str, Any] = {}

    def refer(value: Any) -> str:
        name = f"k{len(namespace)}"
        namespace[name] = value
        return name

    def argument(expr: Expr) -> str:
        if isinstance(expr, str):
            return f"v[{expr!r}]"
        if isinstance(expr, float):
            return refer(expr)
        op, *args = expr
        call = refer(_CALLS[op] if op in _CALLS else _BINARY[op])
        return f"{call}({', '.join(argument(a) for a in args)})"

    lines = ["def run(v):"]
    for w in writes:
        ufunc = refer(getattr(np, w.ufunc))
        lines.append(f"    {ufunc}({', '.join(argument(a) for a in w.args)}, out=v[{w.out!r}])")
    lines.append("    return None")
    exec(builtins.compile("\n".join(lines), "<nnspec update>", "exec"), namespace)
    run: Writes = namespace["run"]
    return run


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
