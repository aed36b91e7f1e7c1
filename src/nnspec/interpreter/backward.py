"""The reverse loop: apply VJPs from the loss back to params (and inputs).

Sits after `forward`, on the environment it filled. Op VJPs return cotangents in
the broadcast shape of their output; this module alone sums fan-out and undoes
broadcasting (`unbroadcast`), so no op repeats either. A param's gradient lands in
its planned buffer (`nnspec.buffers.gradient_buffers`, held by `ParamBuffers`)
when the plan says so: written by the VJP's product or by the un-broadcast sum.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

import numpy as np

from nnspec import aligned
from nnspec.interpreter.forward import located

if TYPE_CHECKING:  # plan binds this module's helpers into its steps
    from nnspec.interpreter.plan import RunBackStep


def unbroadcast(
    grad: np.ndarray, shape: tuple[int, ...], out: np.ndarray | None = None
) -> np.ndarray:
    """Sum `grad` down to `shape`: over leading axes NumPy added, and over axes that were 1.

    This is how a bias of shape [units] receives the sum of its gradient over the batch.
    `out` (the same reduction, another destination) takes the sum over the leading
    axes; `nnspec.buffers.gradient_buffers` plans one only where that sum is all.
    """
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)), out=out)
    stretched = tuple(a for a, n in enumerate(shape) if n == 1 and grad.shape[a] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


MAX_THREADS = 64
"""Threads whose gradient buffers one `ParamBuffers` keeps before starting afresh."""


class ParamBuffers:
    """The params' planned gradient buffers, per thread: made on a first step, then
    reused by every later one (so a warm training step allocates no gradient arrays)."""

    def __init__(self) -> None:
        self._held: dict[tuple[int, str], np.ndarray] = {}

    def provider(self, name: str, shape: tuple[int, ...]) -> Callable[[Any], np.ndarray]:
        """``buffer(dtype)``: this thread's gradient buffer of param `name`."""
        held, get_ident = self._held, threading.get_ident

        def buffer(dtype: Any) -> np.ndarray:
            key = (get_ident(), name)
            found = held.get(key)
            if found is None or found.dtype != dtype:
                if len(held) >= MAX_THREADS * 16:  # many threads came and went
                    held.clear()
                found = held[key] = aligned.empty(shape, dtype)
            return found

        return buffer

    def holds(self, name: str, array: Any) -> bool:
        """Whether `array` is this thread's gradient buffer of param `name`: an array
        that holds no other value than that param's gradient (and, once the update
        has read it, what the update computes into it) until this thread's next step."""
        return self._held.get((threading.get_ident(), name)) is array


def buffered_vjp(
    halves: tuple[Callable[..., Any], ...],
    buffered: tuple[Callable[..., Any], ...],
    wants: tuple[bool, ...],
    into: dict[int, Callable[[Any], np.ndarray]],
) -> Callable[..., tuple]:
    """A VJP computing each wanted input's gradient by itself: input k with a buffer in
    `into` by ``buffered[k]`` (`OpDef.vjp_buffered`), the others by ``halves[k]``
    (`OpDef.vjp_halves`); the very calls the whole VJP makes, so the same bits."""
    parts = [
        (k, buffered[k], into[k]) if k in into else (k, halves[k], None)
        for k, want in enumerate(wants)
        if want
    ]
    count = len(wants)

    def vjp(dy: Any, *xs: Any, out: Any) -> tuple:
        grads: list[Any] = [None] * count
        for k, rule, buffer in parts:
            if buffer is None:
                grads[k] = rule(dy, *xs, out=out)[k]
            else:
                grads[k] = rule(dy, *xs, out=out, buffer=buffer)
        return tuple(grads)

    return vjp


def propagate(
    steps: tuple[RunBackStep, ...],
    env: list[Any],
    cotangents: list[Any],
    returned: Container[int] = (),
) -> list[Any]:
    """Walk `steps` (already in reverse order), accumulating cotangents per slot.

    `cotangents` starts with the seed (1 at the loss slot) and None elsewhere; a
    slot written twice (fan-out) gets the sum. A node's cotangent is dropped once its
    VJP has run (every contribution to it came before, from later nodes), so the pass
    holds only the cotangents still to be read, unless its slot is in `returned` (a
    node a caller asked the gradient of); what is left at the end are those of the
    values no step produces, and of `returned`: the gradients the caller gets.
    """
    for vjp, ins, out, wants, node, sums in steps:
        dy = cotangents[out]
        if dy is None:
            continue
        if out not in returned:
            cotangents[out] = None
        try:
            grads = vjp(dy, *[env[i] for i in ins], out=env[out])
        except Exception as exc:
            raise located(exc, node, "gradient") from exc
        for slot, grad, want, into in zip(ins, grads, wants, sums, strict=True):
            if not want or grad is None:
                continue
            shape = env[slot].shape
            if grad.shape != shape:
                grad = unbroadcast(grad, shape, None if into is None else into(grad.dtype))
            previous = cotangents[slot]
            cotangents[slot] = grad if previous is None else previous + grad
    return cotangents
