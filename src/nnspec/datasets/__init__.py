"""Data for the `train`, `run` and `data` commands.

`playground` generates small 2-D problems (circle, xor, gaussians, spiral, plane,
multi_gaussian) for examples and the lecture; `files` reads and writes the arrays
those commands consume and produce (.npz, .npy, .csv), atomically and strictly.
"""

from __future__ import annotations

from nnspec.datasets.files import (
    EXTENSIONS,
    DataError,
    encode_arrays,
    load_arrays,
    save_arrays,
)
from nnspec.datasets.playground import (
    DESCRIPTIONS,
    NAMES,
    PLANE_BIAS,
    PLANE_WEIGHTS,
    TASKS,
    Dataset,
    make,
)

__all__ = [
    "DESCRIPTIONS",
    "EXTENSIONS",
    "NAMES",
    "PLANE_BIAS",
    "PLANE_WEIGHTS",
    "TASKS",
    "DataError",
    "Dataset",
    "encode_arrays",
    "load_arrays",
    "make",
    "save_arrays",
]
