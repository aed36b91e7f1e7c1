"""``nnspec run DOC --input FILE -o FILE``: run a document's graph on data files.

Also holds the two steps `nnspec train` shares: loading a document (located
problems and exit 1 when it is invalid, exit 2 when it cannot be read) and
reporting a data-file problem (exit 2). Commands never print a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nnspec.datasets import EXTENSIONS, DataError, load_arrays, save_arrays
from nnspec.errors import SpecError
from nnspec.ir import Graph
from nnspec.spec.parse import read_document

HELP = "run a document's graph on .npy/.npz/.csv inputs and write its outputs"

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A problem already explained to the user; `code` is the exit code."""

    def __init__(self, message: str, code: int, *, located: bool = False):
        super().__init__(message)
        self.code = code
        self.located = located  # lines of located problems, printed as they are


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
    from nnspec.cli import run_dask  # the --dask options; imports no Dask

    run_dask.add_arguments(parser)


def load_document(path: str) -> tuple[dict[str, Any], Graph]:
    """The parsed document and its graph; CommandError with exit 2 (unreadable) or 1 (invalid)."""
    from nnspec.spec.load import load

    try:
        parsed = read_document(path)
        graph = load(Path(path))
    except SpecError as exc:
        lines = [p.format() for p in exc.problems if p.is_error]
        raise CommandError("\n".join(lines), EXIT_FAILED, located=True) from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    return parsed.data, graph


def check_output_path(path: str, document: str, in_place: bool = False) -> None:
    """Refuse to overwrite the input document unless told (exit 2)."""
    target, source = Path(path).resolve(), Path(document).resolve()
    if target == source and not in_place:
        raise CommandError(
            f"{path} is the input document; refusing to overwrite it (pass --in-place to allow)",
            EXIT_USAGE,
        )
    if not target.parent.is_dir():
        raise CommandError(f"{path}: folder {target.parent} does not exist", EXIT_USAGE)


def run(args: argparse.Namespace) -> int:
    return guarded("run", _run, args)


def guarded(command: str, body: Any, args: argparse.Namespace) -> int:
    """Run `body`, turning known failures into a message and an exit code."""
    try:
        return body(args)
    except CommandError as exc:
        print(exc if exc.located else f"nnspec {command}: {exc}", file=sys.stderr)
        return exc.code
    except DataError as exc:
        print(f"nnspec {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    _, graph = load_document(args.document)
    if args.dask or args.scheduler is not None or args.workers is not None:
        if not args.dask:
            raise CommandError("--scheduler and --workers go with --dask", EXIT_USAGE)
        from nnspec.cli import run_dask

        return run_dask.run(args, graph)
    check_output_path(args.output, args.document)
    if Path(args.output).suffix.lower() not in EXTENSIONS:
        raise CommandError(f"{args.output}: use a .npz, .npy or .csv output file", EXIT_USAGE)
    from nnspec.interpreter import Model

    model = Model(graph)
    arrays = load_arrays(args.input, inputs=[i.name for i in graph.inputs])
    try:
        outputs = model.run(arrays)
    except ValueError as exc:
        raise CommandError(f"{args.input}: {exc}", EXIT_USAGE) from None
    save_arrays(args.output, outputs)
    return EXIT_OK
