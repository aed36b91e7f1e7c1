"""Measured floors: what no NumPy rendering of the benchmark MLP can beat.

Each floor is a contender, timed in the same rounds as nnspec and verified before
timing like every other contender (see `run.py`). Three kinds (and the training
step's products, `TrainProducts`):

- **products** (`Products`): only the network's matrix products, written into
  preallocated buffers (``np.matmul(out=)``), in one of several *layouts*: the
  weights as the document stores them (``[in, units]``), pre-transposed
  (``x @ Wt.T`` on a C-ordered ``[units, in]`` copy, the layout some BLAS kernels
  pack fastest) or the batch in row blocks that keep the hidden values in cache.
  Any rendering computes these products, so the fastest layout measured bounds
  every rendering that uses one of the measured layouts.
- **NumPy calls** (`FewestCalls`): the whole network (bias, ReLU, stable softmax)
  written by hand with the fewest NumPy calls a NumPy-only rendering needs, every
  buffer preallocated and reused, everything in place, the output included (a
  module must also hand the caller an array of its own: the floor skips even that).
  Same layouts as the products.
- **hand-tuned step** (`HandTunedStep`): one SGD training step written the same
  way: preallocated activation, gradient and mask buffers, ``np.matmul(out=)``,
  the learning rate folded into the output gradient so every update is one
  in-place subtraction. Without the folding (``fold=False``, the update the
  document defines: ``lr·g``, then the subtraction) it is the training step's
  **NumPy calls** floor.

Every buffer and weight copy a floor makes starts on a cache line
(`nnspec.aligned`), as the arrays nnspec keeps do. None of them needs to agree bit
for bit with nnspec: they round like NumPy does and
are checked against NumPy's results with the suite's tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnspec import aligned

Params = dict[str, np.ndarray]
LAYERS = ("h1", "h2", "out")
PRODUCTS = "floor: products"
CALLS = "floor: NumPy calls"
HAND_TUNED = "floor: hand-tuned NumPy step"
"""The contender names (products and calls are followed by ", <layout>")."""

ROW_BLOCKS = (256, 1024)
"""Row-block sizes measured for batches larger than the block."""


@dataclass(frozen=True)
class Layout:
    """How a floor stores its weights and walks the batch."""

    name: str
    transposed: bool = False
    block: int | None = None
    vector: bool = False
    """Batch 1 only: the one row as a 1-D vector (``x[0] @ W``, a matrix-vector product)."""


def layouts(batch: int) -> list[Layout]:
    """The layouts measured at `batch`: as stored, pre-transposed, at batch 1 the row
    as a vector, and row blocks of each `ROW_BLOCKS` size below the batch (weights as
    stored)."""
    found = [Layout("W as stored"), Layout("W pre-transposed", transposed=True)]
    if batch == 1:
        found.append(Layout("the row as a vector", vector=True))
    found += [Layout(f"row blocks of {r}", block=r) for r in ROW_BLOCKS if r < batch]
    return found


Block = tuple[slice | int, list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]
"""(which rows of x, hidden buffers, output rows, row-max and row-sum buffers)."""


class _Network:
    """The weights in a layout, and preallocated buffers for a batch of `batch` rows,
    cut once into the views each block of rows writes."""

    def __init__(self, params: Params, layout: Layout, batch: int) -> None:
        weights = [params[f"{n}.W"] for n in LAYERS]
        # x @ Wt.T multiplies by a transposed view of a C-ordered [units, in] copy
        self.weights = [aligned.copy(w.T).T if layout.transposed else w for w in weights]
        step = min(batch, layout.block or batch)
        dtype = weights[0].dtype
        # rank-matched biases at one row: a (1, N) bias on a (1, N) value is NumPy's
        # equal-shape loop (~0.6x the cost of broadcasting an (N,) one; at 64 rows a
        # (1, N) bias measured no clear win, so only one-row blocks use it)
        biases = [params[f"{n}.b"] for n in LAYERS]
        one_row = step == 1 and not layout.vector
        self.biases = [b.reshape(1, -1) for b in biases] if one_row else biases
        self.zero = np.zeros((), dtype)  # a typed operand: no scalar conversion per call
        hidden = [aligned.empty((step, w.shape[1]), dtype) for w in weights[:-1]]
        self.out = aligned.empty((batch, weights[-1].shape[1]), dtype)
        row_max, row_sum = aligned.empty((step, 1), dtype), aligned.empty((step, 1), dtype)
        self.blocks: list[Block] = []
        if layout.vector:
            self.blocks.append((0, [h[0] for h in hidden], self.out[0], row_max[0], row_sum[0]))
            return
        for start in range(0, batch, step):
            n = min(step, batch - start)
            rows = slice(start, start + n)
            views = [h[:n] for h in hidden]
            self.blocks.append((rows, views, self.out[rows], row_max[:n], row_sum[:n]))


class Products:
    """The three products of the predict network alone, in `layout` (hidden values
    not ReLU'd, which changes no product's cost)."""

    def __init__(self, params: Params, layout: Layout, batch: int) -> None:
        self.net = _Network(params, layout, batch)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        w1, w2, w3 = self.net.weights
        matmul = np.matmul
        for rows, (h1, h2), out, _, _ in self.net.blocks:
            matmul(x[rows], w1, out=h1)
            matmul(h1, w2, out=h2)
            matmul(h2, w3, out=out)
        return self.net.out


class FewestCalls:
    """The predict network (ReLU, ReLU, softmax) in 13 NumPy calls per block, each
    the cheapest form measured: biases rank-matched, ReLU against a typed zero, the
    softmax's reductions as ufunc reductions (no Python method wrapper). A one-row
    batch is one block whose softmax reduces to scalars (no keepdims row buffers),
    the form nnspec's compiled module uses at one row, with no loop over blocks."""

    def __init__(self, params: Params, layout: Layout, batch: int) -> None:
        self.net = _Network(params, layout, batch)
        self.one_row = batch == 1 and not layout.vector

    def __call__(self, x: np.ndarray) -> np.ndarray:
        add, maximum = np.add, np.maximum
        if self.one_row:
            _, (h1, h2), z, _, _ = self.net.blocks[0]
            self._logits(x, h1, h2, z)
            np.subtract(z, maximum.reduce(z, axis=None), out=z)
            np.exp(z, out=z)
            return np.divide(z, add.reduce(z, axis=None), out=z)
        for rows, (h1, h2), z, m, s in self.net.blocks:
            self._logits(x[rows], h1, h2, z)
            maximum.reduce(z, axis=-1, keepdims=True, out=m)
            np.subtract(z, m, out=z)
            np.exp(z, out=z)
            add.reduce(z, axis=-1, keepdims=True, out=s)
            np.divide(z, s, out=z)
        return self.net.out

    def _logits(self, x: np.ndarray, h1: np.ndarray, h2: np.ndarray, z: np.ndarray) -> None:
        """The first 8 calls of a block: three products, three bias adds, two ReLUs."""
        (w1, w2, w3), (b1, b2, b3) = self.net.weights, self.net.biases
        matmul, add, maximum, zero = np.matmul, np.add, np.maximum, self.net.zero
        matmul(x, w1, out=h1)
        add(h1, b1, out=h1)
        maximum(h1, zero, out=h1)
        matmul(h1, w2, out=h2)
        add(h2, b2, out=h2)
        maximum(h2, zero, out=h2)
        matmul(h2, w3, out=z)
        add(z, b3, out=z)


class TrainProducts:
    """The eight products of the training step alone (three forward, five backward,
    the first layer's ``x.T @ dy`` included), weights as stored, into preallocated
    buffers of the right shapes. `matmul` and `rows` (x as the library's array) are
    NumPy's; `others` runs the same products in PyTorch by replacing them."""

    def __init__(self, params: Params, batch: int) -> None:
        self.matmul: Any = np.matmul
        self.rows: Any = np.asarray
        self.weights: list[Any] = [params[f"{n}.W"] for n in LAYERS]
        dtype = self.weights[0].dtype
        self.values = [aligned.empty((batch, w.shape[1]), dtype) for w in self.weights]
        self.grads_in = [aligned.empty((batch, w.shape[0]), dtype) for w in self.weights[1:]]
        self.grads = [aligned.empty_like(w) for w in self.weights]

    def gradients(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One call's three weight-gradient products, flattened into one array: what
        `run.py` checks another rendering of the same products against."""
        self(x, labels)
        return np.concatenate([np.asarray(g).ravel() for g in self.grads])

    def __call__(self, x: np.ndarray, labels: np.ndarray) -> None:
        matmul, rows = self.matmul, self.rows(x)
        (w1, w2, w3), (h1, h2, z) = self.weights, self.values
        (d1, d2), (g1, g2, g3) = self.grads_in, self.grads
        matmul(rows, w1, out=h1)
        matmul(h1, w2, out=h2)
        matmul(h2, w3, out=z)
        matmul(h2.T, z, out=g3)
        matmul(z, w3.T, out=d2)
        matmul(h1.T, d2, out=g2)
        matmul(d2, w2.T, out=d1)
        matmul(rows.T, d1, out=g1)


class HandTunedStep:
    """One SGD step of the training network (ReLU, ReLU, logits, softmax
    cross-entropy with integer labels), tuned by hand: buffers made once per batch
    size, products into them, masks into boolean buffers, and (`fold`) the learning
    rate folded into the output gradient (``lr / n · (softmax - onehot)``) so that
    each param's update is a single ``W -= g``. Without `fold` the update is the
    document's ``w - lr·g``, two passes per param (``g *= lr``, ``w -= g``), as the
    op definitions have it: the NumPy calls floor of a training step. Call with (x,
    labels); returns the loss."""

    def __init__(self, params: Params, lr: float, *, fold: bool = True) -> None:
        self.params = {k: aligned.copy(v) for k, v in params.items()}
        self.lr = lr
        self.fold = fold
        self._buffers: dict[int, dict[str, np.ndarray]] = {}

    def weights(self) -> Params:
        return self.params

    def _for(self, n: int) -> dict[str, np.ndarray]:
        if n not in self._buffers:
            p = self.params
            dtype = p["h1.W"].dtype
            units = [p[f"{name}.W"].shape[1] for name in LAYERS]
            b: dict[str, np.ndarray] = {
                "rows": np.arange(n),
                "row_max": aligned.empty((n, 1), dtype),
                "row_sum": aligned.empty((n, 1), dtype),
                "log_sum": aligned.empty((n, 1), dtype),
            }
            for name, width in zip(LAYERS, units, strict=True):
                b[f"{name}.a"] = aligned.empty((n, width), dtype)
                if name != LAYERS[-1]:  # the gradient at a hidden layer and its ReLU mask
                    b[f"{name}.d"] = aligned.empty((n, width), dtype)
                    b[f"{name}.mask"] = aligned.empty((n, width), bool)
                b[f"{name}.gW"] = aligned.empty_like(p[f"{name}.W"])
                b[f"{name}.gb"] = aligned.empty_like(p[f"{name}.b"])
            self._buffers[n] = b
        return self._buffers[n]

    def __call__(self, x: np.ndarray, labels: np.ndarray) -> float:
        p, n = self.params, x.shape[0]
        b = self._for(n)
        w1, w2, w3 = p["h1.W"], p["h2.W"], p["out.W"]
        h1, h2, z = b["h1.a"], b["h2.a"], b["out.a"]
        np.matmul(x, w1, out=h1)
        np.add(h1, p["h1.b"], out=h1)
        np.maximum(h1, 0, out=h1)
        np.matmul(h1, w2, out=h2)
        np.add(h2, p["h2.b"], out=h2)
        np.maximum(h2, 0, out=h2)
        np.matmul(h2, w3, out=z)
        np.add(z, p["out.b"], out=z)
        m, s, log_s, rows = b["row_max"], b["row_sum"], b["log_sum"], b["rows"]
        z.max(axis=1, keepdims=True, out=m)
        np.subtract(z, m, out=z)  # z is the shifted logits now
        picked = z[rows, labels]
        np.exp(z, out=z)
        z.sum(axis=1, keepdims=True, out=s)
        np.log(s, out=log_s)
        loss = (float(log_s.sum()) - float(picked.sum())) / n
        scale = self.lr / n if self.fold else 1 / n
        np.multiply(s, 1 / scale, out=s)
        np.divide(z, s, out=z)  # (lr) / n · softmax
        z[rows, labels] -= scale  # the output gradient (learning rate included: fold)
        self._layer(b, "out", h2, z, b["h2.d"], w3)
        np.greater(h2, 0, out=b["h2.mask"])
        np.multiply(b["h2.d"], b["h2.mask"], out=b["h2.d"])
        self._layer(b, "h2", h1, b["h2.d"], b["h1.d"], w2)
        np.greater(h1, 0, out=b["h1.mask"])
        np.multiply(b["h1.d"], b["h1.mask"], out=b["h1.d"])
        self._layer(b, "h1", x, b["h1.d"], None, w1)
        return loss

    def _layer(
        self,
        b: dict[str, np.ndarray],
        name: str,
        inputs: np.ndarray,
        grad: np.ndarray,
        grad_in: np.ndarray | None,
        w: np.ndarray,
    ) -> None:
        """Gradients of layer `name` (lr-scaled with `fold`), the input's gradient into
        `grad_in` (before W changes), then the in-place update."""
        np.matmul(inputs.T, grad, out=b[f"{name}.gW"])
        grad.sum(axis=0, out=b[f"{name}.gb"])
        if grad_in is not None:
            np.matmul(grad, w.T, out=grad_in)
        for param, g in ((w, b[f"{name}.gW"]), (self.params[f"{name}.b"], b[f"{name}.gb"])):
            if not self.fold:
                np.multiply(self.lr, g, out=g)
            np.subtract(param, g, out=param)
