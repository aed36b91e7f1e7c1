"""The one developer entry point for derived files: ``python -m dev.regen [--check] [NAME...]``.

Run from the repository root. Each generator module in `GENERATORS` has an
``outputs()`` returning path -> expected text; without ``--check`` every file is
(re)written, with it nothing is written and the exit code is 1 when a file is stale
(CI runs ``python -m dev.regen --check``). NAME limits the run to some generators.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

# name -> module; the schema first, since the pages quote the schema's facts.
GENERATORS = {
    "schema": "dev.schema_file",
    "ops": "dev.ops_page",
    "errors": "dev.errors_page",
    "commands": "dev.command_pages",
    "onnx": "dev.onnx_page",
}
ROOT = Path(__file__).resolve().parents[1]


def expected(names: Sequence[str] = tuple(GENERATORS)) -> dict[Path, str]:
    """Every derived file of the chosen generators and the text it must hold."""
    files: dict[Path, str] = {}
    for name in names:
        files.update(importlib.import_module(GENERATORS[name]).outputs())
    return files


def stale(names: Sequence[str] = tuple(GENERATORS)) -> list[Path]:
    """The derived files whose contents differ from a fresh rendering."""
    return [
        path
        for path, text in expected(names).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.regen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(GENERATORS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(GENERATORS))
    if unknown:
        parser.error(f"unknown generator {unknown[0]!r}; choose from {', '.join(GENERATORS)}")
    names = args.names or list(GENERATORS)
    if args.check:
        old = stale(names)
        for path in old:
            print(f"{path.relative_to(ROOT)} is stale: run python -m dev.regen", file=sys.stderr)
        return 1 if old else 0
    # One generator at a time, in `GENERATORS` order, each written before the next
    # renders: the command pages run `nnspec schema`, which reads the schema file the
    # first generator writes, so one run reaches the fixed point.
    for name in names:
        for path, text in expected([name]).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
