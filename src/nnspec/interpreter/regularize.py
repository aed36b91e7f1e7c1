"""L1/L2 regularization in the interpreter: penalties added to the loss and gradients.

`Model.loss_and_gradients` (the training step and `Model.gradients`) and `Evaluator`
(validation, `evaluate`) call `Penalty`; it evaluates `nnspec.regularizers`'
expressions, which a compiled ``--train`` module prints, in the same order (params
in graph order, each gradient term added by `nnspec.inplace` writes into a buffer of
the param's own, made on the first step: never into the gradient it was given, which
a VJP may share with another value), so both engines agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnspec.inplace import lower
from nnspec.interpreter.optimizers import evaluator, run_writes, writes_of
from nnspec.ir import Graph
from nnspec.regularizers import GRADIENT, gradient_assigns, penalty_terms


class Penalty:
    """The regularization of a graph's training section (empty without one)."""

    def __init__(self, graph: Graph):
        regularizers = graph.training.regularizers if graph.training is not None else ()
        self.terms = tuple(
            (
                r.param,
                [evaluator(t) for t in penalty_terms(r)],
                lower(gradient_assigns(r), {"g", "w", GRADIENT}),
            )
            for r in regularizers
        )
        self._writes = {name: writes_of(lowered.writes) for name, _, lowered in self.terms}
        self.buffers: dict[str, list[np.ndarray]] = {}
        """Per param: its penalised gradient, then its scratch buffers."""

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
        """`grads` with each regularized param's gradient terms added (into the param's
        penalised-gradient buffer, which `grads` then holds)."""
        for name, _, lowered in self.terms:
            w, grad = params[name], grads[name]
            dtype = np.result_type(grad, w)
            buffers = self.buffers.get(name)
            if buffers is None or buffers[0].dtype != dtype or buffers[0].shape != w.shape:
                buffers = [np.empty(w.shape, dtype) for _ in range(1 + lowered.scratch)]
                self.buffers[name] = buffers
            env = {"w": w, "g": grad, GRADIENT: buffers[0]}
            env.update((f"scratch{k}", b) for k, b in enumerate(buffers[1:]))
            run_writes(self._writes[name], env)
            grads[name] = buffers[0]
        return grads
