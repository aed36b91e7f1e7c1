"""The strict CSV dialect of the data files, for `files.py` and `nnspec.dask.columns`.

Reading: `parse_csv` turns text with an optional header row into column names and
a float64 table, refusing empty or non-numeric cells; `csv_arrays` groups the
columns into the named arrays (``x`` is 1-D, ``x_0``, ``x_1``, ... form a 2-D ``x``,
or the columns picked by ``input_columns`` / ``target_columns``; a header-less table
is the single input, whole). Writing: `csv_text` lays arrays out the same way,
with floats in their shortest exact form (`_format_column`). Opening files and
writing them atomically is `files.py`'s job.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import IO

import numpy as np

from nnspec.datasets.errors import DataError, PathLike
from nnspec.errors import did_you_mean

# A plain decimal number in ASCII digits, or nan/inf spelled out. Stricter than float(),
# which also takes "1_000", other scripts' digits ("١٢", "１２") and surrounding Unicode
# spaces; re.ASCII also keeps IGNORECASE from matching "ınf" (dotless i), which float()
# refuses.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)",
    re.IGNORECASE | re.ASCII,
)
# The same decimal shape in any script's digits: a cell that matches it but not _NUMBER
# is a number written in other digits, refused as such rather than read as a name.
_OTHER_DIGITS = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# Control characters (Unicode category Cc) other than tab, CR and LF, which CSV may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK = " \t\r\n"  # the spaces stripped from around a cell (no other Unicode spaces)
INDEXED = "{}_{}"  # 2-D array column names: <name>_<column index>
PYTHON_SPELLING = {"target_columns": "target_columns", "input_columns": "input_columns"}


def csv_arrays(
    path: PathLike,
    header: list[str] | None,
    table: np.ndarray,
    inputs: list[str],
    targets: list[str],
    target_columns: Sequence[str] | None,
    input_columns: Sequence[str] | None,
    ranks: Mapping[str, int] | None = None,
    spelling: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """The arrays `inputs` and `targets` from a CSV's `header` and float64 `table`.

    `ranks` (the declared rank of a name, when known) settles what the header cannot:
    one column for a rank-1 name (``[batch]`` class labels) is a 1-D array, a lone
    1-D column for a rank-2 name is an ``[n, 1]`` array. `spelling` says how the caller
    spells ``target_columns`` / ``input_columns`` (``--target`` on the command line),
    so every hint names an option the reader can actually use.
    """
    spell = {**PYTHON_SPELLING, **(spelling or {})}
    target_opt, input_opt = spell["target_columns"], spell["input_columns"]
    if header is None:
        picked = [o for o, v in ((target_opt, target_columns), (input_opt, input_columns)) if v]
        return _unnamed(path, table, inputs, targets, ranks, picked)
    column = {name: i for i, name in enumerate(header)}
    chosen: dict[str, list[int]] = {}  # array name -> column indices, for explicit options
    if target_columns is not None:
        chosen.update(_option_columns(path, target_opt, "target", target_columns, targets, column))
    if input_columns is not None:
        chosen.update(_option_columns(path, input_opt, "input", input_columns, inputs, column))
    if target_columns is not None and input_columns is not None:
        overlap = set(target_columns) & set(input_columns)
        if overlap:
            raise DataError(
                path,
                f"column(s) {', '.join(sorted(map(repr, overlap)))} are in both "
                f"{input_opt} and {target_opt}; give each column one role",
            )
    if target_columns is not None and input_columns is None:
        # The remaining columns form the (single) input.
        if len(inputs) != 1:
            raise DataError(
                path,
                f"{target_opt} leaves the other columns for one input, but {len(inputs)} "
                f"inputs are needed ({', '.join(inputs)}); pick them with {input_opt}",
            )
        taken = set(chosen[targets[0]])
        rest = [i for i in range(len(header)) if i not in taken]
        if not rest:
            raise DataError(
                path,
                f"{target_opt} takes every column, leaving none for the input; "
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
                f"{name!r} or {INDEXED.format(name, 0)!r}, {INDEXED.format(name, 1)!r}, ..., "
                f"or choose them with {target_opt if name in targets else input_opt}",
            )
    for name, rank in (ranks or {}).items():
        a = result.get(name)
        if a is not None and rank == 1 and a.ndim == 2 and a.shape[1] == 1:
            result[name] = np.ascontiguousarray(a[:, 0])
        elif a is not None and rank == 2 and a.ndim == 1:
            result[name] = a.reshape(-1, 1)
    return result


def _unnamed(
    path: PathLike,
    table: np.ndarray,
    inputs: list[str],
    targets: list[str],
    ranks: Mapping[str, int] | None,
    picked: list[str],
) -> dict[str, np.ndarray]:
    """A header-less table: every column is the single input's, as the compiled module
    reads it; anything else has no column names to go by."""
    if picked:
        raise DataError(
            path,
            f"has no header row (line 1 is numbers), so {' and '.join(picked)} has no "
            "column names to pick; add a header row naming the columns",
        )
    if len(inputs) != 1 or targets:
        wanted = inputs + targets
        first = wanted[0]
        raise DataError(
            path,
            "has no header row (line 1 is numbers), so no column says which of "
            f"{', '.join(map(repr, wanted))} it holds; add a header row naming the columns "
            f"({INDEXED.format(first, 0)!r}, {INDEXED.format(first, 1)!r}, ...)",
        )
    if (ranks or {}).get(inputs[0]) == 1 and table.shape[1] == 1:
        return {inputs[0]: np.ascontiguousarray(table[:, 0])}
    return {inputs[0]: table}


def _option_columns(
    path: PathLike,
    option: str,
    role: str,
    names: Sequence[str],
    owners: list[str],
    column: dict[str, int],
) -> dict[str, list[int]]:
    """Resolve `target_columns` / `input_columns` (spelt `option`) to column indices of
    the one owner, the `role` ("target" or "input")."""
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
    pattern = re.compile(re.escape(name) + r"_(0|[1-9][0-9]*)")
    indexed = {int(m.group(1)): i for h, i in column.items() if (m := pattern.fullmatch(h))}
    if name in column and indexed:
        raise DataError(
            path,
            f"both a column {name!r} and columns {INDEXED.format(name, '<i>')!r} exist, "
            "so the array is ambiguous; rename one of them",
        )
    if name in column:
        return lambda table: np.ascontiguousarray(table[:, column[name]])
    if not indexed:
        return None
    if sorted(indexed) != list(range(len(indexed))):
        gap = min(set(range(len(indexed) + 1)) - set(indexed))
        raise DataError(
            path,
            f"columns for {name!r} skip {INDEXED.format(name, gap)!r}; number them "
            f"{INDEXED.format(name, 0)!r}, {INDEXED.format(name, 1)!r}, ... without gaps",
        )
    order = [indexed[k] for k in range(len(indexed))]
    return lambda table: np.ascontiguousarray(table[:, order])


def parse_csv(path: PathLike, f: IO[str]) -> tuple[list[str] | None, np.ndarray]:
    """Column names (None for a header-less file) and the float64 table.

    The header rule, shared with the compiled module's reader (``_csv_table`` in
    ``module.py.j2``; a test feeds both the same files): a first row whose non-empty
    cells are all numbers is data, one with no number is the header, and a row that
    mixes names and numbers is refused, because either reading of it is a guess.
    """
    reader = csv.reader(f, strict=True, skipinitialspace=True)
    first = next(reader, None)
    if not first:
        raise DataError(
            path, "is empty; a CSV data file holds a row per example, after an optional header row"
        )
    for j, cell in enumerate(first, start=1):
        if _CONTROL.search(cell) or _in_other_digits(cell.strip(_BLANK)):
            raise DataError(path, f"line 1, column {j}: {_refusal(cell)}")
    cells = [c.strip(_BLANK) for c in first]
    numbers = [j for j, c in enumerate(cells, start=1) if _NUMBER.fullmatch(c)]
    names = [j for j, c in enumerate(cells, start=1) if c and not _NUMBER.fullmatch(c)]
    if numbers and names:
        raise DataError(
            path,
            f"line 1 mixes column names and numbers (column {names[0]}: {cells[names[0] - 1]!r}, "
            f"column {numbers[0]}: {cells[numbers[0] - 1]!r}); a header row holds only names, "
            "a data row only numbers",
        )
    header = None if numbers else cells
    if header is not None:
        for j, h in enumerate(header, start=1):
            if not h:
                raise DataError(path, f"line 1, column {j}: empty column name; name every column")
        if len(set(header)) != len(header):
            dup = next(h for h in header if header.count(h) > 1)
            raise DataError(path, f"line 1: column name {dup!r} appears twice; rename one of them")
    width, what = (len(first), "line 1 has") if header is None else (len(header), "the header has")
    rows: list[list[float]] = []
    blank_at: int | None = None  # a blank line is fine only if nothing follows it
    for cells in itertools.chain([first] if header is None else [], reader):
        if not cells:
            blank_at = blank_at or reader.line_num
            continue
        if blank_at is not None:
            raise DataError(path, f"line {blank_at} is blank; remove blank lines between rows")
        if len(cells) != width:
            raise DataError(
                path,
                f"line {reader.line_num} has {len(cells)} cell(s) but {what} {width} "
                "column(s); give every row one value per column",
            )
        rows.append([_number(path, reader.line_num, j, header, c) for j, c in enumerate(cells)])
    table = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    return header, table


def _number(path: PathLike, line: int, j: int, header: list[str] | None, cell: str) -> float:
    text = cell.strip(_BLANK)
    if _NUMBER.fullmatch(text):
        return float(text)
    where = f"line {line}, column {j + 1}" + (f" ({header[j]!r})" if header else "")
    if not text:
        raise DataError(
            path, f"{where} is empty; fill in a number (missing values are not allowed)"
        )
    raise DataError(path, f"{where}: {_refusal(cell)}")


def _in_other_digits(text: str) -> bool:
    return _OTHER_DIGITS.fullmatch(text) is not None and _NUMBER.fullmatch(text) is None


def _refusal(cell: str) -> str:
    """Why `cell`, no plain number, is refused: a control character (a NUL from a binary
    file), a number in other digits than 0-9, or anything else."""
    control = _CONTROL.search(cell)
    if control is not None:
        code = ord(control.group())
        return f"{cell!r} holds the control character U+{code:04X}; remove it"
    if _in_other_digits(cell.strip(_BLANK)):
        return f"{cell!r} is written in digits other than 0-9; use the digits 0-9"
    return f"{cell!r} is not a number; use plain decimal numbers"


def csv_text(path: PathLike, arrays: dict[str, np.ndarray]) -> str:
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
                header.append(INDEXED.format(name, j))
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
