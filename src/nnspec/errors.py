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

from nnspec.portable import Portable

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class CodeInfo:
    """What a problem code means; `title` is the one-line summary in the docs."""

    title: str
    fix: str  # how to repair a document with this problem; shown in docs and SARIF
    severity: Severity = "error"


# Stable problem codes. Never renumber; retire a code by leaving it documented.
# NN0xx parsing, NN1xx schema, NN2xx graph structure, NN3xx shapes and dtypes,
# NN4xx params and weights, NN5xx training section, NN6xx limits, NN7xx ONNX import,
# NN9xx warnings.
CODES: dict[str, CodeInfo] = {
    "NN001": CodeInfo(
        "the file is empty",
        'Write a JSON object with at least the keys "nnspec", "inputs" and "nodes".',
    ),
    "NN002": CodeInfo(
        "the file is not valid UTF-8",
        "Save the file as UTF-8 (most editors offer 'Save with encoding').",
    ),
    "NN003": CodeInfo(
        "the file starts with a byte-order mark",
        "Save the file as UTF-8 without a byte-order mark.",
    ),
    "NN004": CodeInfo(
        "JSON syntax error",
        "Fix the JSON syntax at the position shown: quote keys and strings with double "
        "quotes, separate members with commas, and drop trailing commas and comments.",
    ),
    "NN005": CodeInfo(
        "duplicate key in a JSON object",
        "Keep one of the two members; JSON parsers disagree on which duplicate wins.",
    ),
    "NN006": CodeInfo(
        "NaN or Infinity literal (not JSON)",
        "Write a finite number; NaN and Infinity are not JSON and cannot be values of a model.",
    ),
    "NN007": CodeInfo(
        "nesting deeper than the limit",
        "Flatten the document; nnspec documents never need deep nesting (the limit is max_depth).",
    ),
    "NN008": CodeInfo(
        "number beyond the range of a float64",
        "Write a finite number within about ±1.8e308 (1e999 reads as infinity); nnspec "
        "rejects such numbers everywhere, also under x- keys.",
    ),
    "NN009": CodeInfo(
        "string with a lone surrogate",
        "Remove the character: a lone surrogate (such as \\ud800) is valid JSON but not "
        "text, so no file, terminal or report could hold it. Escaped pairs that form one "
        "character are fine.",
    ),
    "NN010": CodeInfo(
        "the file cannot be read",
        "Check the path and the file's permissions; a document must be a regular file "
        "(not a folder, FIFO or device).",
    ),
    "NN011": CodeInfo(
        "internal error in nnspec",
        "This is a bug in nnspec, not in the document: please report it with the document.",
    ),
    "NN101": CodeInfo(
        "the document does not match the schema",
        "Change the value so that it matches the schema rule quoted in the message.",
    ),
    "NN102": CodeInfo(
        "unknown key",
        "Remove or rename the key; keep your own metadata under a key that starts with 'x-'.",
    ),
    "NN103": CodeInfo(
        "missing required key",
        "Add the missing key.",
    ),
    "NN104": CodeInfo(
        "value of the wrong JSON type",
        'Write the value with the JSON type the message names (for example 5, not "5").',
    ),
    "NN105": CodeInfo(
        "unknown op",
        "Use one of the ops listed in docs/format.md; the message suggests the closest one.",
    ),
    "NN106": CodeInfo(
        "unsupported format version",
        'Set "nnspec": "1", the format version this release reads.',
    ),
    "NN107": CodeInfo(
        "value outside its allowed range or set",
        "Pick a value inside the allowed range or set named in the message.",
    ),
    "NN201": CodeInfo(
        "duplicate id or name",
        "Rename one of the two; inputs, params, nodes and the training target share one namespace.",
    ),
    "NN202": CodeInfo(
        "reference to an unknown name",
        "Refer to a declared input, param or node; the message suggests the closest name.",
    ),
    "NN203": CodeInfo(
        "cycle in the graph",
        "Break the cycle: a node cannot depend, directly or indirectly, on its own output.",
    ),
    "NN204": CodeInfo(
        "wrong number of inputs for the op",
        'List the op\'s inputs in "inputs"; binary ops such as add take exactly two.',
    ),
    "NN205": CodeInfo(
        "implied input is ambiguous",
        'Give the first node an explicit "inputs" list naming the graph input it takes.',
    ),
    "NN206": CodeInfo(
        "reserved name",
        "Rename the node or input; names of the form '<layer id>.<part>' belong to the params"
        " and steps of a dense or maxout layer.",
    ),
    "NN207": CodeInfo(
        "unknown output",
        'List only node or input names in "outputs"; the message suggests the closest one.',
    ),
    "NN301": CodeInfo(
        "incompatible shapes",
        "Make the declared shape agree with the one the layer needs, or drop the declaration "
        "and let the layer create the param.",
    ),
    "NN302": CodeInfo(
        "matmul inner dimensions differ",
        "Make the last dimension of a equal the first of b (for XW + b: W has shape [in, units]).",
    ),
    "NN303": CodeInfo(
        "shapes do not broadcast",
        "Make the shapes broadcast: compared from the right, each pair of dimensions must be "
        "equal or 1.",
    ),
    "NN304": CodeInfo(
        "axis out of range",
        "Use an axis between -rank and rank - 1.",
    ),
    "NN305": CodeInfo(
        "reshape changes the number of elements",
        "Give a target shape with the same number of elements (one -1 may stand for the rest).",
    ),
    "NN306": CodeInfo(
        "concat inputs differ outside the concat axis",
        "Make the inputs agree on every axis except the one being concatenated.",
    ),
    "NN307": CodeInfo(
        "dtypes disagree",
        "Use one dtype throughout, or the dtype the op needs (float for most ops).",
    ),
    "NN309": CodeInfo(
        "the op needs a different rank",
        "Reshape the input to the rank the op needs.",
    ),
    "NN401": CodeInfo(
        "literal value has the wrong shape",
        "Write the value as nested lists whose shape matches the declared shape (row-major).",
    ),
    "NN402": CodeInfo(
        "value or init not finite in the param's dtype",
        "Replace values that overflow the dtype (or are NaN) with finite numbers, and keep "
        "init settings (value, mean, std, low, high, gain) within the dtype's range.",
    ),
    "NN403": CodeInfo(
        "weights file path escapes the document's folder",
        "Put the weights file beside the document (or in a subfolder) and give a relative path.",
    ),
    "NN404": CodeInfo(
        "weights file cannot be read",
        "Check that the file exists and was written with numpy.savez from plain numeric "
        "arrays (no object arrays).",
    ),
    "NN405": CodeInfo(
        "weights file does not match the params",
        "Make the file hold exactly one numeric array per param name, with the param's shape.",
    ),
    "NN501": CodeInfo(
        "loss does not fit the output and target",
        "Give a target with the shape the loss needs for this output (see "
        "docs/format.md#training).",
    ),
    "NN502": CodeInfo(
        "training output is ambiguous or unknown",
        'Name the trained output with "training": {"output": ...}, choosing one of "outputs".',
    ),
    "NN601": CodeInfo(
        "document exceeds a size limit",
        "Shrink the document, or raise the limit (--max-nodes, --max-param-elements, --max-"
        "file-bytes) if you trust it.",
    ),
    "NN701": CodeInfo(
        "the file is not a readable ONNX model",
        "Give an ONNX model file (.onnx) as written by onnx.save, torch.onnx.export or skl2onnx.",
    ),
    "NN702": CodeInfo(
        "ONNX op has no nnspec counterpart",
        "Replace the op in the source model (see docs/onnx.md for the ops nnspec imports), or "
        "keep only outputs that do not need it (--output).",
    ),
    "NN703": CodeInfo(
        "ONNX domain or opset is not supported",
        "Export with the standard ONNX domain at an opset docs/onnx.md lists; custom domains "
        "and local functions are never imported.",
    ),
    "NN704": CodeInfo(
        "ONNX attribute value is not supported",
        "Export the model without that attribute value (the message names the supported ones).",
    ),
    "NN705": CodeInfo(
        "ONNX value needs a constant nnspec cannot fold",
        "Make the value a constant of the model (an initializer or a shape computed from static "
        "dims), or give the input a static shape when exporting.",
    ),
    "NN706": CodeInfo(
        "ONNX tensor type is not supported",
        "Use float32 or float64 tensors for every input, output and weight (one of them per "
        "model); integer tensors are allowed only as folded constants.",
    ),
    "NN707": CodeInfo(
        "ONNX external data escapes the model's folder or cannot be read",
        "Keep external data files beside the model (or in a subfolder) with relative locations.",
    ),
    "NN901": CodeInfo(
        "param is never used",
        "Use the param in a node, or delete it.",
        "warning",
    ),
    "NN902": CodeInfo(
        "node does not contribute to any output",
        "Feed the node into an output or the loss, or delete it.",
        "warning",
    ),
    "NN903": CodeInfo(
        "input is never used",
        "Use the input in a node, or delete it.",
        "warning",
    ),
    "NN904": CodeInfo(
        'the document\'s "x-nnspec" settings are malformed',
        'Write "x-nnspec": {"ignore": ["NN902"]}: a list of warning codes or code prefixes; '
        "errors cannot be ignored.",
        "warning",
    ),
    "NN905": CodeInfo(
        "nothing can learn: no trainable param, or no gradient reaches one",
        'Make a param trainable (drop "trainable": false), or replace the zero-gradient op '
        "(sign) on the path from the loss to the params with a differentiable one (tanh); "
        "a hand-weighted network needs no training section.",
        "warning",
    ),
    "NN906": CodeInfo(
        "a training setting cannot take effect with the document's own training settings",
        "Monitor a value the training records (loss, a metric in training.metrics, their "
        "val_ forms with validation data), or make the schedule's warm-up shorter than the "
        "run's epochs.",
        "warning",
    ),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document.

    `pointer` is an RFC 6901 JSON pointer into the document ("" is the whole
    document). `line`/`column` are 1-based and filled in by the driver when the
    document came from text; `end_line`/`end_column` mark the position just past
    the value the pointer names (exclusive, as in SARIF), or are None when unknown.
    """

    code: str
    message: str
    pointer: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def located(self, **where: object) -> Problem:
        """A copy with location fields (file, line, column, end_line, end_column,
        pointer) replaced."""
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


class SpecError(Portable, ValueError):
    """A document was rejected; `problems` holds every problem found in its stage."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=Problem.sort_key))
        errors = [p for p in self.problems if p.is_error]
        shown = "\n".join(p.format() for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in the document:\n{shown}{more}")


class ShapeError(Portable, Exception):
    """Raised by an op's shape rule; the checker turns it into a located `Problem`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def pointer_join(*parts: str | int) -> str:
    """Build a JSON pointer from path parts, escaping ``~`` and ``/`` (RFC 6901)."""
    text = "/".join(map(str, parts))
    if "~" in text or text.count("/") >= len(parts):  # rare: some part needs escaping
        text = "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + text if parts else ""


def did_you_mean(name: str, choices: Iterable[str], *, listing: bool = True) -> str:
    """A suffix for unknown-name messages: the closest match, then (with `listing`,
    and when there are few) the sorted options."""
    options = sorted(set(choices))
    # Case slips ("reLU") score low in difflib but are the likeliest typo.
    close = [o for o in options if o.lower() == name.lower()]
    close = close or difflib.get_close_matches(name, options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if listing and len(options) <= 12:
        known = ", ".join(repr(o) for o in options) or "none"
        return f"{hint} (known: {known})"
    return hint
