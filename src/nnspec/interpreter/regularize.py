"""L1/L2 regularization in the interpreter: penalties added to the loss and gradients.

`Model.loss_and_gradients` (the training step and `Model.gradients`) and `Evaluator`
(validation, `evaluate`) call `Penalty`; it evaluates `nnspec.regularizers`'
expressions, which a compiled ``--train`` module prints, in the same order (params
in graph order, each gradient term added by `nnspec.inplace` writes into a buffer of
the param's own, made on the first step: never into the gradient it was given, which
a VJP may share with another value), so both engines agree bit for bit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnspec import aligned
from nnspec.inplace import lower, lower_value, scratch
from nnspec.interpreter.optimizers import Writes, evaluator, writes_of
from nnspec.ir import Graph, Regularizer
from nnspec.regularizers import GRADIENT, gradient_assigns, penalty_terms

MAX_BUFFERS = 1024
"""Buffer lists one `Penalty` keeps (per thread, param and dtype) before starting afresh."""


class _Terms:
    """One param's penalty: each value term as (writes, the term reading their
    buffers), the gradient terms' writes, and the scratch buffers they need."""

    def __init__(self, reg: Regularizer):
        self.param = reg.param
        self.value: list[tuple[Writes, Callable[[dict], Any]]] = []
        used = 0
        for term in penalty_terms(reg):
            writes, expr, count = lower_value(term, {"w"})
            self.value.append((writes_of(writes), evaluator(expr)))
            used = max(used, count)
        lowered = lower(gradient_assigns(reg), {"g", "w", GRADIENT})
        self.gradient = writes_of(lowered.writes) if lowered.writes else None
        self.scratch = [scratch(k) for k in range(max(used, lowered.scratch))]


class Penalty:
    """The regularization of a graph's training section (empty without one)."""

    def __init__(self, graph: Graph):
        regularizers = graph.training.regularizers if graph.training is not None else ()
        self.terms = tuple(_Terms(r) for r in regularizers)
        self._held: dict[tuple, list[np.ndarray]] = {}

    def __bool__(self) -> bool:
        return bool(self.terms)

    def _env(self, terms: _Terms, w: np.ndarray, dtype: Any) -> dict[str, Any]:
        """``w`` and this thread's buffers for `terms`: the penalised gradient, then the
        scratch buffers, laid out like `w` (made once per thread, param and dtype)."""
        key = (threading.get_ident(), terms.param, dtype)
        buffers = self._held.get(key)
        if buffers is None or buffers[0].shape != w.shape:
            if len(self._held) >= MAX_BUFFERS:
                self._held.clear()
            count = 1 + len(terms.scratch)
            buffers = self._held[key] = [aligned.empty_like(w, dtype) for _ in range(count)]
        return {"w": w, GRADIENT: buffers[0], **dict(zip(terms.scratch, buffers[1:], strict=True))}

    def holds(self, name: str, array: Any) -> bool:
        """Whether `array` is this thread's penalised-gradient buffer of param `name`
        (what `gradients` put in its place): it holds no other value than that
        param's gradient (and, once the update has read it, what the update computes
        into it) until this thread's next step."""
        found = self._held.get((threading.get_ident(), name, getattr(array, "dtype", None)))
        return found is not None and found[0] is array

    def loss(self, loss: Any, params: Mapping[str, np.ndarray]) -> Any:
        """`loss` plus each param's penalty (its terms summed first), in param order."""
        for terms in self.terms:
            if terms.value:
                w = params[terms.param]
                env = self._env(terms, w, w.dtype)
                value = None
                for writes, term in terms.value:
                    writes(env)
                    value = term(env) if value is None else value + term(env)
                loss = loss + value
        return loss

    def gradients(
        self, grads: dict[str, np.ndarray], params: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """`grads` with each regularized param's gradient terms added (into the param's
        penalised-gradient buffer, which `grads` then holds)."""
        for terms in self.terms:
            if terms.gradient is None:  # rates of 0: nothing to add
                continue
            w, grad = params[terms.param], grads[terms.param]
            env = self._env(terms, w, np.result_type(grad, w))
            env["g"] = grad
            terms.gradient(env)
            grads[terms.param] = env[GRADIENT]
        return grads
