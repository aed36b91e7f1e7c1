"""`predict(model, data)`: a model mapped lazily over a Dask array or DataFrame.

Nothing is computed to build the result: output dtypes and shapes come from the
graph's types (`Scorer.outputs`), and the model travels to the workers once, as one
`dask.delayed` key every partition task depends on (a worker fetches it once and
unpickles it once, which rebuilds the engine). Each partition then runs
`Scorer.__call__` — the single-machine engine, in fixed row blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnspec.dask.columns import gather, input_columns, output_columns, spread
from nnspec.dask.scorer import DEFAULT_BLOCK_ROWS, Scorer


def predict(
    model: Any,
    data: Any,
    params: Mapping[str, np.ndarray] | None = None,
    *,
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
) -> Any:
    """Lazy outputs of `model` on `data`.

    `model`: a `Graph` (with `params`), a `nnspec.Model`, a compiled module, its
    source text, or a `Scorer`. `data`: a ``dask.array.Array`` with the rows on
    axis 0 (a dict of them by input name for several inputs), or a
    ``dask.dataframe.DataFrame`` whose columns map to inputs as in `nnspec run`.

    Returns, for arrays, one dask array per output (a dict when there are several),
    chunked like the input along axis 0; for a DataFrame, a DataFrame with the same
    index and one column per output column. Arrays chunked along other axes are
    merged to one chunk there first (those axes are read whole by every row).
    """
    scorer = _scorer(model, params, block_rows)
    import dask

    shipped = dask.delayed(scorer, pure=True, traverse=False)
    if _is_dataframe(data):
        return _predict_frame(scorer, shipped, data)
    return _predict_arrays(scorer, shipped, data)


def _scorer(model: Any, params: Any, block_rows: int | None) -> Scorer:
    if isinstance(model, Scorer):
        if params is not None:
            raise ValueError("params are part of the Scorer already; leave params out")
        return model
    return Scorer(model, params, block_rows=block_rows)


def _is_dataframe(data: Any) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without its dataframe extra: only arrays can come in
        return False
    return isinstance(data, dd.DataFrame)


# --------------------------------------------------------------------------- arrays


def _predict_arrays(scorer: Scorer, shipped: Any, data: Any) -> Any:
    import dask
    import dask.array as da

    arrays = _named_arrays(scorer, data)
    first = next(iter(arrays.values()))
    chunks = first.chunks[0]
    if any(np.isnan(c) for c in chunks):
        raise ValueError(
            "the rows' chunk sizes are unknown; call .compute_chunk_sizes() on the array first"
        )
    prepared = {}
    for port in scorer.inputs:
        a = arrays[port.name]
        if a.ndim != len(port.shape):
            raise ValueError(
                f"input {port.name!r}: expected rank {len(port.shape)} (shape "
                f"{list(port.shape)}), got a dask array of shape {list(a.shape)}"
            )
        if a.shape[0] != first.shape[0]:
            raise ValueError(
                f"input {port.name!r} has {a.shape[0]} rows, but the first input has "
                f"{first.shape[0]}; every input needs one row per example"
            )
        _check_dtype(port.name, a.dtype)
        prepared[port.name] = a.rechunk((chunks, *(-1,) * (a.ndim - 1)))
    widths = scorer.output_shapes({k: a.shape for k, a in prepared.items()})
    blocks = {k: a.to_delayed().reshape(-1) for k, a in prepared.items()}
    score = dask.delayed(_score_block, pure=True)
    pieces: dict[str, list[Any]] = {p.name: [] for p in scorer.outputs}
    offset = 0
    for i, rows in enumerate(chunks):
        scored = score(shipped, {k: b[i] for k, b in blocks.items()}, offset)
        for port in scorer.outputs:
            shape = (rows, *widths[port.name])
            meta = np.empty((0,) * len(shape), port.dtype)
            pieces[port.name].append(
                da.from_delayed(scored[port.name], shape, dtype=port.dtype, meta=meta)
            )
        offset += rows
    outputs = {name: da.concatenate(parts, axis=0) for name, parts in pieces.items()}
    return next(iter(outputs.values())) if len(outputs) == 1 else outputs


def _named_arrays(scorer: Scorer, data: Any) -> dict[str, Any]:
    import dask.array as da

    names = [p.name for p in scorer.inputs]
    if isinstance(data, Mapping):
        given = dict(data)
        unknown = sorted(set(given) - set(names))
        missing = [n for n in names if n not in given]
        if unknown or missing:
            raise ValueError(
                f"data must hold exactly the inputs {names}; "
                + (f"missing {missing}" if missing else f"unknown {unknown}")
            )
    elif len(names) == 1:
        given = {names[0]: data}
    else:
        raise ValueError(f"the model has {len(names)} inputs {names}; pass a dict of dask arrays")
    for name, a in given.items():
        if not isinstance(a, da.Array):
            raise TypeError(
                f"input {name!r}: expected a dask array or DataFrame, got {type(a).__name__} "
                "(score in-memory arrays with Model.predict or a Scorer)"
            )
    return {n: given[n] for n in names}


def _check_dtype(name: str, dtype: np.dtype) -> None:
    if np.dtype(dtype).kind not in "biuf":
        raise ValueError(f"input {name!r}: expected numbers, got a dask array of {dtype}")


def _score_block(scorer: Scorer, arrays: dict[str, np.ndarray], offset: int) -> dict:
    return scorer(arrays, offset)


# --------------------------------------------------------------------------- frames


def _predict_frame(scorer: Scorer, shipped: Any, frame: Any) -> Any:
    import pandas as pd

    mapping = input_columns("the DataFrame", list(frame.columns), [p.name for p in scorer.inputs])
    shapes = {}
    for port in scorer.inputs:
        picked = mapping[port.name]
        group = [picked] if isinstance(picked, str) else picked
        shapes[port.name] = (0,) if isinstance(picked, str) else (0, len(group))
        if len(shapes[port.name]) != len(port.shape):
            raise ValueError(
                f"input {port.name!r} has shape {list(port.shape)}, but the DataFrame gives it "
                f"{len(group)} column(s) as a {len(shapes[port.name])}-D array ({group})"
            )
        for column in group:
            if getattr(frame.dtypes[column], "kind", "O") not in "biuf":
                raise ValueError(
                    f"column {column!r} holds {frame.dtypes[column]} values; input "
                    f"{port.name!r} needs numbers"
                )
    widths = scorer.output_shapes(shapes)
    names = output_columns(scorer.outputs, widths)
    dtypes = [p.dtype for p in scorer.outputs for _ in range(max(widths[p.name], default=1))]
    meta = pd.DataFrame({c: np.empty(0, d) for c, d in zip(names, dtypes, strict=True)})
    return frame.map_partitions(_score_frame, shipped, mapping, names, meta=meta)


def _score_frame(part: Any, scorer: Scorer, mapping: dict, names: list[str]) -> Any:
    import pandas as pd

    arrays = gather("a DataFrame partition", part, mapping)
    return pd.DataFrame(spread(names, scorer(arrays)), index=part.index)
