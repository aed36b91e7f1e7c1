"""scikit-learn MLP → nnspec document: `from_sklearn`, read from the fitted estimator.

Reads only the estimator's public fitted attributes (``coefs_``, ``intercepts_``,
``activation``, ``out_activation_``); no pickle file is ever read. Each layer
becomes a ``dense`` node; weights keep their dtype and bits. The output is what
``predict_proba`` (classifiers) or ``predict`` (regressors) returns, always 2-D:
a binary classifier's one logistic unit p becomes the two columns [1 − p, p].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnspec.interpreter.save import with_params
from nnspec.onnx.importer import Imported

_ACTIVATIONS = {
    "identity": None,
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "softmax": "softmax",
}


def from_sklearn(estimator: Any, *, name: str | None = None) -> Imported:
    """A document computing a fitted `MLPClassifier` / `MLPRegressor`'s output."""
    kind = type(estimator).__name__
    if kind not in ("MLPClassifier", "MLPRegressor"):
        raise TypeError(f"from_sklearn reads MLPClassifier and MLPRegressor, got {kind}")
    if not hasattr(estimator, "coefs_"):
        raise ValueError(f"the {kind} is not fitted; call fit first")
    coefs = [np.asarray(c) for c in estimator.coefs_]
    biases = [np.asarray(b) for b in estimator.intercepts_]
    dtype = coefs[0].dtype.name
    if dtype not in ("float32", "float64"):
        raise ValueError(f"the {kind}'s weights are {dtype}; nnspec reads float32 and float64")
    nodes: list[dict[str, Any]] = []
    weights: dict[str, np.ndarray] = {}
    hidden = _ACTIVATIONS[estimator.activation]
    for k, (w, b) in enumerate(zip(coefs, biases, strict=True)):
        last = k == len(coefs) - 1
        layer = "logits" if last else f"hidden{k + 1}"
        activation = _ACTIVATIONS[estimator.out_activation_] if last else hidden
        node: dict[str, Any] = {"id": layer, "op": "dense", "units": int(w.shape[1])}
        if activation:
            node["activation"] = activation
        nodes.append(node)
        weights[f"{layer}.W"] = w
        weights[f"{layer}.b"] = b
    meta: dict[str, Any] = {
        "estimator": kind,
        "activation": estimator.activation,
        "out_activation": estimator.out_activation_,
    }
    output = "prediction"
    if kind == "MLPClassifier":
        output = "probabilities"
        meta["classes"] = [c.item() if isinstance(c, np.generic) else c for c in estimator.classes_]
        if estimator.out_activation_ == "logistic" and len(estimator.classes_) == 2:
            weights["one"] = np.ones((), dtype=dtype)
            nodes.append({"id": "negative", "op": "sub", "inputs": ["one", "logits"]})
            nodes.append(
                {"id": output, "op": "concat", "inputs": ["negative", "logits"], "axis": -1}
            )
    if nodes[-1]["id"] != output:
        nodes[-1]["id"] = output
        weights = {k.replace("logits.", f"{output}.", 1): v for k, v in weights.items()}
    document: dict[str, Any] = {
        "nnspec": "1",
        "name": name or kind,
        "dtype": dtype,
        "x-sklearn": meta,
        "inputs": {"x": {"shape": ["batch", int(coefs[0].shape[0])]}},
        "params": {
            k: {"shape": list(v.shape)} | ({"trainable": False} if k == "one" else {})
            for k, v in weights.items()
        },
        "nodes": nodes,
        "outputs": [output],
    }
    inline, _ = with_params(document, weights, "", inline_limit=np.iinfo(np.int64).max)
    return Imported(inline, weights)
