"""Where the files nnspec ships besides its code are: example documents and the schema.

A wheel carries the repository's top-level ``examples/`` and ``schemas/`` folders as
package data (``nnspec/examples``, ``nnspec/schemas``); a source checkout (editable
install) reads the repository's folders, the single source.
"""

from __future__ import annotations

from pathlib import Path


def bundled_dir(name: str) -> Path:
    """The shipped folder `name` ("examples" or "schemas")."""
    packaged = Path(__file__).parent / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"nnspec's bundled {name} are missing; reinstall nnspec")


def examples_dir() -> Path:
    """The folder holding the bundled example documents."""
    return bundled_dir("examples")


def example(name: str) -> Path:
    """Path of one bundled example, e.g. ``example("xor")``."""
    path = examples_dir() / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in examples_dir().glob("*.json"))
        raise FileNotFoundError(f"no bundled example {name!r}; known: {', '.join(known)}")
    return path
