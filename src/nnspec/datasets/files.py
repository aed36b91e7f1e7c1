"""Reading and writing the arrays that the `train`, `run` and `data` commands use.

Three formats, chosen by the file's extension:

- ``.npz``: one array per name (the document's inputs and targets); loaded without
  pickle, so a data file can never run code.
- ``.npy``: a single array, for exactly one name.
- ``.csv``: a header row, then one numeric row per example. Columns are grouped into
  arrays by name: a column named ``x`` is the 1-D array ``x``; columns ``x_0``,
  ``x_1``, ... are the 2-D array ``x``. ``target_columns`` / ``input_columns`` pick
  columns explicitly instead. A file whose first row is all numbers has no header
  and holds one input, whole (the compiled module's rule). Cells are parsed
  strictly: an empty or non-numeric cell, a control character or a number in
  digits other than 0-9 is an error, never a silent NaN or a guess (``nan`` and
  ``inf`` spelled out are accepted, because the writer emits them); the rule is in
  docs/format.md#csv-data-files.

Only regular files are read, NumPy headers are checked against `MAX_DATA_ELEMENTS`
and the bytes stored before any array is allocated, and writers are atomic
(`nnspec.fileio`): a failed write never leaves half a file or clobbers the old one.
Floats are written in their shortest exact form, so a CSV round trip gives back the
same numbers after casting to the original dtype.

Every problem with a file raises `DataError`, whose message names the file and the fix.
The CSV dialect itself (parsing, column grouping, number formatting) is in `csvio.py`.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from nnspec.datasets.csvio import PYTHON_SPELLING, csv_arrays, csv_text, parse_csv
from nnspec.datasets.errors import DataError, PathLike
from nnspec.fileio import (
    ArrayFileError,
    Writer,
    load_npy,
    npz_names,
    numpy_kind,
    open_regular,
    read_npz,
    write_atomic,
    write_npz,
)

__all__ = ["EXTENSIONS", "DataError", "encode_arrays", "load_arrays", "save_arrays"]

EXTENSIONS: tuple[str, ...] = (".npz", ".npy", ".csv")
"""The data file formats understood by `load_arrays` and `save_arrays`."""

MAX_DATA_ELEMENTS = 500_000_000
"""The most elements one data file may hold (4 GB of float64); checked from headers."""


# --------------------------------------------------------------------------- loading


def load_arrays(
    path: PathLike,
    *,
    inputs: Sequence[str],
    targets: Sequence[str] | None = None,
    target_columns: Sequence[str] | None = None,
    input_columns: Sequence[str] | None = None,
    ranks: Mapping[str, int] | None = None,
    spelling: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Load the arrays named by `inputs` and `targets` from a .npz, .npy or .csv file.

    The result has the inputs first, then the targets, in the order given. NumPy
    files keep their dtypes; CSV data comes back as float64 (cast it to the
    document's dtype). `target_columns` and `input_columns` are for CSV only: they
    pick the columns of the single target / single input; with `target_columns` alone
    the remaining columns form the input. `ranks` gives the declared rank of names
    whose CSV layout is ambiguous: a single column for a rank-1 name (``[batch]``
    class labels) is 1-D, a lone 1-D column for a rank-2 name is ``[n, 1]``.
    `spelling` maps ``"target_columns"`` / ``"input_columns"`` to the caller's own
    names for them (a CLI's ``--target``), used in error messages.
    """
    inputs = _names("inputs", inputs)
    targets = _names("targets", targets or [])
    wanted = inputs + targets
    if not wanted:
        raise ValueError("load_arrays needs at least one input or target name")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"load_arrays got a name twice: {wanted}")
    ext = _extension(path)
    _check_readable(path)
    if ext == ".csv":
        header, table = _read_csv(path)
        return csv_arrays(
            path, header, table, inputs, targets, target_columns, input_columns, ranks, spelling
        )
    if target_columns is not None or input_columns is not None:
        spell = {**PYTHON_SPELLING, **(spelling or {})}
        raise DataError(
            path,
            f"{spell['target_columns']} and {spell['input_columns']} apply only to .csv files; "
            f"a {ext} file holds whole arrays by name, so leave the column options out",
        )
    if ext == ".npy":
        return _load_npy(path, wanted)
    return _load_npz(path, wanted)


def _names(what: str, names: Sequence[str]) -> list[str]:
    if isinstance(names, str):  # a lone string would be read as a list of letters
        raise TypeError(f"{what} must be a list of names, not the string {names!r}")
    names = list(names)
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{what} must hold non-empty strings, got {name!r}")
    return names


def _extension(path: PathLike) -> str:
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        shown = repr(ext) if ext else "no extension"
        raise DataError(
            path,
            f"unsupported data file type ({shown}); use a .npz, .npy or .csv file",
        )
    return ext


def _check_readable(path: PathLike) -> None:
    p = Path(path)
    if not p.exists():
        raise DataError(path, "file not found; check the path (relative to the current folder)")
    if p.is_dir():
        raise DataError(path, "is a folder, not a data file; give the path of the file itself")


def _load_npy(path: PathLike, wanted: list[str]) -> dict[str, np.ndarray]:
    if len(wanted) != 1:
        raise DataError(
            path,
            f"a .npy file holds one array, but {len(wanted)} are needed "
            f"({', '.join(wanted)}); put them in one .npz file (one key each) or a .csv file",
        )
    with _numpy_errors(path, ".npy"):
        if numpy_kind(path) == ".npz":
            raise DataError(path, "is an .npz archive, not a .npy array; rename it to .npz")
        return {wanted[0]: load_npy(path, max_elements=MAX_DATA_ELEMENTS)}


def _load_npz(path: PathLike, wanted: list[str]) -> dict[str, np.ndarray]:
    with _numpy_errors(path, ".npz"):
        kind = numpy_kind(path)
        if kind == ".npy":
            raise DataError(path, "is a single .npy array, not an .npz archive; rename it to .npy")
        if kind is None:
            raise ArrayFileError(os.fspath(path), "it is not a zip archive")
        available = sorted(npz_names(path))
        missing = [name for name in wanted if name not in available]
        if missing:
            listing = ", ".join(repr(k) for k in available) or "none"
            close = difflib.get_close_matches(missing[0], available, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataError(
                path,
                f"has no array named {missing[0]!r}{hint} (available: {listing}); "
                "save the arrays under the names of the document's inputs and targets",
            )
        arrays = read_npz(path, max_elements=MAX_DATA_ELEMENTS, wanted=set(wanted).__contains__)
    return {name: arrays[name] for name in wanted}


@contextlib.contextmanager
def _numpy_errors(path: PathLike, ext: str) -> Iterator[None]:
    """Turns what reading a NumPy file can raise into a `DataError` naming the file."""
    try:
        yield
    except ArrayFileError as exc:
        detail = str(exc).removeprefix(f"{os.fspath(path)}: ")  # keeps a member's name
        raise DataError(
            path,
            f"is not a valid NumPy {ext} file ({detail}); "
            "write it with numpy.save / numpy.savez (no object arrays)",
        ) from None
    except PermissionError:
        raise DataError(path, "permission denied; make the file readable") from None
    except OSError as exc:
        raise DataError(path, exc.strerror or str(exc)) from None


def _read_csv(path: PathLike) -> tuple[list[str] | None, np.ndarray]:
    """Parse a numeric CSV into (column names or None, float64 [rows, columns])."""
    try:
        with open_regular(path) as raw:
            return parse_csv(path, io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
    except UnicodeDecodeError as exc:
        raise DataError(path, f"is not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    except csv.Error as exc:
        raise DataError(path, f"is not valid CSV ({exc}); check the quoting") from exc
    except PermissionError as exc:
        raise DataError(path, "permission denied; make the file readable") from exc
    except OSError as exc:
        raise DataError(path, exc.strerror or str(exc)) from exc


# --------------------------------------------------------------------------- saving


def save_arrays(path: PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to a .npz, .npy (exactly one array) or .csv file, atomically.

    CSV gets a header row; a 1-D array is one column named after it, a 2-D array
    ``x`` becomes columns ``x_0``, ``x_1``, ... — the layout `load_arrays` reads back.
    """
    ext = _extension(path)
    content = _content(path, ext, arrays)
    folder = Path(path).parent
    if not folder.is_dir():
        raise DataError(path, f"folder {os.fspath(folder)!r} does not exist; create it first")
    try:
        write_atomic(path, content)
    except OSError as exc:
        raise DataError(
            path, f"cannot write the file ({exc.strerror or exc}); check the path and permissions"
        ) from exc


def encode_arrays(ext: str, arrays: Mapping[str, np.ndarray], *, where: str) -> bytes:
    """The bytes `save_arrays` would write to a file of extension `ext`, for a stream
    such as standard output; `where` names that stream in messages."""
    content = _content(where, ext, arrays)
    if isinstance(content, str):
        return content.encode("utf-8")
    buffer = io.BytesIO()
    content(buffer)
    return buffer.getvalue()


def _content(path: PathLike, ext: str, arrays: Mapping[str, np.ndarray]) -> Writer | str:
    """The file's text (CSV) or a function writing its bytes, after every check."""
    if not arrays:
        raise DataError(path, "nothing to write; pass at least one array")
    arrays = {str(name): np.asarray(a) for name, a in arrays.items()}
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise DataError(
                path,
                f"array {name!r} has dtype object, which cannot be saved without pickle; "
                "convert it to a numeric dtype",
            )
    if ext == ".npy":
        if len(arrays) != 1:
            raise DataError(
                path,
                f"a .npy file holds one array, but {len(arrays)} were given "
                f"({', '.join(arrays)}); write a .npz or .csv file instead",
            )
        (array,) = arrays.values()
        return lambda f: np.save(f, array, allow_pickle=False)
    if ext == ".npz":
        return lambda f: write_npz(f, arrays)
    return csv_text(path, arrays)
