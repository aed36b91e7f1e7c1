"""The reverse loop: apply VJPs from the loss back to params (and inputs).

Sits after `forward`, on the environment it filled. Op VJPs return cotangents in
the broadcast shape of their output; this module alone sums fan-out and undoes
broadcasting (`unbroadcast`), so no op repeats either.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnspec.interpreter.forward import located
from nnspec.interpreter.plan import RunBackStep


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` down to `shape`: over leading axes NumPy added, and over axes that were 1.

    This is how a bias of shape [units] receives the sum of its gradient over the batch.
    """
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(a for a, n in enumerate(shape) if n == 1 and grad.shape[a] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def propagate(steps: tuple[RunBackStep, ...], env: list[Any], cotangents: list[Any]) -> list[Any]:
    """Walk `steps` (already in reverse order), accumulating cotangents per slot.

    `cotangents` starts with the seed (1 at the loss slot) and None elsewhere; a
    slot written twice (fan-out) gets the sum.
    """
    for vjp, ins, out, wants, node in steps:
        dy = cotangents[out]
        if dy is None:
            continue
        try:
            grads = vjp(dy, *[env[i] for i in ins], out=env[out])
        except Exception as exc:
            raise located(exc, node, "gradient") from exc
        for slot, grad, want in zip(ins, grads, wants, strict=True):
            if not want or grad is None:
                continue
            shape = env[slot].shape
            if grad.shape != shape:
                grad = unbroadcast(grad, shape)
            previous = cotangents[slot]
            cotangents[slot] = grad if previous is None else previous + grad
    return cotangents
