"""A compiled module's command line creates its outputs with the umask applied by the
kernel (mode 0o666 less the umask) and never changes the umask, not even briefly: other
threads of the process would create world-writable files in between. An existing
output keeps its mode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile, load_source

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture(scope="module")
def module():
    return load_source(compile(nnspec.load(EXAMPLES / "xor.json")))


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027])
@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_new_outputs_get_the_umask_without_it_being_set(
    module, tmp_path: Path, monkeypatch, mask: int, suffix: str
) -> None:
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((3, 2), np.float32))
    out = tmp_path / f"out{suffix}"
    calls: list[int] = []
    real = os.umask
    old = real(mask)
    try:
        monkeypatch.setattr(os, "umask", lambda m: calls.append(m) or real(m))
        assert module.main([str(x), "-o", str(out)]) == 0
    finally:
        real(old)
    assert calls == []
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_an_existing_output_keeps_its_mode(module, tmp_path: Path) -> None:
    x = tmp_path / "x.npy"
    np.save(x, np.ones((2, 2), np.float32))
    out = tmp_path / "out.npy"
    out.write_bytes(b"old")
    out.chmod(0o604)
    assert module.main([str(x), "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o604
    assert np.load(out).shape == (2, 1)
