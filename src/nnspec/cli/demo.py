"""``nnspec demo``: the README's one-command tour on the bundled XOR example.

Every stage of the product, in order: validate the document, train it on the
Playground's XOR data (progress bar on a terminal), compile it to a standalone
module, import that module in a fresh Python process where nnspec cannot be
imported, and compare its predictions with the interpreter's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from nnspec.cli.command import ExitCode, add_seed_option, integer, load_document
from nnspec.examples import example

HELP = "a one-command tour: validate, train, compile and cross-check the bundled XOR example"

# Run by a fresh interpreter: nnspec is made unimportable before the module loads.
_FRESH_PROCESS = textwrap.dedent(
    """
    import sys
    sys.modules["nnspec"] = None
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import xor_model
    np.save(sys.argv[3], xor_model.predict(np.load(sys.argv[2])))
    """
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--epochs",
        type=integer(1, 100_000),
        default=None,
        metavar="N",
        help="override the document's epochs (1 to 100,000)",
    )
    add_seed_option(parser, "the data and the training")


def run(args: argparse.Namespace) -> int:
    from nnspec.codegen import compile as compile_graph
    from nnspec.datasets import make
    from nnspec.interpreter.train import train

    path = example("xor")
    graph = load_document(path).graph
    print(f"1. validate  {path.name}: valid ({len(graph.nodes)} primitive ops after lowering)")

    data = make("xor", n=400, noise=0.05, seed=args.seed)
    history = train(
        graph, data.x, data.y, epochs=args.epochs, seed=args.seed, quiet=args.quiet or None
    )
    model = history.model
    assert model is not None  # train() always hands back the model it trained
    held_out = make("xor", n=400, noise=0.05, seed=args.seed + 1)
    predicted = model.predict(held_out.x)
    assert isinstance(predicted, np.ndarray)  # the XOR network has one output
    accuracy = float(np.mean((predicted > 0.5) == (held_out.y > 0.5)))
    print(
        f"2. train     {history.epochs} epochs on {len(data)} XOR points: "
        f"loss {history.loss[-1]:.4f}, accuracy on {len(held_out)} new points {accuracy:.1%}"
    )

    with tempfile.TemporaryDirectory(prefix="nnspec-demo-") as folder:
        module = Path(folder) / "xor_model.py"
        module.write_text(compile_graph(graph, dict(model.params)), encoding="utf-8")
        print(f"3. compile   {module.name}: {module.stat().st_size:,} bytes, imports only NumPy")

        grid = _grid()
        np.save(Path(folder) / "x.npy", grid)
        out = Path(folder) / "y.npy"
        subprocess.run(
            [
                sys.executable,
                "-I",
                "-c",
                _FRESH_PROCESS,
                folder,
                str(Path(folder) / "x.npy"),
                str(out),
            ],
            check=True,
        )
        compiled = np.load(out)
    expected = model.predict(grid)
    assert isinstance(expected, np.ndarray)
    same = np.array_equal(compiled, expected)
    worst = float(np.max(np.abs(compiled.astype(np.float64) - expected)))
    verdict = "bit-identical" if same else f"max difference {worst:.3g}"
    print(
        f"4. check     compiled module (fresh process) vs interpreter on {len(grid)} points: "
        f"{verdict}"
    )
    return ExitCode.OK if same else ExitCode.FAILED


def _grid() -> np.ndarray:
    axis = np.linspace(-1.0, 1.0, 21, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
