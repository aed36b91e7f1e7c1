"""``nnspec summary DOC``: layers, output types and param counts, like Keras' summary()."""

from __future__ import annotations

import argparse
import json
import sys

from nnspec.cli.command import ExitCode, load_document
from nnspec.overview.table import format_summary, summarize

HELP = "show a model's layers, output shapes, param counts and weight memory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "-f", "--format", choices=("text", "json"), default="text", help="output format"
    )


def run(args: argparse.Namespace) -> int:
    summary = summarize(load_document(args.document).graph)
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_summary(summary))
    return ExitCode.OK
