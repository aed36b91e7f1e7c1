"""The summary table of a `Graph`: its layers, params and weight memory, Keras-style.

Rows come from `nnspec.overview.layers` (composites collapsed to one row with their
primitive count); totals come from the `Graph`'s params, so a param nobody reads
still counts. Names go through `nnspec.printer.format_name`, so a hostile name
cannot break the table's lines. ``nnspec summary`` prints `format_summary` (or the
`summarize` data as JSON) and `Model.summary()` prints `summary_text`: one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnspec.ir import Graph
from nnspec.overview.layers import Layer, layers
from nnspec.printer import format_name, format_type

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(count: int) -> str:
    """``132 B``, ``1.5 KiB``: binary units, one decimal above bytes."""
    size = float(count)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{count} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def summarize(graph: Graph) -> dict[str, Any]:
    """The summary as plain data (the ``--format json`` output)."""
    rows = layers(graph)
    trainable = [p for p in graph.params if p.trainable]
    frozen = [p for p in graph.params if not p.trainable]

    def count(params: list) -> int:
        return sum(p.type.size() or 0 for p in params)

    def nbytes(params: list) -> int:
        return sum((p.type.size() or 0) * np.dtype(p.type.dtype).itemsize for p in params)

    return {
        "name": graph.name,
        "description": graph.description,
        "dtype": graph.dtype,
        "layers": [_row(layer) for layer in rows],
        "outputs": list(graph.outputs),
        "params": {
            "total": count(trainable) + count(frozen),
            "trainable": count(trainable),
            "non_trainable": count(frozen),
        },
        "weight_bytes": {
            "total": nbytes(trainable) + nbytes(frozen),
            "trainable": nbytes(trainable),
            "non_trainable": nbytes(frozen),
        },
    }


def _row(layer: Layer) -> dict[str, Any]:
    return {
        "id": layer.id,
        "op": layer.op,
        "kind": layer.kind,
        "output": format_type(layer.type),
        "shape": list(layer.type.shape),
        "dtype": layer.type.dtype,
        "params": layer.param_count,
        "primitives": len(layer.nodes),
        "inputs": list(layer.inputs),
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """The text table, ending with a newline."""
    header = ("layer", "op", "output", "params", "inputs")
    body = [
        (
            format_name(row["id"]),
            _op_cell(row),
            row["output"],
            f"{row['params']:,}",
            ", ".join(format_name(name) for name in row["inputs"]),
        )
        for row in summary["layers"]
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            cell.rjust(width) if i == 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    title = f"model {format_name(summary['name'] or 'graph')} ({summary['dtype']})"
    rule = "-" * len(line(header))
    params, sizes = summary["params"], summary["weight_bytes"]
    lines = [title]
    if summary["description"]:
        lines.append(_one_line(summary["description"]))
    lines += [rule, line(header), rule, *(line(cells) for cells in body), rule]
    for label, key in (
        ("total", "total"),
        ("trainable", "trainable"),
        ("non-trainable", "non_trainable"),
    ):
        lines.append(f"{label + ' params:':<22}{params[key]:,} ({human_bytes(sizes[key])})")
    lines.append("outputs: " + ", ".join(format_name(name) for name in summary["outputs"]))
    return "\n".join(lines) + "\n"


def summary_text(graph: Graph) -> str:
    """The text table of `graph`, as ``nnspec summary`` prints it."""
    return format_summary(summarize(graph))


def _op_cell(row: Mapping[str, Any]) -> str:
    if row["kind"] != "composite":
        return row["op"]
    return f"{row['op']} ({row['primitives']} primitives)"


def _one_line(text: str) -> str:
    """Free text on one line: control characters (newlines included) become spaces."""
    return "".join(" " if not ch.isprintable() else ch for ch in text)
