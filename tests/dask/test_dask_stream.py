"""Streaming training: `train(..., data=partitions)` through a bounded shuffle buffer.

Reproducible for one seed; every row seen once per epoch; at most the buffer plus
one partition in memory (measured with tracemalloc against the data's size);
partitions from Dask DataFrames, Dask arrays and Parquet/CSV files; clear errors.
"""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

import nnspec
from nnspec.dask.stream import file_partitions, partitions
from nnspec.datasets import save_arrays
from nnspec.interpreter import Model
from nnspec.interpreter.stream import PartitionStream
from nnspec.interpreter.train import train

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "nodes": [{"id": "p", "op": "dense", "units": 1, "activation": "sigmoid"}],
    "training": {
        "target": {"shape": ["batch", 1]},
        "loss": "binary_cross_entropy",
        "optimizer": {"name": "sgd", "learning_rate": 0.5},
        "epochs": 3,
        "batch_size": 16,
        "seed": 0,
    },
}


def dataset(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 2)).astype(np.float32)
    return x, (x[:, :1] + x[:, 1:] > 0).astype(np.float32)


def split(x: np.ndarray, y: np.ndarray, parts: int) -> list[dict[str, np.ndarray]]:
    return [
        {"x": a, "target": b}
        for a, b in zip(np.array_split(x, parts), np.array_split(y, parts), strict=True)
    ]


def weights(history) -> bytes:
    return b"".join(v.tobytes() for v in history.model.params.values())


def fit(data, **kwargs):
    return train(Model(nnspec.load(DOC), seed=1), data=data, quiet=True, **kwargs)


def test_same_seed_same_weights_and_a_different_seed_differs() -> None:
    x, y = dataset(1000)
    a = fit(split(x, y, 7), shuffle_buffer=100, seed=3)
    b = fit(split(x, y, 7), shuffle_buffer=100, seed=3)
    c = fit(split(x, y, 7), shuffle_buffer=100, seed=4)
    assert weights(a) == weights(b) and weights(a) != weights(c)
    assert a.loss[-1] < a.loss[0]


def test_each_epoch_sees_every_row_once_in_full_batches_and_mixes_partitions() -> None:
    x = np.arange(1000, dtype=np.float32)[:, None]
    parts = [{"x": p} for p in np.array_split(x, 10)]
    stream = PartitionStream(parts, lambda part: dict(part), buffer_rows=200)
    rng = np.random.default_rng(0)
    for _ in range(3):
        batches = list(stream.batches(rng, 32))
        rows = np.concatenate([b["x"][:, 0] for b in batches])
        assert sorted(rows.tolist()) == list(range(1000))
        assert all(len(b["x"]) == 32 for b in batches[:-1])
        first = batches[0]["x"][:, 0] // 100  # partition of each row of the first batch
        assert len(set(first.tolist())) > 1


def test_peak_memory_is_bounded_by_the_buffer_not_the_data() -> None:
    rows_per_part, parts, buffer = 10_000, 20, 4_000  # 200k rows, 2.4 MB
    row_bytes = 3 * 4

    def loader(i):
        def load():
            rng = np.random.default_rng(i)
            x = rng.standard_normal((rows_per_part, 2)).astype(np.float32)
            return {"x": x, "target": (x[:, :1] > 0).astype(np.float32)}

        return load

    loaders = [loader(i) for i in range(parts)]
    model = Model(nnspec.load(DOC), seed=1)
    tracemalloc.start()
    try:
        train(model, data=loaders, shuffle_buffer=buffer, epochs=1, batch_size=1024, quiet=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    data_bytes = rows_per_part * parts * row_bytes
    bound = (buffer + rows_per_part) * row_bytes
    # the pool and a partition, their concatenation, its shuffled copy and the
    # permutation; the model's own arrays for one batch
    assert peak < 6 * bound < data_bytes / 2


def test_dask_dataframe_and_arrays_give_the_weights_of_the_same_partitions() -> None:
    x, y = dataset(600)
    frame = pd.DataFrame({"x_0": x[:, 0], "x_1": x[:, 1], "target_0": y[:, 0]})
    ddf = dd.from_pandas(frame, npartitions=4)
    model = Model(nnspec.load(DOC), seed=1)
    from_frame = fit(partitions(model, ddf), shuffle_buffer=64, seed=2)
    sizes = ddf.map_partitions(len).compute().tolist()
    starts = np.cumsum([0, *sizes])
    same = [{"x": x[a:b], "target": y[a:b]} for a, b in itertools.pairwise(starts)]
    assert weights(from_frame) == weights(fit(same, shuffle_buffer=64, seed=2))
    arrays = {"x": da.from_array(x, chunks=(150, 1)), "target": da.from_array(y, chunks=150)}
    from_arrays = fit(partitions(model, arrays), shuffle_buffer=64, seed=2)
    assert weights(from_arrays) == weights(fit(split(x, y, 4), shuffle_buffer=64, seed=2))


def test_parquet_and_csv_files_stream_alike(tmp_path) -> None:
    x, y = dataset(300)
    paths = []
    for i, part in enumerate(split(x, y, 3)):
        columns = {"x_0": part["x"][:, 0], "x_1": part["x"][:, 1], "target_0": part["target"][:, 0]}
        if i == 1:
            path = tmp_path / f"p{i}.csv"
            save_arrays(path, part)  # columns x_0, x_1, target_0
        else:
            path = tmp_path / f"p{i}.parquet"
            pq.write_table(pa.table(columns), path)
        paths.append(str(path))
    model = Model(nnspec.load(DOC), seed=1)
    streamed = fit(file_partitions(model, paths), shuffle_buffer=50, seed=5)
    assert weights(streamed) == weights(fit(split(x, y, 3), shuffle_buffer=50, seed=5))


def test_errors_name_the_partition() -> None:
    x, y = dataset(100)
    parts = split(x, y, 3)
    parts[2] = {"x": x[:10, :1], "target": y[:10]}
    with pytest.raises(ValueError, match=r"partition 2: input 'x'"):
        fit(parts)
    with pytest.raises(ValueError, match="partition 0: expected a mapping"):
        fit([lambda: [1, 2]])
    with pytest.raises(ValueError, match="holds no partitions"):
        fit([])
    with pytest.raises(ValueError, match="every partition is empty"):
        fit([{"x": x[:0], "target": y[:0]}])
    with pytest.raises(TypeError, match=r"nnspec\.dask\.partitions"):
        fit(dd.from_pandas(pd.DataFrame({"x_0": [1.0]}), npartitions=1))
    with pytest.raises(TypeError, match="list of partitions"):
        fit({"x": x, "target": y})
    with pytest.raises(ValueError, match="not both"):
        train(Model(nnspec.load(DOC)), x, y, data=parts, quiet=True)
    for bad, error in ((0, ValueError), (-5, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="shuffle_buffer must be"):
            fit(split(x, y, 2), shuffle_buffer=bad)
    doc = {**DOC, "training": {k: v for k, v in DOC["training"].items() if k != "batch_size"}}
    with pytest.raises(ValueError, match="needs a batch size"):
        train(Model(nnspec.load(doc)), data=split(x, y, 2), quiet=True)


def test_in_memory_training_is_unchanged_by_the_batch_source() -> None:
    """The in-memory path draws the same permutations as before streaming existed."""
    x, y = dataset(200)
    history = train(Model(nnspec.load(DOC), seed=1), x, y, quiet=True, seed=9)
    model = Model(nnspec.load(DOC), seed=1)
    rng = np.random.default_rng(9)
    from nnspec.interpreter.optimizers import make_optimizer
    from nnspec.interpreter.train import TrainStep

    step = TrainStep(model, make_optimizer(DOC["training"]["optimizer"]))
    for _ in range(3):
        order = rng.permutation(200)
        for start in range(0, 200, 16):
            pick = order[start : start + 16]
            step({"x": x[pick], "target": y[pick]})
    assert weights(history) == b"".join(v.tobytes() for v in model.params.values())


def write_parquet_parts(folder, x, y, parts: int) -> None:
    folder.mkdir()
    for i, part in enumerate(split(x, y, parts)):
        columns = {"x_0": part["x"][:, 0], "x_1": part["x"][:, 1], "target_0": part["target"][:, 0]}
        pq.write_table(pa.table(columns), folder / f"p{i}.parquet")


def test_nnspec_train_streams_a_parquet_glob(tmp_path, monkeypatch, capsys) -> None:
    import json

    from nnspec.cli.main import main

    monkeypatch.chdir(tmp_path)
    x, y = dataset(400)
    write_parquet_parts(tmp_path / "big", x, y, 4)
    (tmp_path / "model.json").write_text(json.dumps(DOC))
    args = ["train", "model.json", "--data", "big/*.parquet", "-o", "out.json", "-q"]
    assert main([*args, "--seed", "1", "--shuffle-buffer", "50"]) == 0
    trained = nnspec.load(tmp_path / "out.json")
    model = Model(nnspec.load(DOC), seed=1)
    paths = sorted(str(p) for p in (tmp_path / "big").glob("*.parquet"))
    expected = train(
        model, data=file_partitions(model, paths), seed=1, shuffle_buffer=50, quiet=True
    )
    for p in trained.params:
        assert p.value.tobytes() == expected.model.params[p.name].tobytes()
    capsys.readouterr()

    assert main([*args, "--plot", "plots"]) == 2
    assert "--plot needs the data in memory" in capsys.readouterr().err
    np.savez(tmp_path / "small.npz", x=x, target=y)
    assert (
        main(
            ["train", "model.json", "--data", "small.npz", "-o", "o.json", "--shuffle-buffer", "5"]
        )
        == 2
    )
    assert "--shuffle-buffer applies to streamed data" in capsys.readouterr().err
    (tmp_path / "big" / "p2.parquet").write_bytes(b"broken")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "big/p2.parquet: cannot read it as Parquet" in err and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()
