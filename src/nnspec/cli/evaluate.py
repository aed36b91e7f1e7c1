"""``nnspec evaluate DOC --data FILE``: a (trained) document's loss and metrics on data.

Keras's ``model.evaluate`` on the command line: the data is read as ``nnspec train``
reads it (same names, same CSV options), nothing is written. Exit codes: 0 evaluated;
1 invalid document; 2 usage error, a document without ``training``, or data that is
missing, unreadable or does not fit.
"""

from __future__ import annotations

import argparse
import json
import sys

from nnspec.cli.command import CommandError, ExitCode, integer, load_document
from nnspec.cli.train import CSV_OPTIONS, add_column_options
from nnspec.datasets import load_arrays

HELP = "report a document's training loss and metrics on a data file (nothing is written)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the (trained) nnspec document")
    parser.add_argument(
        "--data", "-d", required=True, metavar="FILE", help=".npz, .npy or .csv, as for train"
    )
    add_column_options(parser)
    parser.add_argument(
        "--batch-size", type=integer(1), metavar="N", help="evaluate N rows at a time"
    )
    parser.add_argument(
        "-f", "--format", choices=("text", "json"), default="text", help="output format"
    )


def run(args: argparse.Namespace) -> int:
    from nnspec.interpreter import Model
    from nnspec.interpreter.evaluate import evaluate
    from nnspec.interpreter.train import feed_names

    document = load_document(args.document)
    graph = document.graph
    if graph.training is None:
        raise CommandError(f"{args.document} has no 'training' section, so no loss to evaluate")
    model = Model(graph)
    features, target = feed_names(model)
    data = load_arrays(
        args.data,
        inputs=features,
        targets=[target] if target else [],
        target_columns=args.target,
        input_columns=args.input_columns,
        ranks={n: t.rank for n, t in graph.types().items() if n in (*features, target)},
        spelling=CSV_OPTIONS,
    )
    rows = len(next(iter(data.values())))
    try:
        scores = evaluate(model, data, batch_size=args.batch_size)
    except ValueError as exc:
        raise CommandError(f"{args.data}: {exc}") from None
    if args.format == "json":
        payload = {"document": args.document, "data": args.data, "rows": rows, **scores}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        shown = ", ".join(f"{k} {v:.6g}" for k, v in scores.items())
        sys.stdout.write(f"{args.data}: {rows} rows, {shown}\n")
    return ExitCode.OK
