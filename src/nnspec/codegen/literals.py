"""Python literals written the way ``ruff format`` (and black) would write them.

The templates print plan values with the ``pyrepr`` filter. `repr` is exact but
uses single quotes, which a formatter rewrites, and then ``nnspec compile --check``
would call a formatted module stale. `python_literal` keeps `repr`'s escaping (so a
hostile string still cannot end the literal early) and picks the quotes the
formatter picks: double, unless that needs more escapes than single.
"""

from __future__ import annotations

from typing import Any


def python_literal(value: Any) -> str:
    """`value` (str, bytes-free scalars, and tuples/lists/dicts of them) as source."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, tuple):
        items = [python_literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return repr(value)


def _string(text: str) -> str:
    return quoted(repr(text), text)


def quoted(literal: str, text: str) -> str:
    """`literal` (``repr(text)`` or ``ascii(text)``) with the formatter's quotes."""
    if literal.startswith('"') or text.count('"') > text.count("'"):
        return literal  # repr chose double quotes, or single quotes need fewer escapes
    body = literal[1:-1].replace("\\'", "'").replace('"', '\\"')
    return f'"{body}"'
