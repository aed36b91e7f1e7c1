"""The optimizer of a ``--train`` module: `nnspec.optimizers`' rule as lines of code.

Prepared here, formatted by ``templates/train.py.j2`` (`_update` and `init_state`).
Every identifier is the generator's own: settings are local variables read from
``TRAINING["optimizer"]``, ``g`` is ``grad``, ``w`` is ``PARAMS[name]``; the rule's
expression trees are printed fully parenthesised, so the module evaluates them in the
interpreter's order (`nnspec.interpreter.optimizers`) and gets its bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnspec.codegen.names import literal
from nnspec.optimizers import optimizer_spec, python_text


@dataclass(frozen=True)
class UpdateCode:
    name: str  # literal of the optimizer's name
    doc: str
    settings: tuple[tuple[str, str], ...]  # (identifier, float literal), defaults filled in
    reads: tuple[str, ...]  # the settings besides learning_rate that the rule reads
    state: tuple[str, ...]  # per-param state arrays (identifiers and state keys)
    counts_steps: bool
    per_step: tuple[str, ...]  # statements computing per-step scalars
    per_param: tuple[str, ...]  # in-place statements on PARAMS[name] and its state


def update_code(spec: Mapping[str, Any] | str | None) -> UpdateCode:
    definition, settings = optimizer_spec(spec)
    rule = definition.update_rule(settings)
    names = {"g": "grad", "w": "PARAMS[name]"}
    return UpdateCode(
        name=literal(definition.name),
        doc=rule.doc,
        settings=tuple((key, repr(value)) for key, value in settings.items()),
        reads=tuple(k for k in settings if k != "learning_rate" and k in rule.reads()),
        state=rule.state,
        counts_steps=rule.counts_steps,
        per_step=tuple(f"{a.target} {a.op} {python_text(a.expr, names)}" for a in rule.per_step),
        per_param=tuple(
            f"{names.get(a.target, a.target)} {a.op} {python_text(a.expr, names)}"
            for a in rule.per_param
        ),
    )
