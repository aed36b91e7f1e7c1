"""Loading a document for a tool command: the `Graph` plus the raw document.

The raw document is kept only for ``nnspec graph``'s tooltips (a node's description
and ``x-`` keys, see `nnspec.tools.drawing`).
Problems are reported the way every command reports them: one located line each on
stderr, exit 1 for an invalid document and 2 for a file that cannot be read.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from nnspec.errors import SpecError
from nnspec.ir import Graph
from nnspec.spec.load import load_with_problems
from nnspec.spec.parse import read_document

EXIT_INVALID, EXIT_UNREADABLE = 1, 2


def load_document(path: str) -> tuple[Graph, Mapping[str, Any]] | int:
    """(graph, document) for `path`, or the exit code after reporting why not."""
    try:
        parsed = read_document(path)
    except OSError as exc:
        print(f"nnspec: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except SpecError as exc:
        return _report(exc.problems)
    graph, problems = load_with_problems(path)
    if graph is None:
        return _report(problems)
    return graph, parsed.data


def _report(problems: tuple | list) -> int:
    for problem in problems:
        if problem.is_error:
            print(problem.format(), file=sys.stderr)
    return EXIT_INVALID
