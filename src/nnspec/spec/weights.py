"""The optional weights file: a NumPy ``.npz`` beside the document.

A document is data, never code: the path must be relative and stay inside the
document's folder (symlinks resolved), and arrays load with pickle off.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnspec.errors import Problem, did_you_mean
from nnspec.ir import Param

POINTER = "/weights"
_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive; anything else is not one


def resolve_inside(relative: str, base_dir: Path | None) -> Path | None:
    """`relative` resolved against `base_dir`, or None when it would leave that folder."""
    base = (base_dir or Path.cwd()).resolve()
    if os.path.isabs(relative) or relative.startswith(("~", "\\")) or ":" in relative:
        return None
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        return None
    return target


def load_weights(
    relative: str, base_dir: Path | None, params: Mapping[str, Param], problems: list[Problem]
) -> dict[str, np.ndarray]:
    """Arrays for params from the weights file; problems are appended, never raised."""
    path = resolve_inside(relative, base_dir)
    if path is None:
        problems.append(
            Problem(
                "NN403",
                f"weights file {relative!r} is outside the document's folder; give a relative "
                "path to a file beside the document",
                POINTER,
            )
        )
        return {}
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_ZIP_MAGIC))
        if magic != _ZIP_MAGIC:
            problems.append(
                Problem(
                    "NN404",
                    f"weights file {relative!r} is not a .npz archive; write it with numpy.savez",
                    POINTER,
                )
            )
            return {}
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        problems.append(Problem("NN404", f"weights file {relative!r} does not exist", POINTER))
        return {}
    except ValueError as exc:
        reason = (
            "it holds pickled objects, which nnspec never loads"
            if "pickle" in str(exc)
            else str(exc)
        )
        problems.append(
            Problem("NN404", f"weights file {relative!r} cannot be read: {reason}", POINTER)
        )
        return {}
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        problems.append(
            Problem(
                "NN404", f"weights file {relative!r} is not a readable .npz file ({exc})", POINTER
            )
        )
        return {}
    return _match(relative, arrays, params, problems)


def _match(
    relative: str,
    arrays: Mapping[str, np.ndarray],
    params: Mapping[str, Param],
    problems: list[Problem],
) -> dict[str, np.ndarray]:
    result = {}
    for key, array in arrays.items():
        if key not in params:
            problems.append(
                Problem(
                    "NN405",
                    f"weights file {relative!r} has {key!r}, which is not a param"
                    f"{did_you_mean(key, params)}",
                    POINTER,
                )
            )
            continue
        param = params[key]
        if array.shape != param.type.shape:
            problems.append(
                Problem(
                    "NN405",
                    f"weights file {relative!r}: {key!r} has shape {list(array.shape)}, the param "
                    f"needs {list(param.type.shape)}",
                    POINTER,
                )
            )
            continue
        if array.dtype.kind not in "fiu":
            problems.append(
                Problem(
                    "NN405",
                    f"weights file {relative!r}: {key!r} is not numeric ({array.dtype})",
                    POINTER,
                )
            )
            continue
        value = array.astype(param.type.dtype)
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
