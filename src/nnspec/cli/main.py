"""Entry point of the ``nnspec`` command.

Commands live in their own modules, listed in `COMMANDS` and imported only when
used, so ``nnspec validate`` never pays for the code generator. Each command
module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Exit codes: 0 success, 1 the command's check failed (invalid
document, disagreement), 2 usage error or a file that cannot be read or written,
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from nnspec import __version__

# Command name -> module; the order is the order of `nnspec --help`.
COMMANDS: dict[str, str] = {
    "demo": "nnspec.cli.demo",
    "validate": "nnspec.cli.validate",
    "schema": "nnspec.cli.schema",
    "run": "nnspec.cli.run",
    "train": "nnspec.cli.train",
    "summary": "nnspec.cli.summary",
    "graph": "nnspec.cli.graph",
    "data": "nnspec.cli.data",
    "init": "nnspec.cli.init",
    "plot": "nnspec.cli.plot",
    "compile": "nnspec.cli.compile",
    "check": "nnspec.cli.check",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a one-line hint, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


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
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Import only the chosen command's module; `nnspec --help` imports them all.
    selected = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(args_list)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("nnspec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # A file a command could not read or write (missing folder, permissions, full
        # disk): the message names it; never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"nnspec {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
