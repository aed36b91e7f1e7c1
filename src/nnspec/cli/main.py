"""Entry point of the ``nnspec`` command.

Commands live in their own modules, listed in `COMMANDS` and imported only when
used, so ``nnspec validate`` never pays for the code generator. Each command
module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` and follows the protocol in `nnspec.cli.command`: failures are
raised as `CommandError` and turned into a message and an `ExitCode` here, in one
place (0 success, 1 the command's check failed, 2 usage error or a file that cannot
be read, written or must not be overwritten, 130 interrupted by Ctrl-C or SIGTERM).

This module imports nothing at its top but `sys`: everything else is imported
inside `main`, where Ctrl-C is handled, so an interrupt during start-up ends with
"interrupted" and exit 130 as it does later. Only Python's own start-up, before this
module runs, is beyond any program's reach (docs/commands/README.md says so).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing here would widen the window
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

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
    "import": "nnspec.cli.import_onnx",
    "export": "nnspec.cli.export_onnx",
    "completion": "nnspec.cli.completion",
}
INTERRUPTED = 130  # ExitCode.INTERRUPTED, usable before anything is imported


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `selected`, only that command's module is imported."""
    import importlib

    from nnspec import __version__
    from nnspec.cli.command import Parser

    parser = Parser(
        prog="nnspec",
        description="Neural networks as JSON computation graphs: validate, run, train, compile.",
    )
    parser.add_argument("--version", action="version", version=f"nnspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module_name in COMMANDS.items():
        if selected is not None and name != selected:
            sub.add_parser(name, add_help=False)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code, never a traceback for a known failure."""
    hook, restore = sys.unraisablehook, None
    try:
        _INTERRUPTS.clear()
        sys.unraisablehook = _noting_unraisable(hook)
        restore = _note_interrupts()
        from nnspec.cli.command import sigterm_interrupts

        with sigterm_interrupts():
            return _main(argv)
    except KeyboardInterrupt:
        print("nnspec: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:
        if not (caused_by_interrupt(exc) or _INTERRUPTS):
            raise
        print("nnspec: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        sys.unraisablehook = hook
        if restore is not None:
            restore()


_INTERRUPTS: list[int] = []  # every Ctrl-C `_note_interrupts` saw during this main()


def _noting_unraisable(previous: Callable[[Any], object]) -> Callable[[Any], None]:
    """An unraisable hook noting a Ctrl-C that Python swallowed (raised inside a
    destructor or importlib's module-lock callback, before `sigterm_interrupts`
    redelivers such interrupts), so start-up still ends on it; others go to `previous`."""

    def hook(unraisable: Any) -> None:
        if issubclass(unraisable.exc_type, KeyboardInterrupt):
            _INTERRUPTS.append(2)  # SIGINT; `signal` may not be imported yet
        else:
            previous(unraisable)

    return hook


def _note_interrupts() -> Callable[[], None] | None:
    """Handle Ctrl-C as Python's default handler does (raise KeyboardInterrupt), and
    remember it: one that lands in C code during an import can surface as another
    exception with no KeyboardInterrupt in its chain (NumPy's ImportError when the
    interrupted import is `datetime`'s), or vanish (C code that clears any error of an
    optional import), so start-up checks the record once the command is parsed.
    Returns how to put the old handler back, or None where SIGINT is not Python's
    default (ignored, or someone else's handler)."""
    # The C module behind `signal`, loaded by Python's start-up (which sets the SIGINT
    # handler): using it imports nothing, and an import is where a Ctrl-C can get lost.
    signal: Any = sys.modules.get("_signal") or __import__("signal")

    def note(signum: int, frame: object) -> None:
        _INTERRUPTS.append(signum)
        raise KeyboardInterrupt

    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None
        signal.signal(signal.SIGINT, note)
    except ValueError:  # not the main thread: signals cannot be handled here
        return None

    def restore() -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    return restore


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a Ctrl-C is behind this exception: Python wraps one that lands while a
    class is being created (an import's `__set_name__`) in a RuntimeError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _main(argv: list[str] | None) -> int:
    from nnspec.cli.command import CommandError, ExitCode
    from nnspec.datasets.errors import DataError

    args_list = list(sys.argv[1:] if argv is None else argv)
    import os

    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (nnspec completion)
        from nnspec.cli.completion import complete

        complete(build_parser())
    # Import only the chosen command's module; `nnspec --help` imports them all.
    selected = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(args_list)
    if _INTERRUPTS:  # noted, yet start-up went on: C code cleared the KeyboardInterrupt
        raise KeyboardInterrupt
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
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


if __name__ == "__main__":
    raise SystemExit(main())
