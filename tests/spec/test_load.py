"""The spec driver leaves the interpreter as it found it."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

import nnspec
from nnspec.spec import load as load_module

XOR = Path(__file__).resolve().parents[2] / "examples" / "xor.json"


def test_the_garbage_collector_is_paused_only_during_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    check_schema = load_module.check_schema

    def observed(doc: Any) -> Any:
        seen.append(gc.isenabled())
        return check_schema(doc)

    monkeypatch.setattr(load_module, "check_schema", observed)
    assert gc.isenabled()
    nnspec.validate(XOR)
    assert seen == [False]  # paused while the stages run
    assert gc.isenabled()
    gc.disable()
    try:
        nnspec.load(XOR)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


def test_the_collector_resumes_after_a_rejected_document() -> None:
    assert nnspec.validate('{"nnspec": "1"}')
    assert gc.isenabled()
