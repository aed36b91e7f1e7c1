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
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnspec.errors import did_you_mean

__all__ = ["EXTENSIONS", "DataError", "load_arrays", "save_arrays"]

PathLike = str | os.PathLike[str]

EXTENSIONS: tuple[str, ...] = (".npz", ".npy", ".csv")
"""The data file formats understood by `load_arrays` and `save_arrays`."""

# A plain decimal number, or nan/inf spelled out. Stricter than float(), which also
# takes "1_000", surrounding whitespace inside quotes and other surprises.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)", re.IGNORECASE
)
_INDEXED = "{}_{}"  # 2-D array column names: <name>_<column index>


class DataError(ValueError):
    """A data file is missing, malformed or does not hold what was asked for."""

    def __init__(self, path: PathLike, message: str):
        self.path = os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


# --------------------------------------------------------------------------- loading


def load_arrays(
    path: PathLike,
    *,
    inputs: Sequence[str],
    targets: Sequence[str] | None = None,
    target_columns: Sequence[str] | None = None,
    input_columns: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Load the arrays named by `inputs` and `targets` from a .npz, .npy or .csv file.

    The result has the inputs first, then the targets, in the order given. NumPy
    files keep their dtypes; CSV data comes back as float64 (cast it to the
    document's dtype). `target_columns` and `input_columns` are for CSV only: they
    pick the columns of the single target / single input; with `target_columns` alone
    the remaining columns form the input.
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
        return _load_csv(path, inputs, targets, target_columns, input_columns)
    if target_columns is not None or input_columns is not None:
        raise DataError(
            path,
            "target_columns and input_columns apply only to .csv files; "
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


def _load_csv(
    path: PathLike,
    inputs: list[str],
    targets: list[str],
    target_columns: Sequence[str] | None,
    input_columns: Sequence[str] | None,
) -> dict[str, np.ndarray]:
    header, table = _read_csv(path)
    column = {name: i for i, name in enumerate(header)}
    chosen: dict[str, list[int]] = {}  # array name -> column indices, for explicit options
    if target_columns is not None:
        chosen.update(_option_columns(path, "target_columns", target_columns, targets, column))
    if input_columns is not None:
        chosen.update(_option_columns(path, "input_columns", input_columns, inputs, column))
    if target_columns is not None and input_columns is not None:
        overlap = set(target_columns) & set(input_columns)
        if overlap:
            raise DataError(
                path,
                f"column(s) {', '.join(sorted(map(repr, overlap)))} are in both "
                "input_columns and target_columns; give each column one role",
            )
    if target_columns is not None and input_columns is None:
        # The remaining columns form the (single) input.
        if len(inputs) != 1:
            raise DataError(
                path,
                f"target_columns leaves the other columns for one input, but {len(inputs)} "
                f"inputs are needed ({', '.join(inputs)}); pick them with input_columns",
            )
        taken = set(chosen[targets[0]])
        rest = [i for i in range(len(header)) if i not in taken]
        if not rest:
            raise DataError(
                path,
                "target_columns takes every column, leaving none for the input; "
                "list only the target's columns",
            )
        chosen[inputs[0]] = rest

    result: dict[str, np.ndarray] = {}
    for name in inputs + targets:
        if name in chosen:
            result[name] = np.ascontiguousarray(table[:, chosen[name]])
            continue
        found = _named_columns(path, name, column)
        if found is not None:
            result[name] = found(table)
        elif len(inputs) == 1 and not targets and input_columns is None:
            result[name] = table  # one input and nothing else: every column belongs to it
        else:
            listing = ", ".join(repr(h) for h in header)
            raise DataError(
                path,
                f"has no column for {name!r} (columns: {listing}); name the columns "
                f"{name!r} or {_INDEXED.format(name, 0)!r}, {_INDEXED.format(name, 1)!r}, ..., "
                "or choose them with input_columns / target_columns",
            )
    return result


def _option_columns(
    path: PathLike,
    option: str,
    names: Sequence[str],
    owners: list[str],
    column: dict[str, int],
) -> dict[str, list[int]]:
    """Resolve `target_columns` / `input_columns` to column indices of the one owner."""
    role = "target" if option == "target_columns" else "input"
    if isinstance(names, str):
        raise TypeError(f"{option} must be a list of column names, not the string {names!r}")
    names = list(names)
    if len(owners) != 1:
        count = f"{len(owners)} {role}s ({', '.join(owners)})" if owners else f"no {role}"
        raise DataError(
            path,
            f"{option} picks the columns of exactly one {role}, but the document has "
            f"{count}; leave {option} out or use a .npz file with one array per name",
        )
    if not names:
        raise DataError(path, f"{option} is empty; list at least one column name")
    seen: set[str] = set()
    for name in names:
        if name not in column:
            raise DataError(
                path,
                f"{option} names {name!r}, which is not a column{did_you_mean(name, column)}",
            )
        if name in seen:
            raise DataError(path, f"{option} names {name!r} twice; list each column once")
        seen.add(name)
    return {owners[0]: [column[n] for n in names]}


def _named_columns(
    path: PathLike, name: str, column: dict[str, int]
) -> Callable[[np.ndarray], np.ndarray] | None:
    """Find `name` (1-D) or `name_0`, `name_1`, ... (2-D) the way `save_arrays` writes them."""
    pattern = re.compile(re.escape(name) + r"_(0|[1-9]\d*)")
    indexed = {int(m.group(1)): i for h, i in column.items() if (m := pattern.fullmatch(h))}
    if name in column and indexed:
        raise DataError(
            path,
            f"both a column {name!r} and columns {_INDEXED.format(name, '<i>')!r} exist, "
            "so the array is ambiguous; rename one of them or pick columns explicitly",
        )
    if name in column:
        return lambda table: np.ascontiguousarray(table[:, column[name]])
    if not indexed:
        return None
    if sorted(indexed) != list(range(len(indexed))):
        gap = min(set(range(len(indexed) + 1)) - set(indexed))
        raise DataError(
            path,
            f"columns for {name!r} skip {_INDEXED.format(name, gap)!r}; number them "
            f"{_INDEXED.format(name, 0)!r}, {_INDEXED.format(name, 1)!r}, ... without gaps",
        )
    order = [indexed[k] for k in range(len(indexed))]
    return lambda table: np.ascontiguousarray(table[:, order])


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


def _parse_csv(path: PathLike, f: IO[str]) -> tuple[list[str], np.ndarray]:
    reader = csv.reader(f, strict=True, skipinitialspace=True)
    header = next(reader, None)
    if header is None or not header:
        raise DataError(path, "is empty; a CSV data file starts with a header row of column names")
    header = [h.strip() for h in header]
    for j, h in enumerate(header, start=1):
        if not h:
            raise DataError(path, f"line 1, column {j}: empty column name; name every column")
        if _NUMBER.fullmatch(h):
            raise DataError(
                path,
                f"line 1, column {j}: the first row looks like data ({h!r}), not column "
                "names; add a header row",
            )
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise DataError(path, f"line 1: column name {dup!r} appears twice; rename one of them")

    rows: list[list[float]] = []
    blank_at: int | None = None  # a blank line is fine only if nothing follows it
    for cells in reader:
        if not cells:
            blank_at = blank_at or reader.line_num
            continue
        if blank_at is not None:
            raise DataError(path, f"line {blank_at} is blank; remove blank lines between rows")
        if len(cells) != len(header):
            raise DataError(
                path,
                f"line {reader.line_num} has {len(cells)} cell(s) but the header has "
                f"{len(header)} column(s); give every row one value per column",
            )
        rows.append([_number(path, reader.line_num, j, header, c) for j, c in enumerate(cells)])
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(header))
    return header, table


def _number(path: PathLike, line: int, j: int, header: list[str], cell: str) -> float:
    text = cell.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    where = f"line {line}, column {j + 1} ({header[j]!r})"
    if not text:
        raise DataError(
            path, f"{where} is empty; fill in a number (missing values are not allowed)"
        )
    raise DataError(path, f"{where}: {cell!r} is not a number; use plain decimal numbers")


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


def _csv_text(path: PathLike, arrays: dict[str, np.ndarray]) -> str:
    header: list[str] = []
    columns: list[list[str]] = []
    rows: int | None = None
    for name, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise DataError(
                path,
                f"array {name!r} has dtype {a.dtype}, which CSV cannot hold; "
                "write numbers only, or use .npz",
            )
        if a.ndim not in (1, 2):
            raise DataError(
                path,
                f"array {name!r} has shape {list(a.shape)}; CSV holds 1-D or 2-D arrays "
                "(reshape it, or use .npz)",
            )
        if rows is not None and a.shape[0] != rows:
            raise DataError(
                path,
                f"array {name!r} has {a.shape[0]} rows but the one before has {rows}; "
                "CSV columns must all have the same length (use .npz)",
            )
        rows = a.shape[0]
        if a.ndim == 1:
            header.append(name)
            columns.append(_format_column(a))
        else:
            if a.shape[1] == 0:
                raise DataError(path, f"array {name!r} has no columns; CSV cannot hold it")
            for j in range(a.shape[1]):
                header.append(_INDEXED.format(name, j))
                columns.append(_format_column(a[:, j]))
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise DataError(
            path, f"two arrays both produce the column {dup!r}; rename one of the arrays"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    return out.getvalue()


def write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """What numpy.savez writes, without its keyword clashes (an array named "file")
    and without its clock: members carry a fixed date, so equal arrays give equal bytes."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(a), allow_pickle=False)


def _format_column(values: np.ndarray) -> list[str]:
    """Shortest text that reads back to exactly these values (after a cast to their dtype)."""
    if values.dtype.kind in "biu":
        return [str(int(v)) for v in values.tolist()]
    if values.dtype == np.float64:
        return [repr(v) for v in values.tolist()]  # Python's repr is shortest round-trip
    texts = [str(v) for v in values]  # shortest for the array's own dtype (e.g. float32)
    back = np.array([float(t) for t in texts], dtype=np.float64).astype(values.dtype)
    exact = (back == values) | (np.isnan(back) & np.isnan(values))
    # Reading goes through float64 first; where that double rounding misses, write the
    # value's exact float64 form instead.
    wide = values.astype(np.float64).tolist()
    return [t if ok else repr(w) for t, ok, w in zip(texts, exact.tolist(), wide, strict=True)]


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
