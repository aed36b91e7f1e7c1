"""`Scorer` and `nnspec.dask.predict` without a cluster (Dask's synchronous scheduler).

Fixed row blocks, pickling by recipe, the two engines, ports and meta, the
row-independence probe, DataFrame column mapping and every refusal.
"""

from __future__ import annotations

import itertools
import pickle
import sys

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile as compile_module
from nnspec.codegen import load_source
from nnspec.dask import Scorer, predict
from nnspec.dask.columns import input_columns, output_columns
from nnspec.datasets import DataError
from nnspec.interpreter import Model

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

DOC = {
    "nnspec": "1",
    "name": "scorer",
    "inputs": {"x": {"shape": ["batch", 4]}},
    "nodes": [
        {"op": "dense", "units": 8, "activation": "tanh"},
        {"id": "prob", "op": "dense", "units": 1, "activation": "sigmoid"},
    ],
}
TWO = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 3]}, "z": {"shape": ["batch"]}},
    "nodes": [
        {"id": "h", "op": "dense", "inputs": ["x"], "units": 2, "activation": "relu"},
        {"id": "s", "op": "sum", "inputs": ["h"], "axis": 1},
        {"id": "t", "op": "mul", "inputs": ["s", "z"]},
    ],
    "outputs": ["h", "t"],
}


@pytest.fixture(scope="module")
def model() -> Model:
    return Model(nnspec.load(DOC), seed=3)


def rows(n: int, k: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, k)).astype(np.float32)


class Recording:
    """An engine stand-in that records the row count of every call (wraps a real run)."""

    def __init__(self, run):
        self.run, self.calls = run, []

    def __call__(self, feed):
        self.calls.append({k: v.copy() for k, v in feed.items()})
        return self.run(feed)


@pytest.mark.parametrize("offset", [0, 1, 5, 7, 8])
@pytest.mark.parametrize("count", [1, 3, 8, 13, 20])
def test_every_call_has_block_rows_and_each_row_sits_at_its_global_position(
    model: Model, offset: int, count: int
) -> None:
    scorer = Scorer(model, block_rows=8)
    recorder = Recording(scorer._run)
    scorer._run = recorder
    x = rows(count)
    out = scorer({"x": x}, offset)["prob"]
    assert out.shape == (count, 1)
    placed = 0
    for call in recorder.calls:
        block = call["x"]
        assert block.shape == (8, 4)
        at = (offset + placed) % 8
        n = min(8 - at, count - placed)
        np.testing.assert_array_equal(block[at : at + n], x[placed : placed + n])
        placed += n
    assert placed == count
    assert np.allclose(out, model.predict(x), rtol=1e-6, atol=1e-7)


def test_any_partitioning_gives_the_bits_of_one_call_over_all_rows(model: Model) -> None:
    """Rows are computed at the same block position whatever the cut: equal bytes."""
    scorer = Scorer(model, block_rows=64)
    x = rows(1000)
    whole = scorer({"x": x})["prob"]
    rng = np.random.default_rng(1)
    for _ in range(5):
        cuts = np.unique(np.r_[0, rng.integers(1, 1000, size=6), 1000])
        parts = [scorer({"x": x[a:b]}, int(a))["prob"] for a, b in itertools.pairwise(cuts)]
        assert np.concatenate(parts).tobytes() == whole.tobytes()


def test_block_rows_none_is_one_call_per_partition(model: Model) -> None:
    scorer = Scorer(model, block_rows=None)
    x = rows(37)
    assert scorer({"x": x})["prob"].tobytes() == model.predict(x).tobytes()
    assert scorer({"x": x[:0]})["prob"].shape == (0, 1)


@pytest.mark.parametrize(
    "bad, error",
    [
        *[(0, ValueError), (-1, ValueError), (2.5, TypeError), (8.0, TypeError)],
        *[(True, TypeError), ("8", TypeError)],
    ],
)
def test_block_rows_must_be_a_positive_integer(model: Model, bad, error) -> None:
    with pytest.raises(error, match="block_rows must be"):
        Scorer(model, block_rows=bad)


def test_pickles_by_recipe_and_rebuilds_the_same_engine(model: Model) -> None:
    scorer = Scorer(model)
    clone = pickle.loads(pickle.dumps(scorer))
    x = rows(3000)
    assert clone({"x": x})["prob"].tobytes() == scorer({"x": x})["prob"].tobytes()
    assert clone.outputs == scorer.outputs and clone.block_rows == scorer.block_rows
    # a later change of the Model does not reach a Scorer built from it
    before = scorer({"x": x})["prob"].copy()
    model.params["prob.b"] = model.params["prob.b"] + 1
    try:
        assert scorer({"x": x})["prob"].tobytes() == before.tobytes()
    finally:
        model.params["prob.b"] = model.params["prob.b"] - 1


def test_graph_params_and_compiled_module_score_alike(model: Model, tmp_path) -> None:
    graph, params = model.graph, dict(model.params)
    source = compile_module(graph, params)
    file = tmp_path / "scorer_module.py"
    file.write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        import scorer_module  # a module imported from its file, as users do
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("scorer_module", None)
    x = rows(2500)
    expected = Scorer(graph, params)({"x": x})["prob"].tobytes()
    for engine in (source, scorer_module):
        scorer = pickle.loads(pickle.dumps(Scorer(engine)))
        assert "compiled module" in repr(scorer)
        assert scorer({"x": x})["prob"].tobytes() == expected


def test_refuses_what_it_cannot_ship(model: Model) -> None:
    with pytest.raises(TypeError, match="must be a Graph"):
        Scorer(42)
    with pytest.raises(TypeError, match="already a Scorer"):
        Scorer(Scorer(model))
    with pytest.raises(ValueError, match="taken from the Model"):
        Scorer(model, dict(model.params))
    with pytest.raises(ValueError, match="Graph only"):
        Scorer(compile_module(model.graph), {"a": np.zeros(1)})
    loaded = load_source(compile_module(model.graph))
    with pytest.raises(ValueError, match="no source file"):
        Scorer(loaded)
    with pytest.raises(TypeError, match="not generated by nnspec"):
        Scorer(np)
    external = compile_module(model.graph, weights_file="w.npz")
    with pytest.raises(ValueError, match="weights embedded"):
        Scorer(external)


@pytest.mark.parametrize(
    ("nodes", "match"),
    [
        (
            [{"op": "mean", "axis": 0, "keepdims": True}, {"op": "sub", "inputs": ["x", "mean_0"]}],
            "mixes rows",
        ),
        ([{"op": "softmax", "axis": 0}], "mixes rows"),
        ([{"op": "sum", "axis": 0}], "one row per example"),
        ([{"op": "transpose", "perm": [1, 0]}], "one row per example"),
    ],
)
def test_graphs_that_mix_rows_are_refused(nodes, match) -> None:
    doc = {"nnspec": "1", "inputs": {"x": {"shape": ["batch", 4]}}, "nodes": nodes}
    with pytest.raises(ValueError, match=match):
        Scorer(nnspec.load(doc))


def test_fixed_row_count_is_refused() -> None:
    doc = {"nnspec": "1", "inputs": {"x": {"shape": [5, 4]}}, "nodes": [{"op": "tanh"}]}
    with pytest.raises(ValueError, match="one row per example"):
        Scorer(nnspec.load(doc))


# --------------------------------------------------------------------------- dask arrays


def test_predict_is_lazy_with_meta_from_the_graph_types(model: Model) -> None:
    x = rows(5003)
    lazy = predict(model, da.from_array(x, chunks=700))
    assert isinstance(lazy, da.Array)
    assert lazy.shape == (5003, 1) and lazy.dtype == np.float32
    assert lazy.chunks[0] == da.from_array(x, chunks=700).chunks[0]
    assert lazy._meta.dtype == np.float32 and lazy._meta.ndim == 2
    out = lazy.compute(scheduler="sync")
    assert out.tobytes() == Scorer(model)({"x": x})["prob"].tobytes()
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-6, atol=1e-7)


def test_the_model_is_one_key_that_every_block_depends_on(model: Model) -> None:
    lazy = predict(model, da.from_array(rows(4000), chunks=500))
    graph = dict(lazy.__dask_graph__())
    holding = [key for key, task in graph.items() if "Scorer(" in repr(task)]
    assert len(holding) == 1
    pickled = [len(pickle.dumps(task)) for task in graph.values()]
    assert sum(p > 1000 for p in pickled) <= 1 + 8  # the model key and the 8 data blocks


def test_several_inputs_and_outputs_and_chunked_columns() -> None:
    graph = nnspec.load(TWO)
    model = Model(graph, seed=0)
    x, z = rows(999, 3), rows(999, 1)[:, 0]
    out = predict(
        graph,
        {"x": da.from_array(x, chunks=(100, 1)), "z": da.from_array(z, chunks=333)},
        dict(model.params),
    )
    assert set(out) == {"h", "t"}
    assert out["h"].shape == (999, 2) and out["t"].shape == (999,)
    got = {k: v.compute(scheduler="sync") for k, v in out.items()}
    want = model.run({"x": x, "z": z})
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7)


def test_symbolic_feature_dims_are_bound_by_the_data() -> None:
    doc = {"nnspec": "1", "inputs": {"x": {"shape": ["batch", "n"]}}, "nodes": [{"op": "tanh"}]}
    out = predict(nnspec.load(doc), da.from_array(rows(10, 6), chunks=3))
    assert out.shape == (10, 6)
    np.testing.assert_array_equal(out.compute(scheduler="sync"), np.tanh(rows(10, 6)))


def test_array_refusals(model: Model) -> None:
    x = da.from_array(rows(10), chunks=5)
    with pytest.raises(TypeError, match="dask array"):
        predict(model, rows(10))
    with pytest.raises(ValueError, match="rank 2"):
        predict(model, x[:, 0])
    with pytest.raises(ValueError, match="expected numbers"):
        predict(model, da.from_array(np.array([["a"] * 4] * 3)))
    with pytest.raises(ValueError, match="missing"):
        predict(nnspec.load(TWO), {"x": x[:, :3]})
    with pytest.raises(ValueError, match="unknown"):
        predict(model, {"x": x, "y": x})
    with pytest.raises(ValueError, match="pass a dict"):
        predict(nnspec.load(TWO), x)
    unknown = da.from_array(rows(10), chunks=5)[da.from_array(np.ones(10, bool), chunks=5)]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        predict(model, unknown)


def test_wrong_feature_count_fails_at_compute_naming_the_input(model: Model) -> None:
    lazy = predict(model, da.from_array(rows(10, 5), chunks=5))
    with pytest.raises(ValueError, match="input 'x'"):
        lazy.compute(scheduler="sync")


# --------------------------------------------------------------------------- dataframes


def frame(x: np.ndarray, **extra) -> pd.DataFrame:
    return pd.DataFrame({**{f"x_{j}": x[:, j] for j in range(x.shape[1])}, **extra})


def test_dataframe_columns_map_like_csv_and_the_index_is_kept(model: Model) -> None:
    x = rows(1234)
    pdf = frame(x, id=np.arange(1234)).set_index("id")
    pdf.index = pdf.index * 10
    df = dd.from_pandas(pdf, npartitions=4)
    lazy = predict(model, df)
    assert list(lazy.columns) == ["prob_0"] and lazy.dtypes["prob_0"] == np.float32
    out = lazy.compute(scheduler="sync")
    assert list(out.index) == list(pdf.index)
    np.testing.assert_allclose(out["prob_0"], model.predict(x)[:, 0], rtol=1e-6, atol=1e-7)
    scorer = Scorer(model)  # blocks start at each partition's first row
    starts = np.cumsum([0, *df.map_partitions(len).compute(scheduler="sync")])
    want = np.concatenate([scorer({"x": x[a:b]})["prob"] for a, b in itertools.pairwise(starts)])
    assert out["prob_0"].to_numpy().tobytes() == want[:, 0].tobytes()


def test_dataframe_with_several_inputs_and_outputs() -> None:
    graph = nnspec.load(TWO)
    model = Model(graph, seed=0)
    x, z = rows(50, 3), rows(50, 1)[:, 0]
    df = dd.from_pandas(pd.DataFrame({"z": z, **frame(x)}), npartitions=3)
    out = predict(model, df).compute(scheduler="sync")
    assert list(out.columns) == ["h_0", "h_1", "t"]
    want = model.run({"x": x, "z": z})
    np.testing.assert_allclose(out[["h_0", "h_1"]].to_numpy(), want["h"], rtol=1e-6)
    np.testing.assert_allclose(out["t"].to_numpy(), want["t"], rtol=1e-6)


def test_dataframe_refusals(model: Model) -> None:
    x = rows(10)
    with pytest.raises(DataError, match="skip 'x_2'"):
        predict(model, dd.from_pandas(frame(x).drop(columns="x_2"), npartitions=2))
    with pytest.raises(ValueError, match="'x_1' holds"):
        bad = frame(x).assign(x_1=["a"] * 10)
        predict(model, dd.from_pandas(bad, npartitions=2))
    with pytest.raises(DataError, match="has no column for 'z'"):
        predict(nnspec.load(TWO), dd.from_pandas(frame(rows(10, 3)), npartitions=2))
    one = dd.from_pandas(pd.DataFrame({"x": x[:, 0]}), npartitions=2)
    with pytest.raises(ValueError, match="1-D array"):
        predict(model, one)


def test_column_helpers() -> None:
    assert input_columns("t", ["b", "a_1", "a_0"], ["a", "b"]) == {"a": ["a_0", "a_1"], "b": "b"}
    assert input_columns("t", ["u", "v"], ["x"]) == {"x": ["u", "v"]}
    with pytest.raises(DataError, match="ambiguous"):
        input_columns("t", ["a", "a_0"], ["a"])
    ports = Scorer(nnspec.load(TWO)).outputs
    assert output_columns(ports, {"h": (2,), "t": ()}) == ["h_0", "h_1", "t"]
    with pytest.raises(ValueError, match="1-D or 2-D"):
        output_columns(ports, {"h": (2, 2), "t": ()})


def test_the_port_with_another_row_symbol_is_named() -> None:
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}, "z": {"shape": ["n", 2]}},
        "nodes": [{"op": "tanh", "inputs": ["x"]}, {"op": "tanh", "inputs": ["z"]}],
        "outputs": ["tanh_0", "tanh_1"],
    }
    with pytest.raises(ValueError, match=r"^'z' has shape"):
        Scorer(nnspec.load(doc))
