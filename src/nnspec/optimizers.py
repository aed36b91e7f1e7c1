"""The optimizers as data: names, settings (defaults and ranges) and update rules.

One definition, three readers: the schema (`nnspec.spec.schema` gives each optimizer
exactly its own settings, so a setting it would ignore is an error), the interpreter
(`nnspec.interpreter.optimizers` evaluates the rules) and the code generator (the
``--train`` template prints them with `python_text`). Both engines evaluate the same
expression trees in the same order with the same Python-float scalars, so their
updates are bitwise equal.

A rule is a list of assignments. Per step, scalars are computed from the settings
and the step counter ``t``; per param, in-place updates of the param ``w`` and its
state arrays (zero-initialised like the param) from its gradient ``g``:

    Expr   := name | float | (op, Expr, Expr) | ("sqrt", Expr)     op in + - * / **
    Assign := (target, "=" | "+=" | "-=" | "*=", Expr)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnspec import arguments

Expr = str | float | tuple[Any, ...]


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
        found: set[str] = set()
        stack: list[Expr] = [a.expr for a in (*self.per_step, *self.per_param)]
        while stack:
            expr = stack.pop()
            if isinstance(expr, str):
                found.add(expr)
            elif isinstance(expr, tuple):
                stack.extend(expr[1:])
        return found


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
    if op == "sqrt":
        return f"np.sqrt({python_text(args[0], names)})"
    left, right = (_operand(a, names) for a in args)
    if op == "**" and not any(isinstance(a, tuple) for a in args):
        return f"{left}**{right}"  # how ruff format writes a power of simple operands
    return f"{left} {op} {right}"


def _operand(expr: Expr, names: Mapping[str, str]) -> str:
    text = python_text(expr, names)
    return f"({text})" if isinstance(expr, tuple) and expr[0] != "sqrt" else text
