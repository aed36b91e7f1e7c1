"""BLAS thread control (`nnspec.interpreter.threads`): validation, the "auto" rule,
and that a set count holds during the call and is restored after it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import nnspec
from nnspec.interpreter import Model, threads
from nnspec.interpreter.train import train

DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 64]}},
    "nodes": [{"op": "dense", "units": 64, "activation": "relu"}, {"op": "dense", "units": 2}],
    "training": {
        "target": {"shape": ["batch", 2]},
        "loss": "mse",
        "optimizer": {"name": "sgd", "learning_rate": 0.01},
        "epochs": 2,
        "batch_size": 16,
    },
}


def blas_counts() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


@pytest.mark.parametrize(
    "bad, error",
    [
        *[(0, ValueError), (-1, ValueError), (1025, ValueError), (True, TypeError)],
        *[(False, TypeError), (1.0, TypeError), (2.5, TypeError), ("2", TypeError)],
        ([1], TypeError),
    ],
)
def test_bad_thread_counts_are_refused_everywhere(bad, error):
    graph = nnspec.load(DOC)
    x = np.zeros((4, 64), np.float32)
    with pytest.raises(error, match="threads must be"):
        Model(graph, threads=bad)
    with pytest.raises(error, match="threads must be"):
        Model(graph).predict(x, threads=bad)
    with pytest.raises(error, match="threads must be"):
        train(graph, x, np.zeros((4, 2), np.float32), threads=bad, quiet=True)


@pytest.mark.parametrize("good", [None, 1, 2, 64])
def test_good_thread_counts_are_kept(good):
    assert Model(nnspec.load(DOC), threads=good).threads == good


def test_a_fixed_count_holds_inside_and_is_restored_after():
    before = blas_counts()
    assert before, "NumPy's BLAS is visible to threadpoolctl"
    for count in (1, 3):
        with threads.blas_threads(count, 1):
            assert blas_counts() == [count] * len(before)
        assert blas_counts() == before
    with pytest.raises(RuntimeError), threads.blas_threads(1, 1):
        raise RuntimeError("the count is restored on errors too")
    assert blas_counts() == before


def test_auto_leaves_small_work_alone_and_bounds_large_work():
    assert threads.choose(None, threads.SMALL_WORK - 1) is None
    assert threads.choose(5, 1) == 5
    chosen = threads.choose(None, threads.SMALL_WORK)
    assert chosen is None or 1 <= chosen <= threads.usable_cores()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts tasks in /proc")
def test_a_busy_process_elsewhere_is_counted_and_our_own_threads_are_not():
    spinner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass",
        ]
    )
    try:
        time.sleep(0.3)
        counts = [threads.busy_elsewhere() for _ in range(5)]
    finally:
        spinner.terminate()
        spinner.wait()
    assert all(c is not None and c >= 1 for c in counts), counts


def test_results_do_not_depend_on_the_setting():
    graph = nnspec.load(DOC)
    x = np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32)
    expected = Model(graph).predict(x)
    for count in (1, 2):
        np.testing.assert_allclose(Model(graph, threads=count).predict(x), expected, rtol=1e-6)
        np.testing.assert_allclose(Model(graph).predict(x, threads=count), expected, rtol=1e-6)
    y = np.zeros((256, 2), np.float32)
    one = train(graph, x, y, threads=1, quiet=True, seed=0).loss
    auto = train(graph, x, y, quiet=True, seed=0).loss
    np.testing.assert_allclose(one, auto, rtol=1e-5)


def test_an_overlapping_call_from_another_thread_does_not_restore_too_early():
    before = blas_counts()
    mine, theirs = before[0] + 1, before[0] + 2
    with threads.blas_threads(mine, 1):
        done = threading.Event()

        def call() -> None:
            with threads.blas_threads(theirs, 1):
                pass
            done.set()

        worker = threading.Thread(target=call)
        worker.start()
        worker.join()
        assert done.is_set()
        # still limited: the other thread's exit does not restore while this call runs
        assert blas_counts()[0] in (mine, theirs)
    assert blas_counts() == before
