"""Verification of an import or export: onnxruntime vs the interpreter vs the compiled module.

All three run the same random inputs (symbolic dims get `batch`, values standard
normal, seeded). The compiled module must equal the interpreter bit for bit; the
interpreter and onnxruntime are different implementations, so they are compared
with a stated bound on the *scaled error* ``max|a − b| / max(1, max|b|)``: float32
`BOUNDS` allow for different summation orders, fused kernels and BatchNormalization
folded into the weights (rounded once); float64 is tight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from nnspec.ir import Graph
from nnspec.onnx.context import sanitize

BOUNDS = {"float32": 1e-4, "float64": 1e-9}


class Row(NamedTuple):
    """One comparison: which value, of what against what, the error and its bound."""

    value: str
    comparison: str
    error: float
    bound: str
    ok: bool


def _inputs(model: Any, batch: int, seed: int) -> dict[str, np.ndarray]:
    import onnx.helper

    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    arrays = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        shape = tuple(
            d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else batch
            for d in tensor.shape.dim
        )
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        arrays[value.name] = rng.normal(0.0, 1.0, shape).astype(dtype)
    return arrays


def scaled_error(got: np.ndarray, want: np.ndarray) -> float:
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    with np.errstate(all="ignore"):
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        scale = max(1.0, float(np.max(np.abs(want))))
    return float(np.max(diff)) / scale if np.all(np.isfinite(diff)) else float("inf")


def verify(
    model_bytes: bytes,
    graph: Graph,
    params: Mapping[str, np.ndarray],
    *,
    onnx_outputs: Sequence[str] | None = None,
    batch: int = 4,
    seed: int = 0,
) -> list[Row]:
    """Rows comparing onnxruntime on `model_bytes` with `graph` (interpreter, compiled).

    `onnx_outputs` names the ONNX output behind each graph output, in order
    (default: the model's outputs, in order).
    """
    import onnxruntime

    import onnx
    from nnspec.codegen import compile, load_source
    from nnspec.interpreter import Model

    model = onnx.load_from_string(model_bytes)
    feeds = _inputs(model, batch, seed)
    names = list(onnx_outputs) if onnx_outputs is not None else [o.name for o in model.graph.output]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    theirs = dict(zip(names, session.run(names, feeds), strict=True))
    by_name = {sanitize(k, "x"): v for k, v in feeds.items()}
    ours_in = {i.name: by_name[i.name] for i in graph.inputs}
    interpreter = Model(graph, params)
    module = load_source(compile(graph, interpreter.params, self_test=False))
    with np.errstate(all="ignore"):
        ours = interpreter.run(ours_in)
        compiled = module.run(ours_in)
    bound = BOUNDS[graph.dtype]
    rows = []
    for output, onnx_name in zip(graph.outputs, names, strict=True):
        want = np.asarray(theirs[onnx_name])
        got = np.asarray(ours[output])
        error = scaled_error(got, want)
        rows.append(
            Row(
                f"output {output}",
                "interpreter vs onnxruntime",
                error,
                f"{bound:g}",
                error <= bound,
            )
        )
        same = np.asarray(compiled[output])
        exact = same.shape == got.shape and np.array_equal(same, got, equal_nan=True)
        rows.append(
            Row(
                f"output {output}",
                "compiled vs interpreter",
                scaled_error(same, got),
                "bitwise",
                exact,
            )
        )
    return rows


def table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table (the format `nnspec check` prints)."""
    header = ("value", "comparison", "error", "bound", "")
    cells = [header] + [
        (r.value, r.comparison, f"{r.error:.2e}", r.bound, "ok" if r.ok else "DISAGREES")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines) + "\n"
