"""``nnspec demo``: the README's one-command tour on the bundled examples.

It validates every bundled example and prints what each network is; the tour
grows with the project (training and compiling join when those stages land).
"""

from __future__ import annotations

import argparse

from nnspec.examples import examples_dir
from nnspec.spec.load import load_with_problems

HELP = "a short tour: validate and describe the bundled lecture examples"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print only the final line")


def run(args: argparse.Namespace) -> int:
    paths = sorted(examples_dir().glob("*.json"))
    failures = 0
    for path in paths:
        graph, problems = load_with_problems(path)
        errors = [p for p in problems if p.is_error]
        if graph is None or errors:
            failures += 1
            for problem in errors:
                print(problem.format())
            continue
        if not args.quiet:
            params = sum(p.type.size() or 0 for p in graph.params)
            print(
                f"{path.name:26} valid: {len(graph.nodes):3} primitive ops, {params:6} params"
                f"  {graph.description[:60]}"
            )
    print(f"nnspec demo: {len(paths) - failures} of {len(paths)} bundled examples are valid")
    return 1 if failures else 0
