"""Small 2-D data sets in the spirit of the TensorFlow Playground.

They feed the `data` command (which writes them to a file) and the examples that
follow the lecture: `circle`, `xor`, `gaussians` and `spiral` are binary
classification problems, `plane` and `multi_gaussian` are regression problems. All
points lie in roughly [-1, 1]², a scale that suits the default initialisers and
tanh/sigmoid units without normalising first.

`noise` is the standard deviation of Gaussian noise, in the same units as the points.
For classification it moves the points (the label stays the class the point was
drawn from, so classes start to overlap); for regression it is added to the target
(the usual ``y = f(x) + ε`` model). The clean points are drawn before the noise, so
the same seed gives the same underlying points at every noise level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from nnspec import arguments
from nnspec.arguments import number, whole
from nnspec.datasets.files import PathLike, save_arrays
from nnspec.errors import did_you_mean

__all__ = ["DESCRIPTIONS", "NAMES", "PLANE_BIAS", "PLANE_WEIGHTS", "TASKS", "Dataset", "make"]

Task = Literal["classification", "regression"]

PLANE_WEIGHTS: tuple[float, float] = (0.5, -0.25)
"""`plane` targets are ``x @ PLANE_WEIGHTS + PLANE_BIAS`` (plus noise)."""
PLANE_BIAS: float = 0.1

# multi_gaussian: (centre x1, centre x2, height) of each bump; all share one width.
_BUMPS: tuple[tuple[float, float, float], ...] = (
    (-0.5, 0.5, 1.0),
    (0.5, 0.5, -1.0),
    (-0.5, -0.5, -1.0),
    (0.5, -0.5, 1.0),
    (0.0, 0.0, 0.5),
)
_BUMP_WIDTH = 0.25
GAUSS_OFFSET = 0.7
"""`gaussians` with more than two classes: each centre's distance from the origin."""


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare the arrays instead
class Dataset:
    """A generated data set: inputs ``x`` [n, features] and targets ``y`` [n, 1].

    Classification targets are floats 0.0/1.0 (0.0 to K−1 for K classes), ready for a
    sigmoid output with binary cross-entropy; `labels` gives them as integers.
    """

    x: np.ndarray
    y: np.ndarray
    task: Task
    name: str

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if self.x.ndim != 2 or self.y.ndim != 2 or len(self.x) != len(self.y):
            raise ValueError(
                f"x and y must be 2-D with the same number of rows, got shapes "
                f"{list(self.x.shape)} and {list(self.y.shape)}"
            )

    def __len__(self) -> int:
        return len(self.x)

    def labels(self) -> np.ndarray:
        """Class labels as int64 [n], for metrics and integer-label cross-entropy."""
        if self.task != "classification":
            raise ValueError(
                f"labels() is for classification data sets; {self.name!r} is a regression set"
            )
        return self.y[:, 0].astype(np.int64)

    def save(self, path: PathLike) -> None:
        """Write ``{"x": x, "y": y}`` to a .npz, .npy or .csv file (see `save_arrays`)."""
        save_arrays(path, {"x": self.x, "y": self.y})


# Each generator draws clean points from `rng` and returns float64 (x [n, 2], y [n]);
# those in _FLEXIBLE also take (features, classes) and return x [n, features].
Generator = Callable[..., tuple[np.ndarray, np.ndarray]]


def _balanced(n: int) -> np.ndarray:
    """Labels with the two classes as even as n allows (class 0 gets the odd one)."""
    return (np.arange(n) >= n - n // 2).astype(np.float64)


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def _circle(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Class 1: disc of radius 0.5; class 0: ring between 0.7 and 1.0. The square root
    # makes the density uniform over the area instead of crowding the centre.
    y = _balanced(n)
    lo = np.where(y == 1, 0.0, 0.7)
    hi = np.where(y == 1, 0.5, 1.0)
    radius = np.sqrt(rng.uniform(lo**2, hi**2))
    return _polar(radius, rng.uniform(0.0, 2 * math.pi, n)), y


def _xor(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Class 1 where exactly one coordinate is positive (quadrants II and IV). The
    # 0.05 margin keeps clean points off the axes, so noise-free data is separable.
    y = _balanced(n)
    magnitude = rng.uniform(0.05, 1.0, (n, 2))
    first = rng.choice([-1.0, 1.0], n)
    second = np.where(y == 1, -first, first)
    return magnitude * np.stack([first, second], axis=1), y


def _gaussians(
    rng: np.random.Generator, n: int, features: int, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    # Two classes: blobs with spread 0.2 around (0.5, ..., 0.5) for class 1 and
    # (-0.5, ..., -0.5) for class 0. More classes: class k sits at ±GAUSS_OFFSET on axis
    # k mod F (+ for the first F classes, − for the next F), so any two centres are at
    # least 0.99 apart, five spreads: the classes barely overlap without noise.
    if classes == 2:
        y = _balanced(n)
        centre = np.where(y[:, None] == 1, 0.5, -0.5)
    else:
        y = (np.arange(n) * classes // n).astype(np.float64)  # as even as n allows
        centres = np.zeros((classes, features))
        k = np.arange(classes)
        centres[k, k % features] = np.where(k < features, GAUSS_OFFSET, -GAUSS_OFFSET)
        centre = centres[y.astype(np.int64)]
    return centre + rng.normal(0.0, 0.2, (n, features)), y


def _spiral(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Two arms of 1.75 turns each, the second rotated by half a turn.
    y = _balanced(n)
    t = rng.uniform(0.0, 1.0, n)
    return _polar(t, 1.75 * 2 * math.pi * t + math.pi * y), y


def plane_weights(features: int = 2) -> np.ndarray:
    """The weights of `plane` with `features` inputs: evenly from 0.5 down to −0.25
    (`PLANE_WEIGHTS` for two)."""
    return np.linspace(PLANE_WEIGHTS[0], PLANE_WEIGHTS[1], features)


def _plane(
    rng: np.random.Generator, n: int, features: int, _classes: int
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, (n, features))
    return x, x @ plane_weights(features) + PLANE_BIAS


def _multi_gaussian(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, (n, 2))
    y = np.zeros(n)
    for cx, cy, height in _BUMPS:
        sq = (x[:, 0] - cx) ** 2 + (x[:, 1] - cy) ** 2
        y += height * np.exp(-sq / (2 * _BUMP_WIDTH**2))
    return x, y


_SETS: dict[str, tuple[Task, Generator, str]] = {
    "circle": ("classification", _circle, "a disc (1) inside a ring (0)"),
    "xor": ("classification", _xor, "quadrants: 1 where exactly one coordinate is positive"),
    "gaussians": ("classification", _gaussians, "two Gaussian blobs"),
    "spiral": ("classification", _spiral, "two interleaved spirals"),
    "plane": ("regression", _plane, "y = 0.5·x1 − 0.25·x2 + 0.1"),
    "multi_gaussian": ("regression", _multi_gaussian, "y = a sum of five Gaussian bumps"),
}

NAMES: tuple[str, ...] = tuple(_SETS)
"""The data sets `make` knows, classification first."""
TASKS: dict[str, Task] = {name: task for name, (task, _, _) in _SETS.items()}
"""Each data set's task: "classification" or "regression"."""
DESCRIPTIONS: dict[str, str] = {name: doc for name, (_, _, doc) in _SETS.items()}
"""A one-line description of each data set, for listings."""


MAX_FEATURES = 4096
"""The widest ``x`` `make` generates."""
MAX_POINTS = 10_000_000
"""The most points `make` generates (about 240 MB of float64 at once)."""


def make(
    name: str,
    n: int = 200,
    noise: float = 0.0,
    seed: int = 0,
    dtype: str | np.dtype = "float32",
    features: int = 2,
    classes: int = 2,
) -> Dataset:
    """Generate data set `name` with `n` points; the same seed gives the same bits.

    Points are shuffled, so any slice (a train/test split) holds every class.
    `features` (the width of ``x``) may differ from 2 for `plane` and `gaussians`,
    `classes` for `gaussians` (2 to 2·features classes); the defaults give the
    Playground's 2-D sets, bit for bit the same as without these arguments.
    """
    try:
        task, generate, _ = _SETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown data set {name!r}{did_you_mean(str(name), NAMES)}") from None
    n = whole("n", n, 1, MAX_POINTS)
    noise = number("noise (the standard deviation)", noise, 0.0)
    seed = arguments.seed("seed", seed)
    out_dtype = _dtype(dtype)
    features, classes = _layout(name, features, classes)

    rng = np.random.default_rng(seed)
    x, y = generate(rng, n, features, classes) if name in _FLEXIBLE else generate(rng, n)
    order = rng.permutation(n)
    x, y = x[order], y[order]
    if noise > 0:  # drawn last, so noise never changes the clean points
        if task == "classification":
            x = x + rng.normal(0.0, noise, x.shape)
        else:
            y = y + rng.normal(0.0, noise, y.shape)
    return Dataset(
        x=np.ascontiguousarray(x, dtype=out_dtype),
        y=np.ascontiguousarray(y.reshape(n, 1), dtype=out_dtype),
        task=task,
        name=name,
    )


_FLEXIBLE = {"plane": ("features",), "gaussians": ("features", "classes")}


def _layout(name: str, features: object, classes: object) -> tuple[int, int]:
    """Check `features` and `classes` against what data set `name` can vary."""
    checked = {}
    for what, value in (("features", features), ("classes", classes)):
        checked[what] = whole(what, value)
        if checked[what] != 2 and what not in _FLEXIBLE.get(name, ()):
            can = [k for k, v in _FLEXIBLE.items() if what in v]
            raise ValueError(
                f"{name!r} has 2 {what}; only {' and '.join(map(repr, can))} "
                f"take{'s' if len(can) == 1 else ''} another number"
            )
    whole("features", checked["features"], 1, MAX_FEATURES)
    whole("classes", checked["classes"], 2, 2 * checked["features"])
    return checked["features"], checked["classes"]


def _dtype(dtype: object) -> np.dtype:
    allowed = ("float32", "float64")
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in allowed:
        raise ValueError(f"unsupported dtype {dtype!r}; use 'float32' or 'float64'")
    return resolved
