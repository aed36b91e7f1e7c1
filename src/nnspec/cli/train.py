"""``nnspec train DOC --data FILE --out OUT.json``: train a document, write the result.

Exit codes: 0 trained; 1 invalid document or training failed (non-finite loss);
2 usage error or unreadable/unfitting data; 130 interrupted (the outputs are
still written, holding the last completed epoch). Outputs are written
atomically, and the input document is never overwritten without ``--in-place``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from nnspec.cli.files import write_text_atomic
from nnspec.cli.run import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    check_output_path,
    guarded,
    load_document,
)
from nnspec.datasets import load_arrays, save_arrays

HELP = "train a document on .npz/.npy/.csv data and write the trained document"
CSV_OPTIONS = {"target_columns": "--target", "input_columns": "--input-columns"}
"""How this command spells `load_arrays`'s column options, for its hints."""
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "--data",
        "-d",
        required=True,
        metavar="FILE",
        help=".npz (arrays named after the inputs and target), .npy or .csv",
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="OUT.json",
        help="where to write the trained document (required unless --in-place)",
    )
    parser.add_argument("--in-place", action="store_true", help="overwrite DOC with the result")
    parser.add_argument(
        "--target",
        nargs="+",
        metavar="COLUMN",
        help="CSV columns holding the target (the rest are the input); one column for "
        "[batch] class labels",
    )
    parser.add_argument(
        "--input-columns",
        nargs="+",
        metavar="COLUMN",
        help="CSV columns holding the input (default: the columns named after it, or the "
        "ones --target leaves)",
    )
    parser.add_argument("--epochs", type=_positive_int, help="override training.epochs")
    parser.add_argument("--lr", type=_positive_float, help="override the learning rate")
    parser.add_argument("--batch-size", type=_positive_int, help="override training.batch_size")
    parser.add_argument("--seed", type=int, help="seed of initialisation and shuffling")
    parser.add_argument(
        "--history", metavar="FILE", help="write per-epoch loss and metrics (.json or .csv)"
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (the result line stays)"
    )
    parser.add_argument(
        "--silent", action="store_true", help="no progress bar and no result line; errors only"
    )
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="also write history.png (and boundary.png for 2-input models) into DIR "
        "(needs the extra nnspec[plot])",
    )


def run(args: argparse.Namespace) -> int:
    return guarded("train", _train, args)


def _train(args: argparse.Namespace) -> int:
    from nnspec.interpreter import Model
    from nnspec.interpreter.train import TrainingError, feed_names, train

    out = args.out or (args.document if args.in_place else None)
    if out is None:
        raise CommandError("give --out OUT.json (or --in-place to overwrite DOC)", EXIT_USAGE)
    if args.history and Path(args.history).suffix.lower() not in (".json", ".csv"):
        raise CommandError(f"{args.history}: history files are .json or .csv", EXIT_USAGE)
    check_output_path(out, args.document, args.in_place)
    if args.history:
        check_output_path(args.history, args.document)
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise CommandError(
            "--plot needs matplotlib: install the extra with pip install 'nnspec[plot]'",
            EXIT_USAGE,
        )
    document, graph = load_document(args.document)
    if graph.training is None:
        raise CommandError(
            f"{args.document} has no 'training' section; add one with a loss", EXIT_USAGE
        )
    model = Model(graph, seed=args.seed)
    features, target = feed_names(model)
    data = load_arrays(
        args.data,
        inputs=features,
        targets=[target] if target else [],
        target_columns=args.target,
        input_columns=args.input_columns,
        ranks={name: t.rank for name, t in graph.types().items() if name in (*features, target)},
        spelling=CSV_OPTIONS,
    )
    try:
        # Overflow shows up as a non-finite loss, reported below with advice;
        # NumPy's own RuntimeWarnings would only be noise before that message.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = train(
                model,
                data,
                epochs=args.epochs,
                learning_rate=args.lr,
                batch_size=args.batch_size,
                seed=args.seed,
                quiet=args.quiet or args.silent or None,
            )
    except TrainingError as exc:
        _write_history(args.history, exc.history)
        raise CommandError(str(exc), EXIT_FAILED) from None
    except ValueError as exc:
        raise CommandError(f"{args.data}: {exc}", EXIT_USAGE) from None
    _write_history(args.history, history)
    _write_document(Path(out), document, model)
    if args.plot:
        from nnspec.tools.plots import document_class_names, write_training_plots

        written = write_training_plots(
            json.loads(history.to_json()), model, data, args.plot, document_class_names(document)
        )
        if not args.silent:
            print(f"nnspec train: wrote {', '.join(map(str, written))}", file=sys.stderr)
    summary = ", ".join(f"{m} {v[-1]:.4g}" for m, v in history.metrics.items())
    last = (
        f"loss {history.loss[-1]:.4g}" + (f", {summary}" if summary else "")
        if history.loss
        else "no epoch completed"
    )
    if history.stopped == "interrupted":
        print(
            f"nnspec train: interrupted after {history.epochs} epoch(s) ({last}); wrote {out}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if not args.silent:
        print(f"nnspec train: {history.epochs} epoch(s), {last}; wrote {out}", file=sys.stderr)
    return EXIT_OK


def _write_history(path: str | None, history) -> None:
    if path:
        text = history.to_csv() if path.lower().endswith(".csv") else history.to_json()
        write_text_atomic(path, text)


def _write_document(out: Path, document: dict, model) -> None:
    """Write the trained document (and weights file), then prove it reloads to the same values."""
    from nnspec.interpreter.save import dumps, weights_path, with_params
    from nnspec.spec.load import load

    params = dict(model.params)
    weights = weights_path(out)
    result, arrays = with_params(document, params, weights.name)
    if arrays is not None:
        save_arrays(weights, arrays)  # atomic; not np.savez, so a param may be named "file"
    text = dumps(result)
    reloaded = load(text, base_dir=out.parent)
    for p in reloaded.params:
        if p.value is None or p.value.tobytes() != params[p.name].tobytes():
            raise CommandError(
                f"internal error: {p.name!r} does not round-trip (please report)", EXIT_FAILED
            )
    write_text_atomic(out, text)
