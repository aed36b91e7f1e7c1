"""The spec driver leaves the interpreter as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import nnspec

XOR = Path(__file__).resolve().parents[2] / "examples" / "xor.json"


def test_the_garbage_collector_is_paused_only_during_loading() -> None:
    assert gc.isenabled()
    nnspec.validate(XOR)
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
