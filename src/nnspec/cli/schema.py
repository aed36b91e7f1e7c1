"""``nnspec schema``: print the JSON Schema of the document format, for editors."""

from __future__ import annotations

import argparse
import sys

from nnspec.cli.command import ExitCode, check_outputs
from nnspec.fileio import write_atomic
from nnspec.spec.schema import shipped_schema_text

HELP = "print the JSON Schema of the nnspec document format (version 1)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")


def run(args: argparse.Namespace) -> int:
    text = shipped_schema_text()
    if args.output:
        check_outputs([], [args.output])
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return ExitCode.OK
