"""Params of the semantic checker: declarations become `Param`s.

Called from `check.py` while types are inferred: a declared param is materialised on
first use (`param_type`), a composite layer's params with the shapes the layer
needs (`make_param`, which also checks a declared shape or literal value against
them); `finish_params` then materialises unused declarations and applies the
optional weights file (`weights.py`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from nnspec.errors import pointer_join
from nnspec.ir import Param, TensorType
from nnspec.ops.base import fmt_shape
from nnspec.spec.builder import GraphBuilder
from nnspec.spec.limits import total_param_problem
from nnspec.spec.weights import load_weights


def declared_params(b: GraphBuilder) -> dict[str, dict[str, Any]]:
    declared = {}
    for name, spec in b.doc.get("params", {}).items():
        pointer = pointer_join("params", name)
        if name in b.types:
            b.error("NN201", f"param {name!r} has the same name as an input", pointer)
            continue
        declared[name] = {**spec, "pointer": pointer}
    return declared


def param_type(b: GraphBuilder, name: str, declared: Mapping[str, dict]) -> TensorType | None:
    """Type of a declared param, materialising it on first use."""
    if name in b.params:
        return b.params[name].type
    if name not in declared or name in b.failed:
        return None
    param = make_param(b, name, declared[name], shape=None, default_init=None, owner=None)
    if param is None:
        b.failed.add(name)  # report a broken declaration once, not at every use
        return None
    b.params[name] = param
    return param.type


def make_param(
    b: GraphBuilder,
    name: str,
    spec: Mapping[str, Any],
    *,
    shape: tuple[int, ...] | None,
    default_init: str | None,
    owner: str | None,
) -> Param | None:
    """A `Param` from its declaration and/or the shape a composite needs."""
    pointer = spec["pointer"]
    dtype = spec.get("dtype", b.dtype)
    declared_shape = tuple(spec["shape"]) if "shape" in spec else None
    value = None
    if "value" in spec:
        value_pointer = f"{pointer}/value"  # `pointer` is already escaped
        value = _literal(b, name, spec["value"], dtype, value_pointer)
        if value is None:
            return None
        if declared_shape is not None and value.shape != declared_shape:
            b.error(
                "NN401",
                f"param {name!r} declares shape {list(declared_shape)} but its value has shape "
                f"{list(value.shape)}",
                value_pointer,
            )
            return None
        declared_shape = value.shape
    if shape is not None and declared_shape is not None and declared_shape != tuple(shape):
        b.error(
            "NN301",
            f"layer {owner!r} needs param {name!r} of shape {fmt_shape(shape)}, got "
            f"{fmt_shape(declared_shape)}; fix or drop the declared shape",
            pointer,
        )
        return None
    final_shape = tuple(shape) if shape is not None else declared_shape
    init = spec.get("init", default_init if value is None else None)
    if isinstance(init, str):
        init = {"name": init}
    if final_shape is None:
        b.error("NN103", f"param {name!r} needs a 'shape' (or a 'value')", pointer)
        return None
    if isinstance(init, Mapping):
        problem = _init_problem(init, dtype)
        if problem:
            b.error(problem[0], f"param {name!r}: {problem[1]}", f"{pointer}/init")
            return None
    size = math.prod(final_shape)
    if size > b.limits.max_param_elements:
        b.error(
            "NN601",
            f"param {name!r} of shape {list(final_shape)} has {size} elements; the limit is "
            f"{b.limits.max_param_elements}",
            pointer,
        )
        return None
    return Param(
        name=name,
        type=TensorType(final_shape, dtype),
        trainable=bool(spec.get("trainable", True)),
        init=init,
        value=value,
        pointer=pointer,
        owner=owner,
    )


# The largest factor by which glorot/he scale their gain (a fan of 1, he's sqrt(6)),
# and how many standard deviations a normal draw is taken to reach.
_FAN_FACTOR = math.sqrt(6.0)
_SIGMAS = 10.0


def _init_problem(init: Mapping[str, Any], dtype: str) -> tuple[str, str] | None:
    """(code, message) when `init` could draw values that are not finite in `dtype`.

    Bounds are conservative but far from any sensible setting: a normal init is taken
    to reach 10 standard deviations, glorot/he limits are bounded by gain × sqrt(6).
    """
    top = float(np.finfo(dtype).max)
    kind = init["name"]
    low, high = init.get("low", -0.05), init.get("high", 0.05)
    if kind == "uniform" and low > high:
        return "NN107", f"uniform init has low {low!r} above high {high!r}; swap them"
    with np.errstate(over="ignore"):
        reach = {
            "constant": abs(float(init.get("value", 0.0))),
            "normal": abs(float(init.get("mean", 0.0))) + _SIGMAS * float(init.get("std", 0.05)),
            # NumPy draws low + (high - low)·u in float64: the width must be finite too
            "uniform": max(abs(float(low)), abs(float(high)))
            if math.isfinite(float(high) - float(low))
            else math.inf,
        }.get(kind, _SIGMAS * _FAN_FACTOR * float(init.get("gain", 1.0)))
    if kind in ("zeros", "ones") or reach <= top:
        return None
    if math.isinf(reach):
        return "NN402", f"{kind} init spans a range wider than a float64 holds; narrow it"
    return "NN402", (
        f"{kind} init can draw values as large as {reach:.3g}, beyond the range of {dtype} "
        f"(about {top:.3g}); use settings within it"
    )


def _literal(b: GraphBuilder, name: str, value: Any, dtype: str, pointer: str) -> np.ndarray | None:
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as NN402
            array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError):
        b.error(
            "NN401",
            f"param {name!r} has a ragged value: nested lists must be rectangular",
            pointer,
        )
        return None
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        where = list(map(int, bad[0]))
        b.error(
            "NN402",
            f"param {name!r} has a value that is not finite in {dtype} at index {where} "
            f"({value if array.ndim == 0 else np.asarray(value, dtype=object)[tuple(where)]!r}); "
            f"write a finite number within the range of {dtype}",
            pointer,
        )
        return None
    return array


def finish_params(b: GraphBuilder, declared: Mapping[str, dict]) -> None:
    """Materialise declared params nobody used (for warnings) and apply the weights file."""
    for name in declared:
        if name not in b.params:
            param_type(b, name, declared)
    weights_file = b.doc.get("weights")
    if weights_file is not None:
        arrays = load_weights(weights_file, b.base_dir, b.params, b.problems)
        for name, array in arrays.items():
            b.params[name] = dataclasses.replace(b.params[name], init=None, value=array)
    sizes = {name: math.prod(p.type.shape) for name, p in b.params.items()}  # type: ignore[arg-type]
    too_many = total_param_problem(sizes, b.limits)
    if too_many is not None:
        b.problems.append(too_many)
    for name, p in b.params.items():
        if p.value is None and p.init is None:
            b.error(
                "NN103",
                f"param {name!r} needs an 'init' or a 'value' (or an entry in the weights file)",
                p.pointer,
            )
