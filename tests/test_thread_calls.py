"""What a ``threads=N`` call costs the BLAS, in both engines: counted library calls.

The rule (`nnspec.interpreter.threads` and its printed twin in compiled modules):
one read of each library's count per call, no set when the count already holds, and
otherwise one set on entry and one restore on exit. The real controllers run; the
counting wrapper only tallies their calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import nnspec
from nnspec.codegen import load_source
from nnspec.interpreter import Model, threads

DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 6]}},
    "nodes": [{"op": "dense", "units": 5, "activation": "relu"}, {"op": "dense", "units": 2}],
}
CALLS = 10


class Counted:
    """A real BLAS controller whose get/set calls are counted (they still run)."""

    def __init__(self, lib: Any, calls: dict[str, int]):
        self._lib, self._calls = lib, calls

    def get_num_threads(self) -> int:
        self._calls["get"] += 1
        return self._lib.get_num_threads()

    def set_num_threads(self, count: int) -> None:
        self._calls["set"] += 1
        self._lib.set_num_threads(count)


def blas_counts() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def _engine(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, int], int]:
    """(predict, its call counts, libraries) with the engine's BLAS controllers counted."""
    graph = nnspec.load(DOC)
    calls = {"get": 0, "set": 0}
    if name == "interpreter":
        libs = threads._blas_libraries()
        monkeypatch.setattr(threads, "_libraries", [Counted(lib, calls) for lib in libs])
        return Model(graph).predict, calls, len(libs)
    module = load_source(nnspec.compile(graph, self_test=False), "thread_calls")
    libs = module._blas_libraries()
    monkeypatch.setitem(module._BLAS, "libraries", [Counted(lib, calls) for lib in libs])
    return module.predict, calls, len(libs)


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
@pytest.mark.parametrize("same", [True, False])
def test_a_count_costs_one_read_and_a_set_only_when_it_changes(monkeypatch, engine, same):
    predict, calls, libs = _engine(engine, monkeypatch)
    before = blas_counts()
    assert before, "NumPy's BLAS is visible to threadpoolctl"
    count = before[0] if same else before[0] + 1
    x = np.ones((3, 6), np.float32)
    want = predict(x)
    for _ in range(CALLS):
        assert predict(x, threads=count).tobytes() == want.tobytes()
        assert blas_counts() == before  # restored after every call
    sets = 0 if same else 2 * CALLS * libs
    assert calls == {"get": CALLS * libs, "set": sets}


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_auto_on_small_work_makes_no_library_call(monkeypatch, engine):
    predict, calls, _ = _engine(engine, monkeypatch)
    x = np.ones((3, 6), np.float32)
    for _ in range(CALLS):
        predict(x)
    assert calls == {"get": 0, "set": 0}


def test_an_overlapping_call_sets_only_what_differs(monkeypatch):
    _, calls, libs = _engine("interpreter", monkeypatch)
    before = blas_counts()
    # the libraries nnspec found (once: a BLAS loaded later, such as torch's, is not
    # among them), read past the counting wrapper
    controlled = [lib._lib for lib in threads._blas_libraries()]
    top = max(lib.get_num_threads() for lib in controlled)  # above every one's count
    with threads.blas_threads(top + 1, 1):
        with threads.blas_threads(top + 1, 1):  # already in effect: nothing to do
            assert calls == {"get": libs, "set": libs}
        with threads.blas_threads(top + 2, 1):
            assert [lib.get_num_threads() for lib in controlled] == [top + 2] * libs
        assert calls == {"get": libs, "set": 2 * libs}
    assert blas_counts() == before  # the latest count was in effect: restored once
    assert calls == {"get": libs, "set": 3 * libs}
