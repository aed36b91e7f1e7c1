"""`Scorer`: one model, as every partition of a scale-out job runs it.

The unit a distributed engine ships to its workers. It wraps either engine of the
single-machine pipeline unchanged — a `Model` (the interpreter) or a compiled module
— and adds only what partitioned scoring needs:

- **Pickling by recipe.** A `Model` holds planned closures and a compiled module is
  a module object; neither pickles. A Scorer pickles as (graph, params) or the
  module's source text and rebuilds its engine once when it is unpickled, i.e. once
  per worker process.
- **Fixed row blocks.** A BLAS may round a row differently depending on how many
  rows one call holds (measured: 1-row and short tail calls differ from full
  blocks). So every row is computed inside a call of exactly `block_rows` rows, at
  the position ``global_row % block_rows``; partial blocks at a partition's edges
  are padded with copies of a real row and the padding is dropped. Hence a row's
  bits do not depend on how the data was partitioned (docs/scale.md states the
  exact guarantee).
- **Ports and a row-independence probe.** Output dtypes and shapes come from the
  graph's types; a graph whose outputs mix rows (a reduction over the batch axis)
  cannot be scored partition by partition, which a small probe detects up front.

This module needs only NumPy: Spark or Ray can use a Scorer without Dask.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnspec.arguments import optional, whole
from nnspec.ir import Dim, Graph

DEFAULT_BLOCK_ROWS = 4096
PROBE_ROWS = 4


@dataclass(frozen=True)
class Port:
    """A named input or output: dtype and declared shape (first dim = the rows)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    def resolve(self, sizes: Mapping[str, int]) -> tuple[int, ...]:
        """The non-row dims with symbols bound by `sizes`; ValueError if one stays unknown."""
        dims = []
        for axis, dim in enumerate(self.shape[1:], start=1):
            size = sizes.get(dim) if isinstance(dim, str) else dim
            if size is None:
                raise ValueError(
                    f"{self.name!r} has an unknown size on axis {axis} (shape "
                    f"{list(self.shape)}); give that dim a fixed size or a symbol an input binds"
                )
            dims.append(size)
        return tuple(dims)


class Scorer:
    """Score rows with a model in fixed row blocks; picklable, rebuilt once per process.

    `model` is a `Graph` (with `params`, default its initial values), a `Model`, a
    compiled module (imported from its ``.py`` file) or a compiled module's source
    text (``nnspec.compile(...)``). `block_rows=None` computes each partition in one
    call instead: faster for tiny partitions, but a row's bits may then depend on
    the partitioning.
    """

    def __init__(
        self,
        model: Any,
        params: Mapping[str, np.ndarray] | None = None,
        *,
        block_rows: int | None = DEFAULT_BLOCK_ROWS,
    ):
        self.block_rows = optional(whole, "block_rows", block_rows, 1)
        self._recipe = _recipe(model, params)
        self._build()
        self._check_rows()

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        return {"recipe": self._recipe, "block_rows": self.block_rows}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._recipe = state["recipe"]
        self.block_rows = state["block_rows"]
        self._build()

    def _build(self) -> None:
        kind, payload = self._recipe
        if kind == "graph":
            from nnspec.interpreter.model import Model

            graph, params = payload
            model = Model(graph, params)
            types_ = graph.types()
            self.inputs = tuple(Port(i.name, i.type.dtype, i.type.shape) for i in graph.inputs)
            self.outputs = tuple(Port(n, types_[n].dtype, types_[n].shape) for n in graph.outputs)
            self._run = model.run
        else:
            from nnspec.codegen import load_source

            module = load_source(payload)
            self.inputs = _ports(module.INPUTS)
            self.outputs = _ports(module.OUTPUTS)
            self._run = module.run

    def __repr__(self) -> str:
        kind = "interpreter" if self._recipe[0] == "graph" else "compiled module"
        return (
            f"Scorer({kind}, inputs={[p.name for p in self.inputs]}, "
            f"outputs={[p.name for p in self.outputs]}, block_rows={self.block_rows})"
        )

    # ------------------------------------------------------------------ scoring

    def __call__(self, arrays: Mapping[str, Any], offset: int = 0) -> dict[str, np.ndarray]:
        """Outputs by name for the rows of `arrays` (inputs by name, rows on axis 0).

        `offset` is the global index of the first row, so that a row lands at the
        same position of its block whichever partition it arrives in.
        """
        arrays = {name: np.asarray(a) for name, a in arrays.items()}
        rows = _rows(arrays)
        block = self.block_rows
        if block is None or rows == 0:
            return self._run(arrays)
        pieces: list[dict[str, np.ndarray]] = []
        start = 0
        while start < rows:
            at = (offset + start) % block
            count = min(block - at, rows - start)
            if at == 0 and count == block:
                feed = {k: a[start : start + block] for k, a in arrays.items()}
            else:  # an edge of the partition: pad with copies of its first real row
                feed = {k: _padded(a, start, count, at, block) for k, a in arrays.items()}
            result = self._run(feed)
            pieces.append({k: v[at : at + count] for k, v in result.items()})
            start += count
        if len(pieces) == 1:
            return {k: np.ascontiguousarray(v) for k, v in pieces[0].items()}
        return {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}

    def output_shapes(self, input_shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple]:
        """Each output's non-row dims, from the declared types and the inputs' sizes."""
        sizes: dict[str, int] = {}
        for port in self.inputs:
            shape = input_shapes[port.name]
            for dim, size in zip(port.shape, shape, strict=False):
                if isinstance(dim, str):
                    sizes.setdefault(dim, size)
        return {p.name: p.resolve(sizes) for p in self.outputs}

    # ------------------------------------------------------------------ checks

    def _check_rows(self) -> None:
        """Refuse graphs that cannot be scored a partition at a time.

        Every input and output must have the rows on axis 0 under one symbol (or
        ``null``), and an output row may depend only on its own input row: the
        probe runs `PROBE_ROWS` rows twice, the second time with the other rows
        changed, and the first row's outputs must keep their exact bytes.
        """
        ports = (*self.inputs, *self.outputs)
        symbols = [p.shape[0] for p in ports if p.shape and isinstance(p.shape[0], str)]
        for port in ports:
            rows = port.shape[0] if port.shape else 0  # a scalar has no row axis
            if isinstance(rows, int) or (rows is not None and rows != symbols[0]):
                raise ValueError(
                    f"{port.name!r} has shape {list(port.shape)}: partitioned scoring needs "
                    "every input and output to hold one row per example on axis 0, under "
                    "one shared symbol such as 'batch'"
                )
        rng = np.random.default_rng(0)
        first = {p.name: _probe(p, rng) for p in self.inputs}
        second = {k: v.copy() for k, v in first.items()}
        for p in self.inputs:
            second[p.name][1:] = _probe(p, rng)[1:]
        a, b = self._run(first), self._run(second)
        for name in a:
            if np.asarray(a[name])[:1].tobytes() != np.asarray(b[name])[:1].tobytes():
                raise ValueError(
                    f"output {name!r}: a row's result changes when other rows change, so the "
                    "graph mixes rows (e.g. a sum, mean or softmax over the batch axis) and "
                    "cannot be scored one partition at a time"
                )


def _recipe(model: Any, params: Mapping[str, np.ndarray] | None) -> tuple[str, Any]:
    """What a Scorer pickles: ("graph", (graph, params)) or ("module", source text)."""
    from nnspec.interpreter.model import Model

    if isinstance(model, Scorer):
        raise TypeError("model is already a Scorer; pass it on as it is")
    if isinstance(model, Model):
        if params is not None:
            raise ValueError("params are taken from the Model; leave params out")
        return "graph", (model.graph, {k: v.copy() for k, v in model.params.items()})
    if isinstance(model, Graph):
        if params is None:
            from nnspec.interpreter.init import initial_values

            params = initial_values(model)
        return "graph", (model, {p.name: np.asarray(params[p.name]) for p in model.params})
    if params is not None:
        raise ValueError("params apply to a Graph only; a compiled module embeds its weights")
    if isinstance(model, types.ModuleType):
        model = _module_source(model)
    if isinstance(model, str) and "NNSPEC_VERSION" in model and "def run(" in model:
        if "WEIGHTS_FILE = " in model:
            raise ValueError(
                "this module reads its weights from a file beside it, which workers may not "
                "have; compile it with the weights embedded (no --weights-file)"
            )
        return "module", model
    raise TypeError(
        "model must be a Graph, a nnspec.Model, a compiled module or its source text, "
        f"got {type(model).__name__}"
    )


def _module_source(module: types.ModuleType) -> str:
    """The source text of a compiled module imported from a file."""
    if not hasattr(module, "NNSPEC_VERSION"):
        raise TypeError(f"module {module.__name__!r} was not generated by nnspec compile")
    path = getattr(module, "__file__", None) or ""
    if not path.endswith(".py") or not Path(path).is_file():
        raise ValueError(
            f"module {module.__name__!r} has no source file to ship to workers; pass its "
            "source text (what nnspec.compile returns) instead"
        )
    return Path(path).read_text(encoding="utf-8")


def _ports(table: Mapping[str, Mapping[str, Any]]) -> tuple[Port, ...]:
    return tuple(Port(name, spec["dtype"], tuple(spec["shape"])) for name, spec in table.items())


def _rows(arrays: Mapping[str, np.ndarray]) -> int:
    lengths = {name: a.shape[0] if a.ndim else None for name, a in arrays.items()}
    if len(set(lengths.values())) != 1 or None in lengths.values():
        shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"every input needs the same number of rows on axis 0, got {shown}")
    return next(iter(lengths.values())) or 0


def _padded(a: np.ndarray, start: int, count: int, at: int, block: int) -> np.ndarray:
    """A `block`-row array holding ``a[start:start+count]`` at row `at`, padded with a real row."""
    out = np.empty((block, *a.shape[1:]), a.dtype)
    out[:] = a[start]
    out[at : at + count] = a[start : start + count]
    return out


def _probe(port: Port, rng: np.random.Generator) -> np.ndarray:
    """`PROBE_ROWS` rows for `port`: floats in [-1, 1), integers 0 or 1; free dims of 2."""
    shape = (PROBE_ROWS, *(d if isinstance(d, int) else 2 for d in port.shape[1:]))
    if port.dtype.startswith("float"):
        return rng.uniform(-1.0, 1.0, shape).astype(port.dtype)
    return rng.integers(0, 2, shape).astype(port.dtype)
