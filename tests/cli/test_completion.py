"""Shell completion: ``nnspec completion SHELL`` prints argcomplete's script, and a
shell's completion request is answered from the full parser (run here the way the
scripts run it: ``nnspec`` with ``_ARGCOMPLETE`` and ``COMP_LINE`` set)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnspec.cli.main import main

pytest.importorskip("argcomplete")
NNSPEC = shutil.which("nnspec", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "nnspec" in script and "_ARGCOMPLETE" in script
    if shell == "bash":
        checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert checked.returncode == 0, checked.stderr


def _complete(line: str, folder: Path, shell: str = "bash") -> list[str]:
    assert NNSPEC is not None
    answer = folder / "completions.txt"
    env = dict(os.environ)
    env.update(
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_SHELL=shell,
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
    )
    done = subprocess.run([NNSPEC], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = answer.read_text(encoding="utf-8")
    return sorted(word.strip() for word in text.split("\x0b") if word.strip())  # IFS


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("nnspec val", ["validate"]),
        ("nnspec co", ["compile", "completion"]),
        ("nnspec validate --sel", ["--select"]),
        ("nnspec validate --ex", ["--exit-zero", "--extend-select"]),
        ("nnspec validate --format ", ["github", "json", "sarif", "text"]),
        ("nnspec completion ", ["--help", "-h", "bash", "fish", "zsh"]),
        ("nnspec validate mod", ["models/"]),
        ("nnspec validate models/", ["models/a.json", "models/b.json"]),
    ],
)
def test_completion_requests(line: str, expected: list[str], tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    for name in ("a.json", "b.json"):
        (tmp_path / "models" / name).write_text("{}", encoding="utf-8")
    assert _complete(line, tmp_path) == expected


def test_fish_gets_its_own_format(tmp_path: Path) -> None:
    words = _complete("nnspec validate --format ", tmp_path, shell="fish")
    assert [w.split("\t")[0] for w in words] == ["github", "json", "sarif", "text"]


def test_without_argcomplete(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "argcomplete", None)  # `import argcomplete` fails
    assert main(["completion", "bash"]) == 2
    err = capsys.readouterr().err
    assert 'shell completion needs argcomplete: pip install "nnspec[completion]"' in err
    monkeypatch.setenv("_ARGCOMPLETE", "1")  # a stale script: the command just runs
    assert main(["completion", "bash"]) == 2
