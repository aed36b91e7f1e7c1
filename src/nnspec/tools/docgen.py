"""Generate ``docs/commands/<command>.md`` for the tool commands from real runs.

Each page has a short introduction, the options (read from the command's own
argparse definition, so they cannot drift) and examples whose output is captured
by running the commands in a scratch folder. ``python -m nnspec.tools.docgen``
rewrites the pages; ``--check`` exits 1 naming each stale page, for CI and tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nnspec.cli import main as cli
from nnspec.examples import examples_dir

DOCS = Path(__file__).resolve().parents[3] / "docs" / "commands"

_HISTORY = (
    '{"epochs": [1, 2, 3, 4], "loss": [0.69, 0.41, 0.27, 0.2],\n'
    ' "metrics": {"accuracy": [0.55, 0.8, 0.9, 0.95]}}\n'
)


@dataclass(frozen=True)
class Page:
    """One command's page: `steps` are ``nnspec ...`` or ``cat FILE`` lines, run in order."""

    command: str
    intro: str
    steps: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)  # written to the scratch folder first
    notes: str = ""


PAGES: tuple[Page, ...] = (
    Page(
        "summary",
        "A table of a model's layers, like Keras' `model.summary()`: each document-level "
        "node (a composite such as `dense` collapsed to one row, with its number of "
        "primitives), its op, its output type with symbolic dims (`f32[batch,8]`, see "
        "the printer in `nnspec.printer`), its param count and the values it reads; "
        "then total, trainable and non-trainable params with the memory of the weights.",
        ("nnspec summary xor.json", "nnspec summary sign_network.json --format json"),
        notes="Exit codes: 0 shown, 1 the document is invalid (problems on stderr), "
        "2 unreadable file or usage error.",
    ),
    Page(
        "graph",
        "The computation graph as Graphviz DOT or Mermaid text: inputs, params, primitive "
        "ops and outputs (drawn with a double border). Composite layers are clusters of "
        "their primitives, or single boxes with `--collapse`. Vertex ids (`n0`, `n1`, …) "
        "are the generator's own; document text only appears inside escaped labels, so a "
        "hostile name cannot break the output. `-o x.svg`, `x.png` or `x.pdf` renders "
        "through Graphviz's `dot` when it is on PATH; without it the command exits 2 "
        "and says how to install it (`apt-get install graphviz`, `brew install graphviz`).",
        (
            "nnspec graph logistic_regression.json",
            "nnspec graph xor.json --collapse --format mermaid",
        ),
        notes="The format follows the suffix of `-o` (`.dot`/`.gv`, `.mmd`/`.mermaid`, "
        "or an image), else `--format` (default `dot`).",
    ),
    Page(
        "data",
        "Writes one of the TensorFlow-Playground-style 2-D data sets of "
        "`nnspec.datasets` to a `.npz` or `.csv` file holding `x` [n, 2] and `y` [n, 1], "
        "ready for `nnspec train`. `--labels` writes classification targets as int64 "
        "class labels `y` [n], the form `cross_entropy` with integer labels expects.",
        (
            "nnspec data --list",
            "nnspec data circle --n 6 --noise 0.1 -o circle.csv",
            "cat circle.csv",
        ),
    ),
    Page(
        "init",
        "Writes a starting document of one kind — `linear`, `logistic`, `softmax`, `mlp` "
        "or `maxout` — explained through `description` and `x-` keys (JSON has no "
        "comments). Each validates as written and names its input `x` and target `y`, "
        "so the `nnspec data` set it suggests trains it directly. An existing file is "
        "never replaced unless `--force` is given.",
        (
            "nnspec init logistic -o logistic.json",
            "cat logistic.json",
            "nnspec validate logistic.json",
        ),
        notes="Matching data sets: linear → `plane`, logistic → `gaussians`, softmax → "
        "`gaussians --labels`, mlp → `circle`, maxout → `xor`.",
    ),
    Page(
        "plot",
        "PNG plots of training (640 × 480 pixels), from the optional extra "
        "`pip install 'nnspec[plot]'` (matplotlib); without it the command exits 2 and "
        "says so. `plot history` draws the loss (log scale) and metric curves from the "
        "history JSON `nnspec train` writes. `plot boundary` draws, for a model with one "
        "input of shape [batch, 2], its decision regions (classification: the probability "
        "of class 1 with the 0.5 contour, or the winning class) or its output surface "
        "(regression) over the data points, as the TensorFlow Playground does.",
        (
            "cat history.json",
            "nnspec plot history history.json -o loss.png",
            "nnspec data xor -o xor.npz",
            "nnspec plot boundary xor.json --data xor.npz -o boundary.png",
        ),
        files={"history.json": _HISTORY},
        notes="From Python, `nnspec.tools.plots.write_training_plots(history, model, data, "
        "folder)` writes `history.png` and (for a 2-input model) `boundary.png`; "
        "`nnspec train --plot DIR` calls it.",
    ),
)


def render(page: Page) -> str:
    """The Markdown of one page, running its examples in a scratch folder."""
    lines = [f"# nnspec {page.command}", "", page.intro, ""]
    lines += ["## Options", "", *_options(page.command), ""]
    lines += ["## Example", ""]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for example in examples_dir().glob("*.json"):
            shutil.copy(example, folder / example.name)
        for name, text in page.files.items():
            (folder / name).write_text(text, encoding="utf-8")
        for step in page.steps:
            output, code = _run(step, folder)
            status = "" if code == 0 else f"\n[exit {code}]"
            lines += ["```console", f"$ {step}", output.rstrip("\n") + status, "```", ""]
    if page.notes:
        lines += [page.notes, ""]
    lines.append("<!-- generated by python -m nnspec.tools.docgen; do not edit -->")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _run(step: str, folder: Path) -> tuple[str, int]:
    words = shlex.split(step)
    if words[0] == "cat":
        return (folder / words[1]).read_text(encoding="utf-8"), 0
    buffer = io.StringIO()
    previous = Path.cwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = cli.main(words[1:])
    finally:
        os.chdir(previous)
    return buffer.getvalue(), code


def _options(command: str) -> list[str]:
    """A Markdown table of the command's arguments, from its argparse definition."""
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rows = ["| argument | meaning |", "|---|---|"]
    rows += _rows(sub.choices[command], "")
    return rows


def _rows(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                rows += _rows(child, f"{prefix}{name} ")
            continue
        name = ", ".join(action.option_strings) or action.metavar or action.dest
        if action.option_strings and action.nargs != 0:
            name += f" {action.metavar or action.dest.upper()}"
        if action.choices:
            name += f" ({', '.join(map(str, action.choices))})"
        meaning = (action.help or "").replace("%(default)s", str(action.default))
        rows.append(f"| `{prefix}{name}` | {meaning.replace('|', '/')} |")
    return rows


def stale(pages: Sequence[Page] = PAGES, folder: Path = DOCS) -> list[Path]:
    """The pages whose file differs from what `render` produces now."""
    out = []
    for page in pages:
        path = folder / f"{page.command}.md"
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != render(page):
            out.append(path)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnspec.tools.docgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"{path} is stale; run python -m nnspec.tools.docgen", file=sys.stderr)
        return 1 if old else 0
    DOCS.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        (DOCS / f"{page.command}.md").write_text(render(page), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
