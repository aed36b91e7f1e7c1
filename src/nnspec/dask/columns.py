"""Table columns <-> model inputs and outputs, by the rule `nnspec run` uses for CSV.

A column named ``x`` is the 1-D input ``x``; columns ``x_0``, ``x_1``, ... form the
2-D input ``x``; a one-input model with no such columns takes every column. Outputs
are laid out the same way (``prob`` 1-D, ``prob_0``... 2-D). The rule itself lives
in `nnspec.datasets.csvio`; this module applies it to column *names*, so a
DataFrame, a Parquet file and a CSV file map alike, with the same error messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnspec.dask.scorer import Port
from nnspec.datasets.csvio import INDEXED, csv_arrays
from nnspec.datasets.errors import PathLike


def input_columns(
    where: PathLike,
    header: Sequence[str],
    inputs: Sequence[str],
    targets: Sequence[str] = (),
    *,
    target_columns: Sequence[str] | None = None,
    ranks: Mapping[str, int] | None = None,
) -> dict[str, str | list[str]]:
    """Name -> its column (1-D) or list of columns (2-D), for `inputs` then `targets`.

    Runs the CSV grouping rule on a one-row table of column *indices*, so the
    columns it picks, its ambiguity checks and its messages are exactly the CSV
    ones (`target_columns` and `ranks` as for `nnspec.datasets.load_arrays`);
    DataError names `where`.
    """
    header = [str(h) for h in header]
    indices = np.arange(len(header), dtype=np.float64)[None, :]
    picked = csv_arrays(
        where, header, indices, list(inputs), list(targets), target_columns, None, ranks
    )
    return {
        name: header[int(a[0])] if a.ndim == 1 else [header[int(i)] for i in a[0]]
        for name, a in picked.items()
    }


def output_columns(outputs: Sequence[Port], widths: Mapping[str, tuple[int, ...]]) -> list[str]:
    """Column names for the outputs: ``name`` when 1-D, ``name_0``, ... when 2-D."""
    names: list[str] = []
    for port in outputs:
        dims = widths[port.name]
        if len(dims) > 1:
            raise ValueError(
                f"output {port.name!r} has shape {list(port.shape)}; a table holds 1-D or 2-D "
                "outputs only (score a dask array instead)"
            )
        if dims:
            names += [INDEXED.format(port.name, j) for j in range(dims[0])]
        else:
            names.append(port.name)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two outputs both produce the column {dup!r}; rename one of them")
    return names


def gather(
    where: PathLike, table: Any, columns: Mapping[str, str | list[str]]
) -> dict[str, np.ndarray]:
    """The input arrays from `table` (anything indexable by column name, giving arrays)."""
    arrays = {}
    for name, picked in columns.items():
        group = [picked] if isinstance(picked, str) else picked
        parts = [_numeric(where, column, table[column]) for column in group]
        arrays[name] = parts[0] if isinstance(picked, str) else np.column_stack(parts)
    return arrays


def spread(columns: Sequence[str], outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Output arrays by column name, in the order of `columns`."""
    flat: list[np.ndarray] = []
    for array in outputs.values():
        flat += [array] if array.ndim == 1 else [array[:, j] for j in range(array.shape[1])]
    return dict(zip(columns, flat, strict=True))


def _numeric(where: PathLike, column: str, values: Any) -> np.ndarray:
    from nnspec.datasets.errors import DataError

    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise DataError(
            where,
            f"column {column!r} holds {getattr(values, 'dtype', array.dtype)} values; "
            "the model needs numbers (without missing values)",
        )
    return array
