"""``nnspec import MODEL.onnx -o model.json``: an ONNX model as a checked nnspec document.

Reads the model as data (`nnspec.onnx.reader`), converts it (`nnspec.onnx.from_onnx`),
writes the document (weights inline, or in a ``.npz`` beside it past the size rule
of ``nnspec train``) and loads the written file back through the ordinary checks.
``--verify`` then runs onnxruntime, the interpreter and the compiled module on random
inputs and prints the comparison table; ``nnspec check MODEL.onnx`` does the same
without writing anything.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from nnspec.cli.command import CommandError, ExitCode, add_seed_option, check_outputs, integer
from nnspec.errors import SpecError

HELP = "import an ONNX model as an nnspec document"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="the ONNX model (.onnx)")
    parser.add_argument(
        "-o", "--out", required=True, metavar="FILE", help="the document to write (.json)"
    )
    parser.add_argument(
        "--weights",
        metavar="FILE",
        help="always write the weights to this .npz beside FILE (default: "
        "inline for small models, FILE's stem + .weights.npz for large ones)",
    )
    parser.add_argument("--name", help="the document's name (default: the ONNX graph's)")
    parser.add_argument(
        "--output",
        action="append",
        metavar="NAME",
        dest="outputs",
        help="keep only this ONNX output (repeat for several), e.g. a "
        "classifier's probabilities without its label",
    )
    add_verify_arguments(parser)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verify",
        action="store_true",
        help="compare onnxruntime, the interpreter and the compiled module",
    )
    parser.add_argument(
        "--batch",
        type=integer(1, 4096),
        default=4,
        help="size of symbolic dims in --verify (default 4)",
    )
    add_seed_option(parser, "--verify's inputs")


def read(path: str, outputs: Sequence[str] | None, name: str | None = None) -> tuple:
    """(model bytes with external data inlined, Imported); problems become exit 1."""
    from nnspec.onnx import from_onnx
    from nnspec.onnx.reader import read_model

    try:
        model, _ = read_model(path)
        blob = model.SerializeToString()
        return blob, from_onnx(blob, outputs=outputs, name=name)
    except SpecError as exc:
        lines = "\n".join(p.located(file=path).format() for p in exc.problems)
        raise CommandError(lines, ExitCode.FAILED, located=True) from None
    except ValueError as exc:  # an --output the model does not have
        raise CommandError(str(exc)) from None


def print_verification(blob: bytes, graph, weights, outputs, args: argparse.Namespace) -> int:
    from nnspec.onnx.verify import VerifyError, table, verify

    try:
        rows = verify(blob, graph, weights, onnx_outputs=outputs, batch=args.batch, seed=args.seed)
    except VerifyError as exc:
        raise CommandError(str(exc), ExitCode.FAILED) from None
    sys.stdout.write(table(rows))
    return ExitCode.OK if all(r.ok for r in rows) else ExitCode.FAILED


def run(args: argparse.Namespace) -> int:
    from nnspec.fileio import write_atomic, write_npz
    from nnspec.interpreter.save import INLINE_LIMIT, dumps, weights_path
    from nnspec.spec.load import load

    out = Path(args.out)
    weights = Path(args.weights) if args.weights else weights_path(out)
    if args.weights and weights.resolve().parent != out.resolve().parent:
        raise CommandError(
            f"--weights {args.weights} must be in the folder of {args.out}, "
            "which refers to it by name"
        )
    blob, imported = read(args.model, args.outputs, args.name)
    # --weights forces a weights file; otherwise the size rule of nnspec train decides
    document, arrays = imported.split(weights.name, 0 if args.weights else INLINE_LIMIT)
    check_outputs([args.model], [out, weights if arrays is not None else None])
    if arrays is not None:
        buffer = io.BytesIO()
        write_npz(buffer, arrays)
        write_atomic(weights, buffer.getvalue())
    write_atomic(out, dumps(document))
    written = [str(out), *([str(weights)] if arrays is not None else [])]
    print(f"nnspec import: wrote {', '.join(written)}", file=sys.stderr)
    try:
        graph = load(out)
    except SpecError as exc:  # an importer bug; say so rather than hide it
        lines = "\n".join(p.format() for p in exc.problems)
        raise CommandError(lines, ExitCode.FAILED, located=True) from None
    if not args.verify:
        return ExitCode.OK
    return print_verification(blob, graph, imported.weights, args.outputs, args)


def check(args: argparse.Namespace) -> int:
    """``nnspec check MODEL.onnx``: import in memory and verify, writing nothing."""
    from nnspec.spec.load import load

    blob, imported = read(args.document, None)
    graph = load(imported.document)
    return print_verification(blob, graph, imported.weights, None, args)
