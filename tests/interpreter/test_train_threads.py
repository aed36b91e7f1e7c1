"""A training run sets the BLAS thread count once per epoch, not once per step
(counted calls of the libraries' own setter, never timed), in both engines."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.codegen import load_source
from nnspec.interpreter import Model
from nnspec.interpreter.threads import _blas_libraries

EPOCHS, BATCHES = 3, 5
DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 4]}},
    "nodes": [{"id": "h", "op": "dense", "units": 3}],
    "training": {
        "target": {"shape": ["batch", 3]},
        "loss": "mse",
        "optimizer": {"name": "sgd", "learning_rate": 0.01},
        "epochs": EPOCHS,
        "batch_size": 4,
    },
}


def _other_count() -> int:
    """A thread count other than the current one that the BLAS accepts (else skip)."""
    libs = _blas_libraries()
    if not libs:
        pytest.skip("threadpoolctl finds no BLAS library")
    now = libs[0].get_num_threads()
    target = 1 if now != 1 else 2
    libs[0].set_num_threads(target)
    took = libs[0].get_num_threads() == target
    libs[0].set_num_threads(now)
    if not took:
        pytest.skip("this BLAS runs one thread only")
    return target


@contextmanager
def _counting_sets() -> Iterator[list[int]]:
    """Counts calls to any BLAS library's ``set_num_threads`` while active."""
    calls: list[int] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "set_num_threads":
            calls.append(1)

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(None)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rows = 4 * BATCHES
    return rng.normal(size=(rows, 4)).astype(np.float32), rng.normal(size=(rows, 3)).astype(
        np.float32
    )


def _runs(threads: int) -> dict[str, Callable[[], Any]]:
    graph = nnspec.load(DOC)
    module = load_source(nnspec.compile(graph, self_test=False, train=True))
    x, y = _data()
    return {
        "interpreter": lambda: nnspec.train(Model(graph), x, y, threads=threads, quiet=True),
        "compiled": lambda: module.fit(x, y, threads=threads),
    }


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_the_thread_count_is_set_once_per_epoch(engine: str) -> None:
    threads = _other_count()
    before = _blas_libraries()[0].get_num_threads()
    run = _runs(threads)[engine]
    with _counting_sets() as calls:
        run()
    # one set and one restore per epoch and library (another test may have loaded a
    # second BLAS, such as torch's); per step it was 2 * EPOCHS * BATCHES per library
    assert len(calls) <= 2 * EPOCHS * len(_blas_libraries()), len(calls)
    assert _blas_libraries()[0].get_num_threads() == before  # restored afterwards
