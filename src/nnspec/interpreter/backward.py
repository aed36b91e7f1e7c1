"""The reverse pass: apply VJPs from the loss back to params (and inputs).

Sits after `forward`, on the environment it filled. Op VJPs return cotangents in
the broadcast shape of their output; this module alone sums fan-out and undoes
broadcasting (`unbroadcast`), so no op repeats either. A param's gradient lands in
its planned buffer (`nnspec.buffers.gradient_buffers`, held by `ParamBuffers`)
when the plan says so: written by the VJP's product or by the un-broadcast sum; a
value's cotangent lands in a step buffer of the workspace, or over the VJP's own dead
cotangent, where `nnspec.buffers.cotangent_buffers` says. The pass runs as generated
straight-line code (`straight_reverse`), as the forward pass does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

import numpy as np

from nnspec import aligned
from nnspec.interpreter.forward import MAX_INLINE_ARGS, in_parts, located_function, part_source

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


REVERSE_SOURCE = "<nnspec reverse plan>"


def straight_reverse(
    steps: tuple[RunBackStep, ...],
    returned: Container[int] = (),
    key: tuple[tuple[int, int], ...] = (),
    workspaces: Callable[[tuple[int, ...]], list[Any]] | None = None,
) -> Callable[[list[Any], list[Any]], list[Any]]:
    """A function ``run(env, cotangents) -> cotangents`` walking `steps` (already in
    reverse order) as straight-line code, two lines per step, as `forward.straight_line`
    runs the forward steps (in parts, `forward.in_parts`), accumulating cotangents per
    slot. It first fetches the workspace by the sizes in `env` (``workspaces(key)``),
    where the step buffers its VJPs write cotangents into are (`kernels.Workspaces.
    provider`), as the forward pass fetches its own.

    `cotangents` starts with the seed (1 at the loss slot) and None elsewhere; a
    slot written twice (fan-out) gets the sum (`accumulate`). A node's cotangent is
    dropped once its VJP has run (every contribution to it came before, from later
    nodes), so the pass holds only the cotangents still to be read, unless its slot
    is in `returned` (a node a caller asked the gradient of); what is left at the end
    are those of the values no step produces, and of `returned`: the gradients the
    caller gets. A failure in a step (its VJP or its sums) names the step's node.
    """
    nodes = [step[4] for step in steps]

    def part(start: int, stop: int) -> Callable[..., Any]:
        namespace: dict[str, Any] = {"add": accumulate, "ws": workspaces}
        lines: list[str] = []
        if workspaces is not None and start == 0:
            sizes = "".join(f"e[{int(slot)}].shape[{int(axis)}], " for slot, axis in key)
            lines.append(f"ws(({sizes}))")
        owner = [-1] * len(lines)  # body line -> index of the step it belongs to
        for k in range(start, stop):
            vjp, ins, out, wants, _, sums = steps[k]
            namespace[f"v{k}"] = vjp
            clear = "" if out in returned else f"c[{int(out)}] = None; "
            wanted = [j for j, want in enumerate(wants) if want]
            call = f"{clear}g = v{k}(d, {{}}, out=e[{int(out)}])"
            lines.append(f"d = c[{int(out)}]")
            if len(ins) <= MAX_INLINE_ARGS:
                args = ", ".join(f"e[{int(i)}]" for i in ins)
                adds = "".join(f"; add(e, c, {int(ins[j])}, g[{j}], s{k}_{j})" for j in wanted)
                namespace.update((f"s{k}_{j}", sums[j]) for j in wanted)
                lines.append(f"if d is not None: {call.format(args)}{adds}")
            else:  # read and sum through tuples, as the forward pass does (`MAX_INLINE_ARGS`)
                namespace[f"a{k}"] = tuple(int(i) for i in ins)
                namespace[f"w{k}"] = tuple((int(ins[j]), j, sums[j]) for j in wanted)
                lines.append("if d is not None:")
                lines.append(f"    {call.format(f'*map(e.__getitem__, a{k})')}")
                lines.append(f"    for slot, j, into in w{k}: add(e, c, slot, g[j], into)")
            owner += [k] * (len(lines) - len(owner))
        lines.append("return c")
        owner.append(-1)
        named = part_source(start, REVERSE_SOURCE)
        return located_function("e, c", lines, owner, namespace, (nodes, "gradient"), named)

    return in_parts(len(steps), part)


def accumulate(
    env: list[Any],
    cotangents: list[Any],
    slot: int,
    grad: Any,
    into: Callable[[Any], np.ndarray] | None,
) -> None:
    """Add one VJP's `grad` for the value in `slot` to its cotangent (None: no
    gradient), summed down to the value's shape first (`unbroadcast`, into the buffer
    ``into(dtype)`` when the plan gives one)."""
    if grad is None:
        return
    shape = env[slot].shape
    if grad.shape != shape:
        grad = unbroadcast(grad, shape, None if into is None else into(grad.dtype))
    previous = cotangents[slot]
    cotangents[slot] = grad if previous is None else previous + grad
