"""``nnspec plot history|boundary``: PNG plots of training (extra ``nnspec[plot]``).

Thin wrapper over `nnspec.tools.plots`; without matplotlib both commands exit 2
saying which extra to install.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from nnspec.datasets import DataError, load_arrays
from nnspec.ir import Graph
from nnspec.tools.plots import (
    PlotUnavailable,
    boundary_input,
    document_class_names,
    plot_boundary,
    plot_history,
)

HELP = "plot a training history or a 2-input model's decision boundary to PNG (nnspec[plot])"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_subparsers(dest="what", metavar="KIND", required=True)
    history = which.add_parser(
        "history", help="loss and metric curves from the history JSON written by nnspec train"
    )
    history.add_argument("history", metavar="HISTORY.json", help="history written by nnspec train")
    history.add_argument("-o", "--output", required=True, metavar="FILE.png", help="image to write")
    boundary = which.add_parser(
        "boundary", help="decision regions (or regression surface) of a model with 2 inputs"
    )
    boundary.add_argument("document", metavar="DOC", help="the (trained) nnspec document")
    boundary.add_argument(
        "--data", required=True, metavar="FILE", help="points to draw (.npz/.npy/.csv)"
    )
    boundary.add_argument(
        "-o", "--output", required=True, metavar="FILE.png", help="image to write"
    )
    boundary.add_argument(
        "--classes",
        nargs="+",
        metavar="NAME",
        help="class names in label order (default: the document's x-class-names)",
    )


def run(args: argparse.Namespace) -> int:
    if not args.output.lower().endswith(".png"):
        print(f"nnspec plot: -o must be a .png file, got {args.output!r}", file=sys.stderr)
        return 2
    try:
        code = _history(args) if args.what == "history" else _boundary(args)
    except PlotUnavailable as exc:
        print(f"nnspec plot: {exc}", file=sys.stderr)
        return 2
    if code == 0:
        print(f"wrote {args.output}", file=sys.stderr)
    return code


def _history(args: argparse.Namespace) -> int:
    try:
        history = json.loads(Path(args.history).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"nnspec plot: cannot read {args.history}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(history, dict):
        print(f"nnspec plot: {args.history} is not a history object", file=sys.stderr)
        return 2
    try:
        plot_history(history, args.output)
    except ValueError as exc:
        print(f"nnspec plot: {args.history}: {exc}", file=sys.stderr)
        return 2
    return 0


def _boundary(args: argparse.Namespace) -> int:
    from nnspec.interpreter import Model
    from nnspec.tools.document import load_document

    loaded = load_document(args.document)
    if isinstance(loaded, int):
        return loaded
    graph, document = loaded
    classes = args.classes or document_class_names(document)
    try:
        name = boundary_input(graph)
        x = load_arrays(args.data, inputs=[name])[name]
        plot_boundary(Model(graph), x, _targets(args.data, graph), args.output, classes)
    except (ValueError, DataError) as exc:
        print(f"nnspec plot: {exc}", file=sys.stderr)
        return 2
    return 0


def _targets(path: str, graph: Graph) -> np.ndarray | None:
    """The points' targets, if the file has them: the document's target name, else ``y``."""
    training = graph.training
    names = [t.name for t in training.targets] if training is not None else []
    for name in dict.fromkeys([*names, "y"]):
        try:
            return load_arrays(path, inputs=[], targets=[name])[name]
        except DataError:
            continue
    return None
