"""Scoring a set of data files on a Dask cluster: one output file per input file.

What `nnspec run --dask` runs. Each input file is one partition and one task: the
task reads its file (on the worker, so nothing is loaded up front), scores it with
the shipped `Scorer` and writes the result in the input's format under the input's
file name. All or nothing: tasks write into a hidden staging folder inside the
output folder, and only when every partition has succeeded are the files moved
into place (one atomic rename each). When any partition fails, the job is
cancelled, the staging folder is removed with everything already written to it,
and a `PartitionError` names the file and the problem. Worker crashes are Dask's
business: a task on a lost worker is rerun elsewhere, and rewriting a staged file
is harmless (each write replaces it atomically).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnspec.dask.columns import gather, input_columns, output_columns, spread
from nnspec.dask.scorer import Scorer
from nnspec.datasets.errors import DataError
from nnspec.datasets.files import load_arrays, save_arrays
from nnspec.fileio import open_regular, write_atomic
from nnspec.portable import Portable

FORMATS = (".parquet", ".csv", ".npy", ".npz")
STAGING_PREFIX = ".nnspec-run-"


class PartitionError(Portable, ValueError):
    """One partition (input file) could not be scored; `path` names it."""

    def __init__(self, path: str, message: str):
        super().__init__(path, message)  # both in args, so it pickles back from a worker
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def plan_outputs(inputs: Sequence[str | os.PathLike], folder: str | os.PathLike) -> list[Path]:
    """The output file of each input: same name, in `folder`. ValueError before any work
    when an input has an unknown format, two inputs share a name, or a target exists."""
    targets: list[Path] = []
    seen: dict[str, Path] = {}
    for raw in inputs:
        path = Path(raw)
        if path.suffix.lower() not in FORMATS:
            raise ValueError(f"{path}: use .parquet, .csv, .npy or .npz partitions")
        if path.name in seen:
            raise ValueError(
                f"{seen[path.name]} and {path} have the same file name; their outputs would "
                "collide in one folder"
            )
        seen[path.name] = path
        target = Path(folder) / path.name
        if target.exists() or target.is_symlink():
            what = "is one of the inputs" if target.resolve() == path.resolve() else "exists"
            raise ValueError(
                f"{target} {what}; scoring never overwrites a file: remove it or choose "
                "another output folder"
            )
        targets.append(target)
    return targets


def score_files(
    scorer: Scorer,
    inputs: Sequence[str | os.PathLike],
    folder: str | os.PathLike,
    client: Any,
    on_done: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Score every input file on `client`'s cluster into `folder`; the files written.

    `on_done(done, total)` is called as partitions finish (a progress bar). Raises
    `PartitionError` (after removing every file of this run) when a partition fails.
    """
    from dask import delayed
    from distributed import as_completed

    targets = plan_outputs(inputs, folder)
    created = not Path(folder).exists()
    Path(folder).mkdir(parents=True, exist_ok=True)
    staging = Path(folder) / f"{STAGING_PREFIX}{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        shipped = delayed(scorer, pure=True, traverse=False)
        task = delayed(score_file, pure=False)
        jobs = [
            task(shipped, str(p), str(staging / t.name))
            for p, t in zip(inputs, targets, strict=True)
        ]
        futures = client.compute(jobs)
        for done, future in enumerate(as_completed(futures, loop=client.loop), start=1):
            if future.status == "error":
                failure = _failure(future, inputs[futures.index(future)])
                client.cancel(futures)
                raise failure
            if on_done:
                on_done(done, len(futures))
        for target in targets:
            os.replace(staging / target.name, target)
    except BaseException:
        _remove(staging)
        if created:
            with contextlib.suppress(OSError):
                Path(folder).rmdir()
        raise
    _remove(staging)  # empty, or the temporary file of a task whose worker was killed
    return targets


def score_file(scorer: Scorer, path: str, target: str) -> int:
    """Read one partition, score it and write it to `target` atomically; its row count."""
    try:
        ext = Path(path).suffix.lower()
        names = [p.name for p in scorer.inputs]
        if ext == ".parquet":
            arrays = read_parquet(path, names)
        else:
            arrays = dict(load_arrays(path, inputs=names))
        rows = len(next(iter(arrays.values())))
        try:
            outputs = scorer(arrays)
        except ValueError as exc:
            raise DataError(path, str(exc)) from None
        _write(path, target, ext, scorer, arrays, outputs)
    except DataError as exc:  # re-raised as an error that pickles back to the client
        raise PartitionError(exc.path, exc.message) from None
    return rows


def read_parquet(
    path: str,
    inputs: Sequence[str],
    targets: Sequence[str] = (),
    *,
    target_columns: Sequence[str] | None = None,
    ranks: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """The named arrays of one Parquet file, columns grouped as for CSV; DataError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def read(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(path, f"cannot read it as Parquet ({exc})") from None

    handle = read(lambda: open_regular(path))  # never blocks on a FIFO
    with handle:
        file = read(lambda: pq.ParquetFile(handle))
        mapping = input_columns(
            path,
            file.schema_arrow.names,
            inputs,
            targets,
            target_columns=target_columns,
            ranks=ranks,
        )
        wanted = sorted({c for v in mapping.values() for c in ([v] if isinstance(v, str) else v)})
        table = read(lambda: file.read(columns=wanted))
    columns = {}
    for name in wanted:
        column = table.column(name)
        if column.null_count:
            raise DataError(
                path,
                f"column {name!r} has {column.null_count} missing value(s); fill them in first",
            )
        columns[name] = column.to_numpy()
    return gather(path, columns, mapping)


def _write(
    path: str,
    target: str,
    ext: str,
    scorer: Scorer,
    arrays: dict[str, np.ndarray],
    outputs: dict[str, np.ndarray],
) -> None:
    if ext != ".parquet":
        if ext == ".npy" and len(outputs) != 1:
            raise DataError(
                path,
                f"the model has {len(outputs)} outputs, but a .npy file holds one array; "
                "use .npz or .csv partitions",
            )
        save_arrays(target, outputs)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    widths = {k: v.shape[1:] for k, v in outputs.items()}
    try:
        names = output_columns(scorer.outputs, widths)
    except ValueError as exc:
        raise DataError(path, str(exc)) from None
    table = pa.table(spread(names, outputs))
    write_atomic(target, lambda f: pq.write_table(table, f))


def _failure(future: Any, path: Any) -> BaseException:
    """The partition's own error, or a PartitionError naming it for anything else."""
    exc = future.exception()
    if isinstance(exc, PartitionError):
        return exc
    return PartitionError(str(path), f"failed on the cluster ({type(exc).__name__}: {exc})")


def _remove(staging: Path) -> None:
    """Remove the staging folder; a cancelled task may still be writing into it."""
    for _ in range(20):
        shutil.rmtree(staging, ignore_errors=True)
        if not staging.exists():
            return
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        shutil.rmtree(staging)
