"""``nnspec graph DOC``: draw the computation graph as DOT or Mermaid, or render it.

``-o x.dot`` / ``x.mmd`` writes the text atomically; ``-o x.svg`` / ``x.png`` /
``x.pdf`` renders the DOT through Graphviz's ``dot`` program, which must be on PATH
(exit 2 with install instructions otherwise).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from nnspec.cli.command import CommandError, ExitCode, check_outputs, load_document
from nnspec.fileio import write_atomic
from nnspec.tools.drawing import FORMATS, plan

HELP = "draw the computation graph as Graphviz DOT or Mermaid (or render .svg/.png via dot)"

RENDERED = (".svg", ".png", ".pdf")
TEXT_SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}
INSTALL_GRAPHVIZ = (
    "install Graphviz to render images (Debian/Ubuntu: apt-get install graphviz; "
    "macOS: brew install graphviz; https://graphviz.org/download/), "
    "or write text with -o FILE.dot / -o FILE.mmd"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "-f",
        "--format",
        choices=tuple(FORMATS),
        help="text format (default: from the -o suffix, else dot)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write FILE instead of standard output: .dot/.gv, .mmd, or .svg/.png/.pdf "
        "(rendered by Graphviz dot)",
    )
    parser.add_argument(
        "--collapse", action="store_true", help="draw each composite layer as one box"
    )


def run(args: argparse.Namespace) -> int:
    suffix = Path(args.output).suffix.lower() if args.output else ""
    if args.output and suffix not in RENDERED and suffix not in TEXT_SUFFIXES:
        known = ", ".join([*TEXT_SUFFIXES, *RENDERED])
        raise CommandError(f"cannot tell the format of {args.output!r}; use {known}")
    if suffix in RENDERED and args.format == "mermaid":
        raise CommandError("images are rendered from DOT; drop --format mermaid")
    dot = shutil.which("dot") if suffix in RENDERED else None
    if suffix in RENDERED and dot is None:
        raise CommandError(f"Graphviz 'dot' was not found on PATH; {INSTALL_GRAPHVIZ}")
    document = load_document(args.document)
    check_outputs(document.files, [args.output])
    drawing = plan(document.graph, document.data, collapse=args.collapse)
    fmt = args.format or TEXT_SUFFIXES.get(suffix, "dot")
    text = FORMATS[fmt](drawing)
    if dot is not None:
        return _render(dot, text, args.output, suffix[1:])
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def _render(dot: str, text: str, output: str, image_format: str) -> int:
    done = subprocess.run(
        [dot, f"-T{image_format}"], input=text.encode("utf-8"), capture_output=True, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise CommandError(f"dot failed: {message}", ExitCode.FAILED)
    write_atomic(output, done.stdout)
    print(f"wrote {output}", file=sys.stderr)
    return ExitCode.OK
