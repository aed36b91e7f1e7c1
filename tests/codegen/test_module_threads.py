"""The compiled module's BLAS thread choice: ``threads=`` in predict, train_step, fit
and ``--threads`` on its command line, the twin of `nnspec.interpreter.threads`.

Real threadpoolctl and the real BLAS: the counts are read back inside the calls.
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
    "nodes": [
        {"id": "h", "op": "dense", "units": 5, "activation": "tanh"},
        {"id": "y", "op": "dense", "units": 1},
    ],
    "training": {"target": {"shape": ["batch", 1]}, "loss": "mse", "batch_size": 4},
}


def _blas_counts() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


@pytest.fixture(scope="module")
def module() -> Any:
    graph = nnspec.load(DOC)
    return load_source(nnspec.compile(graph, train=True), "threads_module")


def test_the_thread_rule_is_the_interpreters(module: Any) -> None:
    assert module._SMALL_WORK == threads.SMALL_WORK
    assert module._MAX_THREADS == threads.MAX_THREADS
    assert module._SAMPLE_SECONDS == threads.SAMPLE_SECONDS
    assert (module._RISE, module._FALL) == (threads.RISE, threads.FALL)
    assert module._usable_cores() == threads.usable_cores()
    assert Model(nnspec.load(DOC)).weights == module._WORK_PER_ROW
    free = module._free_cores()
    assert free is None or 1 <= free <= threads.usable_cores()


def test_the_busy_count_is_the_interpreters_on_every_case(module: Any) -> None:
    before = (100.0, 1000.0, 5.0)
    for others in [k / 40 for k in range(0, 141)]:  # 0 to 3.5 cores by 0.025
        after = (100.2, 1000.0 + (others + 0.1) * 0.2, 5.0 + 0.1 * 0.2)
        measured = threads.others_cores(before, after)
        for cores in (1, 2, 3, 8):
            for counted in range(cores + 1):
                want = (measured, threads.busy_count(measured, counted, cores))
                assert module._busy_elsewhere(before, after, counted, cores) == want
    assert module._busy_elsewhere(before, before, 1, 2) == (0.0, 0)


def test_the_modules_look_reads_what_the_interpreter_reads(module: Any) -> None:
    looks = [module._look(), threads.look()]
    if None in looks:
        assert looks == [None, None]
        return
    mine, theirs = looks
    assert mine[0] <= theirs[0]  # taken first, and the machine's count only grows
    assert mine[1] <= theirs[1] and mine[2] <= theirs[2]


def looks_of(others: list[float], own: float = 0.2) -> list[threads.Sample]:
    """Looks SAMPLE_SECONDS apart between which other processes used `others` cores
    while this process used `own`."""
    wall = threads.SAMPLE_SECONDS
    t, machine, mine, looks = 100.0, 1000.0, 5.0, [(100.0, 1000.0, 5.0)]
    for cores in others:
        t, machine, mine = t + wall, machine + (cores + own) * wall, mine + own * wall
        looks.append((t, machine, mine))
    return looks


# a quiet machine, a process starting to spin beside our 2 threads (2/3 of a core),
# then alone on its core, a measure wavering in the band, the machine quiet again
TRACE = [0.03, 0.0, 0.66, 1.0, 0.45, 0.3, 0.55, 0.26, 0.1, 0.04, 0.45, 0.02]
WANT = [2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]


def interpreter_counts(looks: list[threads.Sample], monkeypatch) -> list[int | None]:
    """The interpreter's auto counts on 2 cores when its looks are `looks` (the first
    taken at import)."""
    rest = iter(looks[1:])
    monkeypatch.setattr(threads, "look", lambda: next(rest))
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "_state", (looks[0], None, 0, None))
    chosen = []
    for _ in looks[1:]:
        monkeypatch.setattr(threads, "_looked", -float("inf"))  # a look is due
        chosen.append(threads.auto_threads())
    return chosen


def module_counts(module: Any, looks: list[threads.Sample], monkeypatch) -> list[int | None]:
    """The same for the compiled module."""
    rest = iter(looks[1:])
    monkeypatch.setattr(module, "_look", lambda: next(rest))
    monkeypatch.setattr(module, "_usable_cores", lambda: 2)
    monkeypatch.setitem(module._BLAS, "state", (looks[0], None, 0, None))
    chosen = []
    for _ in looks[1:]:
        monkeypatch.setitem(module._BLAS, "looked", -float("inf"))
        chosen.append(module._free_cores())
    return chosen


# a forked child's first look: its CPU time starts from zero, under the parent's last
FORKED = [*looks_of([1.0, 1.0]), (100.6, 1000.72, 0.01), (100.8, 1000.73, 0.02)]


@pytest.mark.parametrize(
    "looks, want", [(looks_of(TRACE), WANT), (FORKED, [1, 1, None, 2])], ids=["trace", "fork"]
)
def test_both_engines_follow_recorded_looks_alike(module: Any, monkeypatch, looks, want) -> None:
    assert interpreter_counts(looks, monkeypatch) == want
    assert module_counts(module, looks, monkeypatch) == want


def test_threads_n_holds_inside_the_call_and_is_restored_after(module: Any) -> None:
    before = _blas_counts()
    with module._threads(1, 1):
        assert set(_blas_counts()) == {1}
    assert _blas_counts() == before


def test_auto_leaves_small_work_alone(module: Any) -> None:
    assert module._threads(None, 1) is module._LEAVE


def test_predict_train_step_and_fit_take_threads(module: Any) -> None:
    x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6)
    assert module.predict(x, threads=1).tobytes() == module.predict(x).tobytes()
    y = np.zeros((4, 1), np.float32)
    loss = module.train_step({"x": x, "target": y}, module.init_state(), threads=1)
    assert np.isfinite(loss)
    assert len(module.fit(x, y, epochs=2, threads=1)) == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_a_clear_error(module: Any, bad: Any) -> None:
    x = np.zeros((2, 6), np.float32)
    with pytest.raises(ValueError, match="threads must be None"):
        module.predict(x, threads=bad)
    with pytest.raises((TypeError, ValueError)):  # the interpreter refuses it too
        Model(nnspec.load(DOC)).predict(x, threads=bad)


@pytest.mark.parametrize("bad", [threads.MAX_THREADS + 1, 10**9, np.int64(0)])
def test_both_engines_refuse_the_same_counts(module: Any, bad: Any) -> None:
    x = np.zeros((2, 6), np.float32)
    with pytest.raises(ValueError, match="threads must be None"):
        module.predict(x, threads=bad)
    with pytest.raises(ValueError):
        Model(nnspec.load(DOC)).predict(x, threads=bad)


@pytest.mark.parametrize("good", [np.int64(1), np.int32(2), threads.MAX_THREADS])
def test_both_engines_take_the_same_counts(module: Any, good: Any) -> None:
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 6)
    model = Model(nnspec.load(DOC))
    for name in model.params:
        model.params[name] = module.PARAMS[name]
    want = model.predict(x, threads=good).tobytes()
    assert module.predict(x, threads=good).tobytes() == want


def test_the_command_line_takes_threads(module: Any, tmp_path, capsys) -> None:
    source = tmp_path / "x.npy"
    np.save(source, np.ones((3, 6), np.float32))
    assert module.main(["--threads", "1", str(source), "-o", str(tmp_path / "y.npy")]) == 0
    want = module.predict(np.ones((3, 6), np.float32))
    assert np.load(tmp_path / "y.npy").tobytes() == want.tobytes()
    for bad in ("0", str(threads.MAX_THREADS + 1)):  # nnspec run's --threads range
        with pytest.raises(SystemExit):
            module.main(["--threads", bad, str(source)])
        assert f"expected a whole number 1 to {threads.MAX_THREADS}" in capsys.readouterr().err


def test_train_on_the_command_line_takes_threads(module: Any, tmp_path, capsys) -> None:
    data = tmp_path / "data.npz"
    x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6)
    np.savez(data, x=x, target=np.zeros((4, 1), np.float32))
    saved = {k: v.copy() for k, v in module.PARAMS.items()}
    try:
        argv = ["--train", str(data), "-o", str(tmp_path / "w.npz"), "--threads", "1"]
        assert module.main([*argv, "--epochs", "1"]) == 0
    finally:
        for name, value in saved.items():
            module.PARAMS[name][...] = value
    assert "epoch 1: loss" in capsys.readouterr().out
