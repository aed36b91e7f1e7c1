"""``nnspec plot history|boundary``: PNG plots of training (extra ``nnspec[plot]``).

Thin wrapper over `nnspec.tools.plots`; without matplotlib both commands exit 2
saying which extra to install.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from nnspec.cli.command import CommandError, ExitCode, check_outputs, load_document
from nnspec.datasets import DataError, load_arrays
from nnspec.fileio import read_regular
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


MAX_HISTORY_BYTES = 64 * 1024 * 1024


def run(args: argparse.Namespace) -> int:
    if not args.output.lower().endswith(".png"):
        raise CommandError(f"-o must be a .png file, got {args.output!r}")
    try:
        _history(args) if args.what == "history" else _boundary(args)
    except PlotUnavailable as exc:
        raise CommandError(str(exc)) from None
    print(f"wrote {args.output}", file=sys.stderr)
    return ExitCode.OK


def _history(args: argparse.Namespace) -> None:
    check_outputs([args.history], [args.output])
    try:
        history = json.loads(read_regular(args.history, MAX_HISTORY_BYTES).decode("utf-8"))
    except ValueError as exc:  # also UnicodeDecodeError
        raise CommandError(f"cannot read {args.history}: {exc}") from None
    if not isinstance(history, dict):
        raise CommandError(f"{args.history} is not a history object")
    try:
        plot_history(history, args.output)
    except ValueError as exc:
        raise CommandError(f"{args.history}: {exc}") from None


def _boundary(args: argparse.Namespace) -> None:
    from nnspec.interpreter import Model

    document = load_document(args.document)
    check_outputs([*document.files, args.data], [args.output])
    graph = document.graph
    classes = args.classes or document_class_names(document.data)
    try:
        name = boundary_input(graph)
        x = load_arrays(args.data, inputs=[name])[name]
        plot_boundary(Model(graph), x, _targets(args.data, graph), args.output, classes)
    except (ValueError, DataError) as exc:
        raise CommandError(str(exc)) from None


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
