"""Links inside a document that are relative to its folder, kept true when a command
writes the document (or a document derived from it) into another folder.

Today that is the ``"$schema"`` key, which editors follow to find the JSON Schema:
``"$schema": "../schemas/nnspec-1.schema.json"`` read from ``models/`` and written to
``out/trained/`` must become ``"../../schemas/nnspec-1.schema.json"``. URLs (any
``scheme:``), absolute paths and fragments-only links mean the same everywhere and
are left alone. (The ``"weights"`` key is not rebased: commands write a new weights
file beside the document they write.)
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
from collections.abc import Mapping
from typing import Any

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def rebase_link(
    link: str, source_folder: str | os.PathLike[str], target_folder: str | os.PathLike[str]
) -> str:
    """`link`, relative to `source_folder`, rewritten relative to `target_folder`."""
    if not link or link.startswith("#") or _SCHEME.match(link) or posixpath.isabs(link):
        return link
    path, hash_, fragment = link.partition("#")
    resolved = os.path.normpath(os.path.join(os.path.abspath(source_folder), path))
    try:
        relative = os.path.relpath(resolved, os.path.abspath(target_folder))
    except ValueError:  # another drive (Windows): only an absolute path still works
        relative = resolved
    return relative.replace(os.sep, "/") + hash_ + fragment


def rebase_schema_link(
    document: Mapping[str, Any],
    source_folder: str | os.PathLike[str],
    target_folder: str | os.PathLike[str],
) -> dict[str, Any]:
    """A copy of `document` whose relative ``"$schema"`` still points at the same file
    when the copy is written into `target_folder`."""
    result = copy.copy(dict(document))
    link = result.get("$schema")
    if isinstance(link, str):
        result["$schema"] = rebase_link(link, source_folder, target_folder)
    return result
