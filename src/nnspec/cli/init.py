"""``nnspec init KIND -o FILE``: write a commented starting document.

Never overwrites an existing file unless ``--force``; the file appears atomically.
"""

from __future__ import annotations

import argparse
import os
import sys

from nnspec.cli.command import CommandError, ExitCode, check_outputs
from nnspec.fileio import write_atomic
from nnspec.tools.templates import DATA, KINDS, template_text

HELP = "write a starting document: linear, logistic, softmax, mlp, maxout or playground"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, metavar="KIND", help=", ".join(KINDS))
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="document to write")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(args: argparse.Namespace) -> int:
    check_outputs([], [args.output])
    if os.path.lexists(args.output) and not args.force:
        raise CommandError(f"{args.output} already exists; use --force to replace it")
    write_atomic(args.output, template_text(args.kind))
    data = " ".join(DATA[args.kind])
    print(
        f"wrote {args.output}; make matching data with: nnspec data {data} -o data.npz",
        file=sys.stderr,
    )
    return ExitCode.OK
