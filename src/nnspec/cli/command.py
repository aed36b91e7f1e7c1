"""The protocol every ``nnspec`` command follows.

A command module defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
It loads its document with `load_document`, refuses bad input by raising
`CommandError` (message + `ExitCode`), checks every path it will write against every
path it read with `refuse_clashes` before writing anything, and writes through
`nnspec.fileio.write_atomic`. `nnspec.cli.main.main` turns a `CommandError`, an
unreadable or unwritable file and Ctrl-C into a message and the exit code; no
command prints a traceback or picks exit codes of its own.

Numeric options use the argparse types below (`integer`, `number`), so a bad value
is a usage error (exit 2) before anything runs.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import math
import os
import re
import signal
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from nnspec.errors import Problem
from nnspec.fileio import check_path_text, clashes
from nnspec.ir import Graph
from nnspec.portable import Portable


class ExitCode(IntEnum):
    """The exit codes of every command (documented in docs/commands/README.md)."""

    OK = 0
    FAILED = 1  # the command's check failed: invalid document, disagreement, divergence
    USAGE = 2  # usage error; a file that cannot be read, written or would be overwritten
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class CommandError(Portable, Exception):
    """Why a command stops; `main` prints the message and exits with `code`.

    `located` messages are lines of located problems (``file:line:col: NN...``),
    printed as they are; others get the ``nnspec COMMAND:`` prefix.
    """

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE, *, located: bool = False):
        super().__init__(message)
        self.code = ExitCode(code)
        self.located = located


class Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a one-line hint, never a traceback, and
    refuses empty arguments (no file, name or number is spelled ``""``)."""

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        if "" in arg_strings and not isinstance(action, argparse._SubParsersAction):
            shown = "/".join(action.option_strings) or action.metavar or action.dest
            self.error(f"argument {shown}: an empty value; give a file, name or number")
        return super()._get_values(action, arg_strings)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends a command the way Ctrl-C does (e.g. train writes its last epoch),
    and an interrupt Python swallowed is delivered again.

    Python raises KeyboardInterrupt wherever the main thread happens to be when the
    signal arrives. Inside a destructor or a weakref callback (importlib's module-lock
    callback is one that runs during every import) the exception cannot propagate:
    Python prints "Exception ignored in ..." with a traceback and goes on, so the
    command would neither stop nor stay quiet. `_redeliver` catches exactly that case
    and marks the same signal as arrived again, which Python then handles at the next ordinary
    bytecode, outside the callback.
    """
    received = [signal.SIGINT]

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received[0] = signal.Signals(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    previous_hook = sys.unraisablehook

    def _redeliver(unraisable: Any) -> None:
        if issubclass(unraisable.exc_type, KeyboardInterrupt):
            # From another thread, so the handler runs once this hook has returned (a
            # signal raised here would be raised, and swallowed, inside the hook).
            _thread.start_new_thread(_thread.interrupt_main, (received[0],))
        else:
            previous_hook(unraisable)

    sys.unraisablehook = _redeliver
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class Document:
    """A checked document as a command sees it."""

    path: Path
    data: Mapping[str, Any]  # the parsed JSON, for writers that keep the user's document
    graph: Graph
    weights: Path | None  # the weights file it points to, if any

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file loading the document read: it, and its weights file."""
        return (self.path,) if self.weights is None else (self.path, self.weights)


def load_document(path: str | os.PathLike[str]) -> Document:
    """Read, parse and check the document at `path` (read once).

    Raises `CommandError`: exit 1 with the located problems when it is invalid,
    exit 2 when it cannot be read (missing, a folder, a FIFO, permissions).
    """
    from nnspec.spec.load import load_file
    from nnspec.spec.weights import resolve_inside

    source = Path(path)
    try:
        graph, problems, data = load_file(source)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    if graph is None:
        raise CommandError(_located(problems), ExitCode.FAILED, located=True)
    relative = data.get("weights")
    weights = None
    if isinstance(relative, str) and resolve_inside(relative, source.parent) is not None:
        weights = source.parent / relative  # as the user sees it
    return Document(source, data, graph, weights)


def _located(problems: Iterable[Problem]) -> str:
    return "\n".join(p.format() for p in problems if p.is_error)


def check_outputs(
    inputs: Iterable[str | os.PathLike[str]], outputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Exit 2 before anything is written when an output cannot be written or would
    destroy something: it is one of the inputs (symlinks and hard links resolved),
    two outputs are one file, its folder is missing or it is a folder. `None`
    outputs (options not given) are skipped."""
    wanted = [check_path_text(o) for o in outputs if o is not None]
    inputs = [check_path_text(i) for i in inputs]  # NUL, lone surrogates: exit 2, no crash
    found = clashes(inputs, wanted)
    if found:
        out, other, kind = found[0]
        what = "is the same file as the input" if kind == "input" else "is also given as output"
        raise CommandError(f"{out} {what} {other}; refusing to overwrite it (write another file)")
    for out in wanted:
        folder = Path(out).resolve().parent
        if os.path.isdir(out):
            raise CommandError(f"{out} is a folder; give the path of a file to write")
        if not folder.is_dir():
            raise CommandError(f"{out}: the folder {folder} does not exist; create it first")


# ------------------------------------------------------------------------ option types


# Option values are plain numbers in the digits 0-9, like CSV cells and JSON: int() and
# float() would also take other scripts' digits ("٣", "１"), "1_000" and "infinity".
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)",
    re.IGNORECASE | re.ASCII,
)


def integer(minimum: int, maximum: int | None = None) -> Any:
    """An argparse type: a whole number in [minimum, maximum], else a usage error."""

    def parse(text: str) -> int:
        if not _WHOLE.fullmatch(text.strip(" \t")):
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        value = int(text, 10)
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum:,}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"must be at least {minimum}{upper}, got {text}")
        return value

    parse.__name__ = "integer"
    return parse


def number(
    minimum: float,
    maximum: float | None = None,
    *,
    open_below: bool = False,
    open_above: bool = False,
) -> Any:
    """An argparse type: a finite number in the range (``open_below``: above `minimum`,
    ``open_above``: below `maximum`)."""

    def parse(text: str) -> float:
        if not _DECIMAL.fullmatch(text.strip(" \t")):
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
        value = float(text)
        low_ok = value > minimum if open_below else value >= minimum
        high_ok = maximum is None or (value < maximum if open_above else value <= maximum)
        if not math.isfinite(value) or not low_ok or not high_ok:
            low = f"above {minimum:g}" if open_below else f"at least {minimum:g}"
            high = "below" if open_above else "at most"
            upper = f" and {high} {maximum:g}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"must be a finite number {low}{upper}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


SEED = integer(0, 2**32 - 1)
"""Seeds: what NumPy's generators accept on every platform."""


def add_seed_option(parser: argparse.ArgumentParser, of: str, *, default: int | None = 0) -> None:
    """``--seed N``: the seed of `of` (what it makes reproducible), one range for every
    command; `default` None means the document's own seed."""
    shown = "the document's" if default is None else str(default)
    parser.add_argument(
        "--seed",
        type=SEED,
        default=default,
        metavar="N",
        help=f"seed of {of}, 0 to 2^32-1 (default: {shown})",
    )


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: the interpreter's BLAS thread count (docs/performance.md)."""
    parser.add_argument(
        "--threads",
        type=integer(1, 1024),
        metavar="N",
        help="BLAS threads for the matrix products (default: auto, one per idle core "
        "for large batches)",
    )
