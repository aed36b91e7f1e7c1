"""``nnspec data NAME -o FILE``: write a Playground data set, ready for ``nnspec train``.

The file holds ``x`` [n, 2] and ``y`` [n, 1] (see `nnspec.datasets`); ``--labels``
writes classification targets as int64 class labels ``y`` [n] instead, the form
``cross_entropy`` with integer labels expects (the ``softmax`` starting document).
"""

from __future__ import annotations

import argparse
import sys

from nnspec.datasets import DESCRIPTIONS, NAMES, TASKS, make, save_arrays

HELP = "write a 2-D Playground data set (circle, xor, spiral, ...) to .npz or .csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="data set name (see --list)")
    parser.add_argument("-o", "--output", metavar="FILE", help="output file: .npz or .csv")
    parser.add_argument("--list", action="store_true", help="list the data sets and exit")
    parser.add_argument("--n", type=int, default=200, help="number of points (default: 200)")
    parser.add_argument(
        "--noise", type=float, default=0.0, help="standard deviation of the noise (default: 0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--labels",
        action="store_true",
        help="classification only: write y as int64 class labels [n] instead of floats [n, 1]",
    )


def listing() -> str:
    """One line per data set: name, task, description."""
    width = max(map(len, NAMES))
    return "".join(f"{name:<{width}}  {TASKS[name]:<14}  {DESCRIPTIONS[name]}\n" for name in NAMES)


def run(args: argparse.Namespace) -> int:
    if args.list:
        sys.stdout.write(listing())
        return 0
    if not args.name or not args.output:
        print("nnspec data: give a NAME and -o FILE (or --list)", file=sys.stderr)
        return 2
    if not args.output.lower().endswith((".npz", ".csv")):
        print(f"nnspec data: -o must end in .npz or .csv, got {args.output!r}", file=sys.stderr)
        return 2
    try:
        data = make(args.name, n=args.n, noise=args.noise, seed=args.seed)
        if args.labels and data.task != "classification":
            raise ValueError(f"--labels is for classification sets; {args.name!r} is regression")
        arrays = {"x": data.x, "y": data.labels() if args.labels else data.y}
        save_arrays(args.output, arrays)
    except (ValueError, TypeError) as exc:  # DataError is a ValueError
        print(f"nnspec data: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(data)} points of {args.name!r} to {args.output}", file=sys.stderr)
    return 0
