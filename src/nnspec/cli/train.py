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
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnspec.cli.command import (
    CommandError,
    Document,
    ExitCode,
    add_seed_option,
    add_threads_option,
    check_outputs,
    integer,
    load_document,
    number,
)
from nnspec.datasets import load_arrays
from nnspec.fileio import same_file, write_atomic
from nnspec.optimizers import SCHEDULES, SettingError, schedule_spec
from nnspec.spec.learnable import NothingToLearnWarning, learning_problems
from nnspec.spec.links import rebase_schema_link

HELP = "train a document on .npz/.npy/.csv data and write the trained document"
SETTING_OPTIONS = {
    "validation_split": "--validation-split",
    "early_stopping": "early stopping (--patience, --min-delta, --monitor)",
    "early_stopping.monitor": "--monitor",
    "schedule": "--schedule",
}
"""How this command spells the `train` settings its options set, for error messages."""
CSV_OPTIONS = {"target_columns": "--target", "input_columns": "--input-columns"}
"""How this command spells `load_arrays`'s column options, for its hints."""
PLOT_FILES = ("history.png", "boundary.png")


def add_column_options(parser: argparse.ArgumentParser) -> None:
    """``--target`` and ``--input-columns`` (`CSV_OPTIONS`), for every command that
    reads a document's data the way train does."""
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "--data",
        "-d",
        required=True,
        metavar="FILE",
        help=".npz (arrays named after the inputs and target), .npy or .csv; a folder, a "
        "quoted glob or .parquet files are streamed (docs/scale.md)",
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="OUT.json",
        help="where to write the trained document (required unless --in-place)",
    )
    parser.add_argument("--in-place", action="store_true", help="overwrite DOC with the result")
    add_column_options(parser)
    parser.add_argument(
        "--epochs", type=integer(1, 10**9), metavar="N", help="override training.epochs"
    )
    parser.add_argument(
        "--lr", type=number(0, open_below=True), metavar="RATE", help="override the learning rate"
    )
    parser.add_argument(
        "--batch-size", type=integer(1), metavar="N", help="override training.batch_size"
    )
    add_seed_option(parser, "initialisation and shuffling", default=None)
    parser.add_argument(
        "--history", metavar="FILE", help="write per-epoch loss and metrics (.json or .csv)"
    )
    held_out = parser.add_mutually_exclusive_group()
    held_out.add_argument(
        "--validation",
        metavar="FILE",
        help="held-out data (same layout as --data): val_loss and val_<metric> per epoch",
    )
    held_out.add_argument(
        "--validation-split",
        type=number(0, 1, open_below=True, open_above=True),
        metavar="SHARE",
        help="hold out this share of --data's rows (seeded) for validation instead "
        "(overrides training.validation_split)",
    )
    parser.add_argument(
        "--patience",
        type=integer(0),
        metavar="N",
        help="early stopping: stop after N epochs without improvement, keep the best epoch "
        "(over training.early_stopping)",
    )
    parser.add_argument(
        "--min-delta",
        type=number(0),
        metavar="D",
        help="early stopping: the least change that counts as improvement (default: 0)",
    )
    parser.add_argument(
        "--monitor",
        metavar="NAME",
        help="early stopping watches this value (default: val_loss with validation, else loss)",
    )
    parser.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="ignore the document's training.early_stopping",
    )
    parser.add_argument(
        "--schedule",
        type=schedule_option,
        metavar="KIND[:KEY=VALUE,...]",
        help="learning-rate schedule, e.g. cosine:warmup_epochs=5 or step:step_size=10,gamma=0.5 "
        f"({', '.join(SCHEDULES)}; overrides training.schedule)",
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
    add_threads_option(parser)
    from nnspec.cli import scale  # --shuffle-buffer; imports no Dask

    scale.add_train_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from nnspec.interpreter import Model
    from nnspec.interpreter.train import TrainingError, feed_names, train

    out = args.out or (args.document if args.in_place else None)
    if out is None:
        raise CommandError("give --out OUT.json (or --in-place to overwrite DOC)")
    if args.history and Path(args.history).suffix.lower() not in (".json", ".csv"):
        raise CommandError(f"{args.history}: history files are .json or .csv")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise CommandError(
            "--plot needs matplotlib: install the extra with pip install 'nnspec[plot]'"
        )
    document = load_document(args.document)
    if not args.in_place and same_file(out, document.path):
        raise CommandError(
            f"{out} is the input document; refusing to overwrite it (pass --in-place to allow)"
        )
    from nnspec.cli import scale

    streamed = scale.streamed_files(args)
    check_outputs([*_inputs(document, args, out), *(streamed or [])], _outputs(document, args, out))
    if document.graph.training is None:
        raise CommandError(f"{args.document} has no 'training' section; add one with a loss")
    for problem in learning_problems(document.graph):  # before any data is read
        if not args.silent:
            print(f"nnspec train: warning {problem.code} {problem.message}", file=sys.stderr)
    model = Model(document.graph, seed=args.seed, threads=args.threads)
    features, target = feed_names(model)
    columns = {
        "inputs": features,
        "targets": [target] if target else [],
        "target_columns": args.target,
        "input_columns": args.input_columns,
        "ranks": {n: t.rank for n, t in document.graph.types().items() if n in (*features, target)},
        "spelling": CSV_OPTIONS,
    }
    data = None if streamed is not None else load_arrays(args.data, **columns)
    held_out = load_arrays(args.validation, **columns) if args.validation else None
    stopping = _early_stopping(args, document.graph.training.early_stopping is not None)
    try:
        # Overflow shows up as a non-finite loss, reported below with advice;
        # NumPy's own RuntimeWarnings would only be noise before that message.
        with (
            np.errstate(over="ignore", invalid="ignore", divide="ignore"),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", NothingToLearnWarning)  # printed above
            history = train(
                model,
                **(
                    {"X": data}
                    if streamed is None
                    else scale.train_partitions(args, model, streamed)
                ),
                epochs=args.epochs,
                learning_rate=args.lr,
                batch_size=args.batch_size,
                seed=args.seed,
                quiet=args.quiet or args.silent or None,
                validation_data=held_out,
                validation_split=args.validation_split,
                early_stopping=stopping,
                schedule=args.schedule,
            )
    except TrainingError as exc:
        _write_history(args.history, exc.history)
        message = str(exc).rstrip(".")
        raise CommandError(f"{message}; {out} was not written", ExitCode.FAILED) from None
    except SettingError as exc:
        raise CommandError(exc.spelled(SETTING_OPTIONS)) from None
    except ValueError as exc:
        where = args.validation if str(exc).startswith("validation data") else args.data
        raise CommandError(f"{where}: {exc}") from None
    trained = rebase_schema_link(document.data, document.path.parent, Path(out).parent)
    _write_document(Path(out), trained, model)  # checks everything before writing
    _write_history(args.history, history)
    if args.plot:
        from nnspec.tools.plots import document_class_names, write_training_plots

        classes = document_class_names(document.data)
        history_columns = json.loads(history.to_json())
        assert data is not None  # streamed data refuses --plot (scale.streamed_files)
        written = write_training_plots(history_columns, model, data, args.plot, classes)
        if not args.silent:
            print(f"nnspec train: wrote {', '.join(map(str, written))}", file=sys.stderr)
    values = history.last()
    last = ", ".join(f"{k} {v:.4g}" for k, v in values.items()) or "no epoch completed"
    if history.stopped == "early stopping":
        last += f"; stopped early, kept epoch {history.best_epoch}"
    if history.stopped == "interrupted":
        print(
            f"nnspec train: interrupted after {history.epochs} epoch(s) ({last}); wrote {out}",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    if not args.silent:
        print(f"nnspec train: {history.epochs} epoch(s), {last}; wrote {out}", file=sys.stderr)
    return ExitCode.OK


def schedule_option(text: str) -> dict[str, Any]:
    """``--schedule KIND[:KEY=VALUE,...]`` as a schedule section, checked like one."""
    kind, _, rest = text.partition(":")
    spec: dict[str, Any] = {"name": kind}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        try:
            spec[key.strip()] = json.loads(value) if sep else None
        except ValueError:
            spec[key.strip()] = None
        if not isinstance(spec[key.strip()], int | float) or isinstance(spec[key.strip()], bool):
            raise argparse.ArgumentTypeError(f"expected KEY=NUMBER after {kind}:, got {item!r}")
    try:
        schedule_spec(spec, "--schedule")
    except SettingError as exc:
        raise argparse.ArgumentTypeError(exc.template.removeprefix("{setting}: ")) from None
    return spec


def _early_stopping(args: argparse.Namespace, in_document: bool) -> dict[str, Any] | bool | None:
    """The early-stopping options given, merged by `train` over the document's section."""
    if args.no_early_stopping:
        if any(v is not None for v in (args.patience, args.monitor, args.min_delta)):
            raise CommandError("--no-early-stopping switches early stopping off; drop the others")
        return False
    options = {
        "patience": args.patience,
        "min_delta": args.min_delta,
        "monitor": args.monitor,
    }
    given = {k: v for k, v in options.items() if v is not None}
    if given and args.patience is None and not in_document:
        flag = "--monitor" if args.monitor else "--min-delta"
        raise CommandError(f"{flag} belongs to early stopping; give --patience N too")
    return given or None


def _inputs(document: Document, args: argparse.Namespace, out: str) -> list[Any]:
    """What train reads; with --in-place the document (and its weights) may be replaced."""
    files = [] if args.in_place and same_file(out, document.path) else list(document.files)
    return [*files, args.data, *([args.validation] if args.validation else [])]


def _outputs(document: Document, args: argparse.Namespace, out: str) -> list[Any]:
    from nnspec.interpreter.save import INLINE_LIMIT, weights_path

    total = sum(p.type.size() or 0 for p in document.graph.params)
    weights = weights_path(Path(out)) if total > INLINE_LIMIT else None
    # The plot folder is created when missing; an existing one may hold clashing files.
    existing = args.plot and Path(args.plot).is_dir()
    plots = [Path(args.plot) / name for name in PLOT_FILES] if existing else []
    return [out, weights, args.history, *plots]


def _write_history(path: str | None, history: Any) -> None:
    if path:
        text = history.to_csv() if path.lower().endswith(".csv") else history.to_json()
        write_atomic(path, text)


def _write_document(out: Path, document: Mapping[str, Any], model: Any) -> None:
    """Write the trained document (and weights file) with `nnspec.save`, which proves
    that it reloads to exactly the trained values; a non-finite param writes nothing."""
    from nnspec.interpreter.save import save

    try:
        save(document, out, model.params)
    except ValueError as exc:
        message = f"training diverged: {exc} (lower the learning rate)"
        raise CommandError(message, ExitCode.FAILED) from None
