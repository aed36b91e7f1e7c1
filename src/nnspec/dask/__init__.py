"""Scale-out: the single-machine engines mapped over partitions with Dask.

Nothing distributed is home-made. A `Scorer` wraps a `Model` or a compiled module
(unchanged) so that it pickles, travels to every worker once and computes every row
in a fixed-size row block; `predict` maps it lazily over a Dask array or DataFrame;
`score_files` runs it over a folder of Parquet/CSV/NumPy files, one output file per
input file; `partitions` and `file_partitions` stream a Dask collection or a file
set through `nnspec.train(..., data=...)`. See docs/scale.md. Dask is imported only
when these are used (install the extra ``nnspec[dask]``); the rest of nnspec never
imports it.
"""

from __future__ import annotations

from typing import Any

from nnspec.lazy import lazy_attribute

_LAZY = {
    "Scorer": ("nnspec.dask.scorer", "Scorer"),
    "predict": ("nnspec.dask.lazy", "predict"),
    "score_files": ("nnspec.dask.files", "score_files"),
    "partitions": ("nnspec.dask.stream", "partitions"),
    "file_partitions": ("nnspec.dask.stream", "file_partitions"),
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


__all__ = list(_LAZY)
