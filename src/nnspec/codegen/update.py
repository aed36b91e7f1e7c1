"""The optimizer, schedule and penalties of a ``--train`` module, as lines of code.

`nnspec.optimizers`' rule and schedule and `nnspec.regularizers`' expressions,
prepared here, formatted by ``templates/train.py.j2`` (`_update`, `init_state`,
`_scheduled_rate` and the penalties at the end of `_gradients`).
Every identifier is the generator's own: settings are local variables read from
``TRAINING["optimizer"]``, ``g`` is ``grad``, ``w`` is ``weight`` (``PARAMS[name]``),
scratch buffer k is ``_scratch[k]``; scalar expression trees are printed fully
parenthesised, so the module evaluates them in the interpreter's order
(`nnspec.interpreter.optimizers`) and gets its bits. The per-param updates and the
penalties' gradient terms are printed as the `nnspec.inplace` writes the interpreter
runs: ``np.<ufunc>(..., out=...)`` into the param, its state or a scratch buffer kept
per param and thread (`_train_buffers`), so a step allocates no arrays for them.
Where a gradient is a buffer of its param's own (``_own_gradient``), the update runs
the writes `nnspec.inplace.reuse` derives, one scratch buffer fewer, as the interpreter's
`TrainStep` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnspec.codegen.names import literal
from nnspec.inplace import (
    SCRATCH,
    Lowered,
    Write,
    lower,
    lower_value,
    reuse,
    scratch,
    scratch_number,
)
from nnspec.ir import Regularizer
from nnspec.optimizers import optimizer_spec, python_text, schedule_spec
from nnspec.regularizers import GRADIENT, gradient_assigns, penalty_terms


@dataclass(frozen=True)
class UpdateCode:
    name: str  # literal of the optimizer's name
    doc: str
    settings: tuple[tuple[str, str], ...]  # (identifier, float literal), defaults filled in
    reads: tuple[str, ...]  # the settings besides learning_rate that the rule reads
    state: tuple[str, ...]  # per-param state arrays (identifiers and state keys)
    counts_steps: bool
    per_step: tuple[str, ...]  # statements computing per-step scalars
    per_param: tuple[str, ...]  # in-place writes into weight, its state and _scratch
    scratch: int  # scratch buffers per param
    overwriting: tuple[str, ...]  # the same, writing into grad once it is read (or ())
    overwriting_scratch: int  # scratch buffers per param of those


def update_code(spec: Mapping[str, Any] | str | None) -> UpdateCode:
    definition, settings = optimizer_spec(spec)
    rule = definition.update_rule(settings)
    names = {"g": "grad", "w": "weight"}
    lowered = lower(rule.per_param, {"g", "w", *rule.state})
    overwriting = reuse(lowered, "g")
    if overwriting == lowered:
        overwriting = Lowered((), 0)  # nothing to gain: the module prints one way only
    return UpdateCode(
        name=literal(definition.name),
        doc=rule.doc,
        settings=tuple((key, repr(value)) for key, value in settings.items()),
        reads=tuple(k for k in settings if k != "learning_rate" and k in rule.reads()),
        state=rule.state,
        counts_steps=rule.counts_steps,
        per_step=tuple(f"{a.target} {a.op} {python_text(a.expr, names)}" for a in rule.per_step),
        per_param=tuple(write_text(w, names, "_scratch") for w in lowered.writes),
        scratch=lowered.scratch,
        overwriting=tuple(write_text(w, names, "_scratch") for w in overwriting.writes),
        overwriting_scratch=overwriting.scratch,
    )


def write_text(write: Write, names: Mapping[str, str], buffers: str, first: int = 0) -> str:
    """One `nnspec.inplace` write as a NumPy call; scratch buffer k is
    ``buffers[first + k]``."""

    def name(expr: Any) -> str:
        if isinstance(expr, str) and expr.startswith(SCRATCH):
            return f"{buffers}[{first + scratch_number(expr)}]"
        return python_text(expr, names)

    args = ", ".join(name(a) for a in write.args)
    return f"np.{write.ufunc}({args}, out={name(write.out)})"


@dataclass(frozen=True)
class ScheduleCode:
    name: str  # literal of the schedule's kind
    doc: str
    settings: tuple[tuple[str, str], ...]  # (identifier, float literal) the document resolves
    per_run: tuple[str, ...]  # statements deriving the settings the document left out
    per_epoch: tuple[str, ...]  # statements computing k and the epoch's rate


def schedule_code(spec: Mapping[str, Any] | None) -> ScheduleCode | None:
    """`_scheduled_rate`'s lines, in the order `interpreter.optimizers.Schedule` evaluates."""
    found = schedule_spec(spec, "training.schedule")
    if found is None:
        return None
    definition, settings = found
    statement = "{} {} {}".format
    return ScheduleCode(
        name=literal(definition.name),
        doc=definition.doc,
        settings=tuple((key, repr(value)) for key, value in settings.items()),
        per_run=tuple(
            statement(a.target, a.op, python_text(a.expr, {})) for a in definition.per_run(settings)
        ),
        per_epoch=tuple(
            statement(a.target, a.op, python_text(a.expr, {})) for a in definition.per_epoch
        ),
    )


def penalty_lines(
    reg: Regularizer, idents: tuple[str, str, str], loss: str, total: str
) -> list[str]:
    """Statements adding param `reg.param`'s penalty to `loss` (summed in `total`) and
    its gradient terms to its gradient, in `interpreter.regularize.Penalty`'s order.

    `idents` = (the param's constant, its gradient's identifier, an identifier for its
    `_train_buffers`): the penalty's array operations are written into those buffers'
    scratch part and its gradient into the first one, which the gradient's identifier
    then names.
    """
    ident, grad, buffers = idents
    key = f'("penalty", {literal(reg.param)})'
    values = [lower_value(t, {"w"}) for t in penalty_terms(reg)]
    lowered = lower(gradient_assigns(reg), {"g", "w", GRADIENT})
    count = 1 + max([lowered.scratch, *(used for _, _, used in values)])
    lines: list[str] = []
    names = {"w": ident, GRADIENT: f"{buffers}[0]"}
    names |= {scratch(k): f"{buffers}[{1 + k}]" for k in range(count - 1)}
    if values:
        lines.append(f"{buffers} = _train_buffers({key}, {ident}.shape, {ident}.dtype, {count})")
    for k, (writes, expr, _) in enumerate(values):
        lines += [write_text(w, names, buffers, 1) for w in writes]
        term = python_text(expr, names)
        lines.append(f"{total} = {term}" if k == 0 else f"{total} = {total} + ({term})")
    lines += [f"{loss} = {loss} + {total}"] if values else []
    if lowered.writes:
        dtype = f"np.result_type({grad}, {ident})"
        lines.append(f"{buffers} = _train_buffers({key}, {ident}.shape, {dtype}, {count})")
        names["g"] = grad
        lines += [write_text(w, names, buffers, 1) for w in lowered.writes]
        lines.append(f"{grad} = {buffers}[0]")
    return lines
