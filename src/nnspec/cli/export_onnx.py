"""``nnspec export DOC -o model.onnx``: a checked document as an ONNX model.

Exports the graph's inference outputs with the document's param values (literal,
weights file or seeded init) through `nnspec.onnx.to_onnx`, which checks the model
with ``onnx.checker`` (full check). ``--verify`` compares onnxruntime on the written
model with the interpreter and the compiled module.
"""

from __future__ import annotations

import argparse
import sys

from nnspec.cli.command import CommandError, ExitCode, check_outputs, load_document
from nnspec.cli.import_onnx import add_verify_arguments, print_verification

HELP = "export a document as an ONNX model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "-o", "--out", required=True, metavar="FILE", help="the ONNX model to write (.onnx)"
    )
    add_verify_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from nnspec.fileio import write_atomic
    from nnspec.interpreter import Model
    from nnspec.onnx.exporter import ExportError, to_onnx

    document = load_document(args.document)
    check_outputs(document.files, [args.out])
    params = dict(Model(document.graph).params)
    try:
        blob = to_onnx(document.graph, params)
    except ExportError as exc:
        raise CommandError(f"{args.document}: {exc}", ExitCode.FAILED) from None
    write_atomic(args.out, blob)
    print(f"nnspec export: wrote {args.out}", file=sys.stderr)
    if not args.verify:
        return ExitCode.OK
    return print_verification(blob, document.graph, params, None, args)
