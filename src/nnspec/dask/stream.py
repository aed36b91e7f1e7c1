"""Partitions for streaming training: Dask collections and file sets as loaders.

`nnspec.train(model, data=partitions(model, frame))` streams a Dask DataFrame (or a
dict of Dask arrays) through the trainer's shuffle buffer one partition at a time
(`nnspec.interpreter.stream`); `file_partitions` does the same for a set of
Parquet, CSV or NumPy files (what ``nnspec train --data 'big/*.parquet'`` uses).
Each loader computes or reads its partition only when the stream reaches it, and
maps columns to inputs and target by the rule of `nnspec run` / `nnspec train`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnspec.dask.columns import gather, input_columns
from nnspec.dask.files import FORMATS, read_parquet
from nnspec.datasets.files import load_arrays
from nnspec.interpreter.model import Model
from nnspec.interpreter.train import feed_names
from nnspec.ir import Graph

Loader = Callable[[], dict[str, np.ndarray]]


def partitions(
    model: Model | Graph, data: Any, *, target_columns: Sequence[str] | None = None
) -> list[Loader]:
    """One loader per partition of a Dask DataFrame, or per row chunk of a dict of
    Dask arrays by input/target name."""
    names, ranks, features, target = _names(model)
    import dask
    import dask.dataframe as dd

    if isinstance(data, dd.DataFrame):
        mapping = input_columns(
            "the DataFrame",
            list(data.columns),
            features,
            [target] if target else [],
            target_columns=target_columns,
            ranks=ranks,
        )
        return [functools.partial(_frame_part, part, mapping) for part in data.to_delayed()]
    if not isinstance(data, Mapping):
        raise TypeError(
            f"data must be a Dask DataFrame or a dict of Dask arrays by name, got {type(data)}"
        )
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f"data has no array for {missing}; give one per name in {names}")
    first = data[names[0]]
    blocks = {
        n: data[n].rechunk((first.chunks[0], *(-1,) * (data[n].ndim - 1))).to_delayed().reshape(-1)
        for n in names
    }
    return [
        functools.partial(_array_part, dask.compute, {n: b[i] for n, b in blocks.items()})
        for i in range(len(first.chunks[0]))
    ]


def file_partitions(
    model: Model | Graph,
    paths: Sequence[str],
    *,
    target_columns: Sequence[str] | None = None,
    input_columns: Sequence[str] | None = None,
) -> list[Loader]:
    """One loader per file (.parquet, .csv, .npy, .npz), read when the stream reaches it."""
    _, ranks, features, target = _names(model)
    targets = [target] if target else []
    loaders: list[Loader] = []
    for path in paths:
        ext = Path(path).suffix.lower()
        if ext not in FORMATS:
            raise ValueError(f"{path}: use .parquet, .csv, .npy or .npz partitions")
        if ext == ".parquet":
            if input_columns is not None:
                raise ValueError("--input-columns applies to CSV partitions only")
            loaders.append(
                functools.partial(
                    read_parquet,
                    path,
                    features,
                    targets,
                    target_columns=target_columns,
                    ranks=ranks,
                )
            )
        else:
            loaders.append(
                functools.partial(
                    load_arrays,
                    path,
                    inputs=features,
                    targets=targets,
                    target_columns=target_columns,
                    input_columns=input_columns,
                    ranks=ranks,
                )
            )
    return loaders


def _names(model: Model | Graph) -> tuple[list[str], dict[str, int], list[str], str | None]:
    model = model if isinstance(model, Model) else Model(model)
    features, target = feed_names(model)
    names = [*features, *([target] if target else [])]
    types = model.graph.types()
    return names, {n: types[n].rank for n in names}, features, target


def _frame_part(part: Any, mapping: dict[str, Any]) -> dict[str, np.ndarray]:
    return gather("a DataFrame partition", part.compute(), mapping)


def _array_part(compute: Callable[..., Any], blocks: dict[str, Any]) -> dict[str, np.ndarray]:
    values = compute(*blocks.values())
    return dict(zip(blocks, values, strict=True))
