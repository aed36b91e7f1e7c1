"""``nnspec completion SHELL``: the tab-completion script for bash, zsh or fish.

Completion is argcomplete's (the optional extra ``nnspec[completion]``): the shell
script calls ``nnspec`` back with the words typed so far in ``_ARGCOMPLETE`` /
``COMP_LINE``, and `complete` answers from the full argparse parser, so the
completions are always the commands' real options, choices and file names.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from nnspec.cli.command import CommandError, ExitCode

HELP = "print the tab-completion script for bash, zsh or fish (needs nnspec[completion])"
SHELLS = ("bash", "zsh", "fish")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shell",
        choices=SHELLS,
        help='the shell to complete in; e.g. eval "$(nnspec completion bash)" in ~/.bashrc',
    )


def _argcomplete() -> ModuleType | None:
    try:
        import argcomplete
    except ImportError:
        return None
    return argcomplete


def run(args: argparse.Namespace) -> int:
    argcomplete = _argcomplete()
    if argcomplete is None:
        raise CommandError('shell completion needs argcomplete: pip install "nnspec[completion]"')
    sys.stdout.write(argcomplete.shellcode(["nnspec"], shell=args.shell))
    return ExitCode.OK


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit; without argcomplete, return
    (the command then runs as if typed)."""
    argcomplete = _argcomplete()
    if argcomplete is not None:
        argcomplete.autocomplete(parser)
