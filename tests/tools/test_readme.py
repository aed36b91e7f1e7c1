"""README.md stays true: its Python runs as written and its tour names real commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nnspec.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def _invocations() -> list[list[str]]:
    """Each ``nnspec ...`` command of the sh blocks, as words, cut at comments and
    shell operators."""
    found = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while "nnspec" in words:
                words = words[words.index("nnspec") :]
                end = next(
                    (i for i, w in enumerate(words) if w in ("&&", "||", "|", ";", ">")), None
                )
                found.append(words[1:end])
                words = words[end:] if end is not None else []
    return found


def test_readme_python_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks("python")
    assert blocks, "README.md has no ```python block"
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)


def test_readme_tour_names_real_commands() -> None:
    invocations = _invocations()
    assert invocations, "README.md's sh blocks name no nnspec command"
    unknown = sorted({words[0] for words in invocations if words[:1] and words[0] not in COMMANDS})
    assert unknown == [], f"README.md mentions commands nnspec does not have: {unknown}"


@pytest.mark.parametrize("words", _invocations(), ids=shlex.join)
def test_readme_tour_parses(words: list[str]) -> None:
    # Only the arguments are checked: parse_args exits 2 on an unknown option.
    build_parser(words[0]).parse_args(words)
