"""Entry point of the ``nnspec`` command.

Commands live in their own modules, listed in `COMMANDS` and imported only when
used, so ``nnspec validate`` never pays for the code generator. Each command
module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` and follows the protocol in `nnspec.cli.command`: failures are
raised as `CommandError` and turned into a message and an `ExitCode` here, in one
place (0 success, 1 the command's check failed, 2 usage error or a file that cannot
be read, written or must not be overwritten, 130 interrupted by Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType

from nnspec import __version__
from nnspec.cli.command import CommandError, ExitCode

# Command name -> module; the order is the order of `nnspec --help`.
COMMANDS: dict[str, str] = {
    "demo": "nnspec.cli.demo",
    "validate": "nnspec.cli.validate",
    "schema": "nnspec.cli.schema",
    "run": "nnspec.cli.run",
    "train": "nnspec.cli.train",
    "evaluate": "nnspec.cli.evaluate",
    "summary": "nnspec.cli.summary",
    "graph": "nnspec.cli.graph",
    "data": "nnspec.cli.data",
    "init": "nnspec.cli.init",
    "plot": "nnspec.cli.plot",
    "compile": "nnspec.cli.compile",
    "check": "nnspec.cli.check",
    "completion": "nnspec.cli.completion",
}

class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a one-line hint, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `selected`, only that command's module is imported."""
    parser = _Parser(
        prog="nnspec",
        description="Neural networks as JSON computation graphs: validate, run, train, compile.",
    )
    parser.add_argument("--version", action="version", version=f"nnspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name in COMMANDS.items():
        if selected is not None and name != selected:
            sub.add_parser(name, add_help=False)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code, never a traceback for a known failure."""
    try:
        with _sigterm_interrupts():
            return _main(argv)
    except KeyboardInterrupt:
        print("nnspec: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (nnspec completion)
        from nnspec.cli.completion import complete

        complete(build_parser())
    # Import only the chosen command's module; `nnspec --help` imports them all.
    selected = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(args_list)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    from nnspec.datasets.errors import DataError

    try:
        return int(args._run(args))
    except CommandError as exc:
        print(exc if exc.located else f"nnspec {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except DataError as exc:
        print(f"nnspec {args.command}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except BrokenPipeError:
        return ExitCode.OK
    except OSError as exc:
        # A file a command could not read or write (missing folder, permissions, full
        # disk, a FIFO): the message names it; never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"nnspec {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends a command the way Ctrl-C does (e.g. train writes its last epoch)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
