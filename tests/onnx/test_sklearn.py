"""scikit-learn MLPs: converted by skl2onnx and imported, and read directly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from onnx_checks import assert_agrees

import nnspec
from nnspec.errors import SpecError
from nnspec.onnx import from_onnx, from_sklearn

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402


def _data(classes: int = 3, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(dtype)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int) * (classes - 2)
    return x, y


def _fit(estimator, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(x, y)


def _regression(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    x = _data(dtype=dtype)[0]
    return x, x[:, :2] @ np.array([1.0, 2.0], dtype=dtype)


# name -> estimator fitted on data of the given dtype (sklearn keeps that dtype)
ESTIMATORS = {
    "classifier_3": lambda dtype=np.float32: _fit(
        MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0), *_data(3, dtype)
    ),
    "classifier_2_tanh": lambda dtype=np.float32: _fit(
        MLPClassifier(hidden_layer_sizes=(5, 4), activation="tanh", max_iter=30, random_state=0),
        *_data(2, dtype),
    ),
    "regressor": lambda dtype=np.float32: _fit(
        MLPRegressor(hidden_layer_sizes=(6,), activation="logistic", max_iter=30, random_state=0),
        *_regression(dtype),
    ),
}


def _convert(estimator, zipmap: bool = False) -> bytes:
    from skl2onnx import to_onnx

    options = {"zipmap": zipmap} if isinstance(estimator, MLPClassifier) else None
    x = np.zeros((1, 4), dtype=np.float32)
    return to_onnx(estimator, x, options=options, target_opset=17).SerializeToString()


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_skl2onnx_model_imports_and_agrees(name: str) -> None:
    estimator = ESTIMATORS[name]()
    blob = _convert(estimator)
    keep = ["probabilities"] if isinstance(estimator, MLPClassifier) else None
    imported = from_onnx(blob, outputs=keep)
    assert_agrees(blob, imported, onnx_outputs=keep)


def test_classifier_label_output_is_refused_with_the_way_out() -> None:
    blob = _convert(ESTIMATORS["classifier_3"]())
    with pytest.raises(SpecError) as info:
        from_onnx(blob)
    messages = " ".join(p.message for p in info.value.problems)
    assert "ArgMax" in messages or "ai.onnx.ml" in messages
    codes = {p.code for p in info.value.problems}
    assert codes <= {"NN702", "NN703"}


def test_zipmap_output_is_refused() -> None:
    blob = _convert(ESTIMATORS["classifier_3"](), zipmap=True)
    with pytest.raises(SpecError) as info:
        from_onnx(blob)
    assert any("ZipMap" in p.message for p in info.value.problems)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_from_sklearn_matches_the_estimator(name: str) -> None:
    estimator = ESTIMATORS[name](np.float64)
    imported = from_sklearn(estimator)
    assert imported.document["dtype"] == "float64"
    model = nnspec.Model(nnspec.load(imported.document), imported.weights)
    x = _data()[0].astype(np.float64)
    got = model.predict(x)
    if isinstance(estimator, MLPClassifier):
        want = estimator.predict_proba(x)
    else:
        want = estimator.predict(x).reshape(len(x), -1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    first = imported.document["nodes"][0]["id"]
    assert np.array_equal(imported.weights[f"{first}.W"], estimator.coefs_[0])


def test_from_sklearn_refuses_other_estimators() -> None:
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="MLPClassifier"):
        from_sklearn(LogisticRegression())
    with pytest.raises(ValueError, match="not fitted"):
        from_sklearn(MLPClassifier())
