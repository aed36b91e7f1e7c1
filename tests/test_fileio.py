"""fileio's writer leaves the umask alone on every OS: a new file is created with mode
0o666 and the kernel applies the umask (no os.umask call, no chmod), so threads that
create files meanwhile never see a umask of 0; a replaced file keeps its own mode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nnspec import fileio

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

REAL_UMASK = os.umask  # the tests set the umask with it, unrecorded
CONTENTS = {
    "text": "x",
    "bytes": b"\x00\x01",
    "writer": lambda f: np.save(f, np.arange(3), allow_pickle=False),
}


@pytest.fixture
def recorded(monkeypatch):
    """The calls made to os.umask and os.chmod while the test runs."""
    calls: list[tuple[str, object]] = []
    real_chmod = os.chmod
    monkeypatch.setattr(os, "umask", lambda m: calls.append(("umask", m)) or REAL_UMASK(m))
    monkeypatch.setattr(
        os, "chmod", lambda p, m, **k: calls.append(("chmod", m)) or real_chmod(p, m, **k)
    )
    return calls


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027, 0o000, 0o777])
@pytest.mark.parametrize("content", list(CONTENTS))
def test_a_new_file_gets_the_umask_from_the_kernel(
    mask: int, content: str, tmp_path: Path, recorded
) -> None:
    old = REAL_UMASK(mask)
    try:
        fileio.write_atomic(tmp_path / "new.out", CONTENTS[content])
        assert recorded == []
    finally:
        REAL_UMASK(old)
    assert (tmp_path / "new.out").stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["new.out"]  # no temporary file left


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640, 0o604, 0o666])
def test_a_replaced_file_keeps_its_mode_whatever_the_umask(
    mode: int, tmp_path: Path, recorded
) -> None:
    target = tmp_path / "old.txt"
    target.write_text("old")
    target.chmod(mode)
    recorded.clear()
    old = REAL_UMASK(0o077)
    try:
        fileio.write_atomic(target, "new")
    finally:
        REAL_UMASK(old)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == mode
    assert recorded == [("chmod", mode)]


def test_a_link_is_followed_and_the_file_it_names_keeps_its_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    fileio.write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o640


def test_temporary_names_never_collide_with_an_existing_file(tmp_path: Path, monkeypatch) -> None:
    """The first random name drawn is taken already: the writer draws another rather
    than opening (or truncating) someone else's file."""
    draws = iter([b"\x00" * 6, b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(fileio.os, "urandom", lambda n: next(draws))
    taken = tmp_path / f".out.txt.{'00' * 6}.tmp"
    taken.write_text("someone else's")
    fileio.write_atomic(tmp_path / "out.txt", "mine")
    assert taken.read_text() == "someone else's"
    assert (tmp_path / "out.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name, "out.txt"]
