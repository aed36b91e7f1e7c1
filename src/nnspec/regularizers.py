"""L1/L2 regularization as data: the penalty and its gradient as expressions.

Beside `nnspec.optimizers` and in the same expression language: the interpreter
evaluates these trees (`nnspec.interpreter.regularize`) and the ``--train`` template
prints them (`nnspec.codegen.train`). Both sum a param's penalty terms in order, add
the sum to the loss (params in graph order), and add the gradient terms one by one
(`gradient_assigns`: written in place into a buffer of the param's own, see
`nnspec.inplace`), so both engines agree bit for bit. Keras's
definitions: ``l1·sum(|w|) + l2·sum(w²)``, gradient ``l1·sign(w) + 2·l2·w``.
"""

from __future__ import annotations

from typing import Any

from nnspec.ir import Regularizer
from nnspec.optimizers import Assign, Expr

_RATE = {"type": "number", "minimum": 0}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "L1/L2 penalty rates: l1·sum|w| + l2·sum w² is added to the training loss",
    "properties": {
        "l1": {**_RATE, "default": 0.0, "description": "rate of the L1 penalty sum|w|"},
        "l2": {**_RATE, "default": 0.0, "description": "rate of the L2 penalty sum w²"},
    },
    "minProperties": 1,
    "patternProperties": {"^x-": {}},
    "additionalProperties": False,
}
"""The schema of one regularizer (a layer's ``regularizer`` or an entry of the training
section's ``regularization`` map)."""


def penalty_terms(reg: Regularizer) -> tuple[Expr, ...]:
    """The terms of param ``w``'s penalty (rates as literals), summed in this order."""
    terms: list[Expr] = []
    if reg.l1:
        terms.append(("*", reg.l1, ("sum", ("abs", "w"))))
    if reg.l2:
        terms.append(("*", reg.l2, ("sum", ("*", "w", "w"))))
    return tuple(terms)


def gradient_terms(reg: Regularizer) -> tuple[Expr, ...]:
    """The terms added, in this order, to the loss's gradient of param ``w``."""
    terms: list[Expr] = []
    if reg.l1:
        terms.append(("*", reg.l1, ("sign", "w")))
    if reg.l2:
        terms.append(("*", 2.0 * reg.l2, "w"))
    return tuple(terms)


GRADIENT = "gradient"
"""The buffer `gradient_assigns` writes the penalised gradient into (the param's own)."""


def gradient_assigns(reg: Regularizer) -> tuple[Assign, ...]:
    """``gradient = g + term`` for the first gradient term, ``gradient = gradient + term``
    for each later one: the loss's gradient ``g`` plus the terms, in order."""
    assigns = []
    for k, term in enumerate(gradient_terms(reg)):
        assigns.append(Assign(GRADIENT, "=", ("+", GRADIENT if k else "g", term)))
    return tuple(assigns)


def from_settings(param: str, settings: Any) -> Regularizer:
    """A `Regularizer` from ``{"l1": ..., "l2": ...}`` (schema-checked in documents)."""
    return Regularizer(param, float(settings.get("l1", 0.0)), float(settings.get("l2", 0.0)))
