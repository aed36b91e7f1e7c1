"""Hand-written NumPy, written plainly as a user would: the 1.00x of every table."""

from __future__ import annotations

import numpy as np


def mlp_predict(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """784-256-128-10 ReLU MLP with a softmax output."""
    h1 = np.maximum(x @ p["h1.W"] + p["h1.b"], 0)
    h2 = np.maximum(h1 @ p["h2.W"] + p["h2.b"], 0)
    z = h2 @ p["out.W"] + p["out.b"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mlp_train_step(x: np.ndarray, labels: np.ndarray, p: dict[str, np.ndarray], lr: float) -> float:
    """Forward, softmax cross-entropy from logits, backward, SGD update in place."""
    n = x.shape[0]
    a1 = x @ p["h1.W"] + p["h1.b"]
    h1 = np.maximum(a1, 0)
    a2 = h1 @ p["h2.W"] + p["h2.b"]
    h2 = np.maximum(a2, 0)
    z = h2 @ p["out.W"] + p["out.b"]
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), labels].mean()
    dz = np.exp(log_p)
    dz[np.arange(n), labels] -= 1
    dz /= n
    grads = {"out.W": h2.T @ dz, "out.b": dz.sum(axis=0)}
    dh2 = (dz @ p["out.W"].T) * (a2 > 0)
    grads["h2.W"] = h1.T @ dh2
    grads["h2.b"] = dh2.sum(axis=0)
    dh1 = (dh2 @ p["h2.W"].T) * (a1 > 0)
    grads["h1.W"] = x.T @ dh1
    grads["h1.b"] = dh1.sum(axis=0)
    for name, grad in grads.items():
        p[name] -= lr * grad
    return float(loss)


def mlp_predict_products(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """Only the three matrix products of `mlp_predict`, back to back (the hidden
    values not ReLU'd): what the products floors (`floors.Products`) are checked
    against."""
    return ((x @ p["h1.W"]) @ p["h2.W"]) @ p["out.W"]
