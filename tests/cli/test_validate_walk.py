"""``nnspec validate FOLDER`` walks one file system (like ``find -xdev``): mounts below
the folder (/proc, /sys, /dev/shm, other disks) are not entered; names that are not
regular files (FIFOs, devices, sockets) are passed over, links to nowhere reported."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from nnspec.cli.main import main
from nnspec.cli.sources import _walk

DOC = {"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "relu"}]}
SHM = Path("/dev/shm")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_special_files_are_passed_over_and_broken_links_kept(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(DOC))
    os.mkfifo(tmp_path / "pipe.json")  # reading it would wait for a writer forever
    (tmp_path / "null.json").symlink_to(os.devnull)
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.json").write_text(json.dumps(DOC))
    assert [Path(p).name for p in _walk(str(tmp_path))] == ["gone.json", "good.json", "deep.json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_validate_of_such_a_folder_reports_only_the_broken_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.json").write_text(json.dumps(DOC))
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    code = main(["validate", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "gone.json" in out and "NN010" in out
    assert "pipe.json" not in out + err and "good.json" not in out


@pytest.mark.skipif(
    not (SHM.is_dir() and os.access(SHM, os.W_OK)) or os.stat(SHM).st_dev == os.stat("/dev").st_dev,
    reason="needs /dev/shm as its own writable mount",
)
def test_a_mount_below_the_folder_is_not_entered() -> None:
    path = SHM / f"nnspec-walk-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(DOC))
    try:
        assert str(path) not in list(_walk("/dev"))
        assert str(path) in list(_walk(str(SHM)))  # named itself, the mount is walked
    finally:
        path.unlink()
