"""`make` beyond the Playground's 2-D sets: wider `plane` and `gaussians`, more classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.datasets import PLANE_BIAS, PLANE_WEIGHTS, load_arrays, make
from nnspec.datasets.playground import GAUSS_OFFSET, plane_weights


def test_plane_weights_widen_the_two_feature_plane() -> None:
    assert plane_weights(2).tolist() == list(PLANE_WEIGHTS)
    assert plane_weights(3).tolist() == [0.5, 0.125, -0.25]
    data = make("plane", 50, features=3, dtype="float64")
    assert data.x.shape == (50, 3)
    np.testing.assert_allclose(data.y[:, 0], data.x @ plane_weights(3) + PLANE_BIAS)


@pytest.mark.parametrize(("features", "classes"), [(2, 3), (2, 4), (4, 3), (64, 10)])
def test_gaussians_with_k_classes_are_balanced_and_near_their_centres(
    features: int, classes: int
) -> None:
    data = make("gaussians", 40 * classes, features=features, classes=classes, dtype="float64")
    labels = data.labels()
    assert data.x.shape == (40 * classes, features)
    assert np.bincount(labels).tolist() == [40] * classes
    k = np.arange(classes)
    centres = np.zeros((classes, features))
    centres[k, k % features] = np.where(k < features, GAUSS_OFFSET, -GAUSS_OFFSET)
    nearest = np.argmin(((data.x[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == labels) > 0.95


def test_two_classes_keep_the_playground_blobs() -> None:
    wide = make("gaussians", 100, features=5, dtype="float64")
    centre = np.where(wide.y == 1, 0.5, -0.5)
    assert abs(np.mean(wide.x - centre)) < 0.05  # every feature around ±0.5


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("circle", {"features": 3}, "'circle' has 2 features; only 'plane' and 'gaussians'"),
        ("plane", {"classes": 3}, "'plane' has 2 classes; only 'gaussians' takes"),
        ("gaussians", {"classes": 5}, "classes must be at least 2 and at most 4, got 5"),
        ("gaussians", {"features": 0}, "features must be at least 1 and at most 4,096, got 0"),
    ],
)
def test_layouts_a_set_cannot_take_are_refused(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(name, 10, **kwargs)
    with pytest.raises(TypeError, match="features must be a whole number"):
        make("plane", 10, features=2.0)  # type: ignore[arg-type]


def test_cli_data_features_and_classes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "b.npz"
    args = ["data", "gaussians", "--features", "4", "--classes", "3", "-o", str(out)]
    assert main([*args, "--labels"]) == 0
    arrays = load_arrays(out, inputs=["x"], targets=["y"])
    assert arrays["x"].shape == (200, 4) and arrays["y"].dtype == np.int64
    assert set(arrays["y"].tolist()) == {0, 1, 2}
    capsys.readouterr()
    assert main(args) == 2
    assert "3 classes need --labels" in capsys.readouterr().err
    assert main(["data", "xor", "--features", "3", "-o", str(tmp_path / "x.npz")]) == 2
    assert "'xor' has 2 features" in capsys.readouterr().err
