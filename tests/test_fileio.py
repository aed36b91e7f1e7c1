"""fileio reads the umask without changing it (where the OS shows it), so threads that
create files meanwhile never see a umask of 0."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from nnspec import fileio


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_umask_is_read_without_setting_it(mask: int, tmp_path: Path, monkeypatch) -> None:
    old = os.umask(mask)
    try:
        calls: list[int] = []
        real = os.umask
        monkeypatch.setattr(os, "umask", lambda m: calls.append(m) or real(m))
        fileio.write_atomic(tmp_path / "new.txt", "x")
        assert calls == []
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    finally:
        os.umask(old)
