"""Kept arrays start on a cache line (`nnspec.aligned`), in both engines.

The arrays an engine keeps across calls (params, forward workspaces, gradient and
optimizer buffers, a compiled module's weights) are made 64-byte aligned; what a
call returns to its caller is not. NumPy's own loops give the same bits at every
offset; the engines agree with each other wherever the caller's input lies.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec import aligned
from nnspec.codegen import load_source, weights_npz
from nnspec.interpreter import Model
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep

A = aligned.ALIGNMENT


def _offset(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0] % A


def _placed(array: np.ndarray, offset: int) -> np.ndarray:
    """A copy of `array` starting `offset` bytes past a 64-byte boundary."""
    raw = np.empty(array.nbytes + 2 * A, np.uint8)
    start = -_offset(raw) % A + offset
    out = raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


SHAPES: list[Any] = [(), 0, 1, 7, (0, 5), (3, 0), (1, 784), (784, 256), (2, 3, 5), (129,)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", ">f4"])
def test_empty_is_aligned_c_ordered_and_writeable(shape: Any, dtype: str) -> None:
    for _ in range(5):  # several allocations: NumPy's own offsets vary between them
        array = aligned.empty(shape, dtype)
        expected = (shape,) if isinstance(shape, int) else shape
        assert array.shape == expected and array.dtype == np.dtype(dtype).newbyteorder("=")
        assert _offset(array) == 0 or array.size == 0
        assert array.flags.c_contiguous and array.flags.writeable and array.flags.aligned
        array[...] = 1
        assert (array == 1).all()


def test_empty_like_keeps_fortran_order_and_takes_a_dtype() -> None:
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    like = aligned.empty_like(f)
    assert like.flags.f_contiguous and not like.flags.c_contiguous and like.shape == (3, 4)
    assert _offset(like) == 0 and like.dtype == np.float64
    assert aligned.empty_like(f, np.float32).dtype == np.float32
    c = aligned.empty_like(np.ones((3, 4), np.float32))
    assert c.flags.c_contiguous and c.dtype == np.float32
    zeros = aligned.zeros_like(np.ones((5, 3), np.float32))
    assert _offset(zeros) == 0 and not zeros.any() and zeros.dtype == np.float32


@pytest.mark.parametrize(
    "value",
    [
        np.random.default_rng(0).standard_normal((17, 9)),  # float64, rounded to float32
        np.arange(24, dtype=">f4").reshape(2, 3, 4),  # big-endian: native after the copy
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        [[1, 2], [3, 4]],
        np.float32(2.5),
    ],
)
def test_copy_rounds_as_numpy_does_and_shares_no_memory(value: Any) -> None:
    for dtype in (None, np.float32, np.float64):
        got = aligned.copy(value, dtype)
        want = np.array(value, dtype=dtype, copy=True, order="C")
        assert got.dtype == want.dtype.newbyteorder("=") and got.dtype.isnative
        assert got.tobytes() == want.astype(got.dtype).tobytes()
        assert _offset(got) == 0 and got.flags.c_contiguous
        assert not np.shares_memory(got, np.asarray(value))


def test_shapes_are_checked_as_numpy_checks_them() -> None:
    assert aligned.empty(np.int64(3), "f4").shape == (3,)
    assert aligned.empty([2, np.int32(3)], "f4").shape == (2, 3)
    with pytest.raises(ValueError, match="negative dimensions"):
        aligned.empty((-1, 3), "f4")
    with pytest.raises(TypeError):
        aligned.empty(2.0, "f4")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not Python objects"):
        aligned.empty(2, object)
    with pytest.raises(OverflowError):  # as np.array([2**40], dtype="int32") refuses it
        aligned.copy([2**40], "int32")


@pytest.mark.parametrize("offset", [4, 8, 16, 32, 48])
def test_placement_never_changes_numpys_own_results(offset: int) -> None:
    rng = np.random.default_rng(offset)
    for shape in [(1, 784), (128, 256), (1000, 10), (3, 5)]:
        x = rng.standard_normal(shape).astype(np.float32)
        here, there = aligned.copy(x), _placed(x, offset)
        assert _offset(there) == offset
        for op in (
            lambda a: a.sum(),
            lambda a: a.sum(axis=0),
            lambda a: a.sum(axis=1),
            lambda a: np.exp(a),
            lambda a: np.maximum(a, 0) * a + 1,
            lambda a: a.max(axis=-1),
        ):
            assert op(here).tobytes() == op(there).tobytes()


def _document(optimizer: dict) -> dict:
    return {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 12]}},
        "nodes": [
            {"id": "h", "op": "dense", "units": 24, "activation": "relu"},
            {"id": "out", "op": "dense", "units": 3},
        ],
        "training": {
            "target": {"name": "label", "shape": ["batch"], "dtype": "int64"},
            "loss": {"op": "cross_entropy", "from_logits": True},
            "optimizer": optimizer,
        },
    }


def _batch(rows: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((rows, 12)).astype(np.float32), rng.integers(0, 3, rows)


def test_an_interpreters_params_buffers_and_state_are_aligned() -> None:
    graph = nnspec.load(_document({"name": "adam", "learning_rate": 0.01}))
    model = Model(graph)
    assert all(_offset(v) == 0 for v in model.params.values())
    model.params["h.W"] = _placed(np.ones((12, 24), np.float32), 16)  # a user's array
    assert _offset(model.params["h.W"]) == 0 and (model.params["h.W"] == 1).all()
    optimizer = make_optimizer(graph.training.optimizer)
    step = TrainStep(model, optimizer)
    x, labels = _batch()
    step({"x": x, "label": labels})
    step({"x": x, "label": labels})
    assert all(_offset(v) == 0 for v in model.params.values())
    states = [a for arrays in optimizer.state.values() for a in arrays.values()]
    assert states and all(_offset(a) == 0 for a in states)
    assert step.plan.workspaces is not None and step.plan.param_buffers is not None
    held = [*step.plan.workspaces((16,)), *step.plan.param_buffers._held.values()]
    model.predict(x)
    assert model.forward_plan.workspaces is not None
    held += model.forward_plan.workspaces((16,))
    assert held and all(_offset(b) == 0 for b in held)


def test_a_compiled_modules_kept_arrays_are_aligned(tmp_path: Path) -> None:
    graph = nnspec.load(_document({"name": "sgd", "learning_rate": 0.1, "momentum": 0.9}))
    module = load_source(nnspec.compile(graph, train=True, self_test=False))
    assert all(_offset(v) == 0 for v in module.PARAMS.values())
    x, labels = _batch()
    state = module.init_state()
    module.train_step({"x": x, "label": labels}, state)
    module.train_step({"x": x, "label": labels}, state)
    assert all(_offset(v) == 0 for v in module.PARAMS.values())
    kept = [a for arrays in state.values() for a in arrays.values()]
    assert kept and all(_offset(a) == 0 for a in kept)
    assert all(_offset(b) == 0 for b in module._train_workspace(16))
    held = [b for buffers in module._TRAIN_BUFFERS.held.values() for b in buffers]
    assert held and all(_offset(b) == 0 for b in held)
    predicting = load_source(nnspec.compile(graph, self_test=False), "aligned_predict")
    predicting.predict(x)
    constants = [v for k, v in vars(predicting).items() if k.endswith("_W") or k.endswith("_B")]
    assert len(constants) == 4 and all(_offset(v) == 0 for v in constants)
    assert all(_offset(b) == 0 for b in predicting._workspace(16))
    # weights from a file beside the module are copied into aligned arrays too
    (tmp_path / "m.weights.npz").write_bytes(weights_npz(graph))
    (tmp_path / "m.py").write_text(nnspec.compile(graph, weights_file="m.weights.npz"))
    spec = importlib.util.spec_from_file_location("aligned_from_file", tmp_path / "m.py")
    assert spec is not None and spec.loader is not None
    from_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(from_file)
    weights = [v for k, v in vars(from_file).items() if k.endswith("_W") or k.endswith("_B")]
    assert len(weights) == 4 and all(_offset(v) == 0 for v in weights)
    held = {id(v) for v in from_file._WEIGHTS.values()}  # aligned once: no second copy
    assert all(id(v) in held for v in weights)


def test_both_engines_agree_bitwise_wherever_the_input_lies() -> None:
    """The caller's input is never copied into place: at every offset (batch 1, the
    matrix-vector path, and batch 5) the two engines give the same bits."""
    graph = nnspec.load(_document({"name": "sgd", "learning_rate": 0.1}))
    module = load_source(nnspec.compile(graph, self_test=False))
    model = Model(graph)
    for offset, rows in itertools.product((0, 4, 16, 48), (1, 5)):
        placed = _placed(_batch(rows)[0], offset)
        want = model.predict(placed)
        got = module.predict(placed)
        assert isinstance(got, np.ndarray) and isinstance(want, np.ndarray)
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "int64", "bool", ">f4", np.dtype("float32").newbyteorder("<")]
)
def test_kept_arrays_carry_numpys_own_dtype_object(dtype: Any) -> None:
    """Fast paths compare dtypes by identity (`x.dtype is float32`): an aligned array
    must carry NumPy's own native dtype object, not an equal one `newbyteorder` made."""
    own = np.dtype(np.dtype(dtype).newbyteorder("=").str)
    assert aligned.empty(3, dtype).dtype is own
    assert aligned.copy(np.ones(3, dtype)).dtype is own
    assert aligned.copy([1, 2], dtype).dtype is own
    assert aligned.empty_like(np.ones(3, dtype)).dtype is own


def test_a_model_and_a_module_keep_numpys_own_dtype_objects() -> None:
    graph = nnspec.load(_document({"name": "sgd", "learning_rate": 0.1}))
    model = Model(graph)
    assert all(v.dtype is np.dtype("float32") for v in model.params.values())
    model.params["h.W"] = np.ones((12, 24), ">f8")
    assert model.params["h.W"].dtype is np.dtype("float32")
    module = load_source(nnspec.compile(graph, train=True, self_test=False))
    assert all(v.dtype is np.dtype("float32") for v in module.PARAMS.values())


TWIN_DTYPES = ["float32", "float64", "int64", "int8", "bool", ">f4", "<f8", "complex64"]


@pytest.fixture(scope="module")
def module() -> Any:
    graph = nnspec.load(_document({"name": "sgd", "learning_rate": 0.1}))
    return load_source(nnspec.compile(graph, self_test=False))


@pytest.mark.parametrize("dtype", TWIN_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (5, 0, 2), (7, 129)])
def test_the_modules_helpers_place_arrays_as_nnspec_aligned_does(
    module: Any, dtype: str, shape: Any
) -> None:
    """A compiled module imports only NumPy, so its ``_empty``/``_kept`` are a second
    rendering of `nnspec.aligned`'s rule; here the two are held to the same results."""
    ours, theirs = aligned.empty(shape, dtype), module._empty(shape, dtype)
    for made in (ours, theirs):  # an empty array's address is NumPy's to choose
        assert made.flags.c_contiguous and (not made.size or made.ctypes.data % 64 == 0)
    assert (theirs.shape, theirs.dtype) == (ours.shape, ours.dtype)
    assert theirs.dtype is ours.dtype  # NumPy's own object, for the identity fast paths
    value = np.arange(math.prod(shape)).reshape(shape).astype(dtype)
    kept, copied = module._kept(value), aligned.copy(value)
    assert kept.dtype is copied.dtype and (not kept.size or kept.ctypes.data % 64 == 0)
    assert kept.tobytes() == copied.tobytes() and not np.shares_memory(kept, value)
