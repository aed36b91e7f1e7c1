"""Numbers passed to the public Python functions follow the schema's and the command
line's rule (`nnspec.arguments`): a whole number is an int or a NumPy integer, never a
bool or a float such as 2.0 (TypeError); a value out of range is a ValueError; both
name the parameter. The compiled module's `fit` applies the same rule."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec import arguments
from nnspec.codegen import compile, load_source
from nnspec.datasets import make

XOR_DOC = Path(__file__).resolve().parents[1] / "examples" / "xor.json"
XOR = nnspec.load(XOR_DOC)
DATA = make("xor", 16, seed=0)
MODULE = load_source(compile(XOR, train=True, self_test=False))

# (value, error) every whole-number parameter refuses, whatever its range
NOT_WHOLE: list[tuple[Any, type[Exception]]] = [
    (2.0, TypeError),  # integer-valued floats are refused, as in the schema
    (2.5, TypeError),
    (np.float64(3.0), TypeError),
    (True, TypeError),
    ("3", TypeError),
    ([2], TypeError),
    (math.nan, TypeError),
    (-1, ValueError),
]
NOT_A_NUMBER: list[tuple[Any, type[Exception]]] = [
    ("0.1", TypeError),
    (True, TypeError),
    (None, TypeError),
    ([0.1], TypeError),
    (math.nan, ValueError),
    (math.inf, ValueError),
    (-math.inf, ValueError),
]


def _train(**options: Any) -> Any:
    return nnspec.train(XOR, DATA.x, DATA.y, quiet=True, **{"epochs": 1, **options})


def _streamed(**options: Any) -> Any:
    parts = [{"x": DATA.x, "y": DATA.y}]
    return nnspec.train(XOR, data=parts, quiet=True, epochs=1, **options)


def _evaluate(**options: Any) -> Any:
    return nnspec.evaluate(nnspec.Model(XOR), DATA.x, DATA.y, **options)


def _model_evaluate(**options: Any) -> Any:
    return nnspec.Model(XOR).evaluate(DATA.x, DATA.y, **options)


def _run(**options: Any) -> Any:
    return nnspec.Model(XOR).run({"x": DATA.x}, **options)


def _predict(**options: Any) -> Any:
    return nnspec.Model(XOR).predict(DATA.x, **options)


def _fit(**options: Any) -> Any:
    return MODULE.fit(DATA.x, DATA.y, **{"epochs": 1, **options})


def _scorer(**options: Any) -> Any:
    from nnspec.dask import Scorer

    return Scorer(nnspec.Model(XOR), **options)


# (call, parameter, smallest allowed value, largest or None)
WHOLE_PARAMETERS: list[tuple[Callable[..., Any], str, int, int | None]] = [
    (lambda **o: nnspec.Model(XOR, **o), "seed", 0, 2**32 - 1),
    (lambda **o: nnspec.Model(XOR, **o), "threads", 1, 1024),
    (_run, "threads", 1, 1024),
    (_predict, "threads", 1, 1024),
    (_train, "epochs", 1, None),
    (_train, "batch_size", 1, None),
    (_train, "seed", 0, 2**32 - 1),
    (_train, "threads", 1, 1024),
    (_streamed, "shuffle_buffer", 1, None),
    (_evaluate, "batch_size", 1, None),
    (_model_evaluate, "batch_size", 1, None),
    (lambda **o: make("xor", **o), "n", 1, 10_000_000),
    (lambda **o: make("xor", **o), "seed", 0, 2**32 - 1),
    (lambda **o: make("gaussians", 10, **o), "features", 1, 4096),
    (lambda **o: make("gaussians", 10, **o), "classes", 2, 4),
    (_scorer, "block_rows", 1, None),
    (_fit, "epochs", 1, None),
    (_fit, "batch_size", 1, None),
    (_fit, "seed", 0, 2**32 - 1),
]
NUMBER_PARAMETERS: list[tuple[Callable[..., Any], str, float]] = [
    (_train, "learning_rate", 0.0),
    (lambda **o: make("xor", **o), "noise", -0.5),
    (_fit, "learning_rate", 0.0),
    (
        lambda **o: MODULE.train_step({"x": DATA.x, "y": DATA.y}, MODULE.init_state(), **o),
        "learning_rate",
        -1.0,
    ),
]


def _label(case: tuple) -> str:
    return f"{getattr(case[0], '__name__', 'call')}-{case[1]}"


@pytest.mark.parametrize("case", WHOLE_PARAMETERS, ids=_label)
@pytest.mark.parametrize(("value", "error"), NOT_WHOLE, ids=repr)
def test_whole_number_parameters_refuse_anything_else(case, value, error) -> None:
    call, name, minimum, _ = case
    if error is ValueError:
        value = minimum - 1
    with pytest.raises(error, match=f"{name} must be"):
        call(**{name: value})


@pytest.mark.parametrize("case", WHOLE_PARAMETERS, ids=_label)
def test_whole_number_parameters_have_their_range(case) -> None:
    call, name, minimum, maximum = case
    call(**{name: np.int64(minimum)})  # NumPy integers are whole numbers
    if maximum is not None:
        with pytest.raises(ValueError, match=f"{name} must be at least {minimum} and at most"):
            call(**{name: maximum + 1})


@pytest.mark.parametrize("case", NUMBER_PARAMETERS, ids=_label)
@pytest.mark.parametrize(("value", "error"), NOT_A_NUMBER, ids=repr)
def test_number_parameters_refuse_anything_else(case, value, error) -> None:
    call, name, _ = case
    if value is None and name != "min_delta" and name != "noise":
        return  # None means "the default" for these
    with pytest.raises(error, match=f"{name}"):
        call(**{name: value})


@pytest.mark.parametrize("case", NUMBER_PARAMETERS, ids=_label)
def test_number_parameters_refuse_a_value_out_of_range(case) -> None:
    call, name, bad = case
    with pytest.raises(ValueError, match=f"{name}"):
        call(**{name: bad})


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        ({"name": "adam", "beta1": 1.0}, "adam beta1 must be at least 0 and below 1, got 1.0"),
        ({"name": "adam", "beta2": "0.9"}, "adam beta2 must be a number"),
        ({"name": "sgd", "learning_rate": 0}, "sgd learning_rate must be above 0"),
        ({"name": "momentum", "momentum": math.inf}, "momentum momentum must be a finite"),
        ({"name": "adam", "epsilon": True}, "adam epsilon must be a number"),
    ],
)
def test_optimizer_settings_given_from_python_follow_the_schema_ranges(
    optimizer: dict, message: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        _train(optimizer=optimizer)


@pytest.mark.parametrize(
    ("check", "args", "expected"),
    [
        (arguments.whole, ("n", 5, 1, 10), 5),
        (arguments.whole, ("n", np.uint8(7)), 7),
        (arguments.seed, ("seed", 2**32 - 1), 2**32 - 1),
        (arguments.number, ("rate", 1), 1.0),
        (arguments.number, ("rate", np.float32(0.5), 0.0, 1.0), 0.5),
        (arguments.rule, ("k", 3, {"type": "integer", "minimum": 1}), 3),
        (arguments.rule, ("r", 0.5, {"type": "number", "exclusiveMinimum": 0}), 0.5),
    ],
)
def test_accepted_values_come_back_as_plain_python_numbers(check, args, expected) -> None:
    got = check(*args)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("check", "args", "error", "message"),
    [
        (
            arguments.whole,
            ("epochs", 2.0),
            TypeError,
            r"epochs must be a whole number \(an int\), got 2.0; write 2",
        ),
        (arguments.whole, ("epochs", 1e300), TypeError, "write 1"),
        (arguments.whole, ("n", 0, 1, 5), ValueError, "n must be at least 1 and at most 5, got 0"),
        (arguments.number, ("r", 2.0, None, 1.0), ValueError, "r must be <= 1, got 2.0"),
        (arguments.number, ("r", 0.0), None, None),
        (arguments.number, ("r", 0, None, None), None, None),
        (arguments.number, ("r", 1e400), ValueError, "r must be a finite number, got inf"),
        (arguments.rule, ("k", 1.0, {"type": "integer"}), TypeError, "k must be a whole number"),
        (
            arguments.rule,
            ("f", 1.0, {"type": "number", "exclusiveMaximum": 1}),
            ValueError,
            "f must be below 1",
        ),
    ],
)
def test_refusals_name_the_parameter_the_value_and_the_range(check, args, error, message) -> None:
    if error is None:
        check(*args)
        return
    with pytest.raises(error, match=message):
        check(*args)


def test_none_means_the_default() -> None:
    assert arguments.optional(arguments.whole, "n", None, 1) is None
    assert arguments.optional(arguments.whole, "n", 3, 1) == 3
