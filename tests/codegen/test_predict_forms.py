"""The predict path's cheaper forms are the same bits as the plain ones, in both engines.

- softmax / log_softmax of one row reduce the row to scalars (`ops.reduce.softmax`, the
  module's ``_softmax`` / ``_log_softmax``): every row below, with signed zeros, NaNs,
  infinities, subnormals and huge values, of lengths around NumPy's pairwise-sum block
  sizes, gives the bytes the keepdims formula gives, in float32 and float64, and the
  same bytes as that row inside a batch;
- a param read at its reader's rank (`buffers.rank_matched`: a (1, N) view of an (N,) bias)
  adds exactly what broadcasting the (N,) bias adds, at batch 1 and at batch N, and
  follows the param when it is updated in place or replaced.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.buffers import rank_matched
from nnspec.codegen import load_source
from nnspec.interpreter import Model
from nnspec.ops.reduce import log_softmax, softmax

DTYPES = ["float32", "float64"]
LENGTHS = [1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 31, 64, 127, 128, 129, 255, 300, 1000]


def _general_softmax(x: np.ndarray) -> np.ndarray:
    e = x - np.maximum.reduce(x, axis=-1, keepdims=True)
    np.exp(e, out=e)
    return np.divide(e, np.add.reduce(e, axis=-1, keepdims=True), out=e)


def _general_log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - np.maximum.reduce(x, axis=-1, keepdims=True)
    lse = np.log(np.add.reduce(np.exp(shifted), axis=-1, keepdims=True))
    return np.subtract(shifted, lse, out=shifted)


def _rows(dtype: str, length: int) -> list[np.ndarray]:
    """One-row arrays: random values, and random values salted with special ones."""
    info = np.finfo(dtype)
    specials = np.array(
        [
            -0.0,
            0.0,
            np.nan,
            -np.nan,
            np.inf,
            -np.inf,
            info.smallest_subnormal,
            -info.smallest_subnormal,
            info.max,
            -info.max,
            info.tiny,
        ],
        dtype,
    )
    rng = np.random.default_rng(length)
    found = []
    for scale in (1.0, 30.0, 1e4):
        found.append((rng.standard_normal(length) * scale).astype(dtype))
    for k in range(len(specials)):
        row = (rng.standard_normal(length) * 5).astype(dtype)
        row[rng.integers(0, length)] = specials[k]
        found.append(row)
    found.append(np.full(length, -0.0, dtype))  # all negative zeros: the max's sign
    found.append(np.resize(np.array([0.0, -0.0], dtype), length))
    found.append(np.resize(specials, length))
    return [row.reshape(1, length) for row in found]


FORMS = [
    (softmax, _general_softmax, "_softmax"),
    (log_softmax, _general_log_softmax, "_log_softmax"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", FORMS, ids=["softmax", "log_softmax"])
def test_one_row_normalisers_are_bitwise_the_keepdims_formula(dtype: str, form) -> None:
    op, general, helper = form
    module = _module("softmax" if helper == "_softmax" else "log_softmax", dtype, 4)
    module_form = getattr(module, helper)
    with np.errstate(all="ignore"):
        for length in LENGTHS:
            rows = _rows(dtype, length)
            batch = np.concatenate(rows)
            whole = general(batch.copy())
            for k, row in enumerate(rows):
                want = general(row.copy())
                for got in (op(row.copy(), axis=-1), op(row.copy(), axis=1), module_form(row, -1)):
                    assert got.dtype == np.dtype(dtype)
                    assert got.tobytes() == want.tobytes(), (length, k, row, got, want)
                # the row alone is the row inside a batch (the batch takes the general form)
                assert whole[k : k + 1].tobytes() == want.tobytes(), (length, k)
                assert op(batch, axis=-1)[k : k + 1].tobytes() == want.tobytes()


def _module(last: str, dtype: str, width: int) -> object:
    graph = nnspec.load(
        {
            "nnspec": "1",
            "dtype": dtype,
            "inputs": {"x": {"shape": ["batch", width]}},
            "nodes": [{"op": last}],
        }
    )
    return load_source(nnspec.compile(graph, self_test=False), f"forms_{last}_{dtype}")


def _mlp(dtype: str, last: str = "softmax") -> nnspec.Graph:
    return nnspec.load(
        {
            "nnspec": "1",
            "dtype": dtype,
            "seed": 3,
            "inputs": {"x": {"shape": ["batch", 6]}},
            "nodes": [
                {"id": "h1", "op": "dense", "units": 5, "activation": "relu"},
                {"id": "h2", "op": "dense", "units": 4, "activation": "relu"},
                {"id": "out", "op": "dense", "units": 3, "activation": last},
            ],
        }
    )


def _special_batch(dtype: str, batch: int) -> np.ndarray:
    info = np.finfo(dtype)
    values = np.array(
        [-0.0, 0.0, np.nan, np.inf, -np.inf, info.smallest_subnormal, -info.max, 1.5, -2.0],
        dtype,
    )
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 6)).astype(dtype)
    if batch > 1:
        x[1:] = np.resize(values, (batch - 1, 6))
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("last", ["softmax", "log_softmax"])
@pytest.mark.parametrize("batch", [1, 2, 7])
def test_both_engines_agree_bitwise_on_the_mlp_at_batch_1_and_n(
    dtype: str, last: str, batch: int
) -> None:
    graph = _mlp(dtype, last)
    model = Model(graph)
    module = load_source(nnspec.compile(graph, model.params, self_test=False), "forms_mlp")
    with np.errstate(all="ignore"):
        for row in range(batch):  # each row alone, at batch 1 (the one-row forms)
            x = _special_batch(dtype, batch)[row : row + 1]
            assert model.predict(x).tobytes() == module.predict(x).tobytes(), (row, x)
        x = _special_batch(dtype, batch)
        want = model.run({"x": x})["out"]  # run: the general path, not predict's direct one
        assert model.predict(x).tobytes() == want.tobytes()
        assert module.predict(x).tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 5])
def test_a_rank_matched_bias_adds_what_broadcasting_adds(dtype: str, batch: int) -> None:
    graph = _mlp(dtype)
    model = Model(graph)
    # the plan reads (1, N) views for the three biases, nothing else
    matched = rank_matched(graph.nodes, {p.name: p.type for p in graph.params})
    assert sorted(matched.values()) == [("h1.b", (1, 5)), ("h2.b", (1, 4)), ("out.b", (1, 3))]
    x = _special_batch(dtype, batch)
    with np.errstate(all="ignore"):
        # by hand, with the (N,) biases broadcast
        p = model.params
        h = np.maximum(np.matmul(x, p["h1.W"]) + p["h1.b"], 0.0)
        h = np.maximum(np.matmul(h, p["h2.W"]) + p["h2.b"], 0.0)
        z = np.matmul(h, p["out.W"]) + p["out.b"]
        assert model.run({"x": x}, outputs=("out.add",))["out.add"].tobytes() == z.tobytes()
        module = load_source(nnspec.compile(graph, model.params, self_test=False), "forms_b")
        assert module.predict(x).tobytes() == model.predict(x).tobytes()


def test_the_views_follow_their_params() -> None:
    graph = _mlp("float64")
    model = Model(graph)
    x = np.linspace(-1, 1, 6).reshape(1, 6)

    def by_hand() -> np.ndarray:
        p = model.params
        h = np.maximum(x @ p["h1.W"] + p["h1.b"], 0.0)
        h = np.maximum(h @ p["h2.W"] + p["h2.b"], 0.0)
        return softmax(h @ p["out.W"] + p["out.b"])

    model.params["out.b"] += 0.25  # in place: the view shares the memory
    assert model.predict(x).tobytes() == by_hand().tobytes()
    model.params["out.b"] = np.array([3.0, -1.0, 0.5])  # replaced: the view is remade
    assert model.predict(x).tobytes() == by_hand().tobytes()
    assert model.run({"x": x})["out"].tobytes() == by_hand().tobytes()
    module = load_source(nnspec.compile(graph, model.params, self_test=False), "forms_views")
    for name in ("H1_B", "H2_B", "OUT_B"):
        view = getattr(module, f"{name}_ROW")
        assert view.shape == (1, *getattr(module, name).shape)
        assert np.shares_memory(view, getattr(module, name))
