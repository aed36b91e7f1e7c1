"""ONNX op → nnspec ops, one converter per ONNX op type (the table `CONVERTERS`).

An elementwise op whose `OpDef.onnx` is one ONNX node imports back to that op
(`one_node_converters`); every other ONNX op has its own converter (`SPECIAL`).

A converter gets the node's resolved input values and attributes and returns one
value per ONNX output. It never relies on a default that nnspec and ONNX do not
share: every attribute is read with ONNX's default for the node's opset and
written to the nnspec node explicitly (LeakyRelu's alpha is 0.01 in ONNX and 0.1
in nnspec; ONNX reductions keep dims by default, nnspec's do not).
Constant sub-graphs (Shape, Gather, Unsqueeze, Concat, ... on shapes) fold here;
`Context.emit` folds the rest with nnspec's own forward rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnspec.onnx.context import (
    Context,
    Dyn,
    ImportFailure,
    Value,
    dim_token,
    dims_of,
    rank_of,
    shape_array,
)
from nnspec.ops import REGISTRY
from nnspec.ops.base import OnnxMapping


@dataclass
class OnnxNode:
    """One ONNX node as converters see it; a missing optional input is None."""

    op_type: str
    inputs: list[Value | None]
    attrs: dict[str, Any]
    outputs: list[str]
    opset: int

    def attr(self, name: str, default: Any) -> Any:
        return self.attrs.get(name, default)

    def input(self, index: int) -> Value | None:
        return self.inputs[index] if index < len(self.inputs) else None

    def const_input(self, index: int, what: str) -> np.ndarray | None:
        value = self.input(index)
        if isinstance(value, Dyn):
            raise ImportFailure("NN705", f"{what} must be a constant, got a run-time value")
        return value


Converter = Callable[[Context, OnnxNode], list[Value]]


def _const(x: Value, what: str) -> np.ndarray:
    if isinstance(x, Dyn):
        raise ImportFailure("NN705", f"{what} must be a constant of the model")
    return x


def _int_list(value: np.ndarray, what: str) -> list[int]:
    if value.dtype == object or value.dtype.kind not in "iu":
        raise ImportFailure("NN705", f"{what} must be integer constants, got {value}")
    return [int(v) for v in np.ravel(value)]


def _x(node: OnnxNode) -> Value:
    x = node.input(0)
    assert x is not None  # ONNX requires the first input of every op converted here
    return x


# ---------------------------------------------------------------- elementwise


def _one_node(op: str, mapping: OnnxMapping) -> Converter:
    """An elementwise op ONNX writes as one node (`OpDef.onnx`): each float attribute
    read with ONNX's default for it and written to the nnspec node explicitly."""

    def convert(cx: Context, node: OnnxNode) -> list[Value]:
        attrs = {k: float_attr(cx, node.attr(k, default)) for k, default in mapping.attrs.items()}
        return [cx.emit(op, [_x(node)], "", **attrs)]

    return convert


def one_node_converters() -> dict[str, Converter]:
    """ONNX op type -> converter for every elementwise op whose `OpDef.onnx` is one plain
    node (Relu, LeakyRelu, ...): the import twin of the exporter's ``node`` rule."""
    return {
        op.onnx.op_type: _one_node(name, op.onnx)
        for name, op in REGISTRY.items()
        if op.family == "elementwise"
        and isinstance(op.onnx, OnnxMapping)
        and op.onnx.rule == "node"
        and not op.onnx.fixed
    }


def float_attr(cx: Context, value: float) -> float:
    """A float32 ONNX attribute as the JSON number that means it in `cx.dtype`: the
    shortest float32 text in float32 documents (0.01), its exact value in float64."""
    single = np.float32(value)
    return float(str(single)) if cx.dtype == "float32" else float(single)


def _identity(cx: Context, node: OnnxNode) -> list[Value]:
    return [_x(node)]


def _dropout(cx: Context, node: OnnxNode) -> list[Value]:
    """Inference: the data unchanged. The mask output is not converted (the driver
    reports it if anything uses it)."""
    training = node.const_input(2, "Dropout's training_mode")
    if training is not None and bool(np.ravel(training)[0]):
        raise ImportFailure("NN704", "Dropout in training mode (training_mode=true)")
    if node.opset < 7 and not node.attr("is_test", 0):
        raise ImportFailure("NN704", "Dropout with is_test=0 (training)")
    return [_x(node)]


def _gelu(cx: Context, node: OnnxNode) -> list[Value]:
    approximate = node.attr("approximate", "none")
    if approximate == "tanh":
        return [cx.emit("gelu", [_x(node)])]
    if approximate != "none":
        raise ImportFailure("NN704", f"Gelu approximate={approximate!r} (known: none, tanh)")
    return [_gelu_exact(cx, _x(node))]


def _gelu_exact(cx: Context, x: Value) -> Value:
    """x·Φ(x) = 0.5·x·(1 + erf(x / √2)), the formula ONNX's Gelu specifies."""
    scaled = cx.emit("mul", [x, cx.scalar(1.0 / math.sqrt(2.0))], "scaled")
    erf = cx.emit("erf", [scaled], "erf")
    one_plus = cx.emit("add", [erf, cx.scalar(1.0)], "one_plus")
    half = cx.emit("mul", [x, cx.scalar(0.5)], "half")
    return cx.emit("mul", [half, one_plus])


def _reciprocal(cx: Context, node: OnnxNode) -> list[Value]:
    return [cx.emit("div", [cx.scalar(1.0), _x(node)])]


def _clip(cx: Context, node: OnnxNode) -> list[Value]:
    if node.opset < 11:
        low = node.attrs.get("min")
        high = node.attrs.get("max")
        bounds = [None if b is None else np.asarray(b, dtype=cx.dtype) for b in (low, high)]
    else:
        bounds = [node.const_input(1, "Clip's min"), node.const_input(2, "Clip's max")]
    y = _x(node)
    if bounds[0] is not None:
        y = cx.emit("maximum", [y, np.asarray(bounds[0]).reshape(())], "min")
    if bounds[1] is not None:
        y = cx.emit("minimum", [y, np.asarray(bounds[1]).reshape(())])
    return [y]


# ---------------------------------------------------------------- binary


_INT_OPS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": lambda a, b: np.trunc(a / b).astype(np.result_type(a, b)),  # ONNX truncates
}


def _binary(op: str) -> Converter:
    def convert(cx: Context, node: OnnxNode) -> list[Value]:
        a, b = _x(node), node.input(1)
        assert b is not None
        if op == "mul" and isinstance(a, Dyn) and isinstance(b, Dyn) and a.name == b.name:
            return [cx.emit("square", [a])]
        if not isinstance(a, Dyn) and not isinstance(b, Dyn) and op in _INT_OPS:
            if a.dtype == object or b.dtype == object:
                raise ImportFailure("NN705", f"{node.op_type} on a symbolic shape")
            if a.dtype.kind in "iu" and b.dtype.kind in "iu":
                return [_INT_OPS[op](a, b)]
        if op == "pow" and not isinstance(b, Dyn):
            b = np.asarray(b).astype(cx.dtype)  # ONNX allows an integer exponent
        return [cx.emit(op, [a, b])]

    return convert


def _variadic(op: str) -> Converter:
    """Max / Min / Sum of any number of inputs: a left fold of the binary op."""

    def convert(cx: Context, node: OnnxNode) -> list[Value]:
        values = [v for v in node.inputs if v is not None]
        result = values[0]
        for k, v in enumerate(values[1:], start=1):
            result = cx.emit(op, [result, v], "" if k == len(values) - 1 else f"{k}")
        if len(values) == 1:
            result = cx.emit("identity", [result])
        return [result]

    return convert


# ---------------------------------------------------------------- matrix products


def _matmul(cx: Context, node: OnnxNode) -> list[Value]:
    a, b = _x(node), node.input(1)
    assert b is not None
    return [matmul_any_rank(cx, a, b)]


def matmul_any_rank(cx: Context, a: Value, b: Value) -> Value:
    """NumPy's matmul rule for 1-D operands: a vector a is [1, n], b is [n, 1], and the
    added axis is removed from the result."""
    ra, rb = rank_of(a), rank_of(b)
    if ra == 1:
        a = cx.reshape_to(a, [1, dims_of(a)[0]])
    if rb == 1:
        b = cx.reshape_to(b, [dims_of(b)[0], 1])
    y = cx.emit("matmul", [a, b], "matmul" if 1 in (ra, rb) else "")
    if 1 in (ra, rb):
        dims = list(y.type.shape if isinstance(y, Dyn) else np.shape(y))
        keep = dims[:-2] + ([] if ra == 1 else [dims[-2]]) + ([] if rb == 1 else [dims[-1]])
        tokens = [dim_token(y, i) if isinstance(y, Dyn) else d for i, d in enumerate(dims)]
        kept = tokens[:-2] + ([] if ra == 1 else [tokens[-2]]) + ([] if rb == 1 else [tokens[-1]])
        y = cx.reshape_to(y, kept if keep else [])
    return y


def _gemm(cx: Context, node: OnnxNode) -> list[Value]:
    a, b, c = _x(node), node.input(1), node.input(2)
    assert b is not None
    if rank_of(a) != 2 or rank_of(b) != 2:
        raise ImportFailure("NN702", "Gemm needs 2-D A and B")
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    if node.attr("transA", 0):
        a = cx.emit("transpose", [a], "a_t", perm=[1, 0])
    if node.attr("transB", 0):
        if isinstance(b, Dyn):
            b = cx.emit("transpose", [b], "b_t", perm=[1, 0])
        else:  # exact, so the import keeps B as one param in nnspec's [in, out] orientation
            b = cx.derived(b.T.copy(), b)
    y = cx.emit("matmul", [a, b], "matmul" if alpha != 1.0 or c is not None else "")
    if alpha != 1.0:
        y = cx.emit("mul", [y, cx.scalar(float_attr(cx, alpha))], "alpha" if c is not None else "")
    if c is not None and beta != 0.0:
        if not isinstance(c, Dyn):
            original = c
            if beta != 1.0:  # one float32 product per element, as ONNX computes beta·C
                c = (c * np.asarray(beta, dtype=c.dtype)).astype(c.dtype)
            if c.ndim == 2 and c.shape[0] == 1:
                c = c.reshape(-1)  # a [1, N] bias is the [N] bias broadcast: same values
            c = cx.derived(c, original)
        elif beta != 1.0:
            c = cx.emit("mul", [c, cx.scalar(float_attr(cx, beta))], "beta")
        y = cx.emit("add", [y, c])
    return [y]


# ---------------------------------------------------------------- normalisers


def _softmax(op: str) -> Converter:
    """Softmax / LogSoftmax. Opset >= 13 normalises along `axis` (default -1); earlier
    opsets flatten the input to 2-D at `axis` (default 1) and normalise each row."""

    def convert(cx: Context, node: OnnxNode) -> list[Value]:
        x = _x(node)
        rank = rank_of(x)
        if node.opset >= 13:
            return [cx.emit(op, [x], axis=int(node.attr("axis", -1)))]
        axis = int(node.attr("axis", 1))
        axis = axis + rank if axis < 0 else axis
        if axis == rank - 1:
            return [cx.emit(op, [x], axis=-1)]
        if axis == 0:
            flat = cx.reshape_to(x, [1, -1]) if rank != 1 else x
        else:
            flat = cx.reshape_to(
                x,
                [
                    *(
                        dim_token(x, i) if isinstance(x, Dyn) else dims_of(x)[i]
                        for i in range(axis)
                    ),
                    -1,
                ],
            )
        y = cx.emit(op, [flat], "flat", axis=-1)
        back = [dim_token(x, i) if isinstance(x, Dyn) else d for i, d in enumerate(dims_of(x))]
        return [cx.reshape_to(y, back)]

    return convert


def _batch_norm(cx: Context, node: OnnxNode) -> list[Value]:
    """Inference-mode BatchNormalization as y = x·a + c with a = scale/√(var + ε) and
    c = B − mean·a (computed in float64, rounded once). `patterns.fold_batchnorm`
    folds the two ops into a preceding matmul where it can."""
    if node.attr("training_mode", 0):
        raise ImportFailure("NN704", "BatchNormalization in training mode (training_mode=1)")
    if node.opset < 7 and not node.attr("is_test", 0):
        raise ImportFailure("NN704", "BatchNormalization with is_test=0 (training)")
    x = _x(node)
    scale, bias, mean, var = (
        _const(v, f"BatchNormalization input {k}").astype(np.float64)
        for k, v in enumerate(node.inputs[1:5], start=1)
        if v is not None
    )
    eps = float(np.float32(node.attr("epsilon", 1e-5)))
    a = scale / np.sqrt(var + eps)
    c = bias - mean * a
    rank = rank_of(x)
    if rank < 2:
        raise ImportFailure("NN702", "BatchNormalization needs an input of rank >= 2")
    channel_shape = (a.shape[0],) + (1,) * (rank - 2)
    a_t, c_t = (v.reshape(channel_shape).astype(cx.dtype) for v in (a, c))
    scaled = cx.emit("mul", [x, a_t], "scale")
    y = cx.emit("add", [scaled, c_t])
    for v in (scaled, y):
        if isinstance(v, Dyn):
            cx.batchnorm.add(v.name)
    return [y]


# ---------------------------------------------------------------- reductions


def _axes(cx: Context, node: OnnxNode, input_since: int) -> list[int] | None:
    if node.opset >= input_since:
        given = node.const_input(1, f"{node.op_type}'s axes")
        axes = None if given is None else _int_list(given, "axes")
    else:
        axes = node.attrs.get("axes")
        axes = None if axes is None else list(axes)
    return axes


def _reduce(op: str, input_since: int) -> Converter:
    def convert(cx: Context, node: OnnxNode) -> list[Value]:
        x = _x(node)
        axes = _axes(cx, node, input_since)
        keepdims = bool(node.attr("keepdims", 1))
        if not axes:
            if node.attr("noop_with_empty_axes", 0):
                return [x]
            axes = None
        return [cx.emit(op, [x], axis=axes, keepdims=keepdims)]

    return convert


def _reduce_min(cx: Context, node: OnnxNode) -> list[Value]:
    """min(x) = −max(−x), exactly."""
    x = _x(node)
    axes = _axes(cx, node, 18) or None
    keepdims = bool(node.attr("keepdims", 1))
    if axes is None and node.attr("noop_with_empty_axes", 0):
        return [x]
    negated = cx.emit("neg", [x], "neg")
    largest = cx.emit("max", [negated], "max", axis=axes, keepdims=keepdims)
    return [cx.emit("neg", [largest])]


# ---------------------------------------------------------------- shapes


def _flatten(cx: Context, node: OnnxNode) -> list[Value]:
    x = _x(node)
    rank = rank_of(x)
    axis = int(node.attr("axis", 1))
    axis = axis + rank if axis < 0 else axis
    tokens = [dim_token(x, i) if isinstance(x, Dyn) else d for i, d in enumerate(dims_of(x))]
    return [cx.reshape_to(x, [_product(tokens[:axis]), _product(tokens[axis:])])]


def _product(tokens: list[Any]) -> Any:
    """The size of a group of dims: an int, the one symbolic dim, or a fresh unknown."""
    fixed = math.prod(t for t in tokens if isinstance(t, int))
    other = [t for t in tokens if not isinstance(t, int)]
    if not other:
        return fixed
    if len(other) == 1 and fixed == 1:
        return other[0]
    return ("?", "product", tuple(map(str, tokens)))


def _reshape(cx: Context, node: OnnxNode) -> list[Value]:
    x = _x(node)
    if node.opset < 5:
        target = np.asarray(node.attr("shape", []), dtype=np.int64)
    else:
        target = _const(node.input(1), "Reshape's shape")  # type: ignore[arg-type]
    entries = list(np.ravel(target))
    if node.attr("allowzero", 0) and any(
        isinstance(e, int | np.integer) and e == 0 for e in entries
    ):
        raise ImportFailure("NN704", "Reshape with allowzero=1 and a 0 in the shape")
    if not isinstance(x, Dyn):
        return [cx.derived(np.reshape(x, [int(e) for e in entries]), x)]
    if all(isinstance(e, int | np.integer) for e in entries):
        # ONNX's 0 (copy) and -1 (infer) with allowzero=0 are nnspec's: keep them as written
        return [cx.emit("reshape", [x], shape=[int(e) for e in entries])]
    dims = list(dims_of(x))
    resolved: list[Any] = []
    for i, e in enumerate(entries):
        if isinstance(e, int | np.integer) and e == 0:  # ONNX 0 copies the input dim, as nnspec
            resolved.append(dim_token(x, i) if isinstance(x, Dyn) else dims[i])
        elif isinstance(e, int | np.integer) and e == -1:
            resolved.append(("?", "infer", i))
        else:
            resolved.append(e)
    return [cx.reshape_to(x, resolved)]


def _transpose(cx: Context, node: OnnxNode) -> list[Value]:
    x = _x(node)
    perm = node.attrs.get("perm")
    perm = list(range(rank_of(x)))[::-1] if perm is None else [int(p) for p in perm]
    if not isinstance(x, Dyn):
        return [cx.derived(np.transpose(x, perm), x)]
    return [cx.emit("transpose", [x], perm=perm)]


def _concat(cx: Context, node: OnnxNode) -> list[Value]:
    values = [v for v in node.inputs if v is not None]
    axis = int(node.attr("axis", 0))
    if all(not isinstance(v, Dyn) for v in values):
        arrays = [np.asarray(v) for v in values]
        if any(a.dtype == object for a in arrays):
            return [shape_array([e for a in arrays for e in a.ravel()])]
        return [np.concatenate(arrays, axis=axis)]
    return [cx.emit("concat", values, axis=axis)]


def _squeeze_axes(cx: Context, node: OnnxNode) -> list[int] | None:
    if node.opset >= 13:
        given = node.const_input(1, f"{node.op_type}'s axes")
        return None if given is None else _int_list(given, "axes")
    axes = node.attrs.get("axes")
    return None if axes is None else [int(a) for a in axes]


def _unsqueeze(cx: Context, node: OnnxNode) -> list[Value]:
    x = _x(node)
    axes = _squeeze_axes(cx, node) or []
    rank = rank_of(x) + len(axes)
    axes = sorted(a + rank if a < 0 else a for a in axes)
    if not isinstance(x, Dyn):
        return [cx.derived(np.expand_dims(x, axes), x)]
    tokens = iter(dim_token(x, i) for i in range(x.type.rank))
    return [cx.reshape_to(x, [1 if i in axes else next(tokens) for i in range(rank)])]


def _squeeze(cx: Context, node: OnnxNode) -> list[Value]:
    x = _x(node)
    dims = dims_of(x)
    axes = _squeeze_axes(cx, node)
    if axes is None:
        axes = [i for i, d in enumerate(dims) if d == 1]
    axes = [a + len(dims) if a < 0 else a for a in axes]
    if not isinstance(x, Dyn):
        return [cx.derived(np.squeeze(x, tuple(axes)), x)]
    return [cx.reshape_to(x, [dim_token(x, i) for i in range(len(dims)) if i not in axes])]


def _shape(cx: Context, node: OnnxNode) -> list[Value]:
    x = _x(node)
    tokens = [dim_token(x, i) if isinstance(x, Dyn) else d for i, d in enumerate(dims_of(x))]
    start, end = int(node.attr("start", 0)), node.attrs.get("end")
    return [shape_array(tokens[start : None if end is None else int(end)])]


def _gather(cx: Context, node: OnnxNode) -> list[Value]:
    data = _const(_x(node), "Gather's data")
    indices = _const(node.input(1), "Gather's indices")  # type: ignore[arg-type]
    return [np.take(data, indices.astype(np.int64), axis=int(node.attr("axis", 0)))]


def _slice(cx: Context, node: OnnxNode) -> list[Value]:
    data = _const(_x(node), "Slice's data")
    if node.opset < 10:
        starts, ends = list(node.attr("starts", [])), list(node.attr("ends", []))
        axes = list(node.attr("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = _int_list(_const(node.input(1), "Slice's starts"), "starts")  # type: ignore[arg-type]
        ends = _int_list(_const(node.input(2), "Slice's ends"), "ends")  # type: ignore[arg-type]
        given_axes, given_steps = node.input(3), node.input(4)
        axes = (
            list(range(len(starts)))
            if given_axes is None
            else _int_list(_const(given_axes, "Slice's axes"), "axes")
        )
        steps = (
            [1] * len(starts)
            if given_steps is None
            else _int_list(_const(given_steps, "Slice's steps"), "steps")
        )
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[axis] = slice(start, end, step)
    return [data[tuple(index)]]


def _cast(cx: Context, node: OnnxNode) -> list[Value]:
    import onnx.helper

    x = _x(node)
    target = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(int(node.attr("to", 0))))
    if not isinstance(x, Dyn):
        if x.dtype == object:
            if target.kind not in "iu":
                raise ImportFailure("NN705", "a symbolic shape cast to a float")
            return [x]
        return [x.astype(target)]
    if target != np.dtype(x.type.dtype):
        raise ImportFailure("NN706", f"Cast of a {x.type.dtype} value to {target}")
    return [x]


def _constant(cx: Context, node: OnnxNode) -> list[Value]:
    import onnx.numpy_helper

    if "value" in node.attrs:
        tensor = node.attrs["value"]
        count = math.prod(tensor.dims)
        cx.check_size(count, "Constant")
        return [onnx.numpy_helper.to_array(tensor)]
    for key, dtype in (("value_float", np.float32), ("value_int", np.int64)):
        if key in node.attrs:
            return [np.asarray(node.attrs[key], dtype=dtype)]
    for key, dtype in (("value_floats", np.float32), ("value_ints", np.int64)):
        if key in node.attrs:
            return [np.asarray(list(node.attrs[key]), dtype=dtype)]
    raise ImportFailure("NN704", f"Constant with {sorted(node.attrs)} (sparse or string value)")


def _constant_of_shape(cx: Context, node: OnnxNode) -> list[Value]:
    import onnx.numpy_helper

    shape = _int_list(_const(_x(node), "ConstantOfShape's shape"), "shape")
    cx.check_size(math.prod(shape), "ConstantOfShape")
    tensor = node.attrs.get("value")
    fill = onnx.numpy_helper.to_array(tensor) if tensor is not None else np.zeros(1, np.float32)
    return [np.full(shape, fill.ravel()[0], dtype=fill.dtype)]


# ONNX op type (default domain) -> converter, for the ONNX ops that are not one op's
# one-node twin. Identity is dropped rather than kept; the others build what they mean.
SPECIAL: dict[str, Converter] = {
    "Identity": _identity,
    "Dropout": _dropout,
    "Gelu": _gelu,
    "Reciprocal": _reciprocal,
    "Clip": _clip,
    "Add": _binary("add"),
    "Sub": _binary("sub"),
    "Mul": _binary("mul"),
    "Div": _binary("div"),
    "Pow": _binary("pow"),
    "Max": _variadic("maximum"),
    "Min": _variadic("minimum"),
    "Sum": _variadic("add"),
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"),
    "BatchNormalization": _batch_norm,
    "ReduceSum": _reduce("sum", 13),
    "ReduceMean": _reduce("mean", 18),
    "ReduceMax": _reduce("max", 18),
    "ReduceMin": _reduce_min,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Concat": _concat,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Shape": _shape,
    "Gather": _gather,
    "Slice": _slice,
    "Cast": _cast,
    "Constant": _constant,
    "ConstantOfShape": _constant_of_shape,
}

# The table: every ONNX op imported.
CONVERTERS: dict[str, Converter] = {**one_node_converters(), **SPECIAL}

# Ops that only ever fold (their inputs must be constants of the model).
FOLD_ONLY = ("Shape", "Gather", "Slice", "Constant", "ConstantOfShape")
