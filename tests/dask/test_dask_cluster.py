"""Scoring on a real `dask.distributed.LocalCluster` of two worker processes.

One cluster for the module. A million rows through the Python API and through
`nnspec run --dask --scheduler`, compared with in-process results (bit for bit with
a `Scorer` at the workers' BLAS thread count, and within float32 rounding of
`Model.predict`); a worker process killed mid-job; an unreadable partition, a
missing column and a wrong dtype, each leaving nothing behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.dask import Scorer, predict
from nnspec.dask.files import PartitionError, score_files
from nnspec.interpreter import Model

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
threadpoolctl = pytest.importorskip("threadpoolctl")

MILLION = 1_000_000
DOC = {
    "nnspec": "1",
    "name": "cluster",
    "inputs": {"x": {"shape": ["batch", 4]}},
    "nodes": [
        {"op": "dense", "units": 8, "activation": "tanh"},
        {"id": "prob", "op": "dense", "units": 1, "activation": "sigmoid"},
    ],
}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def model() -> Model:
    return Model(nnspec.load(DOC), seed=7)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((MILLION, 4)).astype(np.float32)


def worker_threads(client) -> int:
    """The BLAS thread count on the workers (distributed sets 1), for in-process twins."""

    def blas() -> int:
        from threadpoolctl import threadpool_info

        return max([p["num_threads"] for p in threadpool_info()] or [1])

    (count,) = set(client.run(blas).values())
    return count


def in_process(scorer: Scorer, x: np.ndarray, threads: int, offset: int = 0) -> np.ndarray:
    with threadpoolctl.threadpool_limits(threads):
        return scorer({"x": x}, offset)["prob"]


def write_parts(folder: Path, x: np.ndarray, parts: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for i, chunk in enumerate(np.array_split(x, parts)):
        path = folder / f"part-{i:02d}.parquet"
        pq.write_table(pa.table({f"x_{j}": chunk[:, j] for j in range(4)}), path)
        paths.append(path)
    return paths


def test_a_million_rows_through_the_python_api(client, model) -> None:
    # generated on the workers, so the graph stays small; chunks cut row blocks anywhere
    x = da.random.default_rng(0).standard_normal((MILLION, 4), chunks=(123_457, 4))
    lazy = predict(model, x.astype(np.float32))
    assert lazy.shape == (MILLION, 1) and lazy.dtype == np.float32
    data, out = client.gather(client.compute([x.astype(np.float32), lazy]))
    reference = in_process(Scorer(model), data, worker_threads(client))
    assert out.tobytes() == reference.tobytes()
    np.testing.assert_allclose(out, model.predict(data), rtol=1e-5, atol=1e-6)


def test_a_million_rows_through_the_cli_with_scheduler(client, model, data, tmp_path) -> None:
    doc = tmp_path / "model.json"
    from nnspec.interpreter.save import dumps, with_params

    result, _ = with_params(DOC, dict(model.params), "model.weights.npz")
    doc.write_text(dumps(result))
    inputs = write_parts(tmp_path / "in", data, 6)
    out = tmp_path / "scores"
    address = client.scheduler.address
    code = main(["run", str(doc), "-i", str(tmp_path / "in" / "*.parquet"), "-o", str(out),
                 "--dask", "--scheduler", address])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in inputs]
    scorer, threads = Scorer(model), worker_threads(client)
    got = []
    for path in inputs:
        table = pq.read_table(out / path.name)
        assert table.column_names == ["prob_0"]
        prob = table.column("prob_0").to_numpy()
        x = np.column_stack([pq.read_table(path).column(f"x_{j}").to_numpy() for j in range(4)])
        assert prob.tobytes() == in_process(scorer, x, threads)[:, 0].tobytes()
        got.append(prob)
    np.testing.assert_allclose(np.concatenate(got), model.predict(data)[:, 0], rtol=1e-5, atol=1e-6)


def test_a_worker_killed_mid_job_is_retried_and_the_output_is_complete(
    client, model, data, tmp_path
) -> None:
    inputs = write_parts(tmp_path / "in", data[:400_000], 16)
    out = tmp_path / "scores"
    killed: list[int] = []
    pids = client.run(os.getpid)

    def kill_once(done: int, total: int) -> None:
        if killed:
            return
        busy = {w: tasks for w, tasks in client.processing().items() if tasks}
        victim = next(iter(busy))  # a worker that holds a running task right now
        os.kill(pids[victim], signal.SIGKILL)
        killed.append(pids[victim])

    written = score_files(Scorer(model), inputs, out, client, kill_once)
    assert killed, "no worker was killed"
    assert written == [out / p.name for p in inputs]
    scorer, threads = Scorer(model), worker_threads(client)
    for path in inputs:
        x = np.column_stack([pq.read_table(path).column(f"x_{j}").to_numpy() for j in range(4)])
        prob = pq.read_table(out / path.name).column("prob_0").to_numpy()
        assert prob.tobytes() == in_process(scorer, x, threads)[:, 0].tobytes()
    assert sorted(os.listdir(out)) == sorted(p.name for p in inputs)  # no staging left
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda p: p.write_bytes(b"not parquet at all"), "cannot read it as Parquet"),
        (
            lambda p: pq.write_table(pa.table({"x_0": [1.0], "x_1": [1.0], "x_3": [1.0]}), p),
            "skip 'x_2'",
        ),
        (
            lambda p: pq.write_table(
                pa.table({"x_0": ["a"], "x_1": [1.0], "x_2": [1.0], "x_3": [1.0]}), p
            ),
            "column 'x_0' holds",
        ),
        (
            lambda p: pq.write_table(
                pa.table({"x_0": [1.0, None], **{f"x_{j}": [1.0, 2.0] for j in (1, 2, 3)}}), p
            ),
            "column 'x_0' has 1 missing",
        ),
    ],
    ids=["unreadable", "missing-column", "wrong-dtype", "missing-value"],
)
def test_a_failing_partition_is_named_and_nothing_is_left(
    client, model, data, tmp_path, spoil, message
) -> None:
    inputs = write_parts(tmp_path / "in", data[:60_000], 12)
    out = tmp_path / "scores"
    out.mkdir()
    (out / "keep.txt").write_text("unrelated")
    spoiled: list[str] = []

    def spoil_the_rest(done: int, total: int) -> None:
        # After the first partition is written, spoil every file not yet scored: at
        # most two are being read (two workers), so a later one must fail.
        if not spoiled:
            finished = {p.name for p in (out).glob(".nnspec-run-*/*.parquet")}
            for path in inputs:
                if path.name not in finished:  # replaced whole: a reader keeps the old file
                    spoil(tmp_path / "spoiled")
                    os.replace(tmp_path / "spoiled", path)
                    spoiled.append(str(path))

    with pytest.raises(PartitionError, match=message) as caught:
        score_files(Scorer(model), inputs, out, client, spoil_the_rest)
    assert spoiled, "no partition finished before the failure"
    assert caught.value.path in spoiled
    assert sorted(os.listdir(out)) == ["keep.txt"]  # the staged partitions were removed


def test_the_cli_reports_a_failing_partition(client, model, data, tmp_path, capsys) -> None:
    doc = tmp_path / "model.json"
    doc.write_text(__import__("json").dumps(DOC))
    inputs = write_parts(tmp_path / "in", data[:1000], 2)
    inputs[0].write_bytes(b"\0" * 64)
    out = tmp_path / "scores"
    code = main(["run", str(doc), "-i", str(tmp_path / "in"), "-o", str(out), "--dask",
                 "--scheduler", client.scheduler.address])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert f"{inputs[0]}: cannot read it as Parquet" in err and "nothing was written" in err
    assert "Traceback" not in err
    assert not out.exists()
