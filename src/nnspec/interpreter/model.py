"""`Model`: a `Graph` with param values, planned once and run many times.

Sits on top of `plan`, `forward` and `backward`: the public calls check inputs
(`inputs.prepare`), fill a copy of a prebuilt environment list (params already in
their slots) and run a cached plan. Plans are cached per requested output set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np

from nnspec import aligned, arguments
from nnspec.autodiff import borrowed_values
from nnspec.interpreter.init import initial_values
from nnspec.interpreter.inputs import prepare
from nnspec.interpreter.plan import Layout, RunPlan
from nnspec.interpreter.regularize import Penalty
from nnspec.interpreter.threads import SMALL_WORK, Limited, check, choose
from nnspec.ir import Graph
from nnspec.overview.table import summary_text
from nnspec.typecheck import ensure_typed


class Params(MutableMapping):
    """Param values by name. Setting one checks its shape and dtype; names are fixed."""

    def __init__(self, model: Model, values: dict[str, np.ndarray]):
        self._model = model
        self._values = values

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise KeyError(f"{name!r} is not a param of this graph")
        current = self._values[name]
        if value is current:  # `params[k] -= step` updated it in place: nothing to check or copy
            return
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise ValueError(f"param {name!r}: expected {current.dtype} numbers, got {array.dtype}")
        if array.shape != current.shape:
            raise ValueError(
                f"param {name!r}: expected shape {list(current.shape)}, got {list(array.shape)}"
            )
        # C order, as a compiled module's params: another layout rounds differently
        array = aligned.copy(array, current.dtype)
        self._values[name] = array
        self._model._place(name, array)

    def __delitem__(self, name: str) -> None:
        raise TypeError("params cannot be removed; assign a new value instead")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in self._values.items())
        return f"Params({shown})"


class Model:
    """Run and differentiate a graph.

    ``params`` defaults to the graph's initial values (seeded by the graph, or
    by `seed`). Given values replace the initial ones by name and are checked.
    `threads` is the BLAS thread count of its matrix products: None ("auto", see
    `nnspec.interpreter.threads`) or a whole number; ``model.threads`` may be changed.
    """

    def __init__(
        self,
        graph: Graph,
        params: Mapping[str, np.ndarray] | None = None,
        *,
        seed: int | None = None,
        threads: int | None = None,
    ):
        self.graph = ensure_typed(graph)  # a hand-built graph gets a clear error here
        self.threads = check(threads)
        seed = arguments.optional(arguments.seed, "seed", seed)
        self.layout = Layout(graph)
        self._env: list[Any] = [None] * self.layout.size
        self._placing = threading.Lock()  # `_place`'s copy and rebind, one at a time
        values = initial_values(graph, seed)  # fresh, aligned arrays: kept as they are
        for name, value in values.items():
            self._place(name, value)
        self.params = Params(self, values)
        for name, value in (params or {}).items():
            self.params[name] = value
        self._plans: dict[tuple, RunPlan] = {}
        self.trainable = tuple(p.name for p in graph.params if p.trainable)
        self.penalty = Penalty(graph)
        """The training section's L1/L2 penalties, part of the training loss."""
        self.float_feeds = tuple(n for n, f in self.layout.feeds.items() if f.type.is_float)
        self.forward_plan = self.plan(graph.outputs)
        self.weights = sum(p.type.size() or 0 for p in graph.params)
        """Param elements: multiply-adds per example, roughly, for `threads.choose`."""
        self.borrowed = borrowed_values(graph)
        """Values that may share memory with an input or a param: `run` copies them."""
        self._direct = self._direct_predict()

    def _place(self, name: str, value: np.ndarray) -> None:
        """Put param `name`'s array in the environment: its slot and the slots of its
        rank-matched views (`buffers.rank_matched`), which then share its memory.

        Into a copy of the environment, rebound at once: a run on another thread copies
        `_env` once, so it sees the old param and views or the new ones, never a mix;
        two threads placing params take turns, so neither loses the other's.
        (`Params.__setitem__` checks the value; nothing else may call this.)"""
        with self._placing:
            env = self._env.copy()
            env[self.layout.slots[name]] = value
            for (param, shape), slot in self.layout.views.items():
                if param == name:
                    env[slot] = value[(None,) * (len(shape) - value.ndim)]  # always a view
            self._env = env

    @classmethod
    def load(cls, source: str | os.PathLike | Mapping[str, Any], **kwargs: Any) -> Model:
        """A model from a document path, JSON text or dict (see `nnspec.load`)."""
        from nnspec.spec.load import load

        return cls(load(source), **kwargs)

    def __repr__(self) -> str:
        names = [i.name for i in self.graph.inputs]
        return f"Model({self.graph.name!r}, inputs={names}, outputs={list(self.graph.outputs)})"

    # ------------------------------------------------------------------ planning

    def plan(
        self,
        outputs: tuple[str, ...],
        loss: str | None = None,
        wrt: tuple[str, ...] = (),
        training: bool = False,
    ) -> RunPlan:
        """The cached plan computing `outputs` (and the gradient of `loss` for `wrt`);
        `training` turns on training-only behaviour (dropout)."""
        key = (outputs, loss, wrt, training)
        plan = self._plans.get(key)
        if plan is None:
            try:
                plan = self.layout.plan(outputs, loss, wrt, training)
            except KeyError as exc:
                from nnspec.errors import did_you_mean

                name = exc.args[0]
                raise ValueError(
                    f"unknown value {name!r}{did_you_mean(name, self.layout.slots)}"
                ) from None
            self._plans[key] = plan
        return plan

    def gradient_plan(self, wrt_inputs: bool = False, outputs: tuple[str, ...] = ()) -> RunPlan:
        """The plan for the training loss, its value, `outputs` and gradients (in
        training mode: dropout masks are drawn, see `environment`)."""
        training = self.graph.training
        if training is None or training.loss_node is None:
            raise ValueError(
                f"graph {self.graph.name!r} has no training loss; add a 'training' section "
                "with a loss to the document"
            )
        wrt = self.trainable + self.float_feeds if wrt_inputs else self.trainable
        return self.plan(outputs, training.loss_node, wrt, training=True)

    def stream(self, step: int = 0, seed: int | None = None) -> tuple[int, int]:
        """(seed, step) of a training-mode run: which dropout masks it draws.

        `seed` defaults to the document's training seed (0 without a training section);
        `step` counts training steps from 0, as `train` does.
        """
        for name, value in (("step", step), ("seed", seed)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0
            ):
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if seed is None:
            seed = self.graph.training.seed if self.graph.training is not None else 0
        return int(seed), int(step)

    # ------------------------------------------------------------------ running

    def environment(
        self,
        plan: RunPlan,
        inputs: Mapping[str, Any],
        check: bool = True,
        stream: tuple[int, int] = (0, 0),
    ) -> list[Any]:
        """A fresh environment holding the params and the (checked) inputs `plan` reads;
        a training plan also gets `stream`, the (seed, step) its noise is drawn for."""
        env = self._env.copy()
        if plan.training:
            env[self.layout.stream] = stream
        slots = self.layout.slots
        if check and not plan.exact(inputs):
            inputs = prepare(plan.feeds, inputs, self.layout.feeds)
        for name, array in inputs.items():
            env[slots[name]] = array
        return env

    def run(
        self,
        inputs: Mapping[str, Any],
        outputs: tuple[str, ...] | None = None,
        *,
        threads: int | None = None,
        training: bool = False,
        step: int = 0,
        seed: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Values of `outputs` (default: the graph outputs; any node name works).

        `threads` overrides ``self.threads`` for this call. ``training=True`` runs as a
        training step does: dropout draws the masks of training step `step` for `seed`
        (see `stream`); the default is inference, where dropout is the identity.
        """
        if training:
            wanted = self.graph.outputs if outputs is None else tuple(outputs)
            plan = self.plan(wanted, training=True)
        else:
            plan = self.forward_plan if outputs is None else self.plan(tuple(outputs))
        env = self.environment(plan, inputs, stream=self.stream(step, seed) if training else (0, 0))
        count = choose(self.threads if threads is None else check(threads), self.work(env, plan))
        if count is None:  # the BLAS as it is: no context to enter (`threads.blas_threads`)
            env = plan.run(env)
        else:
            with Limited(count):
                env = plan.run(env)
        borrowed = self.borrowed
        return {
            name: env[slot].copy() if name in borrowed else env[slot]
            for name, slot in zip(plan.outputs, plan.out_slots, strict=True)
        }

    def __call__(self, **inputs: Any) -> dict[str, np.ndarray]:
        return self.run(inputs)

    def work(self, env: list[Any], plan: RunPlan) -> int:
        """Rough multiply-adds of running `plan` on `env`: rows of its first feed x weights."""
        if not plan.feeds:
            return self.weights
        first = env[self.layout.slots[plan.feeds[0].name]]
        rows = first.shape[0] if getattr(first, "ndim", 0) else 1
        return rows * self.weights

    def _direct_predict(self) -> tuple[Any, ...] | None:
        """What `predict`'s direct path needs, or None when it has none: one input, the
        forward plan reading exactly it, one output that is no borrowed value.

        (slot, dtype, rank, fixed dims as (axis, size), pairs of axes sharing a symbol,
        output slot): an input passing these is what `inputs.exact_check` accepts."""
        plan = self.forward_plan
        if len(self.graph.inputs) != 1 or len(plan.outputs) != 1:
            return None
        (feed,) = self.graph.inputs
        if plan.feeds != (feed,) or plan.training or plan.outputs[0] in self.borrowed:
            return None
        shape = feed.type.shape
        first: dict[str, int] = {}
        same = []
        for axis, d in enumerate(shape):
            if isinstance(d, str):
                if d in first:
                    same.append((first[d], axis))
                first.setdefault(d, axis)
        fixed = tuple((axis, d) for axis, d in enumerate(shape) if isinstance(d, int))
        slot = self.layout.slots[feed.name]
        dtype, rank = np.dtype(feed.type.dtype), feed.type.rank
        return slot, dtype, rank, fixed, tuple(same), plan.out_slots[0]

    def predict(self, x: Any, *, threads: int | None = None) -> np.ndarray | dict[str, np.ndarray]:
        """The output for the single graph input `x` (a dict when there are several outputs).

        `threads` overrides ``self.threads`` for this call.
        """
        direct = self._direct
        # The direct path: what `run` does for an exact input and small work on "auto"
        # (`inputs.exact_check`, `threads.choose`), without its frames and dicts.
        if (
            direct is not None
            and threads is None
            and self.threads is None
            and type(x) is np.ndarray
            and x.dtype is direct[1]
            and x.ndim == direct[2]
        ):
            slot, _, rank, fixed, same, out = direct
            shape = x.shape
            exact = (shape[0] if rank else 1) * self.weights < SMALL_WORK
            for axis, size in fixed:  # loops, not all(): a generator is a frame per call
                exact = exact and shape[axis] == size
            for a, b in same:
                exact = exact and shape[a] == shape[b]
            if exact:
                env = self._env.copy()
                env[slot] = x
                return self.forward_plan.run(env)[out]
        if len(self.graph.inputs) != 1:
            names = ", ".join(i.name for i in self.graph.inputs)
            raise ValueError(
                f"predict takes the single input of a one-input graph; this graph has "
                f"{len(self.graph.inputs)} ({names}): use model.run({{name: array, ...}})"
            )
        result = self.run({self.graph.inputs[0].name: x}, threads=threads)
        return next(iter(result.values())) if len(result) == 1 else result

    def evaluate(self, X: Any, y: Any = None, **options: Any) -> dict[str, float]:
        """The training loss and metrics on `X` and `y` (see `nnspec.interpreter.evaluate`)."""
        from nnspec.interpreter.evaluate import evaluate  # evaluate builds on this module

        return evaluate(self, X, y, **options)

    def summary(self, print_fn: Callable[[str], object] | None = print) -> str | None:
        """Print the table ``nnspec summary`` prints (layers, output types, param counts,
        weight memory), as Keras' ``model.summary()`` does; with ``print_fn=None``,
        return the text instead (ending with a newline)."""
        text = summary_text(self.graph)
        if print_fn is None:
            return text
        print_fn(text.rstrip("\n"))
        return None

    def gradients(
        self,
        inputs: Mapping[str, Any],
        wrt_inputs: bool = False,
        *,
        step: int = 0,
        seed: int | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """(loss, gradients) of the training loss for every trainable param (and float input).

        A param the loss does not depend on (or only through a step such as sign)
        gets a zero gradient. The loss is the training one: dropout uses the masks of
        training step `step` for `seed` (see `stream`).
        """
        plan = self.gradient_plan(wrt_inputs)
        env = self.environment(plan, inputs, stream=self.stream(step, seed))
        try:
            loss, grads, _ = self.loss_and_gradients(plan, env)
        finally:  # one call: its activations are not kept for a next (`Workspaces`)
            if plan.workspaces is not None:
                plan.workspaces.release()
        # The hot path's gradients may be buffers the next step reuses (`Penalty`, the
        # planned gradient buffers) or read-only broadcast views: hand out real arrays.
        return float(loss), {name: grad.copy() for name, grad in grads.items()}

    def loss_and_gradients(
        self, plan: RunPlan, env: list[Any]
    ) -> tuple[np.ndarray, dict[str, np.ndarray], list[Any]]:
        """Forward and backward on a filled environment; the hot path of training.

        The loss and gradients include the L1/L2 penalties (`self.penalty`). The
        gradients and the returned environment's values are buffers the next run of
        `plan` on this thread overwrites, and `TrainStep`'s update writes into the
        gradients that are buffers of their own (`own_gradients`) within the same
        step: copy what you keep.
        """
        loss_slot = plan.loss_slot
        if loss_slot is None:
            raise ValueError("loss_and_gradients needs a plan with a loss (see gradient_plan)")
        plan.run(env)
        loss = env[loss_slot]
        cotangents: list[Any] = [None] * len(env)
        cotangents[loss_slot] = np.ones_like(loss)
        plan.reverse(env, cotangents)
        grads = {}
        for name, slot in plan.wrt:
            grad = cotangents[slot]
            grads[name] = np.zeros_like(env[slot]) if grad is None else grad
        if self.penalty:
            loss = self.penalty.loss(loss, self.params)
            self.penalty.gradients(grads, self.params)
        return loss, grads, env

    def own_gradients(self, plan: RunPlan, grads: Mapping[str, np.ndarray]) -> set[str]:
        """The params whose gradient in `grads` (from `loss_and_gradients` of `plan`
        on this thread) is a buffer of their own, the plan's or their penalty's, which
        nothing reads once the step's update has: the update may write into those."""
        buffers, penalty = plan.param_buffers, self.penalty
        return {
            name
            for name, grad in grads.items()
            if (buffers is not None and buffers.holds(name, grad))
            or (penalty and penalty.holds(name, grad))
        }
