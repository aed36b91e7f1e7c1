"""Streaming mini-batches from partitions, for training on data larger than memory.

`train(..., data=partitions)` reads its batches from a `PartitionStream` instead of
slicing arrays held in memory. A partition is a mapping of arrays by input/target
name, or a zero-argument callable returning one (a loader: the partition is read
only when the stream reaches it and dropped after). Per epoch, with the training
generator ``rng``:

1. the partition order is a permutation drawn from ``rng``;
2. partitions are loaded in that order and their rows appended to a pool; whenever
   the pool holds at least `buffer_rows` rows it is shuffled (a permutation from
   ``rng``) and all but ``buffer_rows // 2`` of its rows leave it as whole batches,
   so rows mix with those of earlier partitions;
3. after the last partition, the pool is shuffled and emptied, the final batch
   possibly short.

So at most ``buffer_rows`` rows plus one partition are in memory at a time, and the
same seed, partitions, `buffer_rows` and batch size give the same batches, hence the
same weights. Converting a Dask collection to loaders is `nnspec.dask.partitions`'s
job (it knows the column rule); this module needs only NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from nnspec.arguments import whole

Partition = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
DEFAULT_BUFFER_ROWS = 65_536


class PartitionStream:
    """Shuffled mini-batches over `partitions`; `check` validates and casts each one."""

    def __init__(
        self,
        partitions: Iterable[Partition],
        check: Callable[[Mapping[str, Any]], dict[str, np.ndarray]],
        buffer_rows: int = DEFAULT_BUFFER_ROWS,
    ):
        if hasattr(partitions, "__dask_graph__"):
            raise TypeError(
                "a Dask collection needs its columns mapped to the inputs and target: pass "
                "data=nnspec.dask.partitions(collection)"
            )
        if isinstance(partitions, Mapping) or not isinstance(partitions, Iterable):
            raise TypeError(
                "data must be a list of partitions (mappings of arrays by name, or "
                f"callables returning one), got {type(partitions).__name__}"
            )
        buffer_rows = whole("shuffle_buffer", buffer_rows, 1)
        self.partitions = list(partitions)
        if not self.partitions:
            raise ValueError("data holds no partitions")
        self.check = check
        self.buffer_rows = buffer_rows

    def batches(self, rng: np.random.Generator, batch: int) -> Iterator[dict[str, np.ndarray]]:
        """One epoch of mini-batches of `batch` rows (the last may be shorter)."""
        buffer = max(self.buffer_rows, batch)
        pool: dict[str, np.ndarray] | None = None
        for index in rng.permutation(len(self.partitions)):
            part = self._load(int(index))
            if part is None:
                continue
            pool = (
                part if pool is None else {k: np.concatenate([pool[k], v]) for k, v in part.items()}
            )
            size = _rows(pool)
            if size >= buffer:
                pool = _take(pool, rng.permutation(size))
                cut = (size - buffer // 2) // batch * batch
                for start in range(0, cut, batch):
                    yield _take(pool, slice(start, start + batch))
                pool = _take(pool, slice(cut, size))
        if pool is None:
            raise ValueError("no training examples (every partition is empty)")
        size = _rows(pool)
        pool = _take(pool, rng.permutation(size))
        for start in range(0, size, batch):
            yield _take(pool, slice(start, start + batch))

    def _load(self, index: int) -> dict[str, np.ndarray] | None:
        """Partition `index`, checked; None when it has no rows."""
        item = self.partitions[index]
        try:
            given = item() if callable(item) else item
            if not isinstance(given, Mapping):
                raise ValueError(
                    f"expected a mapping of arrays by name, got {type(given).__name__}"
                )
            if all(np.shape(v)[:1] == (0,) for v in given.values()):
                return None
            return self.check(given)
        except ValueError as exc:
            raise ValueError(f"partition {index}: {exc}") from None


def _rows(arrays: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(arrays.values())))


def _take(arrays: Mapping[str, np.ndarray], pick: Any) -> dict[str, np.ndarray]:
    return {k: v[pick] for k, v in arrays.items()}
