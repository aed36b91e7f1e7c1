"""L1/L2 regularization in the interpreter: penalties added to the loss and gradients.

`Model.loss_and_gradients` (the training step and `Model.gradients`) and `Evaluator`
(validation, `evaluate`) call `Penalty`; it evaluates `nnspec.regularizers`'
expressions, which a compiled ``--train`` module prints, in the same order (params
in graph order, each term added to a new array, never in place), so both engines
agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnspec.interpreter.optimizers import evaluator
from nnspec.ir import Graph
from nnspec.regularizers import gradient_terms, penalty_terms


class Penalty:
    """The regularization of a graph's training section (empty without one)."""

    def __init__(self, graph: Graph):
        regularizers = graph.training.regularizers if graph.training is not None else ()
        self.terms = tuple(
            (
                r.param,
                [evaluator(t) for t in penalty_terms(r)],
                [evaluator(t) for t in gradient_terms(r)],
            )
            for r in regularizers
        )

    def __bool__(self) -> bool:
        return bool(self.terms)

    def loss(self, loss: Any, params: Mapping[str, np.ndarray]) -> Any:
        """`loss` plus each param's penalty (its terms summed first), in param order."""
        for name, terms, _ in self.terms:
            if terms:
                env = {"w": params[name]}
                value = terms[0](env)
                for term in terms[1:]:
                    value = value + term(env)
                loss = loss + value
        return loss

    def gradients(
        self, grads: dict[str, np.ndarray], params: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """`grads` with each regularized param's gradient terms added (new arrays)."""
        for name, _, terms in self.terms:
            env = {"w": params[name]}
            for term in terms:
                grads[name] = grads[name] + term(env)
        return grads
