"""``nnspec validate FILE_OR_GLOB...``: check documents, for people and for CI.

Expands the arguments to files, runs the spec pipeline (`nnspec.spec.load`) on
each, hands the results to a reporter from `nnspec.cli.report` and decides the
exit code: 0 all valid (warnings allowed unless ``--strict``), 1 some invalid,
2 usage error, an unreadable file or a glob that matches nothing. A one-line
summary goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nnspec.cli.report import REPORTERS, FileResult, summary
from nnspec.fileio import expand_glob
from nnspec.spec.limits import DEFAULT_LIMITS, Limits
from nnspec.spec.load import validate

HELP = "check documents against the schema and the graph rules (exit 0 valid, 1 invalid)"

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_GLOB_CHARS = frozenset("*?[")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="FILE_OR_GLOB",
        help="documents to check; quote globs such as 'models/**/*.json' (** is recursive)",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=list(REPORTERS),
        default="text",
        help="output format: " + "; ".join(f"{name}: {r.help}" for name, r in REPORTERS.items()),
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as failures (exit 1)")
    limits = parser.add_argument_group("limits (see docs/format.md#limits)")
    for option, field, what in (
        ("--max-nodes", "max_nodes", "nodes in one document"),
        ("--max-param-elements", "max_param_elements", "elements one param may allocate"),
        ("--max-file-bytes", "max_file_bytes", "bytes in one file"),
    ):
        limits.add_argument(
            option,
            type=_positive,
            default=getattr(DEFAULT_LIMITS, field),
            metavar="N",
            help=f"at most N {what} (default: %(default)s)",
        )


def expand(paths: list[str]) -> tuple[list[str], list[str]]:
    """Files named by `paths` (globs expanded, sorted, duplicates dropped) and
    messages for arguments that name nothing checkable."""
    files: dict[str, None] = {}
    failures = []
    for arg in paths:
        if os.path.isdir(arg):
            failures.append(f"{arg} is a directory; give files or a glob such as '{arg}/*.json'")
        elif os.path.lexists(arg) or not _GLOB_CHARS & set(arg):
            files[arg] = None  # a missing file is reported when it cannot be read
        else:
            matches = expand_glob(arg)  # files only, each once, symlink loops not followed
            if not matches:
                failures.append(f"no files match {arg!r}")
            files.update(dict.fromkeys(matches))
    return list(files), failures


def _check(path: str, limits: Limits) -> FileResult | str:
    """The file's result, or why it could not be checked."""
    try:
        problems = validate(Path(path), limits=limits)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except Exception as exc:  # a checker bug must not become a traceback in CI logs
        return f"internal error while checking {path}: {type(exc).__name__}: {exc} (please report)"
    return FileResult(path, tuple(problems))


def run(args: argparse.Namespace) -> int:
    limits = Limits(
        max_file_bytes=args.max_file_bytes,
        max_nodes=args.max_nodes,
        max_param_elements=args.max_param_elements,
    )
    files, failures = expand(args.paths)
    results: list[FileResult] = []
    for path in files:
        outcome = _check(path, limits)
        if isinstance(outcome, str):
            failures.append(outcome)
        else:
            results.append(outcome)
    sys.stdout.write(REPORTERS[args.format]().render(results))
    sys.stdout.flush()
    for failure in failures:
        print(f"nnspec validate: {failure}", file=sys.stderr)
    print(summary(results, unreadable=len(failures)), file=sys.stderr)
    if failures:
        return EXIT_USAGE
    failed = any(r.errors or (args.strict and r.warnings) for r in results)
    return EXIT_INVALID if failed else EXIT_OK
