"""The driver of the spec pipeline: parse → schema → check, with located problems.

Each stage collects all of its problems; a later stage runs only on a clean
earlier one. Problems leave here with file, line and column filled in.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnspec.errors import Problem, SpecError
from nnspec.ir import Graph
from nnspec.spec.check import build_graph
from nnspec.spec.conform import check_schema
from nnspec.spec.limits import DEFAULT_LIMITS, Limits
from nnspec.spec.parse import ParsedDocument, parse_json, read_document, value_problems

DocumentSource = str | os.PathLike | Mapping[str, Any] | bytes


def load(
    source: DocumentSource,
    *,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: str | os.PathLike | None = None,
) -> Graph:
    """A checked `Graph` from a path, JSON text or an already parsed dict.

    Raises `SpecError` carrying every problem of the first stage that failed;
    warnings never stop loading.
    """
    graph, problems = _run(source, limits, base_dir)
    if graph is None:
        raise SpecError(problems)
    return graph


def validate(
    source: DocumentSource,
    *,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: str | os.PathLike | None = None,
) -> list[Problem]:
    """Every problem (errors and warnings) of a document, ordered by position."""
    _, problems = _run(source, limits, base_dir)
    return problems


def load_with_problems(
    source: DocumentSource,
    *,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: str | os.PathLike | None = None,
) -> tuple[Graph | None, list[Problem]]:
    """Both results at once (for the CLI, which reports warnings of valid documents)."""
    return _run(source, limits, base_dir)


def load_file(
    path: str | os.PathLike, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[Graph | None, list[Problem], dict[str, Any]]:
    """(graph or None, problems, parsed JSON) of the file at `path`, read once.

    For commands, which need the user's document as written besides its graph.
    `OSError` (missing, unreadable, not a regular file) propagates.
    """
    try:
        parsed = read_document(Path(path), limits=limits)
    except SpecError as exc:
        return None, list(exc.problems), {}
    graph, problems = _paused_gc(_checked, parsed, Path(path).parent, limits, True)
    data = parsed.data if isinstance(parsed.data, dict) else {}
    return graph, problems, data


def _run(
    source: DocumentSource, limits: Limits, base_dir: str | os.PathLike | None
) -> tuple[Graph | None, list[Problem]]:
    return _paused_gc(_stages, source, limits, base_dir)


def _paused_gc(stages: Any, *args: Any) -> tuple[Graph | None, list[Problem]]:
    """All stages with the cyclic garbage collector paused.

    The pipeline builds millions of small acyclic objects for a big document; the
    collector's passes over them made validation time grow faster than the
    document (about 25 % of the time at 100,000 nodes). Reference counting still
    frees everything; the collector resumes afterwards.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return stages(*args)
    finally:
        if paused:
            gc.enable()


def _stages(
    source: DocumentSource, limits: Limits, base_dir: str | os.PathLike | None
) -> tuple[Graph | None, list[Problem]]:
    try:
        parsed, folder = _parse(source, limits)
        locatable = not isinstance(source, Mapping)
    except SpecError as exc:
        return None, list(exc.problems)
    if base_dir is not None:
        folder = Path(base_dir)
    return _checked(parsed, folder, limits, locatable)


def _checked(
    parsed: ParsedDocument, folder: Path | None, limits: Limits, locatable: bool
) -> tuple[Graph | None, list[Problem]]:
    """Schema, then graph building, on a parsed document; problems located and sorted."""
    problems = check_schema(parsed.data)
    graph = None
    if not problems:
        graph, problems = build_graph(
            parsed.data, base_dir=folder, limits=limits, sha256=_sha256(parsed)
        )
    located = [parsed.locate(p) if locatable else p for p in problems]
    return graph, sorted(located, key=Problem.sort_key)


def _parse(source: DocumentSource, limits: Limits) -> tuple[ParsedDocument, Path | None]:
    if isinstance(source, Mapping):
        problems = value_problems(source)  # parse_json's value rules, for a dict
        if problems:
            raise SpecError(problems)
        text = json.dumps(source, ensure_ascii=False, sort_keys=True, default=str)
        return ParsedDocument(data=dict(source), text=text, path=None), None
    if isinstance(source, bytes):
        return parse_json(source, limits=limits), None
    if isinstance(source, str) and _is_json_text(source):
        return parse_json(source, limits=limits), None
    path = Path(source)
    return read_document(path, limits=limits), path.parent


def _is_json_text(source: str) -> bool:
    """A str is JSON text, not a path, if it is blank, spans lines, or starts like a
    document (also after a BOM, which the parser then reports)."""
    return not source.strip() or "\n" in source or source.lstrip("\ufeff \t\r")[:1] in "{["


def _sha256(parsed: ParsedDocument) -> str:
    # surrogatepass: a dict source may hold lone surrogates ("\ud800" in JSON is legal)
    return hashlib.sha256(parsed.text.encode("utf-8", "surrogatepass")).hexdigest()
