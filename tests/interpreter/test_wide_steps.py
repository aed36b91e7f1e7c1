"""A step with many inputs (a concat of thousands) reads them from a tuple of slots
instead of naming each inline, so planning stays linear in time and memory; it
computes what the inline form computes, and its failures still name the node."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.interpreter.forward import MAX_INLINE_ARGS


def _concat(count: int) -> nnspec.Graph:
    names = [f"x{k % 3}" for k in range(count)]
    return nnspec.load(
        {
            "nnspec": "1",
            "inputs": {f"x{k}": {"shape": ["batch", 1]} for k in range(3)},
            "nodes": [{"id": "c", "op": "concat", "axis": 1, "inputs": names}],
            "outputs": ["c"],
        }
    )


@pytest.mark.parametrize("count", [MAX_INLINE_ARGS - 1, MAX_INLINE_ARGS + 1, 5000])
def test_wide_concat_agrees_with_numpy_and_the_compiled_module(count: int) -> None:
    graph = _concat(count)
    feeds = {f"x{k}": np.full((2, 1), k, np.float32) for k in range(3)}
    got = nnspec.Model(graph).run(feeds)["c"]
    expected = np.concatenate([feeds[f"x{k % 3}"] for k in range(count)], axis=1)
    np.testing.assert_array_equal(got, expected)
    module = load_source(compile(graph, self_test=False))
    np.testing.assert_array_equal(module.run(feeds)["c"], got)


def test_a_failure_in_a_wide_step_still_names_its_node() -> None:
    graph = _concat(MAX_INLINE_ARGS * 2)
    model = nnspec.Model(graph)
    env = model.environment(model.forward_plan, {f"x{k}": np.zeros((2, 1)) for k in range(3)})
    env[model.layout.slots["x1"]] = np.zeros((3, 1), np.float32)  # past the input check
    with pytest.raises(ValueError, match="'c'"):
        model.forward_plan.run(env)
