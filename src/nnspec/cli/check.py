"""``nnspec check DOC``: one document's agreement test, interpreter vs compiled vs calculus.

Compiles the document, runs the compiled module and the interpreter on random
inputs (outputs must be bitwise equal), and compares the interpreter's gradients
of the training loss with central finite differences. Gradients are checked on a
float64 twin of the graph (same graph and values, every float widened), where
finite differences are accurate enough for a tight bound; a float32 document's own
gradients are the same VJP code. Prints one row per output and gradient; exit 1
on any disagreement. The error column is the largest absolute difference for
outputs and the relative error for gradients, in one fixed width (``2.1e-10``).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import numpy as np

from nnspec.cli.command import CommandError, ExitCode, add_seed_option, integer, load_document
from nnspec.codegen import compile, load_source
from nnspec.interpreter import Model
from nnspec.ir import Graph
from nnspec.ops import LOSSES
from nnspec.sampling import draw, positive_values
from nnspec.spec.limits import SAMPLE_ELEMENTS, sample_elements
from nnspec.testing.gradcheck import param_differences, relative_error

HELP = "compare interpreter, compiled module and finite differences on random inputs"

# Finite-difference step and accepted relative error, in float64.
FD_STEP, FD_BOUND = 1e-6, 1e-5
FD_SAMPLES = 32
"""Elements per param that get finite differences (all of a smaller param): each
costs two forward passes, so checking every element would make `check` quadratic."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "document", metavar="DOC", help="the nnspec document (.json), or an ONNX model (.onnx)"
    )
    parser.add_argument(
        "--batch",
        type=integer(1, 1024),
        default=4,
        metavar="N",
        help="size of symbolic dims, 1 to 1024 (default 4)",
    )
    add_seed_option(parser, "the random inputs")


def random_inputs(graph: Graph, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Inputs and training targets; probabilities for BCE/CE targets, valid class labels,
    positive values where the graph needs them (`nnspec.sampling`)."""
    rng = np.random.default_rng(seed)
    positive = positive_values(graph)
    types = graph.types()
    targets = {n.inputs[1]: n for n in graph.nodes if n.op in LOSSES}
    feeds = [*graph.inputs, *(graph.training.targets if graph.training else ())]
    arrays = {}
    for feed in feeds:
        shape = tuple(d if isinstance(d, int) else batch for d in feed.type.shape)
        loss = targets.get(feed.name)
        if not feed.type.is_float:
            classes = types[loss.inputs[0]].shape[-1] if loss else 2
            classes = classes if isinstance(classes, int) else batch  # symbolic, as above
            arrays[feed.name] = rng.integers(0, classes, shape).astype(feed.type.dtype)
        elif loss is not None and loss.op != "mse":
            arrays[feed.name] = rng.uniform(0.1, 0.9, shape).astype(feed.type.dtype)
        else:
            arrays[feed.name] = draw(rng, shape, feed.type.dtype, feed.name in positive)
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


def gradient_rows(model: Model, inputs: Mapping[str, np.ndarray], seed: int = 0) -> list[tuple]:
    """Reverse-mode gradients vs central finite differences, one row per trainable param;
    a param with more than `FD_SAMPLES` elements is compared on that many, drawn with
    `seed` (the row says how many of how many)."""
    graph = model.graph
    if graph.training is None or graph.training.loss_node is None:
        return []
    _, grads = model.gradients(inputs)
    rng = np.random.default_rng(seed)
    rows = []
    for name, grad in grads.items():
        size = int(grad.size)
        picks = np.arange(size)
        if size > FD_SAMPLES:
            picks = np.sort(rng.choice(size, FD_SAMPLES, replace=False))
        numeric = param_differences(model, inputs, name, FD_STEP, picks=picks)
        exact = grad.astype(np.float64).reshape(-1)[picks]
        error = relative_error(exact, numeric, 1e-3)
        comparison = f"{graph.dtype} reverse mode vs finite diff."
        if size > FD_SAMPLES:
            comparison += f" ({FD_SAMPLES} of {size:,})"
        rows.append((f"gradient {name}", comparison, error, f"{FD_BOUND:g}", error <= FD_BOUND))
    return rows


def float64_model(graph: Graph, model: Model) -> Model:
    """`model` itself for float64 documents, else its float64 twin with the same values
    (the IR pass `Graph.with_dtype`)."""
    if graph.dtype == "float64":
        return model
    wide = graph.with_dtype("float64")
    return Model(wide, {k: v.astype(np.float64) for k, v in model.params.items()})


def run(args: argparse.Namespace) -> int:
    if str(args.document).lower().endswith(".onnx"):  # onnxruntime vs nnspec, docs/onnx.md
        from nnspec.cli.import_onnx import check as check_onnx

        return check_onnx(args)
    document = load_document(args.document)
    graph = document.graph
    model = Model(graph)
    feeds = [*graph.inputs, *(graph.training.targets if graph.training else ())]
    size = sample_elements((f.type.shape for f in feeds), args.batch)
    if size > SAMPLE_ELEMENTS:
        raise CommandError(
            f"random inputs with --batch {args.batch} would have {size} elements, more than "
            f"{SAMPLE_ELEMENTS}; use a smaller --batch (symbolic dims take its size)"
        )
    inputs = random_inputs(graph, args.batch, args.seed)
    rows = output_rows(graph, model, {i.name: inputs[i.name] for i in graph.inputs})
    wide = float64_model(graph, model)
    wide_inputs = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in inputs.items()}
    rows += gradient_rows(wide, wide_inputs, args.seed)
    header = ("value", "comparison", "error", "bound", "")
    table = [header] + [
        (v, c, f"{e:.1e}", b, "ok" if ok else "DISAGREES") for v, c, e, b, ok in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return ExitCode.OK if all(ok for *_, ok in rows) else ExitCode.FAILED
