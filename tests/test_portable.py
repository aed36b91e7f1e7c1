"""Every nnspec exception pickles and unpickles with its class, message, args and
fields (Dask ships them between processes). The classes are found by importing every
module, so a new exception class without an example here fails the completeness test."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from types import SimpleNamespace
from typing import Any

import pytest

import nnspec
from nnspec.errors import Problem


def _all_exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(nnspec.__path__, "nnspec."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


PROBLEM = Problem("NN202", "unknown name 'x'", "/nodes/0/inputs/0", "m.json", 3, 5)

# One construction per class: the arguments its own __init__ takes.
EXAMPLES: dict[str, tuple[Any, ...]] = {
    "nnspec.errors.SpecError": ([PROBLEM, Problem("NN901", "unused", "/params/p")],),
    "nnspec.errors.ShapeError": ("NN301", "matmul needs [8, k], got [4, 1]"),
    "nnspec.typecheck.GraphTypeError": (SimpleNamespace(name="g"), ["n1: bad", "n2: worse"]),
    "nnspec.fileio.ArrayFileError": ("w.npz: 'a.npy'", "holds Python objects"),
    "nnspec.dask.files.PartitionError": ("part-3.csv", "line 7: 'x' is not a number"),
    "nnspec.onnx.verify.VerifyError": ("onnxruntime refused the model",),
    "nnspec.onnx.exporter.ExportError": ("needs a training loss",),
    "nnspec.onnx.context.ImportFailure": ("NN701", "op Foo is not supported"),
    "nnspec.datasets.errors.DataError": ("data/train.csv", "line 4: 3 values, expected 2"),
    "nnspec.cli.config.ConfigError": ("nnspec.toml: select: unknown code 'NN999'",),
    "nnspec.cli.sources.Unreadable": ("a FIFO, not a regular file",),
    "nnspec.cli.command.CommandError": ("no such file", 1),
    "nnspec.tools.plots.PlotUnavailable": ("pip install matplotlib",),
    "nnspec.spec.parse._ScanError": ("NN004", 17, "expected ','", "/nodes"),
    "nnspec.spec.fastcheck.Unsupported": ("keyword 'if'",),
    "nnspec.spec.learnable.NothingToLearnWarning": ("NN905 nothing can learn",),
    "nnspec.spec.lower.LayerError": ("NN301", "dense needs a rank-2 input", "/nodes/0"),
    "nnspec.spec.lower.LoweringError": ("dense lowers to a shape its check did not give",),
    "nnspec.interpreter.train.TrainingError": ("loss is nan at epoch 3", "history"),
    "nnspec.optimizers.SettingError": ("epochs", "{setting} must be at least 1"),
    "nnspec.portable.Portable": ("a base, used as is",),
}
CLASSES = _all_exception_classes()


def test_every_exception_class_has_an_example() -> None:
    assert sorted(CLASSES) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_round_trip_keeps_class_message_and_fields(name: str, protocol: int) -> None:
    exc = CLASSES[name](*EXAMPLES[name])
    back = pickle.loads(pickle.dumps(exc, protocol=protocol))
    assert type(back) is type(exc)
    assert str(back) == str(exc)
    assert back.args == exc.args
    assert vars(back) == vars(exc)


def test_data_error_fields_survive_a_process_boundary() -> None:
    from nnspec.datasets import DataError

    back = pickle.loads(pickle.dumps(DataError("in.csv", "line 2: empty cell")))
    assert (back.path, back.message) == ("in.csv", "line 2: empty cell")
    assert str(back) == "in.csv: line 2: empty cell"
    with pytest.raises(DataError, match="line 2"):
        raise back
