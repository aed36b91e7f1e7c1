"""The usual alternatives, when installed (``pip install nnspec[bench]``): PyTorch eager,
onnxruntime (from an ONNX model built with the same weights) and ``jax.jit``.

Each builder returns None when its library is missing, so the suite runs anywhere.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import floors
import numpy as np

Params = dict[str, np.ndarray]
LAYERS = ("h1", "h2", "out")


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def torch_predict(params: Params) -> Callable[[np.ndarray], np.ndarray] | None:
    if not available("torch"):
        return None
    import torch

    torch.set_grad_enabled(False)
    weights = [
        (torch.from_numpy(params[f"{n}.W"]), torch.from_numpy(params[f"{n}.b"])) for n in LAYERS
    ]

    def predict(x: np.ndarray) -> np.ndarray:
        h = torch.from_numpy(x)
        for i, (w, b) in enumerate(weights):
            h = torch.addmm(b, h, w)
            if i < len(weights) - 1:
                h = torch.relu_(h)
        return torch.softmax(h, dim=1).numpy()

    return predict


def torch_train_step(params: Params, lr: float) -> Callable[[np.ndarray, np.ndarray], float] | None:
    if not available("torch"):
        return None
    import torch

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    optimizer = torch.optim.SGD(list(tensors.values()), lr=lr)

    def step(x: np.ndarray, labels: np.ndarray) -> float:
        with torch.enable_grad():
            h = torch.from_numpy(x)
            for i, name in enumerate(LAYERS):
                h = torch.addmm(tensors[f"{name}.b"], h, tensors[f"{name}.W"])
                if i < len(LAYERS) - 1:
                    h = torch.relu(h)
            loss = torch.nn.functional.cross_entropy(h, torch.from_numpy(labels))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return float(loss)

    step.weights = lambda: {k: v.detach().numpy().copy() for k, v in tensors.items()}  # type: ignore[attr-defined]
    return step


TORCH_PRODUCTS = "pytorch eager: its products alone"
"""The training rows' contender that times PyTorch's eight products without the rest."""


class _TorchProducts(floors.TrainProducts):
    """The training step's eight products (`floors.TrainProducts`) in PyTorch, into
    tensors made once: what its BLAS (MKL in the PyPI wheels) takes for the products
    that NumPy's BLAS takes in the products floor, the rest of the step left out."""

    def __init__(self, params: Params, batch: int) -> None:
        import torch

        super().__init__(params, batch)
        self.matmul, self.rows = torch.matmul, torch.from_numpy
        self.weights = [torch.from_numpy(w) for w in self.weights]
        self.values = [torch.from_numpy(v) for v in self.values]
        self.grads_in = [torch.from_numpy(d) for d in self.grads_in]
        self.grads = [torch.from_numpy(g) for g in self.grads]


def torch_train_products(params: Params, batch: int) -> _TorchProducts | None:
    """PyTorch's products of the training step alone (`_TorchProducts`), or None."""
    return _TorchProducts(params, batch) if available("torch") else None


def onnxruntime_predict(params: Params) -> Callable[[np.ndarray], np.ndarray] | None:
    if not (available("onnx") and available("onnxruntime")):
        return None
    import onnxruntime

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    current = "x"
    for i, name in enumerate(LAYERS):
        w, b = f"{name}_W", f"{name}_b"
        inits += [
            numpy_helper.from_array(params[f"{name}.W"], w),
            numpy_helper.from_array(params[f"{name}.b"], b),
        ]
        out = f"{name}_z"
        nodes.append(helper.make_node("Gemm", [current, w, b], [out]))
        if i < len(LAYERS) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"{name}_h"]))
            out = f"{name}_h"
        current = out
    nodes.append(helper.make_node("Softmax", [current], ["y"], axis=1))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )

    def predict(x: np.ndarray) -> np.ndarray:
        return session.run(["y"], {"x": x})[0]

    return predict


def jax_predict(params: Params) -> Callable[[np.ndarray], np.ndarray] | None:
    if not available("jax"):
        return None
    import jax
    import jax.numpy as jnp

    weights = [(jnp.asarray(params[f"{n}.W"]), jnp.asarray(params[f"{n}.b"])) for n in LAYERS]

    @jax.jit
    def forward(x):
        h = x
        for i, (w, b) in enumerate(weights):
            h = h @ w + b
            if i < len(weights) - 1:
                h = jnp.maximum(h, 0)
        return jax.nn.softmax(h, axis=1)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(forward(x).block_until_ready())

    return predict


def jax_train_step(params: Params, lr: float) -> Callable[[np.ndarray, np.ndarray], float] | None:
    if not available("jax"):
        return None
    import jax
    import jax.numpy as jnp

    state = {k: jnp.asarray(v) for k, v in params.items()}

    def loss_fn(p, x, labels):
        h = x
        for i, name in enumerate(LAYERS):
            h = h @ p[f"{name}.W"] + p[f"{name}.b"]
            if i < len(LAYERS) - 1:
                h = jnp.maximum(h, 0)
        log_p = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))

    @jax.jit
    def update(p, x, labels):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, labels)
        return loss, {k: p[k] - lr * grads[k] for k in p}

    def step(x: np.ndarray, labels: np.ndarray) -> float:
        nonlocal state
        loss, state = update(state, x, labels)
        return float(loss.block_until_ready())

    step.weights = lambda: {k: np.asarray(v) for k, v in state.items()}  # type: ignore[attr-defined]
    return step
