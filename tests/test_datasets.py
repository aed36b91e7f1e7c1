"""Tests for nnspec.datasets: the playground generators and the data file loaders/writers."""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.datasets import (
    DESCRIPTIONS,
    NAMES,
    PLANE_BIAS,
    PLANE_WEIGHTS,
    TASKS,
    DataError,
    Dataset,
    csvio,
    load_arrays,
    make,
    save_arrays,
)
from nnspec.datasets import files as files_module

CLASSIFICATION = [name for name in NAMES if TASKS[name] == "classification"]
REGRESSION = [name for name in NAMES if TASKS[name] == "regression"]


def bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def radius(x: np.ndarray) -> np.ndarray:
    return np.hypot(x[:, 0], x[:, 1])


# --------------------------------------------------------------------------- playground


def test_names_tasks_and_descriptions_agree():
    assert NAMES == ("circle", "xor", "gaussians", "spiral", "plane", "multi_gaussian")
    assert CLASSIFICATION == ["circle", "xor", "gaussians", "spiral"]
    assert REGRESSION == ["plane", "multi_gaussian"]
    assert set(DESCRIPTIONS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64", np.float64])
def test_shape_dtype_and_task(name, dtype):
    d = make(name, n=101, dtype=dtype)
    assert d.name == name and d.task == TASKS[name]
    assert d.x.shape == (101, 2) and d.y.shape == (101, 1) and len(d) == 101
    assert d.x.dtype == np.dtype(dtype) and d.y.dtype == np.dtype(dtype)
    assert d.x.flags.c_contiguous and d.y.flags.c_contiguous
    assert np.isfinite(d.x).all() and np.isfinite(d.y).all()


def test_default_arguments():
    d = make("xor")
    assert d.x.shape == (200, 2) and d.x.dtype == np.float32


@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_classification_targets_are_balanced_zero_one(name, n):
    d = make(name, n=n, noise=0.3)
    assert set(np.unique(d.y)) <= {0.0, 1.0}
    labels = d.labels()
    assert labels.dtype == np.int64 and labels.shape == (n,)
    np.testing.assert_array_equal(labels, d.y[:, 0])
    ones = int(labels.sum())
    assert ones == n // 2 and n - ones == n - n // 2


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classes_are_shuffled(name):
    labels = make(name, n=200).labels()
    assert 0 < labels[:100].sum() < 100  # a head/tail split sees both classes


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_is_bit_identical_and_other_seeds_differ(name):
    a, b = make(name, n=50, noise=0.2, seed=3), make(name, n=50, noise=0.2, seed=3)
    assert bits(a.x) == bits(b.x) and bits(a.y) == bits(b.y)
    c = make(name, n=50, noise=0.2, seed=4)
    assert bits(a.x) != bits(c.x)
    # Noise-free sets differ by seed too, not just in their order.
    p, q = make(name, n=50, seed=0), make(name, n=50, seed=1)
    assert not np.isin(p.x[:, 0], q.x[:, 0]).all()


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_noise_moves_points_not_labels(name):
    clean, noisy = make(name, n=300, dtype="float64"), make(name, n=300, noise=0.1, dtype="float64")
    np.testing.assert_array_equal(clean.y, noisy.y)
    shift = noisy.x - clean.x
    assert (shift != 0).all()
    assert 0.07 < shift.std() < 0.13  # the noise is Gaussian with the asked deviation


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_noise_moves_targets_not_points(name):
    clean, noisy = make(name, n=300, dtype="float64"), make(name, n=300, noise=0.1, dtype="float64")
    np.testing.assert_array_equal(clean.x, noisy.x)
    shift = noisy.y - clean.y
    assert (shift != 0).all()
    assert 0.07 < shift.std() < 0.13


@pytest.mark.parametrize("name", NAMES)
def test_points_stay_near_the_unit_square(name):
    d = make(name, n=500)
    assert np.abs(d.x).max() <= 1.0 + 1e-6 or name == "gaussians"
    assert np.abs(d.x).max() < 2.0


def test_circle_inner_class_has_smaller_radius():
    d = make("circle", n=400, dtype="float64")
    r, labels = radius(d.x), d.labels()
    assert r[labels == 1].max() <= 0.5 < 0.7 <= r[labels == 0].min()
    assert r[labels == 1].mean() < r[labels == 0].mean()
    noisy = make("circle", n=400, noise=0.1)
    assert radius(noisy.x)[noisy.labels() == 1].mean() < radius(noisy.x)[noisy.labels() == 0].mean()


def test_xor_label_is_sign_disagreement():
    d = make("xor", n=400, dtype="float64")
    expected = (d.x[:, 0] * d.x[:, 1] < 0).astype(np.int64)
    np.testing.assert_array_equal(d.labels(), expected)
    assert np.abs(d.x).min() >= 0.05  # the margin keeps clean points off the axes
    quadrant = (d.x[:, 0] > 0) * 2 + (d.x[:, 1] > 0)
    assert len(np.unique(quadrant)) == 4


def test_gaussians_blobs_sit_on_the_diagonal():
    d = make("gaussians", n=400, dtype="float64")
    labels = d.labels()
    np.testing.assert_allclose(d.x[labels == 1].mean(axis=0), [0.5, 0.5], atol=0.05)
    np.testing.assert_allclose(d.x[labels == 0].mean(axis=0), [-0.5, -0.5], atol=0.05)
    # A linear boundary separates them almost perfectly.
    assert ((d.x.sum(axis=1) > 0) == (labels == 1)).mean() > 0.99


def test_spiral_arms_are_half_a_turn_apart():
    d = make("spiral", n=300, dtype="float64")
    r = radius(d.x)
    assert r.max() <= 1.0
    angle = np.arctan2(d.x[:, 1], d.x[:, 0])
    # Unwinding the arm leaves angle 0 for class 0 and pi for class 1 (mod 2 pi).
    phase = np.mod(angle - 1.75 * 2 * math.pi * r, 2 * math.pi)
    distance_to_pi = np.abs(phase - math.pi)
    assert (d.labels() == (distance_to_pi < math.pi / 2)).all()


def test_plane_is_exactly_linear_without_noise():
    d = make("plane", n=100, dtype="float64")
    design = np.hstack([d.x, np.ones((100, 1))])
    coef, *_ = np.linalg.lstsq(design, d.y[:, 0], rcond=None)
    np.testing.assert_allclose(coef, [*PLANE_WEIGHTS, PLANE_BIAS], atol=1e-12)


def test_multi_gaussian_has_bumps_of_both_signs():
    d = make("multi_gaussian", n=2000, dtype="float64")
    y = d.y[:, 0]
    near = lambda cx, cy: np.hypot(d.x[:, 0] - cx, d.x[:, 1] - cy) < 0.15  # noqa: E731
    assert y[near(-0.5, 0.5)].mean() > 0.5 and y[near(0.5, -0.5)].mean() > 0.5
    assert y[near(0.5, 0.5)].mean() < -0.5 and y[near(-0.5, -0.5)].mean() < -0.5
    assert np.abs(y).max() < 1.5


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"unknown data set 'cirle'; did you mean 'circle'\?"):
        make("cirle")
    with pytest.raises(ValueError, match="known: 'circle', 'gaussians'"):
        make("moons")
    with pytest.raises(ValueError, match="unknown data set"):
        make(["circle"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 0}, ValueError, "n must be at least 1 and at most 10,000,000, got 0"),
        ({"n": -5}, ValueError, "n must be at least 1 and"),
        ({"n": 2.5}, TypeError, "n must be a whole number"),
        ({"n": True}, TypeError, "n must be a whole number"),
        ({"n": 200.0}, TypeError, r"n must be a whole number \(an int\), got 200.0; write 200"),
        ({"n": "200"}, TypeError, "n must be a whole number"),
        ({"noise": -0.1}, ValueError, r"noise \(the standard deviation\) must be >= 0, got -0.1"),
        ({"noise": float("nan")}, ValueError, "noise .* must be a finite number"),
        ({"noise": float("inf")}, ValueError, "noise .* must be a finite number"),
        ({"noise": "0.1"}, TypeError, "noise .* must be a number"),
        ({"seed": -1}, ValueError, "seed must be at least 0 and at most 4,294,967,295, got -1"),
        ({"seed": 1.0}, TypeError, "seed must be a whole number"),
        ({"seed": 2**32}, ValueError, "seed must be at least 0 and at most 4,294,967,295"),
        ({"seed": False}, TypeError, "seed must be a whole number"),
        ({"seed": None}, TypeError, "seed must be a whole number"),
        ({"dtype": "int32"}, ValueError, "unsupported dtype 'int32'; use 'float32' or 'float64'"),
        ({"dtype": "nonsense"}, ValueError, "unsupported dtype 'nonsense'"),
    ],
)
def test_make_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        make("circle", **kwargs)


def test_numpy_integers_are_accepted():
    d = make("xor", n=np.int64(5), noise=np.float32(0.1), seed=np.uint8(2))
    assert d.x.shape == (5, 2)


def test_dataset_is_frozen_and_checks_its_arrays():
    d = make("circle", n=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "other"  # type: ignore[misc]
    assert d != make("circle", n=4)  # identity equality; compare arrays explicitly
    with pytest.raises(ValueError, match="task must be"):
        Dataset(d.x, d.y, "clustering", "c")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same number of rows"):
        Dataset(d.x, d.y[:3], "classification", "c")
    with pytest.raises(ValueError, match="must be 2-D"):
        Dataset(d.x, d.y[:, 0], "classification", "c")


def test_labels_refuses_regression_sets():
    with pytest.raises(ValueError, match="'plane' is a regression set"):
        make("plane", n=3).labels()


@pytest.mark.parametrize("ext", [".npz", ".csv"])
def test_dataset_save_round_trips(tmp_path, ext):
    d = make("spiral", n=30, noise=0.05)
    path = tmp_path / f"spiral{ext}"
    d.save(path)
    back = load_arrays(path, inputs=["x"], targets=["y"])
    assert list(back) == ["x", "y"]
    assert bits(back["x"].astype(np.float32)) == bits(d.x)
    assert bits(back["y"].astype(np.float32)) == bits(d.y)


def test_dataset_save_to_npy_explains_the_limit(tmp_path):
    with pytest.raises(DataError, match=r"a \.npy file holds one array, but 2 were given \(x, y\)"):
        make("xor", n=3).save(tmp_path / "d.npy")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- npz / npy


def test_npz_round_trip_keeps_dtypes_and_order(tmp_path):
    arrays = {
        "x": np.arange(6, dtype=np.float32).reshape(3, 2),
        "target": np.array([0, 2, 1], dtype=np.int64),
        "extra": np.ones(1),
    }
    path = tmp_path / "d.npz"
    save_arrays(path, arrays)
    back = load_arrays(path, inputs=["x"], targets=["target"])
    assert list(back) == ["x", "target"]  # extra keys are ignored
    for name in back:
        assert back[name].dtype == arrays[name].dtype
        np.testing.assert_array_equal(back[name], arrays[name])
    # A plain numpy.load sees the same archive.
    with np.load(path) as raw:
        assert sorted(raw.files) == ["extra", "target", "x"]


def test_npz_names_that_clash_with_numpy_keywords(tmp_path):
    arrays = {"file": np.zeros(2), "allow_pickle": np.ones(2), "a b": np.arange(2)}
    save_arrays(tmp_path / "k.npz", arrays)
    back = load_arrays(tmp_path / "k.npz", inputs=list(arrays))
    for name, a in arrays.items():
        np.testing.assert_array_equal(back[name], a)


def test_npz_missing_key_lists_the_available_ones(tmp_path):
    path = tmp_path / "d.npz"
    save_arrays(path, {"inputs": np.zeros(2), "y": np.zeros(2)})
    with pytest.raises(DataError) as info:
        load_arrays(path, inputs=["input"], targets=["y"])
    message = str(info.value)
    assert message.startswith(f"{path}: has no array named 'input'; did you mean 'inputs'?")
    assert "(available: 'inputs', 'y')" in message
    assert "save the arrays under the names of the document's inputs and targets" in message
    assert info.value.path == str(path)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_npy_round_trip(tmp_path, dtype):
    a = (np.arange(12) % 3).astype(dtype).reshape(4, 3)
    save_arrays(tmp_path / "a.npy", {"whatever": a})
    back = load_arrays(tmp_path / "a.npy", inputs=["x"])
    assert list(back) == ["x"] and back["x"].dtype == a.dtype
    np.testing.assert_array_equal(back["x"], a)
    # One target alone is fine too (inputs and targets in separate files).
    assert list(load_arrays(tmp_path / "a.npy", inputs=[], targets=["y"])) == ["y"]


def test_npy_for_two_names_is_an_error(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(DataError, match=r"holds one array, but 2 are needed \(x, y\); put them"):
        load_arrays(tmp_path / "a.npy", inputs=["x"], targets=["y"])


def test_swapped_numpy_extensions_are_explained(tmp_path):
    np.savez(tmp_path / "real.npz", x=np.zeros(2))
    os.replace(tmp_path / "real.npz", tmp_path / "fake.npy")
    with pytest.raises(DataError, match=r"is an \.npz archive, not a \.npy array; rename it"):
        load_arrays(tmp_path / "fake.npy", inputs=["x"])
    np.save(tmp_path / "real.npy", np.zeros(2))
    os.replace(tmp_path / "real.npy", tmp_path / "fake.npz")
    with pytest.raises(DataError, match=r"is a single \.npy array, not an \.npz archive"):
        load_arrays(tmp_path / "fake.npz", inputs=["x"])


def test_pickled_content_is_refused(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"is not a valid NumPy \.npy file .*no object arrays"):
        load_arrays(path, inputs=["x"])
    np.savez(tmp_path / "obj.npz", x=np.array([None], dtype=object))
    with pytest.raises(DataError, match=r"\.npz file \('x': holds Python objects"):
        load_arrays(tmp_path / "obj.npz", inputs=["x"])


def test_garbage_numpy_files_are_refused(tmp_path):
    (tmp_path / "g.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"is not a valid NumPy \.npz file"):
        load_arrays(tmp_path / "g.npz", inputs=["x"])
    (tmp_path / "g.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match=r"is not a valid NumPy \.npy file"):
        load_arrays(tmp_path / "g.npy", inputs=["x"])


def test_column_options_are_for_csv_only(tmp_path):
    save_arrays(tmp_path / "d.npz", {"x": np.zeros((2, 2)), "y": np.zeros((2, 1))})
    with pytest.raises(DataError, match=r"apply only to \.csv files; a \.npz file holds whole"):
        load_arrays(tmp_path / "d.npz", inputs=["x"], targets=["y"], target_columns=["y"])


# --------------------------------------------------------------------------- common load errors


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"nope\.csv: file not found; check the path"):
        load_arrays(path, inputs=["x"])


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(DataError, match="is a folder, not a data file"):
        load_arrays(tmp_path / "d.npz", inputs=["x"])


@pytest.mark.parametrize(
    ("name", "shown"), [("d.txt", "'.txt'"), ("data", "no extension"), ("d.json", "'.json'")]
)
def test_unsupported_extension(tmp_path, name, shown):
    (tmp_path / name).write_text("1\n")
    message = rf"unsupported data file type \({shown}\); use a \.npz, \.npy or \.csv file"
    with pytest.raises(DataError, match=message):
        load_arrays(tmp_path / name, inputs=["x"])
    with pytest.raises(DataError, match=message):
        save_arrays(tmp_path / name, {"x": np.zeros(1)})


def test_upper_case_extension_is_fine(tmp_path):
    save_arrays(tmp_path / "D.CSV", {"x": np.array([1.5, 2.0])})
    np.testing.assert_array_equal(load_arrays(tmp_path / "D.CSV", inputs=["x"])["x"], [1.5, 2.0])


def test_caller_mistakes_are_plain_errors(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.zeros(1))
    with pytest.raises(TypeError, match="not the string 'x'"):
        load_arrays(path, inputs="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one input or target"):
        load_arrays(path, inputs=[])
    with pytest.raises(ValueError, match="got a name twice"):
        load_arrays(path, inputs=["x"], targets=["x"])
    with pytest.raises(TypeError, match="non-empty strings"):
        load_arrays(path, inputs=[""])


# --------------------------------------------------------------------------- CSV reading


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_csv_columns_by_name_convention(tmp_path):
    path = write(tmp_path, "id,x_1,x_0,label\n7,2,1,0\n8,4,3,1\n")
    back = load_arrays(path, inputs=["x"], targets=["label"])
    np.testing.assert_array_equal(back["x"], [[1, 2], [3, 4]])  # ordered by index, not position
    assert back["x"].dtype == np.float64
    np.testing.assert_array_equal(back["label"], [0, 1])  # exact name: 1-D
    assert back["label"].shape == (2,)


def test_csv_target_columns_leave_the_rest_for_the_input(tmp_path):
    path = write(tmp_path, "a,label,b\n1,0,2\n3,1,4\n")
    back = load_arrays(path, inputs=["x"], targets=["y"], target_columns=["label"])
    np.testing.assert_array_equal(back["x"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(back["y"], [[0], [1]])  # picked columns: always 2-D


def test_csv_input_columns_select_explicitly(tmp_path):
    path = write(tmp_path, "a,b,c,t\n1,2,3,9\n4,5,6,8\n")
    back = load_arrays(path, inputs=["x"], input_columns=["c", "a"])
    np.testing.assert_array_equal(back["x"], [[3, 1], [6, 4]])
    both = load_arrays(path, inputs=["x"], targets=["y"], input_columns=["a"], target_columns=["t"])
    np.testing.assert_array_equal(both["x"], [[1], [4]])
    np.testing.assert_array_equal(both["y"], [[9], [8]])
    # input_columns alone: the target still comes by name.
    by_name = load_arrays(path, inputs=["x"], targets=["t"], input_columns=["a", "b"])
    np.testing.assert_array_equal(by_name["t"], [9, 8])


def test_csv_single_input_without_matching_names_takes_every_column(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    np.testing.assert_array_equal(load_arrays(path, inputs=["x"])["x"], [[1, 2], [3, 4]])


def test_csv_no_column_for_a_name(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError) as info:
        load_arrays(path, inputs=["x"], targets=["y"])
    assert str(info.value) == (
        f"{path}: has no column for 'x' (columns: 'a', 'b'); name the columns 'x' or "
        "'x_0', 'x_1', ..., or choose them with input_columns"
    )


def test_csv_indexed_columns_with_a_gap(tmp_path):
    path = write(tmp_path, "x_0,x_2\n1,2\n")
    with pytest.raises(DataError, match=r"columns for 'x' skip 'x_1'; number them 'x_0', 'x_1'"):
        load_arrays(path, inputs=["x"], targets=["y"])


def test_csv_exact_and_indexed_columns_are_ambiguous(tmp_path):
    path = write(tmp_path, "x,x_0\n1,2\n")
    with pytest.raises(DataError, match=r"both a column 'x' and columns 'x_<i>' exist"):
        load_arrays(path, inputs=["x"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"inputs": ["x"], "targets": ["y"], "target_columns": ["lable"]},
            r"target_columns names 'lable', which is not a column; did you mean 'label'\?",
        ),
        (
            {"inputs": ["x"], "targets": ["y"], "target_columns": ["label", "label"]},
            "target_columns names 'label' twice",
        ),
        (
            {"inputs": ["x"], "target_columns": ["label"]},
            "target_columns picks the columns of exactly one target, but the document has "
            "no target; leave target_columns out",
        ),
        (
            {"inputs": ["x"], "targets": ["y", "z"], "target_columns": ["label"]},
            r"has 2 targets \(y, z\)",
        ),
        (
            {"inputs": ["x", "w"], "targets": ["y"], "target_columns": ["label"]},
            r"leaves the other columns for one input, but 2 inputs are needed \(x, w\)",
        ),
        (
            {"inputs": ["x"], "targets": ["y"], "target_columns": ["a", "b", "label"]},
            "target_columns takes every column, leaving none for the input",
        ),
        ({"inputs": ["x"], "targets": ["y"], "target_columns": []}, "target_columns is empty"),
        (
            {"inputs": ["x"], "targets": ["y"], "input_columns": ["a"], "target_columns": ["a"]},
            r"column\(s\) 'a' are in both input_columns and target_columns",
        ),
        (
            {"inputs": ["x", "w"], "input_columns": ["a"]},
            "input_columns picks the columns of exactly one input",
        ),
    ],
)
def test_csv_column_option_errors(tmp_path, kwargs, message):
    path = write(tmp_path, "a,b,label\n1,2,0\n")
    with pytest.raises(DataError, match=message):
        load_arrays(path, **kwargs)


def test_csv_column_option_as_string_is_a_type_error(tmp_path):
    path = write(tmp_path, "a,label\n1,0\n")
    with pytest.raises(TypeError, match="not the string 'label'"):
        load_arrays(path, inputs=["x"], targets=["y"], target_columns="label")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; a CSV data file holds a row per example, after an optional header"),
        ("a,b\n1,2\n3\n", r"line 3 has 1 cell\(s\) but the header has 2 column\(s\)"),
        ("a,b\n1,2\n3,4,5\n", r"line 3 has 3 cell\(s\)"),
        ("a,b\n1,2\n3,x\n", r"line 3, column 2 \('b'\): 'x' is not a number"),
        ("a,b\n1,\n", r"line 2, column 2 \('b'\) is empty; fill in a number"),
        ("a,b\n1,  \n", r"line 2, column 2 \('b'\) is empty"),
        ("a,b\n1_000,2\n", r"line 2, column 1 \('a'\): '1_000' is not a number"),
        ("a,b\n0x10,2\n", "'0x10' is not a number"),
        ("a,b\n1,2\n\n3,4\n", "line 3 is blank; remove blank lines between rows"),
        ("a,a\n1,2\n", "column name 'a' appears twice"),
        ("a,,c\n1,2,3\n", "line 1, column 2: empty column name"),
        ("1.5,b\n3,4\n", r"line 1 mixes column names and numbers \(column 2: 'b', column 1"),
        ("a,2\n3,4\n", r"line 1 mixes column names and numbers \(column 1: 'a', column 2"),
        ("1,2\n3\n", r"line 2 has 1 cell\(s\) but line 1 has 2 column\(s\)"),
        ("1,2\n3,x\n", r"line 2, column 2: 'x' is not a number"),
        ('a,b\n"1,2\n', "is not valid CSV"),
    ],
)
def test_csv_parse_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_arrays(path, inputs=["x"])
    assert str(info.value).startswith(f"{path}: ")


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n\xff,1\n")
    with pytest.raises(DataError, match="is not UTF-8 text"):
        load_arrays(path, inputs=["x"])


def test_csv_tolerances(tmp_path):
    # A byte-order mark, spaces around cells, quoted numbers, CRLF line ends, trailing
    # blank lines and spelled-out nan/inf are all fine.
    text = '\ufeffa , b\r\n 1.5 , "-2e3"\r\n+.5,nan\r\n-inf,Infinity\r\n\r\n\r\n'
    back = load_arrays(write(tmp_path, text), inputs=["x"])["x"]
    assert back.shape == (3, 2)
    np.testing.assert_array_equal(back[:2, 0], [1.5, 0.5])
    assert back[0, 1] == -2000.0 and math.isnan(back[1, 1])
    assert back[2, 0] == -math.inf and back[2, 1] == math.inf


def test_csv_header_only_gives_empty_arrays(tmp_path):
    back = load_arrays(write(tmp_path, "x_0,x_1,y\n"), inputs=["x"], targets=["y"])
    assert back["x"].shape == (0, 2) and back["y"].shape == (0,)


# --------------------------------------------------------------------------- CSV writing


def test_csv_layout(tmp_path):
    path = tmp_path / "p.csv"
    save_arrays(
        path,
        {
            "x": np.array([[0.1, 2.0], [3.0, -0.0]]),
            "label": np.array([1, 0], dtype=np.int64),
            "p": np.array([[0.1], [1e-30]], dtype=np.float32),
            "ok": np.array([True, False]),
        },
    )
    assert path.read_text() == "x_0,x_1,label,p_0,ok\n0.1,2.0,1,0.1,1\n3.0,-0.0,0,1e-30,0\n"


def test_csv_quotes_awkward_names(tmp_path):
    path = tmp_path / "q.csv"
    save_arrays(path, {'a,"b"': np.array([1.0])})
    assert path.read_text().splitlines()[0] == '"a,""b"""'
    np.testing.assert_array_equal(load_arrays(path, inputs=['a,"b"'])['a,"b"'], [1.0])


float64_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
)
float32_arrays = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=32),
)


def assert_same_floats(back: np.ndarray, original: np.ndarray) -> None:
    assert back.shape == original.shape
    nan = np.isnan(original)
    np.testing.assert_array_equal(np.isnan(back), nan)
    assert bits(back[~nan]) == bits(original[~nan])  # exact, including the sign of zero


@settings(max_examples=60, deadline=None)
@given(float64_arrays)
def test_csv_round_trip_is_exact_float64(a):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.csv"
        save_arrays(path, {"a": a})
        back = load_arrays(path, inputs=["a"])["a"]
    assert back.dtype == np.float64
    assert_same_floats(back, a)


@settings(max_examples=60, deadline=None)
@given(float32_arrays)
def test_csv_round_trip_is_exact_float32_after_cast(a):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.csv"
        save_arrays(path, {"a": a})
        back = load_arrays(path, inputs=["a"])["a"].astype(np.float32)
    assert_same_floats(back, a)


def test_float32_text_reads_back_exactly_through_float64():
    # Reading goes float text -> float64 -> float32; the written text must survive that
    # double rounding for every float32 (a spread of bit patterns, subnormals included).
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2**31, 20000, dtype=np.uint32).view(np.float32)
    values = values[np.isfinite(values)]
    texts = csvio._format_column(values)
    back = np.array([float(t) for t in texts]).astype(np.float32)
    assert bits(back) == bits(values)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((2, 2, 2))}, r"array 'x' has shape \[2, 2, 2\]; CSV holds 1-D or 2-D"),
        ({"x": np.float64(1.0)}, r"array 'x' has shape \[\]"),
        ({"x": np.zeros(2), "y": np.zeros(3)}, "array 'y' has 3 rows but the one before has 2"),
        ({"s": np.array(["a", "b"])}, "array 's' has dtype <U1, which CSV cannot hold"),
        ({"c": np.zeros(2, dtype=complex)}, "which CSV cannot hold"),
        ({"x": np.zeros((2, 0))}, "array 'x' has no columns"),
        ({"x": np.zeros((2, 1)), "x_0": np.zeros(2)}, "both produce the column 'x_0'"),
    ],
)
def test_csv_write_errors(tmp_path, arrays, message):
    path = tmp_path / "w.csv"
    with pytest.raises(DataError, match=message):
        save_arrays(path, arrays)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ save errors, atomicity


@pytest.mark.parametrize(
    ("name", "arrays", "message"),
    [
        ("e.npz", {}, "nothing to write; pass at least one array"),
        (
            "o.npz",
            {"o": np.array([None])},
            "has dtype object, which cannot be saved without pickle",
        ),
        ("two.npy", {"a": np.zeros(1), "b": np.zeros(1)}, r"but 2 were given \(a, b\)"),
    ],
)
def test_save_errors(tmp_path, name, arrays, message):
    with pytest.raises(DataError, match=message):
        save_arrays(tmp_path / name, arrays)
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist; create it first"):
        save_arrays(tmp_path / "no" / "d.npz", {"x": np.zeros(1)})


def test_save_leaves_no_temporary_file_and_overwrites(tmp_path):
    path = tmp_path / "d.npz"
    save_arrays(path, {"x": np.zeros(2)})
    save_arrays(path, {"x": np.ones(2)})
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]
    np.testing.assert_array_equal(load_arrays(path, inputs=["x"])["x"], [1.0, 1.0])


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    save_arrays(tmp_path / "d.csv", {"x": np.zeros(1)})
    assert (tmp_path / "d.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    save_arrays(path, {"x": np.arange(3.0)})
    before = path.read_bytes()

    def half_then_fail(f, arrays):
        f.write(b"PK partial")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(files_module, "write_npz", half_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_arrays(path, {"x": np.zeros(3)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


def test_failed_replace_becomes_a_data_error(tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text("x\n1\n")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files_module.os, "replace", refuse)
    with pytest.raises(DataError, match=r"cannot write the file \(Permission denied\)"):
        save_arrays(path, {"x": np.zeros(1)})
    assert path.read_text() == "x\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


def test_saving_over_a_folder_is_a_data_error(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(DataError, match="cannot write the file"):
        save_arrays(tmp_path / "d.npz", {"x": np.zeros(1)})
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


def test_unreadable_files(tmp_path, monkeypatch):
    # Tests may run as root, where chmod cannot take read access away; fake the refusal.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    np.save(tmp_path / "a.npy", np.zeros(1))
    write(tmp_path, "a\n1\n")
    for name in ("a.npy", "d.csv"):
        with monkeypatch.context() as patch:
            patch.setattr("nnspec.fileio.os.open", refuse)
            with pytest.raises(DataError, match="permission denied; make the file readable"):
                load_arrays(tmp_path / name, inputs=["x"])


def test_unwritable_folder(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("nnspec.fileio._create_temp", refuse)
    with pytest.raises(
        DataError, match=r"cannot write the file \(Permission denied\); check the path"
    ):
        save_arrays(tmp_path / "d.csv", {"x": np.zeros(1)})
    assert list(tmp_path.iterdir()) == []


def test_write_npz_takes_any_name_and_is_deterministic() -> None:
    import io

    from nnspec.datasets.files import write_npz

    arrays = {"file": np.arange(3.0), "allow_pickle": np.ones((2, 2), np.float32)}
    first, second = io.BytesIO(), io.BytesIO()
    write_npz(first, arrays)
    write_npz(second, arrays)
    assert first.getvalue() == second.getvalue()
    first.seek(0)
    with np.load(first, allow_pickle=False) as loaded:
        assert sorted(loaded.files) == ["allow_pickle", "file"]
        np.testing.assert_array_equal(loaded["file"], arrays["file"])


def test_write_npz_member_past_the_zip64_limit(monkeypatch) -> None:
    """Zip64 headers are added only where needed: a member too large without them still writes."""
    import io
    import zipfile

    from nnspec.datasets.files import write_npz

    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    arrays = {"big": np.arange(500.0), "small": np.arange(3.0)}
    buffer = io.BytesIO()
    write_npz(buffer, arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded[name], array)
