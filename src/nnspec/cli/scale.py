"""The scale-out options of `nnspec run` and `nnspec train` (docs/scale.md).

``nnspec run DOC --input 'data/*.parquet' -o scores/ --dask`` is the command-line
face of `nnspec.dask.files`: it expands the inputs, connects to a cluster
(``--scheduler ADDRESS``) or starts a local one of ``--workers N`` processes for the
run, and maps failures to exit codes (2 for unreadable or unfitting data, an
unreachable scheduler or a missing extra). ``nnspec train DOC --data 'big/*.parquet'``
streams the files as partitions (`nnspec.dask.stream.file_partitions`) through the
trainer's shuffle buffer. Dask is imported only when a cluster is used.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from nnspec.cli.command import CommandError, Document, ExitCode, integer
from nnspec.dask.files import FORMATS, PartitionError, plan_outputs, score_files
from nnspec.dask.scorer import Scorer
from nnspec.fileio import expand_glob


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "scale-out (needs the extra nnspec[dask])",
        "with --dask, --input is a file, a folder or a quoted glob of .parquet/.csv/.npy/.npz "
        "files and -o a folder: one output file per input file, same name and format",
    )
    group.add_argument(
        "--dask", action="store_true", help="score the files on a Dask cluster (docs/scale.md)"
    )
    group.add_argument(
        "--scheduler", metavar="ADDRESS", help="connect to this Dask scheduler (tcp://host:port)"
    )
    group.add_argument(
        "--workers",
        type=integer(1, 10_000),
        metavar="N",
        help="worker processes of the local cluster started without --scheduler "
        "(default: the number of CPUs)",
    )


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shuffle-buffer",
        type=integer(1),
        metavar="ROWS",
        help="rows mixed at a time when --data is a folder, a glob or .parquet file(s), "
        "which are streamed a file at a time (default: 65536)",
    )


def streamed_files(args: argparse.Namespace) -> list[str] | None:
    """The files `nnspec train` streams, or None when --data is one in-memory file."""
    data = args.data
    if not (os.path.isdir(data) or glob.has_magic(data) or data.lower().endswith(".parquet")):
        if args.shuffle_buffer is not None:
            raise CommandError(
                "--shuffle-buffer applies to streamed data (a folder, a glob or .parquet files)"
            )
        return None
    if args.plot:
        raise CommandError("--plot needs the data in memory; leave it out when streaming files")
    paths = expand(data)
    if any(p.lower().endswith(".parquet") for p in paths):
        _need("pyarrow")
    return paths


def train_partitions(args: argparse.Namespace, model: Any, paths: list[str]) -> dict[str, Any]:
    """The keyword arguments that make `train` stream `paths`."""
    from nnspec.dask.stream import file_partitions

    try:
        loaders = file_partitions(
            model, paths, target_columns=args.target, input_columns=args.input_columns
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    extra = {} if args.shuffle_buffer is None else {"shuffle_buffer": args.shuffle_buffer}
    return {"data": loaders, **extra}


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise CommandError(
            f"this needs {module}: install the extra with pip install 'nnspec[dask]'"
        )


def run(args: argparse.Namespace, document: Document) -> int:
    """Score `args.input`'s files into the folder `args.output` on a Dask cluster."""
    if args.scheduler is not None and args.workers is not None:
        raise CommandError("give --scheduler or --workers, not both")
    inputs = expand(args.input)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{args.output}: with --dask, -o names a folder")
    for module in ("distributed", "pyarrow"):
        _need(module)
    try:
        plan_outputs(inputs, out)
        scorer = Scorer(document.graph)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    with _client(args.scheduler, args.workers) as client, _progress(sys.stderr) as show:
        try:
            score_files(scorer, inputs, out, client, show)
        except PartitionError as exc:
            raise CommandError(f"{exc}; nothing was written to {out}") from None
    return ExitCode.OK


def expand(pattern: str) -> list[str]:
    """The input files: one file, a folder's data files, or a glob's matches (sorted)."""
    if os.path.isdir(pattern):
        found = sorted(str(p) for p in Path(pattern).iterdir() if p.suffix.lower() in FORMATS)
    elif glob.has_magic(pattern):
        found = expand_glob(pattern)  # sorted, each file once, folders left out
    else:
        found = [pattern]
    if not found:
        raise CommandError(f"{pattern}: no data file matches")
    for path in found:
        if not os.path.exists(path):
            raise CommandError(f"{path}: file not found")
        if not os.path.isfile(path):  # folders, FIFOs, devices: nothing a worker should open
            raise CommandError(f"{path}: not a regular file")
    return found


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client: connected to `scheduler`, or to a local cluster closed afterwards.

    Never the process's default client: a failed connection would otherwise leave Dask's
    global `scheduler` setting pointing at a client that does not exist, for every later
    computation of a program that called `main()`. The jobs name this client explicitly.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:
            raise CommandError(
                f"cannot connect to the Dask scheduler at {scheduler} ({exc})"
            ) from None
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    with cluster, Client(cluster, set_as_default=False) as client:
        yield client


@contextlib.contextmanager
def _progress(stream: TextIO) -> Iterator[Callable[[int, int], None] | None]:
    """``partitions 3/10 |###   | [00:01<00:02]`` on `stream` as partitions finish:
    the trainer's tqdm bar (`nnspec.interpreter.progress`), with its throttled redraws,
    drawn only on a terminal (None elsewhere) and ended with its line when done."""
    if not stream.isatty():
        yield None
        return
    from nnspec.interpreter.progress import Progress

    bar: Progress | None = None

    def show(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:  # the total is known once the partitions are
            bar = Progress(total, stream, what="partitions")
        bar.update(done)

    try:
        yield show
    finally:
        if bar is not None:
            bar.close()
