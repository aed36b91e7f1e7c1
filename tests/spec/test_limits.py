"""Limits that bound what a document can make nnspec allocate (docs/format.md#limits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.codegen import compile
from nnspec.spec.limits import Limits


def _doc(shape: list, nodes: list | None = None) -> dict:
    return {"nnspec": "1", "inputs": {"x": {"shape": shape}}, "nodes": nodes or [{"op": "relu"}]}


def test_many_symbolic_dims_compile_to_a_small_module() -> None:
    """15 symbols at self-test size 3 would store 3**15 elements twice in the module."""
    source = compile(nnspec.load(_doc([f"s{i}" for i in range(15)])))
    assert len(source) < 200_000


@pytest.mark.parametrize("batch", ["1000", "300"])
def test_check_refuses_random_inputs_beyond_its_budget(
    batch: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(_doc(["a", "b", "c"])), encoding="utf-8")
    assert main(["check", str(path), "--batch", batch]) == 2
    assert "use a smaller --batch" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("limits", "doc", "where"),
    [
        (Limits(max_rank=3), _doc(["b", 1, 1, 1]), "/inputs/x/shape"),
        (Limits(max_input_elements=99), _doc(["b", 10, 10]), "/inputs/x/shape"),
        (
            Limits(max_total_param_elements=10),
            {
                **_doc(["b", 2], [{"op": "dense", "units": 3}, {"op": "dense", "units": 2}]),
            },
            "",
        ),
    ],
)
def test_each_limit_is_configurable(limits: Limits, doc: dict, where: str) -> None:
    assert nnspec.validate(doc) == [] or all(not p.is_error for p in nnspec.validate(doc))
    (problem,) = [p for p in nnspec.validate(doc, limits=limits) if p.is_error]
    assert (problem.code, problem.pointer) == ("NN601", where)
