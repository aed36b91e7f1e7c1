"""Generator-owned identifiers and safe literals: the only doors from a document to code.

Everything the document says reaches generated source in one of three forms: an
identifier made here (letters, digits and ``_`` only, never a keyword, builtin or
a name the module defines), a literal made by `ascii` (escapes every non-ASCII and
control character, so no string can end a line or a literal early) or by
`value_literal` (numbers that no name can capture), or a comment made by `comment`
(the same escaping, shortened).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Sequence

from nnspec.codegen.literals import quoted

RESERVED = frozenset(
    {
        *keyword.kwlist,
        *keyword.softkwlist,
        *dir(builtins),
        "np",
        "base64",
        "hashlib",
        "argparse",
        "os",
        "sys",
        "predict",
        "run",
        "main",
        "dims",
        "self_test",
        "loss_and_gradients",
        "train_step",
        "fit",
        "init_state",
        "INPUTS",
        "OUTPUTS",
        "PARAMS",
        "NAME",
        "DESCRIPTION",
        "SOURCE_SHA256",
        "NNSPEC_VERSION",
        "COMPILE_OPTIONS",
        "METADATA",
        "TRAINING",
        "TRAIN_INPUTS",
        "save_weights",
        "load_weights",
        "zipfile",
        "threading",
        "time",
        "threads",
        "io",
        "WEIGHTS_FILE",
        "WEIGHTS_SHA256",
    }
)
"""Names the module binds at its top level or in predict's scope (a test derives the
template's names from a compiled module and checks they are all here); names that
start with ``_`` need no entry, since `Namer` never makes one."""
MAX_IDENT = 24  # keeps generated lines short enough to wrap within the linter's width
CHUNK = 60  # characters of document text per string-literal line (keeps lines < 100)
WIDTH = 88  # ruff's default line length, which generated modules keep to


class Namer:
    """Hands out unique, readable identifiers derived from document names."""

    def __init__(self, reserved: frozenset[str] = RESERVED) -> None:
        self._taken = set(reserved)

    def __call__(self, raw: str, *, upper: bool = False) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", raw).strip("_") or "v"
        base = base.upper() if upper else base
        if base[0].isdigit():
            base = f"v_{base}"
        base = base[:MAX_IDENT]
        name, suffix = base, 2
        while name in self._taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self._taken.add(name)
        return name


def value_literal(value: object) -> str:
    """A Python literal for an attribute value (None, bool, int, float, str, or lists
    of them, which become tuples). Non-finite floats become ``float('inf')`` and the
    like: the bare words ``inf`` and ``nan`` would be names, and a document's input
    may be called that."""
    if isinstance(value, list | tuple):
        items = [value_literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})" if value > 0 or math.isnan(value) else "-float('inf')"
    if isinstance(value, str):
        return literal(value)
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise TypeError(f"no literal for {type(value).__name__} attribute values")


def literal(text: str) -> str:
    """A Python string literal for `text`, ASCII only, on one line, in the quotes
    ``ruff format`` uses (so formatting a module leaves it unchanged)."""
    return quoted(ascii(text), text)


def tuple_literal(items: Sequence[str]) -> str:
    """A tuple display of `items` (Python expressions): ``(a,)`` for one item."""
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def literal_lines(text: str, indent: int = 4) -> list[str]:
    """`text` as one literal if it fits on a line at `indent`, else as implicitly
    concatenated literals of bounded length (``ruff format`` joins a concatenation
    that fits on one line, so only one that cannot is split)."""
    whole = literal(text)
    if len(whole) + indent <= WIDTH:
        return [whole]
    return [literal(text[i : i + CHUNK]) for i in range(0, len(text), CHUNK)]


def comment(text: str, limit: int = 60) -> str:
    """Text that is safe after ``#``: escaped like a literal, no quotes, bounded length."""
    shown = ascii(text)[1:-1]
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def sha256_hex(value: str) -> str:
    """A hex digest, or '' when the value is not one (never trust it into a comment raw)."""
    return value if re.fullmatch(r"[0-9a-f]{64}", value) else ""
