"""``nnspec check DOC``: one document's agreement test, interpreter vs compiled vs calculus.

Compiles the document, runs the compiled module and the interpreter on random
inputs (outputs must be bitwise equal), and compares the interpreter's gradients
of the training loss with central finite differences (relative error under a
tolerance set by the dtype). Prints one row per output and gradient; exit 1 on
any disagreement.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import numpy as np

from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.ir import Graph
from nnspec.ops import LOSSES
from nnspec.testing.gradcheck import finite_differences, relative_error
from nnspec.tools.document import load_document

HELP = "compare interpreter, compiled module and finite differences on random inputs"

# Finite-difference step and accepted relative error: float32 rounding (~1e-7) divided
# by the step dominates, so float32 needs a larger step and a looser bound.
FD = {"float32": (1e-3, 5e-2), "float64": (1e-6, 1e-5)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument("--batch", type=int, default=4, help="size of symbolic dims (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")


def random_inputs(graph: Graph, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Inputs and training targets; probabilities for BCE/CE targets, valid class labels."""
    rng = np.random.default_rng(seed)
    types = graph.types()
    targets = {n.inputs[1]: n for n in graph.nodes if n.op in LOSSES}
    feeds = [*graph.inputs, *(graph.training.targets if graph.training else ())]
    arrays = {}
    for feed in feeds:
        shape = tuple(d if isinstance(d, int) else batch for d in feed.type.shape)
        loss = targets.get(feed.name)
        if not feed.type.is_float:
            classes = types[loss.inputs[0]].shape[-1] if loss else 2
            arrays[feed.name] = rng.integers(0, classes, shape).astype(feed.type.dtype)
        elif loss is not None and loss.op != "mse":
            arrays[feed.name] = rng.uniform(0.1, 0.9, shape).astype(feed.type.dtype)
        else:
            arrays[feed.name] = rng.normal(0.0, 1.0, shape).astype(feed.type.dtype)
    return arrays


def output_rows(graph: Graph, model: Model, inputs: Mapping[str, np.ndarray]) -> list[tuple]:
    module = load_source(compile(graph, model.params, self_test=False))
    with np.errstate(all="ignore"):
        want = model.run(inputs)
        got = module.run(inputs)
    rows = []
    for name, value in want.items():
        a, b = np.asarray(got[name]), np.asarray(value)
        same = a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        error = float(np.max(np.abs(a - b), initial=0.0)) if a.shape == b.shape else np.inf
        rows.append((f"output {name}", "compiled vs interpreter", error, "bitwise", same))
    return rows


def gradient_rows(graph: Graph, model: Model, inputs: Mapping[str, np.ndarray]) -> list[tuple]:
    if graph.training is None or graph.training.loss_node is None:
        return []
    eps, tolerance = FD[graph.dtype]
    loss_node = graph.training.loss_node
    _, grads = model.gradients(inputs)
    rows = []
    for name, grad in grads.items():
        original = model.params[name].copy()

        def loss(value: np.ndarray, name: str = name) -> float:
            model.params[name] = value
            return float(model.run(inputs, outputs=(loss_node,))[loss_node])

        numeric = finite_differences(loss, original.astype(np.float64), eps)
        model.params[name] = original
        error = relative_error(grad.astype(np.float64), numeric, 1e-3)
        rows.append(
            (
                f"gradient {name}",
                "interpreter vs finite diff.",
                error,
                f"{tolerance:g}",
                error <= tolerance,
            )
        )
    return rows


def run(args: argparse.Namespace) -> int:
    loaded = load_document(args.document)
    if isinstance(loaded, int):
        return loaded
    graph, _ = loaded
    model = Model(graph)
    inputs = random_inputs(graph, args.batch, args.seed)
    rows = output_rows(graph, model, {i.name: inputs[i.name] for i in graph.inputs})
    rows += gradient_rows(graph, model, inputs)
    header = ("value", "comparison", "max error", "bound", "")
    table = [header] + [
        (v, c, f"{e:.3g}", b, "ok" if ok else "DISAGREES") for v, c, e, b, ok in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0 if all(ok for *_, ok in rows) else 1
