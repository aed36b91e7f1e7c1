"""``nnspec run DOC --input FILE -o FILE``: run a document's graph on data files.

``-o -`` writes the outputs to standard output: CSV unless ``--output-format``
says otherwise, so several outputs form one table whose columns carry the output
names, as a compiled module prints them. Binary formats are refused on a terminal
and on a text-only ``sys.stdout`` (a notebook's, a ``StringIO``: no ``.buffer``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnspec.cli.command import (
    CommandError,
    ExitCode,
    add_threads_option,
    check_outputs,
    load_document,
)
from nnspec.datasets import EXTENSIONS, encode_arrays, load_arrays, save_arrays

HELP = "run a document's graph on .npy/.npz/.csv inputs and write its outputs"
STDOUT = "-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "--input",
        "-i",
        required=True,
        metavar="FILE",
        help="inputs: .npz with one array per input name, .npy or .csv (header optional "
        "for one input)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="outputs: .npz (one array per output), .npy (one output) or .csv; "
        "- for standard output",
    )
    parser.add_argument(
        "--output-format",
        choices=["csv", "npy", "npz"],
        metavar="FORMAT",
        help="with -o -: csv (the default; several outputs side by side in one table), "
        "npy (one output) or npz",
    )
    add_threads_option(parser)
    from nnspec.cli import scale  # the --dask options; imports no Dask

    scale.add_run_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.dask or args.scheduler is not None or args.workers is not None:
        if not args.dask:
            raise CommandError("--scheduler and --workers go with --dask")
        if args.threads is not None:
            raise CommandError("--threads is for the local run; Dask workers use one BLAS thread")
        if args.output == STDOUT or args.output_format is not None:
            raise CommandError("--dask writes one file per input into a folder; give -o FOLDER")
        from nnspec.cli import scale

        return scale.run(args, load_document(args.document))
    ext = _output_format(args)
    document = load_document(args.document)
    to_stdout = args.output == STDOUT
    check_outputs([*document.files, args.input], [] if to_stdout else [args.output])
    outputs = document.graph.outputs
    if to_stdout and ext == ".npy" and len(outputs) != 1:
        raise CommandError(
            f"--output-format npy writes one array, but the document has {len(outputs)} "
            f"outputs ({', '.join(outputs)}); use csv (one table) or npz"
        )
    from nnspec.interpreter import Model

    model = Model(document.graph, threads=args.threads)
    arrays = load_arrays(
        args.input,
        inputs=[i.name for i in document.graph.inputs],
        ranks={i.name: i.type.rank for i in document.graph.inputs},
    )
    try:
        results = model.run(arrays)
    except ValueError as exc:
        raise CommandError(f"{args.input}: {exc}") from None
    if to_stdout:
        data = encode_arrays(ext, results, where="standard output")
        if ext == ".csv":  # as text, so a replaced sys.stdout (a notebook's) shows it
            sys.stdout.write(data.decode("utf-8"))
        else:  # _output_format made sure there is a binary layer
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        save_arrays(args.output, results)
    return ExitCode.OK


def _output_format(args: argparse.Namespace) -> str:
    """The output's extension: the file's own, or --output-format's for ``-o -``
    (refused on a terminal when it is binary)."""
    if args.output != STDOUT:
        if args.output_format is not None:
            raise CommandError(
                "--output-format goes with -o - (standard output); a file's extension "
                "picks its format"
            )
        ext = Path(args.output).suffix.lower()
        if ext not in EXTENSIONS:
            raise CommandError(f"{args.output}: use a .npz, .npy or .csv output file, or -")
        return ext
    ext = f".{args.output_format or 'csv'}"
    if ext != ".csv" and getattr(sys.stdout, "buffer", None) is None:
        raise CommandError(
            f"standard output takes only text here (it has no binary layer), and {ext} is "
            f"binary; write a file (-o out{ext}) or use --output-format csv"
        )
    if ext != ".csv" and sys.stdout.isatty():
        raise CommandError(
            f"standard output is a terminal, and {ext} is binary; redirect it "
            f"(> out{ext}) or pipe it, or use --output-format csv"
        )
    return ext
