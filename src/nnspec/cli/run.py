"""``nnspec run DOC --input FILE -o FILE``: run a document's graph on data files."""

from __future__ import annotations

import argparse
from pathlib import Path

from nnspec.cli.command import (
    CommandError,
    ExitCode,
    add_threads_option,
    check_outputs,
    load_document,
)
from nnspec.datasets import EXTENSIONS, load_arrays, save_arrays

HELP = "run a document's graph on .npy/.npz/.csv inputs and write its outputs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "--input",
        "-i",
        required=True,
        metavar="FILE",
        help="inputs: .npz with one array per input name, .npy or .csv",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="outputs: .npz (one array per output), .npy (one output) or .csv",
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
        from nnspec.cli import scale

        return scale.run(args, load_document(args.document))
    if Path(args.output).suffix.lower() not in EXTENSIONS:
        raise CommandError(f"{args.output}: use a .npz, .npy or .csv output file")
    document = load_document(args.document)
    check_outputs([*document.files, args.input], [args.output])
    from nnspec.interpreter import Model

    model = Model(document.graph, threads=args.threads)
    arrays = load_arrays(
        args.input,
        inputs=[i.name for i in document.graph.inputs],
        ranks={i.name: i.type.rank for i in document.graph.inputs},
    )
    try:
        outputs = model.run(arrays)
    except ValueError as exc:
        raise CommandError(f"{args.input}: {exc}") from None
    save_arrays(args.output, outputs)
    return ExitCode.OK
