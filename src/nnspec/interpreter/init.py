"""Param initialisation: from a `Graph`'s init recipes to arrays, seeded and exact.

Each param draws from its own generator seeded by (graph seed, crc32 of its name),
so adding or reordering params never changes the values of the others, and the
same seed gives the same bits on every machine (NumPy's PCG64 is portable).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from nnspec import aligned
from nnspec.ir import Graph, Param

ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}


def initial_values(graph: Graph, seed: int | None = None) -> dict[str, np.ndarray]:
    """A fresh array for every param (literal values are copied), each starting on a
    cache line (`nnspec.aligned`), as a `Model` keeps its params."""
    base = graph.seed if seed is None else seed
    return {p.name: initial_value(p, base) for p in graph.params}


def initial_value(param: Param, seed: int) -> np.ndarray:
    dtype = param.type.dtype
    shape = _concrete_shape(param)
    if param.value is not None:
        return aligned.copy(param.value, dtype)  # C order, as a compiled module
    recipe: Mapping[str, Any] = param.init or {"name": "zeros"}
    rng = np.random.default_rng([seed, zlib.crc32(param.name.encode("utf-8"))])
    return aligned.copy(_draw(recipe, shape, rng), dtype)


def _concrete_shape(param: Param) -> tuple[int, ...]:
    """The shape of `param` as ints: the checker gives every param concrete dims."""
    shape = []
    for d in param.type.shape:
        if d is None or isinstance(d, str):
            raise ValueError(f"param {param.name!r} has a non-concrete type {param.type}")
        shape.append(int(d))
    return tuple(shape)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) for a weight of `shape` in the XW orientation ([in, out])."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _draw(
    recipe: Mapping[str, Any], shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    name = ALIASES.get(recipe["name"], recipe["name"])
    gain = float(recipe.get("gain", 1.0))
    fan_in, fan_out = fans(shape)
    if name == "zeros":
        return np.zeros(shape)
    if name == "ones":
        return np.ones(shape)
    if name == "constant":
        return np.full(shape, float(recipe.get("value", 0.0)))
    if name == "normal":
        return rng.normal(float(recipe.get("mean", 0.0)), float(recipe.get("std", 0.05)), shape)
    if name == "uniform":
        return rng.uniform(float(recipe.get("low", -0.05)), float(recipe.get("high", 0.05)), shape)
    if name == "glorot_uniform":
        limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)
    if name == "glorot_normal":
        return rng.normal(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), shape)
    if name == "he_uniform":
        limit = gain * math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, shape)
    if name == "he_normal":
        return rng.normal(0.0, gain * math.sqrt(2.0 / fan_in), shape)
    raise ValueError(f"unknown init {name!r}")  # the schema makes this unreachable
