"""docs/commands pages are generated from real runs; a stale page fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dev import command_pages as docgen
from dev.command_pages import DOCS, INDEX, PAGES, stale
from nnspec.cli.main import COMMANDS


def test_command_pages_are_fresh() -> None:
    # The plot page shows real matplotlib runs; without it that page cannot be checked.
    pages = [
        page
        for page in PAGES
        if page.command != "plot" or importlib.util.find_spec("matplotlib") is not None
    ]
    assert stale(pages) == [], "run: python -m dev.regen commands"


def test_every_command_has_a_page() -> None:
    assert [page.command for page in PAGES] == list(COMMANDS)
    assert all((DOCS / f"{name}.md").exists() for name in COMMANDS)
    assert all(page.exits and page.steps for page in PAGES)


def test_index_links_every_page() -> None:
    index = (DOCS / INDEX).read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"[`nnspec {name}`]({name}.md)" in index
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(
        [INDEX, *(f"{n}.md" for n in COMMANDS)]
    )


def test_steps_run_in_the_scratch_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1\n2\n3\n", encoding="utf-8")
    assert docgen._run("head -n 2 a.txt", tmp_path) == ("1\n2\n", 0)
    assert docgen._run("cat a.txt | head -n 1  # a comment", tmp_path) == ("1\n", 0)
    output, code = docgen._run("python -c 'import sys; print(sys.argv[1:])' x", tmp_path)
    assert (output, code) == ("['x']\n", 0)
    output, code = docgen._run("nnspec validate missing.json", tmp_path)
    assert code == 2 and "missing.json: NN010 cannot read the file" in output


@pytest.mark.parametrize("step", ["ls", "nnspec schema | wc -l", "cat a | head -n x", "head a"])
def test_unsupported_steps_are_refused(step: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="docgen"):
        docgen._run(step, tmp_path)


def test_scratch_paths_and_elisions_are_normalised(tmp_path: Path) -> None:
    text = f"folder {tmp_path.resolve()}/out does not exist; 8,288 bytes"
    assert docgen._normalise(text, tmp_path, [(r"[\d,]+ bytes", "… bytes")]) == (
        "folder ./out does not exist; … bytes"
    )
