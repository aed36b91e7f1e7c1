"""``nnspec compile DOC -o model.py``: one standalone NumPy module from a document.

Runs `nnspec.codegen.compile` on the checked graph and writes the module (and, with
``--weights-file``, the .npz beside it) atomically. ``--check`` writes nothing:
it regenerates in memory and exits 1 when the files on disk differ, for CI jobs
that keep generated modules in a repository. ``--train`` adds the training section
(loss, gradients, optimizer, ``fit``) so the module can train without nnspec.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nnspec.cli.command import CommandError, Document, ExitCode, check_outputs, load_document
from nnspec.codegen import compile, compile_options, recorded_options, weights_npz
from nnspec.fileio import write_atomic

HELP = "compile a document into one Python module that needs only NumPy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", metavar="DOC", help="the nnspec document (.json)")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="the module to write (default: standard output)"
    )
    parser.add_argument(
        "--weights-file",
        action="store_true",
        help="keep the weights in FILE's stem + .weights.npz beside the module (for large models)",
    )
    parser.add_argument(
        "--no-self-test", action="store_true", help="leave out the embedded self-test"
    )
    parser.add_argument(
        "--train",
        action="store_true",
        help="also emit the loss, its gradients, the optimizer and fit() (needs a training loss)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if FILE (and its weights file) differ from a fresh compile "
        "with the options FILE records",
    )


def weights_path(module: Path) -> Path:
    """Where ``--weights-file`` puts the weights of `module`."""
    return module.with_name(f"{module.stem}.weights.npz")


def run(args: argparse.Namespace) -> int:
    if (args.weights_file or args.check) and not args.output:
        raise CommandError("--weights-file and --check need -o FILE")
    if args.check:
        _use_recorded_options(args)
    document = load_document(args.document)
    graph = document.graph
    if args.train and (graph.training is None or graph.training.loss_node is None):
        raise CommandError(f"{args.document}: --train needs a 'training' section with a loss")
    files: dict[Path, bytes] = {}
    weights_name = ""
    kept = None
    if args.weights_file:
        target = weights_path(Path(args.output))
        weights_name = target.name
        files[target] = weights_npz(graph)
        kept = _own_weights(document, target, files[target])
    if args.output and not args.check:
        check_outputs(document.files, [args.output, *(f for f in files if f != kept)])
    source = compile(
        graph, weights_file=weights_name, self_test=not args.no_self_test, train=args.train
    )
    if not args.output:
        sys.stdout.write(source)
        return ExitCode.OK
    files = {Path(args.output): source.encode("utf-8"), **files}
    if args.check:
        return _check(files)
    written = [path for path in files if path != kept]
    for path in written:
        write_atomic(path, files[path])
    note = f" and kept {kept}, the document's weights file, as it is" if kept else ""
    print(f"nnspec compile: wrote {', '.join(map(str, written))}{note}", file=sys.stderr)
    return ExitCode.OK


def _own_weights(document: Document, target: Path, data: bytes) -> Path | None:
    """`target` when it is the document's own weights file and already holds `data`
    (a large document trained by ``nnspec train``, compiled beside itself): the module
    reads that file as it is, so nothing is overwritten."""
    if document.weights is None or not target.is_file():
        return None
    if not os.path.samefile(document.weights, target):
        return None
    return target if target.read_bytes() == data else None


def _use_recorded_options(args: argparse.Namespace) -> None:
    """``--check`` compiles with the options the module's header records; flags given
    on the command line must agree with them (exit 1 naming both when they do not)."""
    try:
        head = Path(args.output).read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return  # missing: reported as out of date by _check
    recorded = recorded_options(head)
    if recorded is None:
        return  # compiled before options were recorded: the command line decides
    given = _given_options(args)
    if given and given != recorded:
        shown = " ".join(recorded) or "no options"
        raise CommandError(
            f"{args.output} was compiled with {shown}, not {' '.join(given)}; "
            "check it with the same options (or recompile it)",
            ExitCode.FAILED,
        )
    args.weights_file = "--weights-file" in recorded
    args.no_self_test = "--no-self-test" in recorded
    args.train = "--train" in recorded


def _given_options(args: argparse.Namespace) -> tuple[str, ...]:
    return compile_options(
        weights_file=args.weights_file, self_test=not args.no_self_test, train=args.train
    )


def _check(files: dict[Path, bytes]) -> int:
    stale = [p for p, data in files.items() if not p.is_file() or p.read_bytes() != data]
    for path in stale:
        print(f"nnspec: {path} is out of date; run nnspec compile again", file=sys.stderr)
    return ExitCode.FAILED if stale else ExitCode.OK
