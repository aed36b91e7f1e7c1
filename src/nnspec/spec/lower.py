"""Lowering: composite layers become primitive ops. One visible table, `COMPOSITES`.

| composite | params                            | primitives                                       |
|-----------|-----------------------------------|--------------------------------------------------|
| dense     | <id>.W [in, units], <id>.b [units] | matmul → add → activation                       |
| maxout    | <id>.W [in, units·pieces], <id>.b | matmul → add → reshape [.., units, pieces] → max |

The last primitive of a lowered layer takes the layer's id, so later nodes refer
to the layer by the name the user wrote; the others get ``<id>.<step>`` names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nnspec.ops import REGISTRY
from nnspec.regularizers import SCHEMA as _REGULARIZER

ACTIVATIONS = tuple(name for name, op in REGISTRY.items() if op.activation)
"""Ops a dense layer may apply (`OpDef.activation`), with their attribute defaults."""


@dataclass(frozen=True)
class Step:
    """One primitive a composite lowers to; `inputs` may name ``$x`` (the layer input)."""

    suffix: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, Any]


@dataclass(frozen=True)
class Composite:
    """A layer that owns params and lowers to primitives."""

    name: str
    doc: str
    attrs: Mapping[str, Mapping[str, Any]]
    required: tuple[str, ...]
    params: Callable[[int, Mapping[str, Any]], dict[str, tuple[tuple[int, ...], str]]]
    steps: Callable[[int, Mapping[str, Any]], list[Step]]
    example: Mapping[str, Any]

    def defaults(self) -> dict[str, Any]:
        """Attribute defaults taken from the attribute schemas (as `OpDef.defaults`)."""
        return {k: s["default"] for k, s in self.attrs.items() if "default" in s}


INIT_NAMES = (
    "zeros",
    "ones",
    "constant",
    "normal",
    "uniform",
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
)

_UNITS = {"type": "integer", "minimum": 1, "description": "number of output features"}
_USE_BIAS = {"type": "boolean", "default": True, "description": "add the bias b"}
_KERNEL_INIT = {"enum": list(INIT_NAMES), "default": "glorot_uniform", "description": "init of W"}
_BIAS_INIT = {"enum": list(INIT_NAMES), "default": "zeros", "description": "init of b"}
_KERNEL_REGULARIZER = {**_REGULARIZER, "description": "L1/L2 penalty on W (spec/training.py)"}


def _dense_params(fan_in: int, attrs: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    units = attrs["units"]
    params: dict[str, tuple[tuple[int, ...], str]] = {
        "W": ((fan_in, units), attrs.get("kernel_init", "glorot_uniform"))
    }
    if attrs.get("use_bias", True):
        params["b"] = ((units,), attrs.get("bias_init", "zeros"))
    return params


def _affine(attrs: Mapping[str, Any]) -> list[Step]:
    steps = [Step("matmul", "matmul", ("$x", "$W"), {})]
    if attrs.get("use_bias", True):
        steps.append(Step("add", "add", ("$prev", "$b"), {}))
    return steps


def _dense_steps(rank: int, attrs: Mapping[str, Any]) -> list[Step]:
    steps = _affine(attrs)
    activation = attrs.get("activation")
    if activation not in (None, "linear"):
        steps.append(Step(activation, activation, ("$prev",), {}))
    return steps


def _maxout_params(fan_in: int, attrs: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    width = attrs["units"] * attrs["pieces"]
    return _dense_params(fan_in, {**attrs, "units": width})


def _maxout_steps(rank: int, attrs: Mapping[str, Any]) -> list[Step]:
    shape = [0] * (rank - 1) + [attrs["units"], attrs["pieces"]]
    return [
        *_affine(attrs),
        Step("reshape", "reshape", ("$prev",), {"shape": shape}),
        Step("max", "max", ("$prev",), {"axis": -1, "keepdims": False}),
    ]


COMPOSITES: dict[str, Composite] = {
    c.name: c
    for c in (
        Composite(
            name="dense",
            doc="fully connected layer H = f(XW + b); owns <id>.W [in, units] and <id>.b [units]",
            attrs={
                "units": _UNITS,
                "activation": {
                    "description": "activation f applied to XW + b; null or 'linear' for none",
                    "default": None,
                    "enum": [None, "linear", *ACTIVATIONS],
                },
                "use_bias": _USE_BIAS,
                "kernel_init": _KERNEL_INIT,
                "bias_init": _BIAS_INIT,
                "regularizer": _KERNEL_REGULARIZER,
            },
            required=("units",),
            params=_dense_params,
            steps=_dense_steps,
            example={"units": 8, "activation": "tanh"},
        ),
        Composite(
            name="maxout",
            doc="maxout layer: max over `pieces` affine maps per unit; owns <id>.W, <id>.b",
            attrs={
                "units": _UNITS,
                "pieces": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "affine pieces per unit",
                },
                "use_bias": _USE_BIAS,
                "kernel_init": _KERNEL_INIT,
                "bias_init": _BIAS_INIT,
                "regularizer": _KERNEL_REGULARIZER,
            },
            required=("units", "pieces"),
            params=_maxout_params,
            steps=_maxout_steps,
            example={"units": 4, "pieces": 3},
        ),
    )
}
