"""The optimizers and learning-rate schedules as data: names, settings, rules.

One definition, three readers: the schema (`nnspec.spec.schema` gives each optimizer
exactly its own settings, so a setting it would ignore is an error), the interpreter
(`nnspec.interpreter.optimizers` evaluates the rules) and the code generator (the
``--train`` template prints them with `python_text`). Both engines evaluate the same
expression trees in the same order with the same Python-float scalars, so their
updates are bitwise equal.

A rule is a list of assignments. Per step, scalars are computed from the settings
and the step counter ``t``; per param, in-place updates of the param ``w`` and its
state arrays (zero-initialised like the param) from its gradient ``g``:

    Expr   := name | float | (op, Expr, Expr) | (function, Expr...)
              op in + - * / ** //      function in FUNCTIONS (NumPy's, or min/max)
    Assign := (target, "=" | "+=" | "-=" | "*=", Expr)

A schedule (`SCHEDULES`) is one expression giving an epoch's learning rate from the
optimizer's rate, the epoch index and the run's epoch count, with linear warm-up
(`warmup_epochs`) common to every kind; see `ScheduleDef`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nnspec import arguments
from nnspec.portable import Portable

Expr = str | float | tuple[Any, ...]

FUNCTIONS: dict[str, str] = {
    "sqrt": "np.sqrt",
    "cos": "np.cos",
    "abs": "np.abs",
    "sign": "np.sign",
    "sum": "np.sum",
    "min": "min",
    "max": "max",
}
"""The functions an expression may call, by the code that calls them in a generated
module; the interpreter calls the same functions (`interpreter.optimizers.evaluator`)."""


def reads(exprs: Iterable[Expr]) -> set[str]:
    """Every name the expressions read."""
    found: set[str] = set()
    stack = list(exprs)
    while stack:
        expr = stack.pop()
        if isinstance(expr, str):
            found.add(expr)
        elif isinstance(expr, tuple):
            stack.extend(expr[1:])
    return found


@dataclass(frozen=True)
class Setting:
    """One number an optimizer reads, with its default and its JSON Schema range."""

    name: str
    default: float
    schema: Mapping[str, Any]
    doc: str


@dataclass(frozen=True)
class Assign:
    target: str
    op: str  # "=" (a new per-step scalar), or "+=", "-=", "*=" (in place)
    expr: Expr


@dataclass(frozen=True)
class Rule:
    """How one step updates the params; `state` arrays are kept per param."""

    doc: str
    state: tuple[str, ...] = ()
    counts_steps: bool = False  # keeps the step counter t (1 on the first step)
    per_step: tuple[Assign, ...] = ()
    per_param: tuple[Assign, ...] = ()

    def reads(self) -> set[str]:
        """Every name the rule's expressions read."""
        return reads(a.expr for a in (*self.per_step, *self.per_param))


@dataclass(frozen=True)
class OptimizerDef:
    name: str
    doc: str
    settings: tuple[Setting, ...]
    rule: Rule
    # (setting, rule): a non-zero value of the setting selects the other rule. sgd uses it
    # for Keras's habit SGD(momentum=0.9): heavy ball, exactly like the momentum optimizer.
    switch: tuple[str, Rule] | None = None

    def defaults(self) -> dict[str, float]:
        return {s.name: s.default for s in self.settings}

    def resolve(self, spec: Mapping[str, Any]) -> dict[str, float]:
        """Every setting as a Python float: the document's values over the defaults."""
        return {
            s.name: float(
                arguments.rule(f"{self.name} {s.name}", spec.get(s.name, s.default), s.schema)
            )
            for s in self.settings
        }

    def update_rule(self, settings: Mapping[str, float]) -> Rule:
        if self.switch is not None and settings[self.switch[0]] != 0:
            return self.switch[1]
        return self.rule


_RATE = {"type": "number", "exclusiveMinimum": 0}
_FRACTION = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def _learning_rate(default: float) -> Setting:
    return Setting("learning_rate", default, _RATE, "step size α")


PLAIN = Rule(
    doc="Plain gradient descent: w <- w - lr*g",
    per_param=(Assign("w", "-=", ("*", "learning_rate", "g")),),
)
HEAVY_BALL = Rule(
    doc="Heavy ball: v <- mu*v - lr*g; w <- w + v",
    state=("velocity",),
    per_param=(
        Assign("velocity", "*=", "momentum"),
        Assign("velocity", "-=", ("*", "learning_rate", "g")),
        Assign("w", "+=", "velocity"),
    ),
)
ADAM = Rule(
    doc="Adam, bias corrections folded into the step size alpha",
    state=("m", "v"),
    counts_steps=True,
    per_step=(
        Assign(
            "alpha",
            "=",
            (
                "/",
                ("*", "learning_rate", ("**", ("-", 1.0, ("**", "beta2", "t")), 0.5)),
                ("-", 1.0, ("**", "beta1", "t")),
            ),
        ),
    ),
    per_param=(
        Assign("m", "*=", "beta1"),
        Assign("m", "+=", ("*", ("-", 1.0, "beta1"), "g")),
        Assign("v", "*=", "beta2"),
        Assign("v", "+=", ("*", ("-", 1.0, "beta2"), ("*", "g", "g"))),
        Assign("w", "-=", ("/", ("*", "alpha", "m"), ("+", ("sqrt", "v"), "epsilon"))),
    ),
)

_MOMENTUM_DOC = "velocity decay μ"
OPTIMIZERS: dict[str, OptimizerDef] = {
    o.name: o
    for o in (
        OptimizerDef(
            "sgd",
            "gradient descent; with a non-zero momentum, heavy ball (as Keras's SGD)",
            (_learning_rate(0.01), Setting("momentum", 0.0, _FRACTION, _MOMENTUM_DOC)),
            PLAIN,
            switch=("momentum", HEAVY_BALL),
        ),
        OptimizerDef(
            "momentum",
            "heavy-ball momentum",
            (_learning_rate(0.01), Setting("momentum", 0.9, _FRACTION, _MOMENTUM_DOC)),
            HEAVY_BALL,
        ),
        OptimizerDef(
            "adam",
            "Adam (Kingma & Ba) with bias-corrected moments",
            (
                _learning_rate(0.001),
                Setting("beta1", 0.9, _FRACTION, "decay of the first moment"),
                Setting("beta2", 0.999, _FRACTION, "decay of the second moment"),
                Setting("epsilon", 1e-8, _RATE, "added to the root of the second moment"),
            ),
            ADAM,
        ),
    )
}
DEFAULT_OPTIMIZER = "sgd"


def optimizer_spec(spec: str | Mapping[str, Any] | None) -> tuple[OptimizerDef, dict[str, float]]:
    """The definition and resolved settings of a document's (or caller's) optimizer."""
    if spec is None:
        spec = DEFAULT_OPTIMIZER
    mapping: Mapping[str, Any] = {"name": spec} if isinstance(spec, str) else spec
    name = mapping.get("name", DEFAULT_OPTIMIZER)
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")
    definition = OPTIMIZERS[name]
    unknown = sorted(k for k in mapping if k != "name" and k not in definition.defaults())
    if unknown:
        known = ", ".join(definition.defaults())
        raise ValueError(f"optimizer {name!r} has no setting {unknown[0]!r} (it has {known})")
    return definition, definition.resolve(mapping)


def python_text(expr: Expr, names: Mapping[str, str]) -> str:
    """`expr` as Python source, every operation but the outermost parenthesised, so it
    evaluates in the tree's order.

    `names` maps the rule's names to the generated code's identifiers (all of them
    generator-owned); floats are written with `repr`, which round-trips.
    """
    if isinstance(expr, str):
        return names.get(expr, expr)
    if isinstance(expr, float):
        return repr(expr)
    op, *args = expr
    if op in FUNCTIONS:
        return f"{FUNCTIONS[op]}({', '.join(python_text(a, names) for a in args)})"
    left, right = (_operand(a, names) for a in args)
    if op == "**" and not any(isinstance(a, tuple) for a in args):
        return f"{left}**{right}"  # how ruff format writes a power of simple operands
    return f"{left} {op} {right}"


def _operand(expr: Expr, names: Mapping[str, str]) -> str:
    text = python_text(expr, names)
    return f"({text})" if isinstance(expr, tuple) and expr[0] not in FUNCTIONS else text


# ---------------------------------------------------------------- learning-rate schedules


@dataclass(frozen=True)
class ScheduleDef:
    """A learning-rate schedule: the rate of epoch ``epoch`` (0 for the first).

    `steps` read ``learning_rate`` (the optimizer's, or the caller's override), ``epoch``,
    ``epochs`` (the run's epoch count), ``k`` (epochs since warm-up ended, from 0) and the
    settings, and end by assigning ``decayed``. `derived` gives a setting left out of
    the document its per-run value.
    Warm-up scales the rate by ``min(1, (epoch + 1) / (warmup_epochs + 1))``: linear
    from ``1/(W+1)`` of the rate to all of it at epoch W, where the decay starts.
    """

    name: str
    doc: str
    settings: tuple[Setting, ...]
    steps: tuple[Assign, ...]  # computing ``decayed``: the rate at decay index k, before warm-up
    required: tuple[str, ...] = ()
    derived: Mapping[str, Expr] = field(default_factory=dict)

    def resolve(self, spec: Mapping[str, Any]) -> dict[str, float]:
        """The given settings, and the defaults of the others, as Python floats."""
        return {
            s.name: float(spec.get(s.name, s.default))
            for s in self.settings
            if s.name in spec or s.name not in self.derived
        }

    def per_run(self, settings: Mapping[str, float]) -> tuple[Assign, ...]:
        """Scalars computed once per run: each derived setting the document left out."""
        return tuple(Assign(k, "=", e) for k, e in self.derived.items() if k not in settings)

    @property
    def per_epoch(self) -> tuple[Assign, ...]:
        """The epoch's scalars, in order; the last is the epoch's learning rate."""
        decay = reads(a.expr for a in self.steps)
        return (
            *((Assign("k", "=", DECAY_INDEX),) if "k" in decay else ()),
            *self.steps,
            Assign("rate", "=", ("*", _WARMUP, "decayed")),
        )


_WARMUP: Expr = ("min", 1.0, ("/", ("+", "epoch", 1.0), ("+", "warmup_epochs", 1.0)))
DECAY_INDEX: Expr = ("max", ("-", "epoch", "warmup_epochs"), 0.0)
"""``k``: epochs since warm-up ended (0 during warm-up)."""

_EPOCHS = {"type": "integer", "minimum": 1}
WARMUP = Setting(
    "warmup_epochs",
    0.0,
    {"type": "integer", "minimum": 0},
    "epochs of linear warm-up before the schedule starts",
)
_GAMMA = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}

SCHEDULES: dict[str, ScheduleDef] = {
    s.name: s
    for s in (
        ScheduleDef(
            "constant",
            "the optimizer's rate every epoch (with warm-up, if any)",
            (WARMUP,),
            (Assign("decayed", "=", "learning_rate"),),
        ),
        ScheduleDef(
            "step",
            "multiply the rate by gamma every step_size epochs",
            (
                WARMUP,
                Setting("step_size", 10.0, _EPOCHS, "epochs between two decays"),
                Setting("gamma", 0.1, _GAMMA, "factor applied at each decay"),
            ),
            (
                Assign(
                    "decayed",
                    "=",
                    ("*", "learning_rate", ("**", "gamma", ("//", "k", "step_size"))),
                ),
            ),
            required=("step_size",),
        ),
        ScheduleDef(
            "exponential",
            "multiply the rate by gamma every epoch",
            (WARMUP, Setting("gamma", 0.95, _GAMMA, "factor applied each epoch")),
            (Assign("decayed", "=", ("*", "learning_rate", ("**", "gamma", "k"))),),
            required=("gamma",),
        ),
        ScheduleDef(
            "cosine",
            "half a cosine from the rate down to min_learning_rate over decay_epochs, "
            "then min_learning_rate",
            (
                WARMUP,
                Setting(
                    "decay_epochs",
                    1.0,
                    _EPOCHS,
                    "epochs of the descent (default: the run's epochs after warm-up)",
                ),
                Setting("min_learning_rate", 0.0, {"type": "number", "minimum": 0}, "final rate"),
            ),
            (
                Assign("progress", "=", ("/", ("min", "k", "decay_epochs"), "decay_epochs")),
                Assign("cosine", "=", ("/", ("+", 1.0, ("cos", ("*", math.pi, "progress"))), 2.0)),
                Assign(
                    "decayed",
                    "=",
                    (
                        "+",
                        "min_learning_rate",
                        ("*", ("-", "learning_rate", "min_learning_rate"), "cosine"),
                    ),
                ),
            ),
            derived={"decay_epochs": ("max", ("-", "epochs", "warmup_epochs"), 1.0)},
        ),
    )
}


class SettingError(Portable, ValueError):
    """A bad training setting, with a message that names it as the caller spells it.

    `template` holds ``{setting}`` where the setting's name goes: ``str(error)`` uses
    the Python parameter's name, `spelled` another spelling (the command line's
    ``--validation-split`` for ``validation_split``).
    """

    def __init__(self, setting: str, template: str):
        self.setting, self.template = setting, template
        super().__init__(template.format(setting=setting))

    def spelled(self, names: Mapping[str, str]) -> str:
        return self.template.format(setting=names.get(self.setting, self.setting))


def schedule_spec(
    spec: str | Mapping[str, Any] | None, setting: str = "schedule"
) -> tuple[ScheduleDef, dict[str, float]] | None:
    """The definition and resolved settings of a schedule (None: no schedule).

    Raises `SettingError` naming `setting` (the caller's name for the schedule).
    """
    if spec is None:
        return None
    mapping: Mapping[str, Any] = {"name": spec} if isinstance(spec, str) else spec
    name = mapping.get("name")
    if name not in SCHEDULES:
        raise SettingError(
            setting, f"{{setting}}: unknown schedule {name!r}; use one of {', '.join(SCHEDULES)}"
        )
    definition = SCHEDULES[name]
    known = [s.name for s in definition.settings]
    unknown = sorted(k for k in mapping if k != "name" and k not in known)
    if unknown:
        raise SettingError(
            setting,
            f"{{setting}}: schedule {name!r} has no setting {unknown[0]!r} "
            f"(it has {', '.join(known)})",
        )
    missing = [s for s in definition.settings if s.name in definition.required]
    missing = [s for s in missing if s.name not in mapping]
    if missing:
        needs = " and ".join(f"{s.name!r} ({s.doc})" for s in missing)
        fix = _written(setting, name, mapping, missing).replace("{", "{{").replace("}", "}}")
        raise SettingError(setting, f"{{setting}}: schedule {name!r} needs {needs}; {fix}")
    for s in definition.settings:
        if s.name in mapping:
            _check_setting(setting, s, mapping[s.name])
    return definition, definition.resolve(mapping)


def _written(setting: str, name: str, given: Mapping[str, Any], missing: list[Setting]) -> str:
    """How to write schedule `name` with its `missing` settings added, each at its
    default as an example, in the caller's syntax, told by how `setting` is spelled: a
    command-line option (``--schedule``: ``KIND:KEY=VALUE,...``), a document key (a
    dotted path, ``training.schedule``: JSON) or a Python parameter (``schedule``)."""
    examples = {
        s.name: int(s.default) if s.schema.get("type") == "integer" else s.default for s in missing
    }
    settings = {**{k: v for k, v in given.items() if k != "name"}, **examples}
    if setting.startswith("--"):
        pairs = ",".join(f"{k}={v}" for k, v in settings.items())
        return f"write {setting} {name}:{pairs}"
    form = {"name": name, **settings}
    if "." in setting:
        return f"write {setting} as {json.dumps(form)}"
    return f"write {setting}={form!r}"


def _check_setting(owner: str, setting: Setting, value: Any) -> None:
    """A setting's value against its schema's type and range (for callers from Python)."""
    rule = setting.schema
    whole = rule.get("type") == "integer"
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
    if ok and whole:
        ok = float(value).is_integer()
    bounds = (
        ("minimum", lambda v, b: v >= b),
        ("exclusiveMinimum", lambda v, b: v > b),
        ("maximum", lambda v, b: v <= b),
        ("exclusiveMaximum", lambda v, b: v < b),
    )
    if ok:
        ok = all(test(value, rule[key]) for key, test in bounds if key in rule)
    if not ok:
        kind = "a whole number" if whole else "a number"
        limits = " and ".join(f"{_SIGNS[k]} {rule[k]}" for k, _ in bounds if k in rule)
        raise SettingError(
            owner, f"{{setting}}: {setting.name} must be {kind} {limits}, got {value!r}"
        )


_SIGNS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
