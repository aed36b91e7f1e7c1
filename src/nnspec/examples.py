"""Where the bundled example documents are.

A wheel carries them as package data (``nnspec/examples``); a source checkout
(editable install) reads the repository's ``examples/`` folder, the single source.
"""

from __future__ import annotations

from pathlib import Path


def examples_dir() -> Path:
    """The folder holding the bundled example documents."""
    packaged = Path(__file__).parent / "examples"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "examples"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("nnspec's bundled examples are missing; reinstall nnspec")


def example(name: str) -> Path:
    """Path of one bundled example, e.g. ``example("xor")``."""
    path = examples_dir() / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in examples_dir().glob("*.json"))
        raise FileNotFoundError(f"no bundled example {name!r}; known: {', '.join(known)}")
    return path
