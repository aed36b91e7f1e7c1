"""Verification of an import or export: onnxruntime vs the interpreter vs the compiled module.

All three run the same random inputs (symbolic dims get `batch`, values seeded:
standard normal, or positive where the graph takes an input's log, square root,
fractional power or reciprocal, see `nnspec.sampling`). The compiled module must
equal the interpreter bit for bit; the interpreter and onnxruntime are different
implementations, so they are compared with a stated bound on the *scaled error*
``max|a − b| / max(1, max|b|)`` over the elements where they differ (NaN on both
sides, or the same infinity, agrees): float32 `BOUNDS` allow for different summation
orders, fused kernels and BatchNormalization folded into the weights (rounded
once); float64 is tight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from nnspec.ir import Graph
from nnspec.onnx.context import sanitize
from nnspec.sampling import draw, positive_values

BOUNDS = {"float32": 1e-4, "float64": 1e-9}


class VerifyError(RuntimeError):
    """onnxruntime could not load or run the model; the message says why, in its words."""


class Row(NamedTuple):
    """One comparison: which value, of what against what, the error and its bound."""

    value: str
    comparison: str
    error: float
    bound: str
    ok: bool


def _inputs(model: Any, graph: Graph, batch: int, seed: int) -> dict[str, np.ndarray]:
    """The ONNX model's inputs, drawn in the domain `graph` (its import) shows."""
    import onnx.helper

    positive = positive_values(graph)
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
        arrays[value.name] = draw(rng, shape, dtype, sanitize(value.name, "x") in positive)
    return arrays


def scaled_error(got: np.ndarray, want: np.ndarray) -> float:
    """``max|got − want| / max(1, max|want|)`` over the elements that differ: NaN
    against NaN and an infinity against the same one agree (0); NaN or an infinity
    against anything else is an infinite error."""
    if got.shape != want.shape:
        return float("inf")
    a, b = got.astype(np.float64), want.astype(np.float64)
    differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    if not differ.any():
        return 0.0
    a, b = a[differ], b[differ]
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    finite = want[np.isfinite(want)]
    scale = max(1.0, float(np.max(np.abs(finite), initial=0.0)))
    return float(np.max(np.abs(a - b))) / scale


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
    feeds = _inputs(model, graph, batch, seed)
    names = list(onnx_outputs) if onnx_outputs is not None else [o.name for o in model.graph.output]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )
        results = session.run(names, feeds)
    except Exception as exc:  # onnxruntime's error classes share no base but Exception
        raise VerifyError(f"onnxruntime cannot run the model: {exc}") from None
    theirs = dict(zip(names, results, strict=True))
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
