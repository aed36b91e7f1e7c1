"""Buffer-aware twins of a few op rules, chosen by `plan`; bitwise equal to the originals.

The ops in `nnspec.ops` allocate a fresh array for every result, which is what a
reader expects. The buffer plan (`nnspec.buffers`, shared with the code generator)
knows more: which intermediate values die at a step and which never escape to the
caller or the backward pass; the autodiff plan knows which inputs want no gradient.
With that `plan` gives a step one of these twins, each chosen by a
fact on the op's `OpDef` (the tables below are derived from the registry):

- `INPLACE` (`OpDef.inplace`): the same ufunc call with ``out=`` set to a dead
  input's own memory (``np.add(a, b, out=a)`` computes exactly ``np.add(a, b)``;
  only the destination differs, so no rounding changes);
- `Workspaces` (`OpDef.reuse_buffer`): ``forward(a, b, out=buf)`` into a buffer
  reused across calls (per thread and input sizes, fetched once per call, as a
  compiled module's ``_workspace``) — the same BLAS call, minus the allocation;
- `OpDef.vjp_halves`: one half of a VJP, when the other input wants no gradient
  (the data input of a first layer);
- where `nnspec.buffers.cotangent_buffers` says, `OpDef.vjp_into` (defined with the
  op, in `nnspec.ops`): a VJP written over its own dead cotangent (ReLU's
  ``np.multiply(dy, y > 0, out=dy)``), and `OpDef.vjp_buffered`: a matmul VJP's
  product into a step buffer of the workspace (`Workspaces.provider`).

`tests/interpreter/test_kernels.py` proves each twin bitwise equal to the registry
rule it copies, so changing an op definition without its twin fails the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from nnspec import aligned
from nnspec.buffers import Workspace
from nnspec.ops import REGISTRY

INPLACE: dict[str, Callable[..., Any]] = {
    name: op.inplace for name, op in REGISTRY.items() if op.inplace is not None
}
"""op name -> ``fn(*xs, out=...)`` computing the op's forward into ``out``
(tests/interpreter/test_kernels.py proves each equals the registry's forward)."""


MAX_WORKSPACES = 8
"""Workspaces one plan keeps per thread (one per key of input sizes) before starting
afresh, as a compiled module's ``_MAX_WORKSPACES``."""


class Workspaces:
    """The buffers of one plan's `nnspec.buffers.Workspace`, per thread and sizes.

    ``workspaces(key)`` -> the list of buffers for inputs whose symbolic sizes are
    `key` (in `Workspace.symbols` order): made on first use, reused by every later
    call of this thread with the same sizes (no allocation, memory kept warm). Only
    values that never leave the plan live here, so a buffer is free again by the time
    its step runs next.
    """

    def __init__(self, plan: Workspace):
        self._local = threading.local()
        self._fetched = threading.local()  # this thread's buffers its last call returned
        self._shapes = [
            tuple(d if isinstance(d, int) else -1 - plan.symbols.index(str(d)) for d in shape)
            for shape in plan.shapes
        ]  # a symbol's dim as -1 - its position in the key
        self._dtypes = [np.dtype(d) for d in plan.dtypes]

    def __call__(self, key: tuple[int, ...]) -> list[np.ndarray]:
        held: dict[Any, list[np.ndarray]] = self._local.__dict__  # this thread's, by key
        buffers = held.get(key)
        if buffers is None:
            if len(held) >= MAX_WORKSPACES:  # many sizes: do not hoard memory
                held.clear()
            buffers = held[key] = [
                aligned.empty(tuple(d if d >= 0 else key[-1 - d] for d in shape), dtype)
                for shape, dtype in zip(self._shapes, self._dtypes, strict=True)
            ]
        self._fetched.buffers = buffers
        return buffers

    def provider(self, index: int) -> Callable[[Any], np.ndarray]:
        """``buffer(dtype)``: buffer `index` of the buffers this thread's last call
        returned; a reverse pass fetches them by its environment's sizes first
        (`backward.straight_reverse`), then writes cotangents there
        (`nnspec.buffers.cotangent_buffers`). A fresh array for another dtype than the
        planned one."""
        fetched = self._fetched

        def buffer(dtype: Any) -> np.ndarray:
            found: np.ndarray = fetched.buffers[index]
            return found if found.dtype == dtype else aligned.empty(found.shape, dtype)

        return buffer

    def release(self) -> None:
        """Let go of this thread's buffers (the next call makes them again): a training
        step's hold every activation, which a finished `train` need not keep alive."""
        self._local.__dict__.clear()
        self._fetched.__dict__.clear()
