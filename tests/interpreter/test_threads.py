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


# /proc/stat's first lines as recorded on the 2-core development machine (100 ticks a
# second): the first is the whole machine, the others one core each
RECORDED = "cpu  79165 0 13374 50310 282 0 202 1674 0 0\ncpu0 36276 0 5859 29474 47 0 24 817 0 0\n"


def test_the_machine_seconds_are_the_busy_fields_of_the_first_line():
    # user + nice + system + irq + softirq + steal; idle and iowait are not use
    assert threads.machine_seconds(RECORDED, 100) == (79165 + 13374 + 202 + 1674) / 100
    assert threads.machine_seconds("cpu0 1 2 3 4 5 6 7 8\n", 100) is None
    assert threads.machine_seconds("cpu 1 2 3\n", 100) is None
    assert threads.machine_seconds("", 100) is None


def test_other_processes_cores_are_the_machines_time_less_ours_per_second():
    before = (10.0, 500.0, 3.0)
    assert threads.others_cores(before, (10.5, 501.0, 3.5)) == pytest.approx(1.0)
    assert threads.others_cores(before, (10.5, 500.52, 3.5)) == pytest.approx(0.04)
    # our own time counted on other ticks than the machine's: never below zero
    assert threads.others_cores(before, (10.5, 500.4, 3.5)) == 0.0
    assert threads.others_cores(before, before) == 0.0


@pytest.mark.parametrize(
    "others, counted, cores, want",
    [
        (0.0, 0, 2, 0),
        (0.49, 0, 2, 0),  # not yet a busy core
        (0.5, 0, 2, 1),  # RISE reached
        (0.66, 0, 2, 1),  # a spinner beside our 2 threads gets 2/3 of a core
        (1.0, 0, 2, 1),
        (0.3, 1, 2, 1),  # inside the band: still counted
        (0.25, 1, 2, 1),
        (0.24, 1, 2, 0),  # below FALL: no longer
        (1.49, 1, 2, 1),
        (1.5, 1, 2, 2),
        (1.3, 2, 2, 2),
        (1.2, 2, 2, 1),
        (0.1, 2, 2, 0),  # a quiet spell after a busy one: straight down
        (3.0, 0, 2, 2),  # never more than the cores
        (2.7, 0, 4, 3),
        (0.6, 0, 1, 1),
    ],
)
def test_the_busy_count_rises_at_rise_and_falls_below_fall(others, counted, cores, want):
    assert (threads.RISE, threads.FALL) == (0.5, 0.25)  # the table's thresholds
    assert threads.busy_count(others, counted, cores) == want


def test_auto_looks_at_most_once_per_sample_time(monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "look", lambda: calls.append(1) or (time.monotonic(), 0.0, 0.0))
    monkeypatch.setattr(threads, "_looked", time.monotonic())
    monkeypatch.setattr(threads, "_state", ((0.0, 0.0, 0.0), 0.0, 0, 7))
    assert [threads.auto_threads() for _ in range(100)] == [7] * 100
    assert calls == []
    monkeypatch.setattr(threads, "_looked", time.monotonic() - threads.SAMPLE_SECONDS)
    threads.auto_threads()
    threads.auto_threads()
    assert calls == [1]


def test_without_proc_stat_auto_leaves_the_blas_alone(monkeypatch):
    monkeypatch.setattr(threads, "look", lambda: None)
    monkeypatch.setattr(threads, "_looked", -float("inf"))
    assert threads.auto_threads() is None
    assert threads.busy_elsewhere() is None
    assert threads.blas_threads(None, threads.SMALL_WORK) is threads.blas_threads(None, 1)


# says when it has started, then spins for 30 s at most
SPIN = "import time\nprint(flush=True)\nend = time.monotonic() + 30\n"
SPIN += "while time.monotonic() < end: pass"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_a_busy_process_elsewhere_means_fewer_threads(monkeypatch):
    # one core stays busy while the spinner runs, whoever else runs: the machine used
    # at least one core, this (sleeping) process none of it. Other load only adds.
    spinner = subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE)
    try:
        spinner.stdout.readline()  # it has started (under load, that can take a while)
        monkeypatch.setattr(threads, "_looked", -float("inf"))
        threads.auto_threads()  # the window starts here
        time.sleep(0.6)
        chosen, others = threads.auto_threads(), threads.busy_elsewhere()
    finally:
        spinner.terminate()
        spinner.wait()
        spinner.stdout.close()
    assert others is not None and others >= 0.75, others
    assert chosen is not None and chosen <= max(1, threads.usable_cores() - 1), chosen


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
