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
    assert Model(nnspec.load(DOC)).weights == module._WORK_PER_ROW
    free = module._free_cores()
    assert free is None or 1 <= free <= threads.usable_cores()


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
