"""Random inputs in each input's valid domain, for ``nnspec check`` and ONNX verification.

Standard-normal inputs make a model that takes ``log`` or ``sqrt`` of an input
(or raises it to a fractional power, or divides by it) compute NaN, and a comparison
of NaNs says nothing. So an input is drawn positive, uniform in `POSITIVE`, when
the graph shows it must be: it reaches an operand whose `OpDef.domain` is
``positive`` (log's and sqrt's input, pow's base, div's divisor) through ops that
keep a positive value positive (`OpDef.positive` ``if_inputs``, such as add and
sqrt) or that only move values (views: reshape, transpose). Anything the graph does
not show (``log(x - 3)``) still draws standard normal; comparisons then treat NaN
on both sides as agreement.
"""

from __future__ import annotations

import numpy as np

from nnspec.ir import Graph
from nnspec.ops import REGISTRY

POSITIVE = (0.5, 2.0)
"""The range positive inputs are drawn from: away from 0, where log and 1/x blow up."""


def positive_values(graph: Graph) -> frozenset[str]:
    """Names of the values (inputs, params, node outputs) that must be > 0 for the
    graph to stay in its ops' domains, as far as the op facts show."""
    need: set[str] = set()
    for node in reversed(graph.nodes):  # every consumer of a value comes after it
        op = REGISTRY[node.op]
        need.update(name for k, name in enumerate(node.inputs) if op.domain_of(k) == "positive")
        if node.id in need and (op.positive == "if_inputs" or op.view):
            need.update(node.inputs)
    return frozenset(need)


def draw(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: str | np.dtype, positive: bool
) -> np.ndarray:
    """A float array: uniform in `POSITIVE` when `positive`, else standard normal."""
    values = rng.uniform(*POSITIVE, shape) if positive else rng.normal(0.0, 1.0, shape)
    return values.astype(dtype)
