"""The benchmark network: a 784-256-128-10 ReLU MLP in float32, as nnspec documents.

Every contender gets the same weights: nnspec's seeded initial values. They and the
inputs start on a cache line (`nnspec.aligned`), as the arrays nnspec keeps do, so
where NumPy happened to place them does not move the ratios between runs (what each
call allocates is still placed by NumPy; PyTorch, onnxruntime and JAX place their
own copies of the weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import nnspec
from nnspec import aligned
from nnspec.interpreter.init import initial_values
from nnspec.ir import Graph

SIZES = (784, 256, 128, 10)


def document(*, train: bool, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Inference ends in softmax; the training document ends in logits + cross-entropy."""
    layers = [
        {
            "id": "h1",
            "op": "dense",
            "units": sizes[1],
            "activation": "relu",
            "kernel_init": "he_uniform",
        },
        {
            "id": "h2",
            "op": "dense",
            "units": sizes[2],
            "activation": "relu",
            "kernel_init": "he_uniform",
        },
        {"id": "out", "op": "dense", "units": sizes[3], "activation": None if train else "softmax"},
    ]
    doc: dict[str, Any] = {
        "nnspec": "1",
        "name": "mlp-train" if train else "mlp",
        "inputs": {"x": {"shape": ["batch", sizes[0]]}},
        "nodes": layers,
    }
    if train:
        doc["training"] = {
            "target": {"name": "label", "shape": ["batch"], "dtype": "int64"},
            "loss": {"op": "cross_entropy", "from_logits": True},
            "optimizer": {"name": "sgd", "learning_rate": 0.01},
        }
    return doc


def graph_and_params(
    *, train: bool, sizes: tuple[int, ...] = SIZES
) -> tuple[Graph, dict[str, np.ndarray]]:
    graph = nnspec.load(document(train=train, sizes=sizes))
    return graph, initial_values(graph)  # aligned, as nnspec makes them


def data(
    batch: int, sizes: tuple[int, ...] = SIZES, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = aligned.copy(rng.standard_normal((batch, sizes[0])), np.float32)
    labels = aligned.copy(rng.integers(0, sizes[-1], batch))
    return x, labels
