"""Problems found in a document, as data.

Every stage (parse, schema, check, shapes) reports what is wrong as `Problem`
values; the driver adds file, line and column afterwards. Each problem has a
stable code listed in `CODES`; `docs/errors.md` documents every code (a test keeps
the two in step).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class CodeInfo:
    """What a problem code means; `title` is the one-line summary in the docs."""

    title: str
    severity: Severity = "error"


# Stable problem codes. Never renumber; retire a code by leaving it documented.
# NN0xx parsing, NN1xx schema, NN2xx graph structure, NN3xx shapes and dtypes,
# NN4xx params and weights, NN5xx training section, NN6xx limits, NN9xx warnings.
CODES: dict[str, CodeInfo] = {
    "NN001": CodeInfo("the file is empty"),
    "NN002": CodeInfo("the file is not valid UTF-8"),
    "NN003": CodeInfo("the file starts with a byte-order mark"),
    "NN004": CodeInfo("JSON syntax error"),
    "NN005": CodeInfo("duplicate key in a JSON object"),
    "NN006": CodeInfo("NaN or Infinity literal (not JSON)"),
    "NN007": CodeInfo("nesting deeper than the limit"),
    "NN101": CodeInfo("the document does not match the schema"),
    "NN102": CodeInfo("unknown key"),
    "NN103": CodeInfo("missing required key"),
    "NN104": CodeInfo("value of the wrong JSON type"),
    "NN105": CodeInfo("unknown op"),
    "NN106": CodeInfo("unsupported format version"),
    "NN107": CodeInfo("value outside its allowed range or set"),
    "NN201": CodeInfo("duplicate id or name"),
    "NN202": CodeInfo("reference to an unknown name"),
    "NN203": CodeInfo("cycle in the graph"),
    "NN204": CodeInfo("wrong number of inputs for the op"),
    "NN205": CodeInfo("implied input is ambiguous"),
    "NN206": CodeInfo("reserved name"),
    "NN207": CodeInfo("unknown output"),
    "NN301": CodeInfo("incompatible shapes"),
    "NN302": CodeInfo("matmul inner dimensions differ"),
    "NN303": CodeInfo("shapes do not broadcast"),
    "NN304": CodeInfo("axis out of range"),
    "NN305": CodeInfo("reshape changes the number of elements"),
    "NN306": CodeInfo("concat inputs differ outside the concat axis"),
    "NN307": CodeInfo("dtypes disagree"),
    "NN308": CodeInfo("a symbolic dimension takes two different sizes"),
    "NN309": CodeInfo("the op needs a different rank"),
    "NN401": CodeInfo("literal value has the wrong shape"),
    "NN402": CodeInfo("literal value is not finite"),
    "NN403": CodeInfo("weights file path escapes the document's folder"),
    "NN404": CodeInfo("weights file cannot be read"),
    "NN405": CodeInfo("weights file does not match the params"),
    "NN501": CodeInfo("loss does not fit the output and target"),
    "NN502": CodeInfo("training output is ambiguous or unknown"),
    "NN601": CodeInfo("document exceeds a size limit"),
    "NN901": CodeInfo("param is never used", "warning"),
    "NN902": CodeInfo("node does not contribute to any output", "warning"),
    "NN903": CodeInfo("input is never used", "warning"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document.

    `pointer` is an RFC 6901 JSON pointer into the document ("" is the whole
    document). `line`/`column` are 1-based and filled in by the driver when the
    document came from text.
    """

    code: str
    message: str
    pointer: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def located(self, **where: object) -> Problem:
        """A copy with location fields (file, line, column, pointer) replaced."""
        return dataclasses.replace(self, **where)  # type: ignore[arg-type]

    def format(self) -> str:
        """``file:line:col: CODE message (at /pointer)``, leaving out what is unknown."""
        where = ":".join(
            str(part) for part in (self.file, self.line, self.column) if part is not None
        )
        prefix = f"{where}: " if where else ""
        kind = "" if self.is_error else "warning "
        at = f" (at {self.pointer or '/'})"
        return f"{prefix}{kind}{self.code} {self.message}{at}"

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.column or 0, self.pointer, self.code)

    def __str__(self) -> str:
        return self.format()


class SpecError(ValueError):
    """A document was rejected; `problems` holds every problem found in its stage."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=Problem.sort_key))
        errors = [p for p in self.problems if p.is_error]
        shown = "\n".join(p.format() for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in the document:\n{shown}{more}")


class ShapeError(Exception):
    """Raised by an op's shape rule; the checker turns it into a located `Problem`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def pointer_join(*parts: str | int) -> str:
    """Build a JSON pointer from path parts, escaping ``~`` and ``/`` (RFC 6901)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A suffix for unknown-name messages: the closest match, then the sorted options."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if len(options) <= 12:
        listing = ", ".join(repr(o) for o in options) or "none"
        return f"{hint} (known: {listing})"
    return hint
