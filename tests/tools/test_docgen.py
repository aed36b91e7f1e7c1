"""docs/commands pages are generated from real runs; a stale page fails here."""

from __future__ import annotations

import importlib.util

from nnspec.tools.docgen import DOCS, PAGES, stale


def test_command_pages_are_fresh() -> None:
    # The plot page shows real matplotlib runs; without it that page cannot be checked.
    pages = [
        page
        for page in PAGES
        if page.command != "plot" or importlib.util.find_spec("matplotlib") is not None
    ]
    assert stale(pages) == [], "run: python -m nnspec.tools.docgen"


def test_every_tool_command_has_a_page() -> None:
    assert {page.command for page in PAGES} == {"summary", "graph", "data", "init", "plot"}
    assert all((DOCS / f"{page.command}.md").exists() for page in PAGES)
