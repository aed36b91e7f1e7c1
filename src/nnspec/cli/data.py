"""``nnspec data NAME -o FILE``: write a Playground data set, ready for ``nnspec train``.

The file holds ``x`` [n, 2] and ``y`` [n, 1] (see `nnspec.datasets`); ``--labels``
writes classification targets as int64 class labels ``y`` [n] instead, the form
``cross_entropy`` with integer labels expects (the ``softmax`` starting document).
``--features`` and ``--classes`` widen ``plane`` and ``gaussians`` beyond the
Playground's two features and two classes, for the examples that need more.
"""

from __future__ import annotations

import argparse
import sys

from nnspec.cli.command import (
    CommandError,
    ExitCode,
    add_seed_option,
    check_outputs,
    integer,
    number,
)
from nnspec.datasets import DESCRIPTIONS, NAMES, TASKS, make, save_arrays
from nnspec.datasets.playground import MAX_FEATURES, MAX_POINTS

HELP = "write a 2-D Playground data set (circle, xor, spiral, ...) to .npz or .csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="data set name (see --list)")
    parser.add_argument("-o", "--output", metavar="FILE", help="output file: .npz or .csv")
    parser.add_argument("--list", action="store_true", help="list the data sets and exit")
    parser.add_argument(
        "--n",
        type=integer(1, MAX_POINTS),
        default=200,
        metavar="N",
        help=f"number of points, 1 to {MAX_POINTS:,} (default: 200)",
    )
    parser.add_argument(
        "--noise",
        type=number(0, 1e6),
        default=0.0,
        metavar="STD",
        help="standard deviation of the noise (default: 0)",
    )
    add_seed_option(parser, "the points and their noise")
    parser.add_argument(
        "--features",
        type=integer(1, MAX_FEATURES),
        default=2,
        metavar="F",
        help="columns of x, for plane and gaussians (default: 2)",
    )
    parser.add_argument(
        "--classes",
        type=integer(2, 2 * MAX_FEATURES),
        default=2,
        metavar="K",
        help="classes of gaussians, 2 to 2·F; more than 2 need --labels (default: 2)",
    )
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
        return ExitCode.OK
    if not args.name or not args.output:
        raise CommandError("give a NAME and -o FILE (or --list)")
    if not args.output.lower().endswith((".npz", ".csv")):
        raise CommandError(f"-o must end in .npz or .csv, got {args.output!r}")
    check_outputs([], [args.output])
    try:
        data = make(
            args.name,
            n=args.n,
            noise=args.noise,
            seed=args.seed,
            features=args.features,
            classes=args.classes,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.classes > 2 and not args.labels:
        raise CommandError(f"{args.classes} classes need --labels (y as int64 class labels)")
    if args.labels and data.task != "classification":
        raise CommandError(f"--labels is for classification sets; {args.name!r} is regression")
    save_arrays(args.output, {"x": data.x, "y": data.labels() if args.labels else data.y})
    print(f"wrote {len(data)} points of {args.name!r} to {args.output}", file=sys.stderr)
    return ExitCode.OK
