"""The optional weights file: a NumPy ``.npz`` beside the document.

A document is data, never code: the path must be relative and stay inside the
document's folder (symlinks resolved), and arrays load with pickle off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnspec.errors import Problem, did_you_mean
from nnspec.fileio import ArrayFileError, check_path_text, npz_headers, numpy_kind, read_npz
from nnspec.ir import Param

POINTER = "/weights"


def resolve_inside(relative: str, base_dir: Path | None) -> Path | None:
    """`relative` resolved against `base_dir`, or None when it would leave that folder
    (or is no path at all: NUL characters, lone surrogates)."""
    base = (base_dir or Path.cwd()).resolve()
    try:
        check_path_text(relative)
    except OSError:
        return None
    if os.path.isabs(relative) or relative.startswith(("~", "\\")) or ":" in relative:
        return None
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        return None
    return target


def load_weights(
    relative: str, base_dir: Path | None, params: Mapping[str, Param], problems: list[Problem]
) -> dict[str, np.ndarray]:
    """Arrays for params from the weights file; problems are appended, never raised.

    Every member's header is checked (name, shape, dtype) before any array is read,
    and only arrays of exactly a param's shape are read, so what loading costs is
    bounded by the params themselves, whatever the file claims.
    """
    path = resolve_inside(relative, base_dir)
    if path is None:
        problems.append(
            Problem(
                "NN403",
                f"weights file {relative!r} is outside the document's folder; "
                "give a relative path to a file beside the document",
                POINTER,
            )
        )
        return {}

    def unreadable(reason: str) -> dict[str, np.ndarray]:
        problems.append(Problem("NN404", f"weights file {relative!r} {reason}", POINTER))
        return {}

    try:
        if numpy_kind(path) != ".npz":
            return unreadable("is not a .npz archive; write it with numpy.savez")
        headers = npz_headers(path)
        usable = _match(relative, headers, params, problems)
        budget = sum(params[name].type.size() or 0 for name in usable)
        arrays = read_npz(path, max_elements=budget, wanted=usable.__contains__)
    except FileNotFoundError:
        return unreadable("does not exist")
    except ArrayFileError as exc:
        reason = exc.reason
        if "pickle" in reason:
            reason = "it holds pickled objects, which nnspec never loads"
        return unreadable(f"cannot be read: {reason}")
    except OSError as exc:
        return unreadable(f"cannot be read: {exc.strerror or exc}")
    return _finite(relative, arrays, params, problems)


def _match(
    relative: str,
    headers: Mapping[str, tuple[tuple[int, ...], np.dtype]],
    params: Mapping[str, Param],
    problems: list[Problem],
) -> set[str]:
    """The members whose header fits their param; a problem for each that does not."""
    usable = set()
    for key, (shape, dtype) in headers.items():
        if key not in params:
            problems.append(
                Problem(
                    "NN405",
                    f"weights file {relative!r} has {key!r}, which is not a param"
                    f"{did_you_mean(key, params)}",
                    POINTER,
                )
            )
        elif shape != params[key].type.shape:
            problems.append(
                Problem(
                    "NN405",
                    f"weights file {relative!r}: {key!r} has shape {list(shape)}, the param "
                    f"needs {list(params[key].type.shape)}",
                    POINTER,
                )
            )
        elif dtype.kind not in "fiu":
            problems.append(
                Problem(
                    "NN405",
                    f"weights file {relative!r}: {key!r} is not numeric ({dtype})",
                    POINTER,
                )
            )
        else:
            usable.add(key)
    return usable


def _finite(
    relative: str,
    arrays: Mapping[str, np.ndarray],
    params: Mapping[str, Param],
    problems: list[Problem],
) -> dict[str, np.ndarray]:
    result = {}
    for key, array in arrays.items():
        with np.errstate(over="ignore", invalid="ignore"):
            value = array.astype(params[key].type.dtype)
        if not np.all(np.isfinite(value)):
            problems.append(
                Problem(
                    "NN402",
                    f"weights file {relative!r}: {key!r} has values that are not finite",
                    POINTER,
                )
            )
            continue
        result[key] = value
    return result
