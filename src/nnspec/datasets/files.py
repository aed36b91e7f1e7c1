"""Reading and writing the arrays that the `train`, `run` and `data` commands use.

Three formats, chosen by the file's extension:

- ``.npz``: one array per name (the document's inputs and targets); loaded without
  pickle, so a data file can never run code.
- ``.npy``: a single array, for exactly one name.
- ``.csv``: a header row, then one numeric row per example. Columns are grouped into
  arrays by name: a column named ``x`` is the 1-D array ``x``; columns ``x_0``,
  ``x_1``, ... are the 2-D array ``x``. ``target_columns`` / ``input_columns`` pick
  columns explicitly instead. Cells are parsed strictly: an empty or non-numeric cell
  is an error, never a silent NaN (``nan`` and ``inf`` spelled out are accepted,
  because the writer emits them).

Writers are atomic: the data goes to a temporary file in the target's folder, which
then replaces the target in one step, so a failed write never leaves half a file or
clobbers the old one. Floats are written in their shortest exact form, so a CSV round
trip gives back the same numbers after casting to the original dtype.

Every problem with a file raises `DataError`, whose message names the file and the fix.
The CSV dialect itself (parsing, column grouping, number formatting) is in `csvio.py`.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import os
import secrets
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnspec.datasets.csvio import _PYTHON_SPELLING, _csv_arrays, _csv_text, _parse_csv
from nnspec.datasets.errors import DataError, PathLike

__all__ = ["EXTENSIONS", "DataError", "load_arrays", "save_arrays"]

EXTENSIONS: tuple[str, ...] = (".npz", ".npy", ".csv")
"""The data file formats understood by `load_arrays` and `save_arrays`."""


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
        return _csv_arrays(
            path, header, table, inputs, targets, target_columns, input_columns, ranks, spelling
        )
    if target_columns is not None or input_columns is not None:
        spell = {**_PYTHON_SPELLING, **(spelling or {})}
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
    loaded = _np_load(path)
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise DataError(path, "is an .npz archive, not a .npy array; rename it to .npz")
    return {wanted[0]: loaded}


def _load_npz(path: PathLike, wanted: list[str]) -> dict[str, np.ndarray]:
    loaded = _np_load(path)
    if isinstance(loaded, np.ndarray):
        raise DataError(path, "is a single .npy array, not an .npz archive; rename it to .npy")
    with loaded:
        available = sorted(loaded.files)
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
        try:
            return {name: loaded[name] for name in wanted}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(path, f"cannot read an array ({exc}); write the file again") from exc


def _np_load(path: PathLike) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except PermissionError as exc:
        raise DataError(path, "permission denied; make the file readable") from exc
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # NumPy falls back to pickle for unknown content; refusing it ends up here.
        raise DataError(
            path,
            f"is not a valid NumPy {Path(path).suffix.lower()} file ({exc}); "
            "write it with numpy.save / numpy.savez (no object arrays)",
        ) from exc


def _read_csv(path: PathLike) -> tuple[list[str], np.ndarray]:
    """Parse a numeric CSV with a header into (column names, float64 [rows, columns])."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return _parse_csv(path, f)
    except UnicodeDecodeError as exc:
        raise DataError(path, f"is not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    except csv.Error as exc:
        raise DataError(path, f"is not valid CSV ({exc}); check the quoting") from exc
    except PermissionError as exc:
        raise DataError(path, "permission denied; make the file readable") from exc


# --------------------------------------------------------------------------- saving


def save_arrays(path: PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to a .npz, .npy (exactly one array) or .csv file, atomically.

    CSV gets a header row; a 1-D array is one column named after it, a 2-D array
    ``x`` becomes columns ``x_0``, ``x_1``, ... — the layout `load_arrays` reads back.
    """
    ext = _extension(path)
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
    folder = Path(path).parent
    if not folder.is_dir():
        raise DataError(path, f"folder {os.fspath(folder)!r} does not exist; create it first")
    if ext == ".npy":
        if len(arrays) != 1:
            raise DataError(
                path,
                f"a .npy file holds one array, but {len(arrays)} were given "
                f"({', '.join(arrays)}); write a .npz or .csv file instead",
            )
        (array,) = arrays.values()
        _atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))
    elif ext == ".npz":
        _atomic_write(path, lambda f: write_npz(f, arrays))
    else:
        text = _csv_text(path, arrays)
        _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """What numpy.savez writes, without its keyword clashes (an array named "file")
    and without its clock: members carry a fixed date, so equal arrays give equal bytes.

    Members are streamed; the size hint lets zipfile add Zip64 headers only to a member
    that needs them (numpy.savez forces them on all), so the bytes equal those of
    ``ZipFile.writestr``, the way a compiled module's ``save_weights`` writes.
    """
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in arrays.items():
            a = np.asarray(a)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.file_size = a.nbytes  # a hint (the .npy header is not counted); set on close
            with zf.open(info, "w") as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _atomic_write(path: PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Write via a temporary file in the same folder, then replace `path` in one step."""
    target = Path(path)
    # os.open with mode 0o666 lets the umask decide permissions, as for a plain open().
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise DataError(path, f"cannot write here ({exc.strerror}); check the folder") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise DataError(
                path,
                f"cannot write the file ({exc.strerror or exc}); check the path and permissions",
            ) from exc
        raise
