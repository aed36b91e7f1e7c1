"""The optimizers, evaluated from their definitions (`nnspec.optimizers`), against the
update formulas written out by hand, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.interpreter.optimizers import make_optimizer
from nnspec.optimizers import OPTIMIZERS, optimizer_spec

STEPS = 4


def _grads(dtype: str, step: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(step)
    return {"w": rng.normal(size=(3, 2)).astype(dtype), "b": rng.normal(size=2).astype(dtype)}


def _run(spec: dict, dtype: str) -> dict[str, np.ndarray]:
    params = {"w": np.ones((3, 2), dtype), "b": np.zeros(2, dtype)}
    opt = make_optimizer(spec)
    for step in range(STEPS):
        opt.step(params, _grads(dtype, step))
    return params


def _by_hand(name: str, settings: dict[str, float], dtype: str) -> dict[str, np.ndarray]:
    params = {"w": np.ones((3, 2), dtype), "b": np.zeros(2, dtype)}
    lr = settings["learning_rate"]
    slots: dict[str, list[np.ndarray]] = {k: [np.zeros_like(v)] * 2 for k, v in params.items()}
    for step in range(STEPS):
        t = step + 1
        for key, g in _grads(dtype, step).items():
            w = params[key]
            if name == "sgd" and not settings["momentum"]:
                params[key] = w - lr * g
            elif name in ("sgd", "momentum"):
                v = settings["momentum"] * slots[key][0] - lr * g
                slots[key] = [v, v]
                params[key] = w + v
            else:
                b1, b2, eps = settings["beta1"], settings["beta2"], settings["epsilon"]
                m = b1 * slots[key][0] + (1 - b1) * g
                v = b2 * slots[key][1] + (1 - b2) * (g * g)
                slots[key] = [m, v]
                alpha = lr * (1 - b2**t) ** 0.5 / (1 - b1**t)
                params[key] = w - alpha * m / (np.sqrt(v) + eps)
    return params


CASES = [
    {"name": "sgd", "learning_rate": 0.1},
    {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9},
    {"name": "momentum", "learning_rate": 0.1},
    {"name": "adam", "learning_rate": 0.1},
    {"name": "adam", "beta1": 0.5, "beta2": 0.75, "epsilon": 0.01},
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", CASES, ids=lambda s: "-".join(map(str, s.values())))
def test_update_equals_the_formula_written_by_hand(spec: dict, dtype: str) -> None:
    definition, settings = optimizer_spec(spec)
    got = _run(spec, dtype)
    want = _by_hand(definition.name, settings, dtype)
    for key in want:
        assert got[key].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got[key], want[key])


@pytest.mark.parametrize("momentum", [0.5, 0.9, 0.99])
def test_sgd_with_momentum_is_the_momentum_optimizer(momentum: float) -> None:
    """Keras users write SGD(momentum=0.9): it gets exactly heavy ball's effect."""
    keras = _run({"name": "sgd", "learning_rate": 0.2, "momentum": momentum}, "float32")
    heavy = _run({"name": "momentum", "learning_rate": 0.2, "momentum": momentum}, "float32")
    plain = _run({"name": "sgd", "learning_rate": 0.2}, "float32")
    for key in keras:
        np.testing.assert_array_equal(keras[key], heavy[key])
        assert not np.array_equal(keras[key], plain[key])


def test_sgd_with_zero_momentum_is_plain_descent() -> None:
    a = _run({"name": "sgd", "momentum": 0.0}, "float64")
    b = _run({"name": "sgd"}, "float64")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_learning_rate_override_wins() -> None:
    opt = make_optimizer({"name": "adam", "learning_rate": 0.5}, learning_rate=0.25)
    assert opt.learning_rate == 0.25


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "adam", "momentum": 0.9}, "optimizer 'adam' has no setting 'momentum'"),
        ({"name": "sgd", "beta1": 0.9}, "optimizer 'sgd' has no setting 'beta1'"),
        ({"name": "rmsprop"}, "unknown optimizer 'rmsprop'"),
    ],
)
def test_a_setting_that_would_do_nothing_is_refused(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_optimizer(spec)


def test_every_optimizer_has_a_learning_rate_and_a_rule() -> None:
    for definition in OPTIMIZERS.values():
        assert "learning_rate" in definition.defaults()
        assert definition.rule.per_param


SHAPES = {"w": (3, 2), "b": (2,), "s": ()}


def _gradient_like(kind: str, grad: np.ndarray) -> object:
    """`grad`'s values in a form the update may not write into."""
    if kind == "read-only":
        held = grad.copy()
        held.flags.writeable = False
        return held
    if kind == "broadcast":  # one row, stretched over its param's rows (a 2-d param only)
        return grad[:1].copy()
    if kind == "other dtype":
        return grad.astype(np.float64)
    return grad.dtype.type(grad[()])  # "scalar": a NumPy scalar (0-d params only)


@pytest.mark.parametrize("kind", ["read-only", "broadcast", "other dtype", "scalar"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_gradient_named_to_overwrite_is_written_only_when_it_can_be(kind: str, name: str) -> None:
    """`overwrite` is the caller's word that no one else holds the gradient; the update
    still writes into it only where it is a writeable array of its param's shape and
    dtype, and otherwise takes the scratch path: the same params as without it."""
    shapes = {"scalar": {"s": ()}, "broadcast": {"w": (3, 2)}}.get(kind, SHAPES)
    given = {
        k: np.linspace(0.5, 1.5, int(np.prod(s))).reshape(s).astype("float32")
        for k, s in shapes.items()
    }
    results = []
    for overwrite in (frozenset(), frozenset(shapes)):
        params = {k: np.ones(s, "float32") for k, s in shapes.items()}
        opt = make_optimizer({"name": name})
        for _ in range(STEPS):
            grads = {k: _gradient_like(kind, g) for k, g in given.items()}
            snapshot = {k: np.array(g, copy=True) for k, g in grads.items()}
            opt.step(params, grads, overwrite)
            for k, g in grads.items():
                assert np.array_equal(np.asarray(g), snapshot[k]), (k, "written into")
        results.append(params)
    for k in shapes:
        assert np.array_equal(results[0][k], results[1][k]), k


def test_a_fresh_gradient_named_to_overwrite_is_written_with_the_same_params() -> None:
    """The overwriting path itself: the gradients change, the params are the bits of
    the path that only reads them."""
    results, written = [], []
    for overwrite in (frozenset(), frozenset({"w", "b"})):
        params = {"w": np.ones((3, 2), "float32"), "b": np.zeros(2, "float32")}
        opt = make_optimizer({"name": "adam"})
        for step in range(STEPS):
            grads = _grads("float32", step)
            opt.step(params, grads, overwrite)
        results.append(params)
        written.append(not np.array_equal(grads["w"], _grads("float32", STEPS - 1)["w"]))
    assert written == [False, True]
    for k in ("w", "b"):
        assert np.array_equal(results[0][k], results[1][k]), k


def test_overwrite_given_as_a_string_is_refused_not_read_as_substrings() -> None:
    params = {"w": np.ones((3, 2), "float32")}
    grads = {"w": np.full((3, 2), 0.5, "float32")}
    opt = make_optimizer({"name": "sgd"})
    with pytest.raises(TypeError, match="overwrite must be a set of param names"):
        opt.step(params, grads, "w")  # type: ignore[arg-type]
    assert np.array_equal(params["w"], np.ones((3, 2))) and (grads["w"] == 0.5).all()
    opt.step(params, grads, {"w"})  # any set works, not only a frozenset
    assert np.allclose(params["w"], 1 - 0.01 * 0.5)
