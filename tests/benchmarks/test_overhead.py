"""benchmarks/run.py's per-node overhead subtracts the call the interpreter makes.

`per_node_overhead` takes one call of a chain node's own function away from the
cost of one more node; `chain_node_call` names that call from public facts (the
buffer plan and `OpDef.inplace`). These tests hold it to what the interpreter's
plan really runs, so a change of the plan fails here instead of skewing the figure.
No timings.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.interpreter import Model

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.exists(), reason="benchmarks/ is not shipped here")


@pytest.fixture(scope="module")
def run() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("run")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_the_subtracted_call_is_what_the_plan_runs_for_a_chain_node(run: Any) -> None:
    model = Model(nnspec.load(run.tanh_chain(6)))
    call = run.chain_node_call(model.graph)
    steps = model.forward_plan.steps
    assert steps[0][5] is None  # the first node reads the caller's input: a fresh array
    for fn, ins, _out, _free, _node, into, consts in steps[1:]:
        assert fn is call and into == ("input", 0) and consts == ()
        assert len(ins) == 1
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
    value = np.tanh(x)
    for _ in range(5):
        call(value, out=value)
    np.testing.assert_array_equal(value, model.predict(x))


def test_a_chain_not_written_in_place_is_refused(run: Any) -> None:
    doc = run.tanh_chain(3)
    doc["nodes"][0]["id"] = "first"
    doc["nodes"][-1]["id"] = "last"
    doc["outputs"] = ["first", "last"]  # the first value is returned: no node may overwrite it
    with pytest.raises(AssertionError, match="no longer writes a tanh chain in place"):
        run.chain_node_call(nnspec.load(doc))
