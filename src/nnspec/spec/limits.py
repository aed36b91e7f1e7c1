"""Caps that keep a hostile document harmless (documented in docs/format.md#limits).

Every cap is configurable by passing a `Limits` to `nnspec.load` / `nnspec.validate`
(the common ones also with the `--max-*` options of `nnspec validate`).
`shape_problems` checks the declared shapes against them before anything is built.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nnspec.errors import Problem, pointer_join


@dataclass(frozen=True)
class Limits:
    """Upper bounds checked before any large allocation happens."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 1_000_000
    max_param_elements: int = 100_000_000
    # All params together (30 params just under the per-param cap would need 12 GB).
    max_total_param_elements: int = 250_000_000
    # Rank of any declared shape (NumPy's own limit is 64; no model needs 32).
    max_rank: int = 32
    # Elements of an input's or target's fixed dims, symbols counted as 1: larger
    # inputs cannot be fed on any machine, and `compile`/`check` would allocate them.
    max_input_elements: int = 100_000_000


DEFAULT_LIMITS = Limits()


def shape_problems(doc: Mapping[str, Any], limits: Limits) -> list[Problem]:
    """NN601 for every declared shape (inputs, target, params, reshape targets) of
    too high a rank, and every input or target with too many fixed elements."""
    problems = []
    for pointer, shape, is_feed in _declared_shapes(doc):
        if len(shape) > limits.max_rank:
            problems.append(
                Problem(
                    "NN601",
                    f"shape of rank {len(shape)}; the limit is {limits.max_rank} (max_rank)",
                    pointer,
                )
            )
            continue
        fixed = math.prod(d for d in shape if isinstance(d, int) and d > 0)
        if is_feed and fixed > limits.max_input_elements:
            problems.append(
                Problem(
                    "NN601",
                    f"an input of this shape has at least {_count(fixed)} elements; the limit "
                    f"is {limits.max_input_elements} (max_input_elements)",
                    pointer,
                )
            )
    return problems


def _count(n: int) -> str:
    return str(n) if n < 10**15 else f"about {float(n):.3g}"


def _declared_shapes(doc: Mapping[str, Any]) -> Iterator[tuple[str, list, bool]]:
    """(pointer, shape, whether it is fed by the user) of every declared shape."""
    for name, spec in doc.get("inputs", {}).items():
        yield pointer_join("inputs", name, "shape"), spec["shape"], True
    target = doc.get("training", {}).get("target")
    if target is not None:
        yield "/training/target/shape", target["shape"], True
    for name, spec in doc.get("params", {}).items():
        if "shape" in spec:
            yield pointer_join("params", name, "shape"), spec["shape"], False
    for index, node in enumerate(doc["nodes"]):
        if node.get("op") == "reshape":
            yield pointer_join("nodes", index, "shape"), node["shape"], False


def total_param_problem(sizes: Mapping[str, int], limits: Limits) -> Problem | None:
    """NN601 when all params together exceed max_total_param_elements."""
    total = sum(sizes.values())
    if total <= limits.max_total_param_elements:
        return None
    largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:3]
    shown = ", ".join(f"{name!r} ({sizes[name]})" for name in largest)
    return Problem(
        "NN601",
        f"the params have {total} elements together (largest: {shown}); the limit is "
        f"{limits.max_total_param_elements} (max_total_param_elements)",
        "",
    )


SAMPLE_ELEMENTS = 10_000_000
"""What `nnspec check` and a compiled module's self-test may allocate for generated
inputs, all of them together (symbolic dims given the sample's batch size)."""


def sample_elements(shapes: Iterable[tuple[Any, ...]], batch: int) -> int:
    """Elements of sample inputs of these shapes when every non-fixed dim is `batch`."""
    return sum(math.prod(d if isinstance(d, int) else batch for d in shape) for shape in shapes)
