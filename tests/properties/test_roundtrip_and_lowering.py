"""Two properties of DESIGN.md: save → load is the identity; lowering keeps meaning.

- A random document with random param values, written back as a document (inline
  values, or a weights file when large) and loaded again, has bit-identical params
  and computes bit-identical outputs.
- A composite layer (dense, maxout) computes what its lecture formula says,
  f(XW + b) and max over pieces, and exactly what the same graph written out node
  by node computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.datasets.files import write_npz
from nnspec.interpreter import Model
from nnspec.interpreter.save import dumps, weights_path, with_params
from nnspec.testing import documents, inputs_for


@given(doc=documents(), data=st.data(), inline_limit=st.sampled_from([0, 10_000]))
def test_save_then_load_is_the_identity(doc, data, inline_limit, tmp_path_factory) -> None:
    graph = nnspec.load(doc)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    model = Model(graph)
    for name, value in model.params.items():
        model.params[name] = rng.standard_normal(value.shape).astype(value.dtype)
    folder: Path = tmp_path_factory.mktemp("saved")
    out = folder / "model.json"
    saved, arrays = with_params(doc, dict(model.params), weights_path(out).name, inline_limit)
    if arrays is not None:
        with open(weights_path(out), "wb") as handle:
            write_npz(handle, arrays)
    out.write_text(dumps(saved), encoding="utf-8")

    again = Model(nnspec.load(out))
    for name, value in model.params.items():
        assert again.params[name].dtype == value.dtype
        assert again.params[name].tobytes() == value.tobytes(), name
    inputs = data.draw(inputs_for(graph))
    with np.errstate(all="ignore"):
        want, got = model.run(inputs), again.run(inputs)
    for name, value in want.items():
        assert np.array_equal(got[name], value, equal_nan=True), name


ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.1 * z),
    None: lambda z: z,
}


def _explicit_dense(width: int, units: int, activation: str | None, bias: bool) -> dict:
    """The dense layer written as the lecture's nodes: matmul, add, activation."""
    nodes: list[dict] = [{"id": "xw", "op": "matmul", "inputs": ["x", "W"]}]
    last = "xw"
    if bias:
        nodes.append({"id": "z", "op": "add", "inputs": ["xw", "b"]})
        last = "z"
    if activation:
        nodes.append({"id": "h", "op": activation, "inputs": [last]})
        last = "h"
    params = {"W": {"shape": [width, units], "init": "zeros"}}
    if bias:
        params["b"] = {"shape": [units], "init": "zeros"}
    return {
        "nnspec": "1",
        "dtype": "float64",
        "inputs": {"x": {"shape": ["batch", width]}},
        "params": params,
        "nodes": nodes,
        "outputs": [last],
    }


@given(
    width=st.integers(1, 5),
    units=st.integers(1, 5),
    batch=st.integers(1, 4),
    activation=st.sampled_from(sorted(ACTIVATIONS, key=str)),
    bias=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_dense_is_f_of_xw_plus_b(width, units, batch, activation, bias, seed) -> None:
    layer = {"id": "h", "op": "dense", "units": units, "use_bias": bias}
    if activation:
        layer["activation"] = activation
    doc = {
        "nnspec": "1",
        "dtype": "float64",
        "inputs": {"x": {"shape": ["batch", width]}},
        "nodes": [layer],
    }
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    w, b = rng.standard_normal((width, units)), rng.standard_normal(units)
    composite = Model(nnspec.load(doc), {"h.W": w, **({"h.b": b} if bias else {})})
    explicit = Model(
        nnspec.load(_explicit_dense(width, units, activation, bias)),
        {"W": w, **({"b": b} if bias else {})},
    )
    got = composite.predict(x)
    assert np.array_equal(got, explicit.predict(x))  # the same primitives, the same bits
    z = x @ w + (b if bias else 0.0)
    np.testing.assert_allclose(got, ACTIVATIONS[activation](z), rtol=1e-12, atol=1e-12)


@given(
    width=st.integers(1, 4),
    units=st.integers(1, 4),
    pieces=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_maxout_is_the_max_over_affine_pieces(width, units, pieces, seed) -> None:
    doc = {
        "nnspec": "1",
        "dtype": "float64",
        "inputs": {"x": {"shape": ["batch", width]}},
        "nodes": [{"id": "m", "op": "maxout", "units": units, "pieces": pieces}],
    }
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, width))
    w = rng.standard_normal((width, units * pieces))
    b = rng.standard_normal(units * pieces)
    got = Model(nnspec.load(doc), {"m.W": w, "m.b": b}).predict(x)
    z = (x @ w + b).reshape(3, units, pieces)  # unit j owns columns j*pieces .. j*pieces+pieces-1
    np.testing.assert_array_equal(got, z.max(axis=-1))
