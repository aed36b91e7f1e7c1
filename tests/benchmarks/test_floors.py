"""The training step's NumPy calls floor computes what nnspec computes: the hand-tuned
step with the document's update (``w - lr*g``, two passes per param) ends with the
very weights both engines end with, at one BLAS thread and a power-of-two batch
(where folding 1/n into the row sums is exact); with the learning rate folded in, it
ends with other bits. No timings."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnspec
from nnspec.codegen import load_source
from nnspec.interpreter import Model
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.exists(), reason="benchmarks/ is not shipped here")
SIZES = (48, 32, 16, 10)


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("floors"), importlib.import_module("mlp")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("batch", [32, 128])
def test_the_calls_floor_ends_with_nnspecs_weights_and_the_folded_step_does_not(
    bench: Any, batch: int
) -> None:
    floors, mlp = bench
    graph, params = mlp.graph_and_params(train=True, sizes=SIZES)
    x, labels = mlp.data(batch, SIZES)
    lr = float(graph.training.optimizer["learning_rate"])
    model = Model(graph, params, threads=1)
    step = TrainStep(model, make_optimizer(graph.training.optimizer), threads=1)
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    state = module.init_state()
    calls, folded = floors.HandTunedStep(params, lr, fold=False), floors.HandTunedStep(params, lr)
    with threadpool_limits(1):
        for _ in range(3):
            step({"x": x, "label": labels})
            module.train_step({"x": x, "label": labels}, state, threads=1)
            calls(x, labels)
            folded(x, labels)
    for name, value in model.params.items():
        assert module.PARAMS[name].tobytes() == value.tobytes(), name
        assert calls.weights()[name].tobytes() == value.tobytes(), name
    assert any(
        folded.weights()[name].tobytes() != value.tobytes() for name, value in model.params.items()
    )
    assert all(np.allclose(folded.weights()[k], v, atol=1e-5) for k, v in model.params.items())
